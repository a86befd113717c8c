"""`onestop bench audit`: verifying the hash chain of a large log, beside the rate at which
nats-py merely reads the same messages, and the rate at which the checkpointer covers them.

The log is the one `onestop bench views` writes (real events, copied until the stream holds
`--events`); a checkpointer run over it first writes its checkpoints, as the service would.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import nats

from adapters.arguments import OneLineParser
from adapters.audit.checkpointer import Checkpointer
from adapters.audit.signing import SigningKey
from adapters.audit.verify import verify_stream
from adapters.jetstream.stream_reader import StreamReader
from bench.event_store import nats_server
from bench.view_queries import write_log


async def measure(nats_url: str, stream: str, key: SigningKey) -> None:
    connection = await nats.connect(nats_url, name="bench-audit")
    try:
        started = time.perf_counter()
        checkpointer = Checkpointer(connection, stream, key)
        await checkpointer.start()
        head = (await connection.jetstream().stream_info(stream)).state.last_seq
        assert await checkpointer.wait_covered(head, timeout=3600)
        await checkpointer.stop(final=False)
        seconds = time.perf_counter() - started
        print(f"checkpointer: {head:,} messages covered in {seconds:.1f} s "
              f"({head / seconds:,.0f} messages/s)")

        started, seen = time.perf_counter(), 0
        async with StreamReader(connection, stream) as reader:
            while messages := await reader.read(10_000):
                seen += len(messages)
        seconds = time.perf_counter() - started
        print(f"read only:    {seen:,} messages in {seconds:.1f} s ({seen / seconds:,.0f}/s)")

        report = await verify_stream(connection, stream, key.public_key)
        print(f"verify:       {report.head:,} messages in {report.seconds:.1f} s "
              f"({report.rate:,.0f} events/s); intact up to {report.intact_to:,}, "
              f"{report.checkpoints} checkpoints" + ("" if report.intact else " — BROKEN"))
    finally:
        await connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="onestop bench audit", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000, help="events in the log")
    parser.add_argument("--nats-url", help="an existing server (default: an embedded one)")
    args = parser.parse_args(argv)
    stream = f"BENCH_AUDIT_{uuid.uuid4().hex[:6].upper()}"
    with tempfile.TemporaryDirectory(prefix="onestop-bench-audit-") as scratch, \
            nats_server(args.nats_url) as nats_url:
        started = time.perf_counter()
        total = write_log(nats_url, stream, args.events)
        print(f"{total:,} events in {stream}, written in {time.perf_counter() - started:.1f} s")
        asyncio.run(measure(nats_url, stream, SigningKey.load_or_create(Path(scratch))))
    return 0
