"""The one check every programme aggregate makes first: is this step allowed in its status?"""

from __future__ import annotations

from typing import Any

from domain.errors import refuse


def require(aggregate: Any, allowed: set[str], doing: str) -> None:
    if aggregate.status not in allowed:
        kind = type(aggregate).public_name
        raise refuse(f"{kind}.invalid_transition",
                     f"This {kind} is {aggregate.status}; it cannot be {doing} now.",
                     status=aggregate.status, action=doing)
