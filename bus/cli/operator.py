"""What the operator's view commands share: the views store and the event log of `onestop up`,
found the same way the service finds them, and failures told in one line instead of a trace."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any
from pathlib import Path

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client

from adapters.integrity.seal import Seal, SealKeyError
from adapters.integrity.seal import key_path as seal_key_path
from adapters.jetstream.log import StreamLog
from adapters.nats_address import NatsAddress, redacted
from adapters.views import VIEWS_DIRECTORY, ViewStore, open_view_store
from bus.contract.identity import inbox_prefix
from bus.service.runtime import holder
from bus.service.security import OPERATOR, url_as
from bus.service.settings import SettingsError, UpSettings
from projections import ALL_PROJECTIONS
from projections.view import Projection

CONNECT_TIMEOUT_SECONDS = 5


class CannotRun(Exception):
    """The command cannot start: the message, one line, says why."""


def run_operation(operation: Coroutine[Any, Any, int], interrupted: str, *,
                  cannot_start: int, failed: int) -> int:
    """A long operator command to its exit code: what keeps it from starting is one line
    (`cannot_start`); Ctrl-C says what it left as it was (`failed`)."""
    try:
        return asyncio.run(operation)
    except (CannotRun, SettingsError) as error:
        operation.close()
        print(f"onestop: {error}", file=sys.stderr, flush=True)
        return cannot_start
    except KeyboardInterrupt:
        print(f"\nonestop: {interrupted}", file=sys.stderr)
        return failed


@dataclass(frozen=True)
class Site:
    data_dir: Path
    event_stream: str
    settings: UpSettings

    @property
    def url(self) -> str:
        """The operator's way in (`url_as`): asked only by the commands that connect, as the
        operator's credentials are needed for it."""
        return url_as(self.settings, OPERATOR)


def site(data_dir: str | None) -> Site:
    """Where the data directory's service is."""
    settings = UpSettings.read(os.environ, data_dir=data_dir)
    return Site(settings.data_dir, settings.event_stream, settings)


def seal_of(where: Site) -> Seal | None:
    """The services' seal key, on the machine that runs them: what tells the log's foreign
    messages (adapters/integrity/seal.py). None where there is none."""
    path = seal_key_path(where.data_dir)
    if not path.exists():
        return None
    try:
        return Seal.load(path)
    except SealKeyError as error:
        raise CannotRun(str(error)) from None


def projections_named(names: list[str] | None) -> list[Projection]:
    known = {projection.name: projection for projection in ALL_PROJECTIONS}
    unknown = [name for name in names or () if name not in known]
    if unknown:
        raise CannotRun(f"no view {unknown[0]!r}; the views are: {', '.join(known)}")
    return [known[name] for name in names] if names else list(ALL_PROJECTIONS)


def open_views(data_dir: Path) -> ViewStore:
    """VIEWS_DSN's PostgreSQL, or the SQLite file in the data directory, with every view
    registered (the store needs them all to know whose table is whose). Never made here:
    a data directory without views is not the service's."""
    if not os.environ.get("VIEWS_DSN") and not (data_dir / VIEWS_DIRECTORY).is_dir():
        raise CannotRun(f"no views in {data_dir / VIEWS_DIRECTORY}: is {data_dir} the data "
                        "directory of `onestop up`? (--data-dir or ONESTOP_DATA_DIR)")
    try:
        store = open_view_store(None, data_dir)
    except Exception as error:  # a bad DSN, PostgreSQL away, a directory we cannot write
        raise CannotRun(f"cannot open the views store ({_describe(error)})") from None
    try:
        store.open(ALL_PROJECTIONS)
    except Exception as error:
        store.close()
        raise CannotRun(f"cannot open the views store ({_describe(error)})") from None
    return store


async def connect_quickly(url: str, data_dir: Path, name: str) -> Client:
    """A command-line tool's connection, as the URL's user (the operator's, when it names
    none): it answers within seconds, silently, whether or not the service is there
    (CannotRun, one line, says why and where)."""
    failures: list[Exception] = []

    async def remember(error: Exception) -> None:
        failures.append(error)  # instead of nats-py printing a traceback for each try

    # Two quick tries, not minutes of them (nats-py reads max_reconnect_attempts=0 as forever).
    try:
        address = NatsAddress.parse(url)
        return await nats.connect(
            **address.options(), name=name, allow_reconnect=False, max_reconnect_attempts=1,
            # The service answers a principal on its own inbox only.
            inbox_prefix=inbox_prefix(address.user or OPERATOR),
            reconnect_time_wait=0.1, connect_timeout=CONNECT_TIMEOUT_SECONDS,
            error_cb=remember)
    except (OSError, TimeoutError, nats.errors.Error) as error:
        cause = failures[-1] if failures else error
        raise CannotRun(f"cannot connect to NATS at {redacted(url)} ({_describe(cause)})"
                        f"{_not_running(data_dir)}") from None


def _not_running(data_dir: Path) -> str:
    """What the data directory says about why nothing answers, if it says anything."""
    if os.environ.get("NATS_URL") or holder(data_dir) is not None:
        return ""
    return f"; no onestop up runs on the data directory {data_dir}"


async def connect(where: Site) -> Client:
    connection = await connect_quickly(where.url, where.data_dir, "onestop-operator")
    try:
        await connection.jetstream().stream_info(where.event_stream)
    except nats.js.errors.NotFoundError:
        await connection.close()
        raise CannotRun(f"NATS at {redacted(where.url)} has no event stream "
                        f"{where.event_stream} (NATS_STREAM)") from None
    except (TimeoutError, nats.errors.Error) as error:
        await connection.close()
        raise CannotRun(f"NATS at {redacted(where.url)} does not answer JetStream requests "
                        f"({_describe(error)})") from None
    return connection


async def log_head(connection: Client, event_stream: str) -> int:
    """The position of the last event in the log (0 for an empty log)."""
    log = StreamLog(connection, event_stream, request_timeout=10)
    await log.start()
    last = await log.last(f"{event_stream}.events.>")
    return last.sequence if last else 0


def _describe(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
