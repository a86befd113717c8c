"""The port the queries read views through; a view store implements it over its active tables.

`find` filters on a table's declared columns (and `key`): a plain value means equality
(`None`: is null), a list/tuple/set means "one of", a `Range` bounds it. `order_by` names
columns, `-column` for descending; rows come back in a stable order, ties broken by key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Range:
    gt: Any = None
    ge: Any = None
    lt: Any = None
    le: Any = None

    def bounds(self) -> list[tuple[str, Any]]:
        """The comparisons that are set, as (SQL operator, value)."""
        operators = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))
        return [(sql, getattr(self, name)) for name, sql in operators
                if getattr(self, name) is not None]


Where = Mapping[str, Any]


class ViewReader(Protocol):
    def get(self, table: str, key: str) -> dict[str, Any] | None: ...

    def find(self, table: str, where: Where | None = None, order_by: Sequence[str] = (),
             limit: int | None = None, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """The matching documents (a page of them) and how many match in all."""
        ...


class UnknownColumn(ValueError):
    """A filter or an ordering named a column the table does not index."""
