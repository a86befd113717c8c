"""`onestop views status | clear NAME | drop NAME GENERATION`: how each view stands,
resuming one that stopped, and dropping a generation a rebuild left behind.

A view stops alone when it cannot apply an event; the failure stays in the views store until
an operator has fixed the cause (a new release of the projection, say) and clears it. The
running service then resumes that view from the very event it stopped at.

A rebuild that was killed outright (`onestop replay`, kill -9) leaves its new generation's
tables behind: never switched in, never followed. `status` lists it beside the active one;
`drop` removes it (never the active generation; a rebuild still filling it fails, and the
views it was rebuilding keep answering from their active generation).

`status` exits with 1 when a view has failed, so a monitoring script can watch it; 2 when the
views store or NATS cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

HELP = ("show how each view stands (position, lag, failures), clear a failure, or drop a "
        "generation a rebuild left behind")
EXIT_SOME_FAILED = 1
EXIT_CANNOT_START = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    status = actions.add_parser("status", help="each view: generation, position, lag behind "
                                "the log, version, failure")
    status.add_argument("--json", action="store_true", help="the report as JSON")
    clear = actions.add_parser("clear", help="clear a view's failure: the service resumes it "
                               "from the event it stopped at")
    clear.add_argument("name", help="the view, e.g. cases")
    drop = actions.add_parser("drop", help="drop a generation of a view that is not the active "
                              "one (what a killed rebuild left behind)")
    drop.add_argument("name", help="the view, e.g. cases")
    drop.add_argument("generation", type=generation,
                      help="the generation, as `status` lists it (g2, or 2)")
    for action in (status, clear, drop):
        action.add_argument("--data-dir", help="the data directory of `onestop up`, where the "
                            "SQLite views live unless VIEWS_DSN names PostgreSQL "
                            "(default: ONESTOP_DATA_DIR or ./var)")


def generation(text: str) -> int:
    """`status` writes generations as g<N>; either spelling names one."""
    digits = text.removeprefix("g")
    if not digits.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a generation (g2, or 2)")
    return int(digits)


def run(args: argparse.Namespace) -> int:
    from bus.cli.operator import CannotRun
    from bus.service.settings import SettingsError

    try:
        if args.action == "clear":
            return _clear(args.data_dir, args.name)
        if args.action == "drop":
            return _drop(args.data_dir, args.name, args.generation)
        return asyncio.run(_status(args.data_dir, args.json))
    except (CannotRun, SettingsError) as error:
        print(f"onestop: {error}", file=sys.stderr, flush=True)
        return EXIT_CANNOT_START


async def _status(data_dir: str | None, as_json: bool) -> int:
    from bus.cli.operator import connect, log_head, open_views, site
    from bus.service.view_status import describe, views_report

    where = site(data_dir)
    connection = await connect(where)
    try:
        head = await log_head(connection, where.event_stream)
    finally:
        await connection.close()
    store = open_views(where.data_dir)
    try:
        report = views_report(await asyncio.to_thread(store.status), head)
    finally:
        store.close()
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(f"log head: position {head}")
        for view in report["views"]:
            print("\n".join(describe(view)))
        if report["failed"]:
            print(f"{len(report['failed'])} view(s) stopped: {', '.join(report['failed'])}")
    return EXIT_SOME_FAILED if report["failed"] else 0


def _clear(data_dir: str | None, name: str) -> int:
    from bus.cli.operator import open_views, projections_named, site

    projections_named([name])  # a bad name is refused before anything is opened
    store = open_views(site(data_dir).data_dir)
    try:
        active = [s for s in store.status() if s.name == name and s.active]
        failure = active[0].failure if active else None
        if failure is None:
            print(f"{name} has not stopped; nothing to clear")
            return 0
        store.clear_failure(name)
    finally:
        store.close()
    print(f"cleared {name}: the service resumes it from position {failure.position} "
          f"({failure.topic} of {failure.originator_id})")
    return 0


def _drop(data_dir: str | None, name: str, generation: int) -> int:
    from adapters.views import GenerationError
    from bus.cli.operator import open_views, projections_named, site

    projections_named([name])
    store = open_views(site(data_dir).data_dir)
    try:
        known = {s.generation: s for s in store.status() if s.name == name}
        if generation not in known:
            print(f"onestop: {name} has no generation {generation}; it has "
                  f"{', '.join(map(str, sorted(known))) or 'none'}", file=sys.stderr)
            return EXIT_SOME_FAILED
        try:
            store.abandon_generation(name, generation)
        except GenerationError as error:  # the active one
            print(f"onestop: {error}", file=sys.stderr)
            return EXIT_SOME_FAILED
    finally:
        store.close()
    print(f"dropped generation {generation} of {name} (at position "
          f"{known[generation].position})")
    return 0
