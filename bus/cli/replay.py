"""`onestop replay [--view NAME ...]`: rebuild views from the log without stopping anything.

The rebuild fills fresh tables beside the ones the running service answers from, and switches
each view over once it has caught up with the log (see adapters/views/rebuild.py). Exit codes:
0 done, 1 the rebuild failed (the old views still answer), 2 it could not start.
"""

from __future__ import annotations

import argparse
import sys
import time

HELP = "rebuild one view or all of them from the log, while the old ones keep answering"
EXIT_FAILED = 1
EXIT_CANNOT_START = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--view", action="append", metavar="NAME", dest="views",
                        help="a view to rebuild (repeat for several; default: every view)")
    parser.add_argument("--data-dir", help="the data directory of `onestop up`, where the "
                        "SQLite views live unless VIEWS_DSN names PostgreSQL "
                        "(default: ONESTOP_DATA_DIR or ./var)")


def run(args: argparse.Namespace) -> int:
    # Imported here: the projections load the domain, which `onestop --help` needn't.
    from bus.cli.operator import run_operation

    return run_operation(_replay(args), "replay interrupted; the old views still answer",
                         cannot_start=EXIT_CANNOT_START, failed=EXIT_FAILED)


async def _replay(args: argparse.Namespace) -> int:
    from adapters.views.failures import GenerationError, ProjectionFailed
    from adapters.views.rebuild import rebuild
    from bus.cli.operator import connect, open_views, projections_named, seal_of, site
    from bus.cli.progress import ProgressLine, duration

    projections = projections_named(args.views)
    where = site(args.data_dir)
    connection = await connect(where)
    try:
        store = open_views(where.data_dir)
    except BaseException:
        await connection.close()
        raise
    try:
        names = ", ".join(projection.name for projection in projections)
        line = ProgressLine(sys.stderr, f"replay {names}")
        counted: list[int] = [0]

        def on_progress(progress) -> None:
            counted[0] = progress.events
            line.update(progress)

        started = time.monotonic()
        try:
            generations = await rebuild(connection, where.event_stream, store, projections,
                                        on_progress=on_progress, seal=seal_of(where))
        except (ProjectionFailed, GenerationError) as failed:
            # The views not yet switched keep their old generation; those switched are right.
            line.finish(f"onestop: replay stopped: {failed}")
            return EXIT_FAILED
        finally:
            await connection.close()
        seconds = time.monotonic() - started
        switched = ", ".join(f"{name} (generation {generation})"
                             for name, generation in generations.items())
        rate = counted[0] / seconds if seconds else 0.0
        line.finish(f"replayed {counted[0]:,} events in {duration(seconds)} "
                    f"({rate:,.0f} events/s); now answering: {switched}")
        return 0
    finally:
        store.close()
