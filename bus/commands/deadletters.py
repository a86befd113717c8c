"""`onestop deadletters list | redrive SEQ... | redrive --all`, for the operator."""

from __future__ import annotations

import argparse
import asyncio
import os

import nats

from bus.deadletters import list_dead_letters, redrive
from bus.security import OPERATOR, url_as
from bus.settings import UpSettings, redacted

HELP = "list the intake's dead letters, or send them to the intake again"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="the data directory of `onestop up` "
                        "(default: ONESTOP_DATA_DIR or ./var)")
    actions = parser.add_subparsers(dest="action", required=True)
    show = actions.add_parser("list", help="show dead letters with their reasons")
    show.add_argument("--limit", type=int, default=100)
    again = actions.add_parser("redrive", help="send dead letters to the intake again")
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument("sequences", nargs="*", type=int, default=[])
    which.add_argument("--all", action="store_true")


def server_url(data_dir: str | None) -> str:
    """NATS_URL, or the embedded server of `onestop up`, as the operator (`url_as`)."""
    return url_as(UpSettings.read(os.environ, data_dir=data_dir), OPERATOR)


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    url = server_url(args.data_dir)
    try:
        connection = await nats.connect(url, allow_reconnect=False, connect_timeout=5)
    except Exception as error:
        print(f"onestop: cannot connect to NATS at {redacted(url)} ({error})")
        return 2
    try:
        letters = await list_dead_letters(connection, getattr(args, "limit", 10_000))
        if args.action == "list":
            for letter in letters:
                print(f"{letter.sequence:>8}  {letter.time[:19]}  {letter.subject}  "
                      f"{letter.reason}")
            print(f"{len(letters)} dead letter(s)")
            return 0
        sequences = [letter.sequence for letter in letters] if args.all else args.sequences
        for sequence in sequences:
            print(f"{sequence}: sent again to {await redrive(connection, sequence)}")
        return 0
    finally:
        await connection.close()
