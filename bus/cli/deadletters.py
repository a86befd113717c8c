"""`onestop deadletters list | redrive SEQ... | redrive --all`, for the operator: see what the
intake could not process, and send it again."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass

import nats.errors
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from bus.cli.operator import CannotRun, connect_quickly, site
from bus.contract import subjects
from bus.service.settings import SettingsError

HELP = "list the intake's dead letters, or send them to the intake again"
EXIT_CANNOT_RUN = 2


@dataclass(frozen=True)
class DeadLetter:
    sequence: int
    subject: str  # where it was first sent
    reason: str
    time: str
    body: bytes


async def list_dead_letters(connection: Client, limit: int = 100) -> list[DeadLetter]:
    js = connection.jetstream()
    letters: list[DeadLetter] = []
    sequence = 1
    while len(letters) < limit:
        try:
            message = await js.get_msg(subjects.DEAD_LETTER_STREAM, sequence, next=True,
                                       subject=f"{subjects.DEAD_LETTERS}.>")
        except NotFoundError:
            break
        headers = message.headers or {}
        letters.append(DeadLetter(message.seq, headers.get("Onestop-Original-Subject", "?"),
                                  headers.get("Onestop-Reason", ""),
                                  headers.get("Nats-Time-Stamp", ""), message.data or b""))
        sequence = message.seq + 1
    return letters


async def redrive(connection: Client, sequence: int) -> str:
    """Sends a dead letter to the intake again, then removes it; returns where it went."""
    js = connection.jetstream()
    message = await js.get_msg(subjects.DEAD_LETTER_STREAM, sequence)
    original = (message.headers or {})["Onestop-Original-Subject"]
    await js.publish(original, message.data or b"",
                     headers={"Nats-Msg-Id": f"redrive-{sequence}"})
    await js.delete_msg(subjects.DEAD_LETTER_STREAM, sequence)
    return original


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
