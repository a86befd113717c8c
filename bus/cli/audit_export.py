"""`onestop audit-export (--department X | --case ID | --since T --until T) [--format jsonl|csv]
[--output FILE]`: the audit trail replayed from the log, for auditors.

Accepted changes (who, as which principal and person, when, which aggregate, which command,
before and after), refusals and reads, in log order (see adapters/audit/export.py). A progress
line on stderr, the entries on stdout or in FILE. Exit codes: 0 done, 1 the export failed
half-way, 2 it could not start.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from contextlib import aclosing

HELP = "export the audit trail of a department, a case or a time range, as JSON Lines or CSV"
EXIT_FAILED = 1
EXIT_CANNOT_START = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--department", metavar="X",
                        help="the changes that concerned X, and X's own refusals and reads")
    parser.add_argument("--case", metavar="ID", help="a case's changes and who read it")
    parser.add_argument("--since", metavar="T", help="from this ISO 8601 time (with offset)")
    parser.add_argument("--until", metavar="T", help="up to this ISO 8601 time (excluded)")
    parser.add_argument("--format", choices=("jsonl", "csv"),
                        help="default: csv for an --output ending in .csv, else jsonl")
    parser.add_argument("--output", metavar="FILE", help="default: standard output")
    parser.add_argument("--data-dir", help="the data directory of `onestop up` "
                        "(default: ONESTOP_DATA_DIR or ./var)")


def run(args: argparse.Namespace) -> int:
    # Imported here: the projections load the domain, which `onestop --help` needn't.
    from bus.cli.operator import run_operation

    return run_operation(_export(args), "export interrupted", cannot_start=EXIT_CANNOT_START,
                         failed=EXIT_FAILED)


def scope_of(args: argparse.Namespace):
    from adapters.audit.export import Scope
    from bus.cli.operator import CannotRun
    from projections.times import utc

    if not (args.department or args.case or args.since or args.until):
        raise CannotRun("say what to export: --department, --case, or --since/--until")
    times = {}
    for name in ("since", "until"):
        try:
            times[name] = utc(getattr(args, name))
        except ValueError:
            raise CannotRun(f"--{name} must be an ISO 8601 time with its offset, "
                            f"not {getattr(args, name)!r}") from None
    return Scope(args.department, args.case, **times)


async def _export(args: argparse.Namespace) -> int:
    from adapters.audit.export import Writer, export_entries
    from bus.cli.operator import CannotRun, connect, seal_of, site
    from bus.cli.progress import ProgressLine, duration

    scope = scope_of(args)
    format = args.format or ("csv" if (args.output or "").endswith(".csv") else "jsonl")
    connection = await connect(site(args.data_dir))
    try:
        try:
            out = (open(args.output, "w", encoding="utf-8", newline="") if args.output
                   else sys.stdout)
        except OSError as error:
            raise CannotRun(f"cannot write {args.output} ({error.strerror})") from None
        line = ProgressLine(sys.stderr, "audit export")
        counts: Counter[str] = Counter()
        read = [0]

        def on_progress(progress) -> None:
            read[0] = progress.events
            line.update(progress)

        started = time.monotonic()
        try:
            writer = Writer(out, format)
            # JSON Lines carry their proof; CSV, a sheet for reading, does not.
            entries = export_entries(connection, site(args.data_dir).event_stream, scope,
                                     on_progress, seal=seal_of(site(args.data_dir)),
                                     proof=format == "jsonl")
            async with aclosing(entries):
                async for entry in entries:
                    writer.write(entry)
                    counts[entry["kind"]] += 1
        except BrokenPipeError:
            raise  # the reader has all it wanted (`| head`): not a failed export
        except Exception as error:  # noqa: BLE001 - the server went away, a disk filled up
            line.finish(f"onestop: export stopped after {sum(counts.values()):,} entries: "
                        f"{error}")
            return EXIT_FAILED
        finally:
            if out is not sys.stdout:
                out.close()
        where = args.output or "standard output"
        line.finish(f"exported {sum(counts.values()):,} entries ({counts['change']:,} changes, "
                    f"{counts['refused']:,} refusals, {counts['read']:,} reads, "
                    f"{counts['sent']:,} feed records, {counts['delivered']:,} consumer records"
                    + (f", {counts['checkpoint']:,} checkpoints" if counts["checkpoint"] else "")
                    + ") from "
                    f"{read[0]:,} events in {duration(time.monotonic() - started)} to {where}")
        return 0
    finally:
        await connection.close()
