"""`onestop deadletters list | redrive SEQ... | redrive --all`, for the operator."""

from __future__ import annotations

import argparse
import asyncio
import sys

import nats.errors

from bus.deadletters import list_dead_letters, redrive
from bus.operator import CannotRun, connect_quickly, site
from bus.settings import SettingsError

HELP = "list the intake's dead letters, or send them to the intake again"
EXIT_CANNOT_RUN = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    data_dir = dict(help="the data directory of `onestop up` (default: ONESTOP_DATA_DIR or "
                    "./var)")
    parser.add_argument("--data-dir", **data_dir)
    actions = parser.add_subparsers(dest="action", required=True)
    show = actions.add_parser("list", help="show dead letters with their reasons")
    show.add_argument("--limit", type=int, default=100)
    again = actions.add_parser("redrive", help="send dead letters to the intake again")
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument("sequences", nargs="*", type=int, default=[])
    which.add_argument("--all", action="store_true")
    for action in (show, again):  # before the action or after it, as the other commands
        action.add_argument("--data-dir", default=argparse.SUPPRESS, **data_dir)


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except (CannotRun, SettingsError) as error:
        print(f"onestop: {error}", file=sys.stderr)
        return EXIT_CANNOT_RUN


async def _run(args: argparse.Namespace) -> int:
    where = site(args.data_dir)
    connection = await connect_quickly(where.url, where.data_dir, "onestop-deadletters")
    try:
        letters = await list_dead_letters(connection, getattr(args, "limit", 10_000))
        if args.action == "list":
            for letter in letters:
                print(f"{letter.sequence:>8}  {letter.time[:19]}  {letter.subject}  "
                      f"{letter.reason}")
            print(f"{len(letters)} dead letter(s)")
            return 0
        held = {letter.sequence for letter in letters}
        sequences = sorted(held) if args.all else args.sequences
        missing = [sequence for sequence in sequences if sequence not in held]
        if missing:  # before sending any: all or nothing
            raise CannotRun(f"no dead letter {missing[0]} (`onestop deadletters list` shows "
                            "those there are)")
        for sequence in sequences:
            print(f"{sequence}: sent again to {await redrive(connection, sequence)}")
        return 0
    except (TimeoutError, nats.errors.Error) as error:
        raise CannotRun(f"NATS did not answer ({str(error) or type(error).__name__})") from None
    finally:
        await connection.close()
