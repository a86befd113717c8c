"""The `onestop` console script. A new subcommand is a module of bus/cli listed in SUBCOMMANDS.

Whatever happens, a person at the terminal gets one line on stderr and an exit code, never a
traceback: each subcommand says what it can foresee itself, and `main` catches the rest.

Exit codes shared by every subcommand (each documents its own 0, 1 and 3):
  2    it cannot run: a bad argument, no service where the data directory says, no such data
       directory, a file it cannot write
  130  interrupted (Ctrl-C)
  141  its reader went away (`onestop kpi | head`), as a program killed by SIGPIPE
  70   a fault of onestop's own; the line names it (ONESTOP_DEBUG=1 shows the traceback)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from adapters.arguments import OneLineParser
from bus.cli import (
    audit_chain,
    audit_export,
    bench,
    creds,
    deadletters,
    demo,
    kpi,
    nats_auth,
    print_contract,
    replay,
    scale,
    status,
    up,
    views,
)
from bus.cli.operator import CannotRun
from bus.contract.identity import MissingCredentials
from bus.service.runtime import DataDirError
from bus.service.settings import SettingsError
from domain.reference import ReferenceDataError

SUBCOMMANDS = {
    "up": up,
    "demo": demo,
    "kpi": kpi,
    "status": status,
    "scale": scale,
    "creds": creds,
    "nats-auth": nats_auth,
    "deadletters": deadletters,
    "replay": replay,
    "views": views,
    "audit": audit_chain,
    "audit-export": audit_export,
    "bench": bench,
    "asyncapi": print_contract,
}


EXIT_CANNOT_RUN, EXIT_INTERRUPTED, EXIT_CLOSED_PIPE, EXIT_FAULT = 2, 130, 141, 70
# What a subcommand may meet that is no fault of onestop's: said in one line, exit 2.
CANNOT_RUN = (CannotRun, SettingsError, MissingCredentials, DataDirError, ReferenceDataError)


def parser() -> argparse.ArgumentParser:
    root = OneLineParser(
        prog="onestop",
        description="The district's quality-infrastructure one-stop service on NATS JetStream.",
    )
    subcommands = root.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in SUBCOMMANDS.items():
        command.add_arguments(subcommands.add_parser(name, help=command.HELP,
                                                     description=command.HELP))
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        exit_code = SUBCOMMANDS[args.command].run(args)
        sys.stdout.flush()  # here, where a reader gone away is caught, not at exit
        return exit_code
    except CANNOT_RUN as error:
        return _say(str(error), EXIT_CANNOT_RUN)
    except KeyboardInterrupt:
        return _say("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        # Whatever is still buffered for stdout has nowhere to go: let it go nowhere, rather
        # than Python complaining about it at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_CLOSED_PIPE
    except Exception as error:  # noqa: BLE001 - the last line of defence, see the docstring
        if os.environ.get("ONESTOP_DEBUG"):
            raise
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return _say(f"internal error in `onestop {args.command}`: {type(error).__name__}"
                    f"{': ' + detail if detail else ''} (ONESTOP_DEBUG=1 shows where)",
                    EXIT_FAULT)


def _say(message: str, exit_code: int) -> int:
    try:
        print(f"onestop: {message}", file=sys.stderr, flush=True)
    except BrokenPipeError:
        pass
    return exit_code

