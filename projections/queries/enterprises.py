"""An enterprise's history: its profile for anyone who may ask, its cases as visible."""

from __future__ import annotations

from typing import Any

from projections.enterprises import CASES, ENTERPRISES
from projections.queries.access import Asker, listing, not_found, page
from projections.view_reader import ViewReader


def _sees_case(asker: Asker, case: dict[str, Any]) -> bool:
    return asker.sees_all or asker.stands_in(case)


def enterprise_history(reader: ViewReader, asker: Asker, enterprise_id: str, *,
                       limit: int | None = None, offset: int | None = None) -> dict[str, Any]:
    """The register entry and profile changes, then the cases newest first: only those the
    asker may see, counted the same way."""
    limit, offset = page(limit, offset)
    asker.require("department", "station", "portal", what="enterprise histories")
    enterprise = reader.get(ENTERPRISES, str(enterprise_id))
    if enterprise is None:
        raise not_found("enterprise", str(enterprise_id))
    where = {"enterprise_id": str(enterprise_id)}
    if asker.sees_all:
        cases, total = reader.find(CASES, where, ["-submitted_utc"], limit, offset)
    else:
        # An enterprise has tens of cases: filter them here, then page.
        everything, _ = reader.find(CASES, where, ["-submitted_utc"])
        visible = [case for case in everything if _sees_case(asker, case)]
        cases, total = visible[offset:offset + limit], len(visible)
    return {"enterprise": enterprise, "cases": listing(cases, total, limit, offset)}


def enterprise_by_credit_code(reader: ViewReader, asker: Asker, credit_code: str
                              ) -> dict[str, Any]:
    asker.require("department", "station", "portal", what="the enterprise register")
    rows, _ = reader.find(ENTERPRISES, {"credit_code": credit_code.strip().upper()}, limit=1)
    if not rows:
        raise not_found("enterprise with credit code", credit_code)
    return rows[0]
