"""Who is asking, what they may see, and the errors a query answers with.

A department sees the cases it may act on (lead or collaborator) or acted on (a lead the case
was transferred away from sees it as it stood at the transfer); a station sees the cases taken
at its window; the portal those it submitted: the relations of domain/authority.py. The lead
bureau, auditors, the operator and the service itself see everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domain.authority import case_roles
from projections.times import utc

SEES_ALL = frozenset({"lead", "auditor", "operator", "service"})
MAX_LIMIT = 500


class QueryError(Exception):
    """A refusal with a stable code: query.forbidden, query.not_found or query.invalid."""

    def __init__(self, code: str, message: str, /, **fields: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields


def forbidden(what: str) -> QueryError:
    return QueryError("query.forbidden", f"You may not see {what}.")


def not_found(what: str, id: str) -> QueryError:
    return QueryError("query.not_found", f"There is no {what} with id {id}.", id=id)


def invalid(message: str, **fields: Any) -> QueryError:
    return QueryError("query.invalid", message, **fields)


@dataclass(frozen=True)
class Asker:
    id: str  # the principal: a department or station code, "portal", "auditor", ...
    kind: str  # lead, department, station, portal, auditor, operator or service

    @property
    def sees_all(self) -> bool:
        return self.kind in SEES_ALL

    def require(self, *kinds: str, what: str) -> None:
        if not self.sees_all and self.kind not in kinds:
            raise forbidden(what)

    def stands_in(self, case: dict[str, Any]) -> bool:
        """Whether the asker leads, collaborates on or took the case (a view's document of
        it): the relations that let it act on the case (domain/authority.py), so the rule
        to see and the rule to act cannot drift apart."""
        taker = case.get("station") or case.get("submitted_by")
        return bool(case_roles(self.id, case.get("lead"), case.get("collaborators") or (),
                               taker))


def page(limit: int | None, offset: int | None) -> tuple[int, int]:
    limit = 50 if limit is None else limit
    offset = offset or 0
    if not (isinstance(limit, int) and 1 <= limit <= MAX_LIMIT):
        raise invalid(f"limit must be from 1 to {MAX_LIMIT}.", limit=limit)
    if not (isinstance(offset, int) and offset >= 0):
        raise invalid("offset must be 0 or more.", offset=offset)
    return limit, offset


def instant(value: str | datetime | None, name: str) -> str | None:
    """A time filter as the views store times (UTC text); naive or malformed is invalid."""
    try:
        return utc(value)
    except (TypeError, ValueError):
        raise invalid(f"{name} must be an ISO 8601 time with its offset.",
                      **{name: str(value)}) from None


def day(value: str | date | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise invalid(f"{name} must be a day, YYYY-MM-DD.", **{name: str(value)}) from None


def listing(items: list[dict[str, Any]], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": limit, "offset": offset}
