"""`onestop status`: how the running service and each of its parts stand, as its health check
tells it (the store, the views, the feeds, the signed checkpoints).

Exit 0: all well; 1: degraded (a part stuck, failed or unreachable, or a view stopped: the
lines say which and what to do); 2: the service cannot be asked (one line, why).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

import orjson

from bus.cli.operator import CannotRun, connect, site
from bus.contract import subjects
from bus.service.settings import SettingsError

HELP = "show how the service and each of its parts stand (its health check)"
EXIT_DEGRADED, EXIT_CANNOT_ASK = 1, 2
ASK_SECONDS = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="the health report as JSON")
    parser.add_argument("--data-dir", help="the data directory of `onestop up` "
                        "(default: ONESTOP_DATA_DIR or ./var)")


def run(args: argparse.Namespace) -> int:
    try:
        report = asyncio.run(_ask(args.data_dir))
    except (CannotRun, SettingsError) as error:
        print(f"onestop: {error}", file=sys.stderr)
        return EXIT_CANNOT_ASK
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for line in describe(report):
            print(line)
    return 0 if report.get("status") == "ok" else EXIT_DEGRADED


async def _ask(data_dir: str | None) -> dict:
    import nats.errors

    connection = await connect(site(data_dir))
    try:
        reply = await connection.request(subjects.HEALTH, b"", timeout=ASK_SECONDS)
    except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
        raise CannotRun("the service does not answer its health check (is `onestop up` "
                        "running?)") from None
    finally:
        await connection.close()
    return orjson.loads(reply.data)


def describe(report: dict) -> list[str]:
    lines = [f"onestop {report.get('version', '?')}: {report.get('status', '?')}"]
    for part in report.get("parts", []):
        behind = "" if part.get("behind") is None else f", {part['behind']} behind"
        lines.append(f"  {part['name']:<12} {part['status']}{behind}: {part['detail']}")
    lines += [f"  ! {warning}" for warning in report.get("warnings", [])]
    return lines
