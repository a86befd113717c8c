"""Readers of one log sharing what they read (adapters/jetstream/recent.py): the second reader
gets exactly what a read of its own would have got, in order, with foreign messages told as
such, and the server sends each message once; what came after is still asked for; a run on
the whole stream serves a narrower filter; an earlier part of the log read by one catching
up is not kept over the newer run; the runs keep at most their capacity."""

from __future__ import annotations

import asyncio

import nats
import orjson

from adapters.integrity.seal import Seal, sealed_metadata
from adapters.jetstream.log import Outgoing, Stored, StreamLog
from adapters.jetstream.recent import RecentMessages, matches


BATCH = ("Nats-Num-Pending", "Nats-Last-Sequence")


class CountingLog(StreamLog):
    """A log that counts the messages the server sent it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sent = 0
        self.fetched = 0

    async def _page(self, *args, **kwargs):
        messages, more = await super()._page(*args, **kwargs)
        self.fetched += 1
        self.sent += len(messages)
        return messages, more


def stored(sequence: int, subject: str = "S.events.a") -> Stored:
    return Stored(subject, sequence, {}, b"")


def test_subject_filters_match_as_nats_matches_them():
    assert matches("S.events.a", "S.>") and matches("S.events.a", "S.events.>")
    assert matches("S.events.a", "S.*.a") and matches("S.events.a", "S.events.a")
    assert not matches("S.checkpoints", "S.events.>") and not matches("S.events", "S.events.>")
    assert not matches("S.events.a.b", "S.*.a") and not matches("T.events.a", "S.>")


def test_a_run_covers_from_its_first_sequence_through_its_last_and_no_further():
    recent = RecentMessages("S", capacity=4)
    recent.keep("S.>", 10, [stored(10), stored(12, "S.checkpoints"), stored(13)])

    assert recent.take("S.>", 9) is None  # before the run: the server is asked
    assert recent.take("S.>", 14) is None  # after it: the server is asked
    assert recent.take("S.events.>", 11) == ([stored(13)], 13)  # the narrower filter
    assert recent.take("S.>", 10, stop=12) == ([stored(10), stored(12, "S.checkpoints")], 12)

    recent.keep("S.>", 14, [stored(14), stored(15)])  # goes on from the run: one run
    assert recent.take("S.>", 14) == ([stored(14), stored(15)], 15)
    assert recent.take("S.>", 10) is None  # the capacity let 10 go: from 12 on only
    assert recent.take("S.>", 12)[0][0] == stored(12, "S.checkpoints")

    recent.keep("S.>", 3, [stored(3), stored(4)])  # one catching up: not kept
    assert recent.take("S.>", 3) is None and recent.take("S.>", 15) == ([stored(15)], 15)
    recent.keep("S.>", 30, [stored(30)])  # a later part of the log: the run starts again
    assert recent.take("S.>", 15) is None and recent.take("S.>", 30) == ([stored(30)], 30)


def test_readers_sharing_what_they_read_get_what_their_own_reads_would_get(nats_url,
                                                                          unique_name):
    stream = unique_name("RECENT").upper()
    seal = Seal(b"k" * 32)
    events = f"{stream}.events.>"

    async def read(log: StreamLog, subject: str, start: int = 1, **kwargs) -> list:
        # Less what the server says of the batch a message came in (how many are pending).
        return [(s.sequence, s.subject, s.foreign, {name: value for name, value in
                                                    s.headers.items() if name not in BATCH},
                 s.body) async for s in log.read(subject, start, page=3, **kwargs)]

    async def main() -> dict:
        client = await nats.connect(nats_url)
        try:
            await client.jetstream().add_stream(name=stream, subjects=[f"{stream}.>"],
                                                allow_direct=True,
                                                metadata=sealed_metadata(seal))
            recent = RecentMessages(stream)
            first, second, alone = (CountingLog(client, stream, request_timeout=5, seal=seal,
                                                recent=shared)
                                    for shared in (recent, recent, None))
            for log in (first, second, alone):
                await log.start()

            async def write(subject: str, sealed: bool = True) -> None:
                message = Outgoing(subject, {"n": subject}, orjson.dumps(subject))
                await first.publish(first.sealed_message(message) if sealed else message)

            for number in range(5):
                await write(f"{stream}.events.a{number}")
            await write(f"{stream}.checkpoints")
            await write(f"{stream}.events.forged", sealed=False)  # foreign: no seal
            seen = {"everything": await read(first, f"{stream}.>"),
                    "events": await read(second, events)}
            seen["sent by then"] = second.sent
            await write(f"{stream}.events.late")
            seen["from 2"] = await read(second, events, 2)
            seen["from 2 to 4"] = await read(second, events, 2, stop=4)
            seen["sent in all"] = second.sent
            seen["own"] = await read(alone, events)
            seen["own from 2 to 4"] = await read(alone, events, 2, stop=4)
            return seen
        finally:
            await client.close()

    seen = asyncio.run(main())

    assert [foreign for _, _, foreign, _, _ in seen["everything"]] == [False] * 6 + [True]
    assert seen["events"] == seen["own"][:6]  # the forged one included, told foreign
    assert seen["sent by then"] == 0  # every event was in the first reader's run
    assert seen["from 2"] == seen["own"][1:]
    assert seen["from 2"][-1][1] == f"{stream}.events.late"
    assert seen["sent in all"] == 1  # only the late one came from the server
    assert seen["from 2 to 4"] == seen["own from 2 to 4"] == seen["own"][1:4]
