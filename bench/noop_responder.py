"""A responder that answers every request on a subject with the same small reply and does
nothing else: the floor under any query over NATS (`bench views`). A process of its own, as
the service is, so that the request crosses the same sockets and the same server.

Run as `python -m bench.noop_responder NATS_URL SUBJECT`; it prints `ready` once subscribed
and stops when its standard input closes.
"""

from __future__ import annotations

import asyncio
import sys

import nats

REPLY = b'{"ok":true,"result":{},"position":0}'


async def respond(url: str, subject: str) -> None:
    connection = await nats.connect(url, name="bench-noop-responder")

    async def answer(message) -> None:
        await connection.publish(message.reply, REPLY)

    await connection.subscribe(subject, cb=answer)
    await connection.flush()
    print("ready", flush=True)
    # Until the benchmark closes our standard input.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await connection.close()


if __name__ == "__main__":
    asyncio.run(respond(sys.argv[1], sys.argv[2]))
