"""Where the service answers: only into the requester's own reply space.

Under the district's accounts a principal's request reaches the service through a service
import, and the server gives it a reply subject of its own making (`_R_.…`) that leads back
into the requester's account alone. A request from inside the service's account (the
operator's tools, a test) names its reply subject itself: that must be an inbox, and on a
principal's subjects that principal's own inbox prefix. Anything else gets no answer: a reply
subject naming the event log, the audit trail, a feed, the outcome bucket or another
principal's inbox would have the service write there on the requester's behalf.
"""

from __future__ import annotations

from bus.contract.identity import inbox_prefix

MAPPED_BY_THE_SERVER = "_R_."
INBOX = "_INBOX."
CODE = "reply.foreign"


def foreign_reply(reply: str, principal: str | None = None) -> str | None:
    """Why the service must not answer `principal` on `reply`; None when it may."""
    if not reply or reply.startswith(MAPPED_BY_THE_SERVER):
        return None
    own = f"{inbox_prefix(principal)}." if principal is not None else INBOX
    if reply.startswith(own):
        return None
    return (f"The reply subject {reply[:200]!r} is not the requester's own inbox ({own}>); "
            "the service answers nowhere else, and did nothing.")


def refusal(reason: str) -> dict:
    return {"code": CODE, "message": reason, "fields": {}}
