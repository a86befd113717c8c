"""Dead letters for an operator: see what the intake could not process, and send it again."""

from __future__ import annotations

from dataclasses import dataclass

from nats.aio.client import Client
from nats.js.errors import NotFoundError

from bus import subjects


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
