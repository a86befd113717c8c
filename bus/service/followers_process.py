"""What the followers' process runs: `python -m bus.service.followers_process <fd>`, started
by the service (`FollowerProcess`, bus/service/followers.py) through adapters/children.py.

Over the socket `fd` it is sent its settings, answers ("ready",) once its followers run, and
then tells the service, as they happen, what it passed over (`("passed_over", what)`) and
why its checkpointer fails (`("checkpoint_trouble", why or None)`). SIGTERM stops it in
order; it is killed with the service.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection

from adapters.children import worker_connection
from adapters.integrity.seal import PASSED_OVER
from adapters.views import open_view_store
from bus.service.connections import connect_for_good
from bus.service.followers import DRAIN_SECONDS, Followers, FollowerSettings

log = logging.getLogger("bus.service.followers")

# Behind the commands when both want the CPU: a command is someone waiting for its reply;
# the followers catch up a moment later, in larger batches. With CPU to spare it changes
# nothing. Measured with `onestop bench bus --commands 10000` on two cores, three runs each,
# at 0 and at 10: the commands at 43-46% of the raw write rate and at 46-57%, p99 34-41 ms
# and 26-41 ms, the views as close behind the last reply (tens of milliseconds).
NICENESS = 10


class ToTheService:
    """Messages to the service, from whichever thread notes them."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._lock = threading.Lock()

    def send(self, *message: object) -> None:
        with self._lock:
            try:
                self.connection.send(message)
            except OSError:
                pass  # the service is gone, and this process with it in a moment

    def passed_over(self, what: str) -> None:
        self.send("passed_over", what)

    def checkpoint_trouble(self, why: str | None) -> None:
        self.send("checkpoint_trouble", why)


def main(arguments: Sequence[str] = ()) -> None:
    connection = worker_connection(arguments)
    os.nice(NICENESS)  # its threads, started after this, inherit it
    settings: FollowerSettings = connection.recv()
    service = ToTheService(connection)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s followers %(message)s")
    PASSED_OVER.on_note = service.passed_over
    try:
        asyncio.run(follow(settings, service))
    except Exception as error:  # noqa: BLE001 - one line for the operator, as `onestop up` does
        print(f"onestop followers: stopped: {error!r}", file=sys.stderr)
        sys.exit(1)


async def follow(settings: FollowerSettings, service: ToTheService) -> None:
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stopping.set)
    connection = await connect_for_good(settings.nats_url, "onestop-followers",
                                        drain_timeout=DRAIN_SECONDS)
    views = await asyncio.to_thread(open_view_store, settings.views_dsn, settings.data_dir)
    followers = Followers(settings, connection, views)
    followers.on_checkpoint_trouble = service.checkpoint_trouble
    try:
        await followers.start()
        service.send("ready")
        await stopping.wait()
    finally:
        try:
            await followers.stop()
            await asyncio.to_thread(views.close)
            await connection.drain()
        except Exception as error:  # noqa: BLE001 - the server went first: nothing to drain
            log.warning("could not stop in order: %r", error)


if __name__ == "__main__":
    main()
