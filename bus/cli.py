"""The `onestop` console script. A new subcommand is a module in bus/commands listed below."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bus.commands import (
    asyncapi,
    audit,
    audit_export,
    bench,
    creds,
    deadletters,
    demo,
    kpi,
    nats_auth,
    replay,
    status,
    up,
    views,
)

COMMANDS = {
    "up": up,
    "demo": demo,
    "kpi": kpi,
    "status": status,
    "creds": creds,
    "nats-auth": nats_auth,
    "deadletters": deadletters,
    "replay": replay,
    "views": views,
    "audit": audit,
    "audit-export": audit_export,
    "bench": bench,
    "asyncapi": asyncapi,
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="onestop",
        description="The district's quality-infrastructure one-stop service on NATS JetStream.",
    )
    subcommands = root.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        command.add_arguments(subcommands.add_parser(name, help=command.HELP,
                                                     description=command.HELP))
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return COMMANDS[args.command].run(args)


if __name__ == "__main__":
    sys.exit(main())
