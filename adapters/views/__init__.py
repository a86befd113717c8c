"""View stores: SQLite by default, PostgreSQL when `VIEWS_DSN` names one."""

from __future__ import annotations

import os
from pathlib import Path

from adapters.views.failures import Failure, GenerationError, ProjectionFailed, ProjectionStopped
from adapters.views.files import SqliteViewFiles
from adapters.views.generations import ProjectionStatus
from adapters.views.sqlite import SqliteViewStore
from adapters.views.view_store import ViewStore

VIEWS_DIRECTORY = "views"  # under the data directory: a SQLite file per view

__all__ = ["Failure", "GenerationError", "ProjectionFailed", "ProjectionStatus",
           "ProjectionStopped", "SqliteViewFiles", "SqliteViewStore", "ViewStore",
           "open_view_store"]


def open_view_store(dsn: str | None, data_dir: str | Path) -> ViewStore:
    """PostgreSQL for a `postgresql://` (or `postgres://`) DSN; otherwise SQLite, a file per
    view in `<data_dir>/views/`. `dsn=None` reads `VIEWS_DSN`."""
    dsn = dsn if dsn is not None else os.environ.get("VIEWS_DSN") or None
    if dsn:
        if not dsn.startswith(("postgresql://", "postgres://")):
            raise ValueError("VIEWS_DSN must be a postgresql:// DSN (leave it unset for SQLite)")
        from adapters.views.postgres import PostgresViewStore  # psycopg is an optional extra

        return PostgresViewStore(dsn)
    return SqliteViewFiles(Path(data_dir) / VIEWS_DIRECTORY)  # type: ignore[return-value]
