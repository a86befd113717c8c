"""How the views stand: one report for `onestop views status` and the `views.status` query.

Each generation of each view: its position, how far behind the log's head it is, the version it
was built with against the version in the code (a view whose documents changed shape needs
`onestop replay`), and the failure that stopped it. A generation that is not active is a rebuild
under way (or one a crashed rebuild left behind).
"""

from __future__ import annotations

from typing import Any

from adapters.views import ProjectionStatus


def view_report(status: ProjectionStatus, head: int) -> dict[str, Any]:
    failure = status.failure
    if failure is not None:
        state = "failed"
    elif not status.active:
        state = "rebuilding"
    elif status.needs_rebuild:
        state = "needs_rebuild"
    else:
        state = "running"
    return {
        "name": status.name,
        "generation": status.generation,
        "active": status.active,
        "state": state,
        "position": status.position,
        "behind": max(head - status.position, 0),
        "version": status.version,
        "code_version": status.code_version,
        "needs_rebuild": status.needs_rebuild,
        "failure": None if failure is None else {
            "position": failure.position, "topic": failure.topic,
            "aggregate": failure.originator_id, "error": failure.error,
            "failed_at": failure.failed_at,
        },
    }


def views_report(statuses: list[ProjectionStatus], head: int) -> dict[str, Any]:
    views = [view_report(status, head) for status in statuses]
    return {"head": head, "views": views,
            "failed": sorted({view["name"] for view in views if view["failure"]})}


def describe(view: dict[str, Any]) -> list[str]:
    """Lines for a terminal: the view, then its failure and what to do about it."""
    marker = "" if view["active"] else "  (rebuild, not yet answering)"
    lines = [f"{view['name']:<12} g{view['generation']:<3} {view['state']:<13} "
             f"position {view['position']:>9}  behind {view['behind']:>7}  "
             f"version {view['version']} (code {view['code_version'] or '?'}){marker}"]
    failure = view["failure"]
    if failure:
        lines.append(f"    failed at position {failure['position']} ({failure['topic']} of "
                     f"{failure['aggregate']}) at {failure['failed_at']}: {failure['error']}")
        lines.append(f"    fix the cause, then `onestop views clear {view['name']}`: it resumes "
                     f"from that event")
    elif view["needs_rebuild"]:
        lines.append(f"    built by version {view['version']} of the projection: the service "
                     f"rebuilds it (or `onestop replay --view {view['name']}`)")
    return lines
