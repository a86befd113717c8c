"""`onestop up`: run the bus application on the embedded nats-server, or on NATS_URL's server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import nats
import nats.errors

from adapters.integrity.seal import SealKeyError
from adapters.nats_address import connect_options, redacted
from adapters.natsserver import EmbeddedNatsServer, EmbeddedServerError
from bus.cli import demo
from bus.contract.messages import service_version
from bus.service.app import build_bus
from bus.service.results_screen import ScreenUnavailable
from bus.service.runtime import DataDirError, DataDirLock, runtime_of
from bus.service.security import (
    SERVICE,
    adopt_global_account_store,
    credential_store,
    secured,
    url_as,
)
from bus.service.settings import SettingsError, UpSettings
from domain.reference import ReferenceDataError, load_reference

HELP = "run the backend until Ctrl-C or SIGTERM"
EXIT_CANNOT_START = 2
EXIT_UNCLEAN_STOP = 1
# The embedded nats-server ended on its own: onestop stops too, so that whatever supervises
# it (systemd, a container runtime) starts the whole again, server and service together.
EXIT_SERVER_DIED = 3
WATCH_SECONDS = 0.5
CONNECT_TIMEOUT_SECONDS = 5
LOG_FORMAT = "%(asctime)s onestop %(levelname)s %(name)s: %(message)s"


class CannotConnect(Exception):
    """NATS_URL's server cannot be reached, refuses us, or has no JetStream."""


class LostConnection(Exception):
    """The NATS connection failed after the bus was up, so it could not drain cleanly."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="where the embedded server keeps its data "
                        "(default: ONESTOP_DATA_DIR or ./var)")
    parser.add_argument("--port", type=int, help="port of the embedded server on 127.0.0.1 "
                        "(default: ONESTOP_NATS_PORT or 4244)")
    parser.add_argument("--screen-port", type=int, help="port of the results screen on "
                        "ONESTOP_SCREEN_HOST (127.0.0.1); 0: none (default: "
                        "ONESTOP_SCREEN_PORT or 4280)")
    parser.add_argument("--demo", action="store_true", help="once up, load the article's "
                        "stories (`onestop demo`) and print the district's results")


def run(args: argparse.Namespace) -> int:
    # What the service has to say beyond its three lines: warnings and errors, one line each.
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    # Until the event loop takes over the signals, SIGTERM unwinds like Ctrl-C does, so the
    # embedded server is stopped by the `finally` below instead of being left behind.
    signal.signal(signal.SIGTERM, _interrupt)
    server: EmbeddedNatsServer | None = None
    lock: DataDirLock | None = None
    try:
        settings = UpSettings.read(os.environ, data_dir=args.data_dir, port=args.port,
                                   screen_port=getattr(args, "screen_port", None))
        reference = load_reference(os.environ.get("REFERENCE_DATA") or None)
        # One service per data directory: before anything in it is touched.
        lock = DataDirLock.take(settings.data_dir)
        if settings.embedded:
            # Every principal is a NATS user whose permissions the server enforces; the
            # service itself connects as the `service` principal.
            config = replace(secured(settings.server_config(), reference, settings.event_stream),
                             keep_fds=(lock.descriptor,))
            if adopt_global_account_store(config.store_dir):
                print(f"onestop: moved the JetStream store in {config.store_dir} into the "
                      "service's NATS account", file=sys.stderr, flush=True)
            server = EmbeddedNatsServer(config).start()
            public_url = server.url
            url = credential_store(settings.data_dir).url_for(SERVICE, server.url)
            where = (f"{settings.data_dir} (embedded nats-server, "
                     f"sync_interval {settings.sync_interval}); credentials of every principal "
                     f"in {credential_store(settings.data_dir).directory} "
                     "(`onestop creds <principal>`)")
        else:
            public_url, url = settings.nats_url, url_as(settings, SERVICE)
            who = "" if url == public_url else (
                f", as the principal {SERVICE} (credentials in "
                f"{credential_store(settings.data_dir).directory})")
            where = (f"kept by the NATS server at {redacted(public_url)}; onestop started no "
                     f"server; views in {settings.data_dir}{who}")
        asyncio.run(_check_jetstream(url))
        lock.publish(runtime_of(settings.data_dir, url=public_url, version=service_version(),
                                event_stream=settings.event_stream, embedded=settings.embedded))

        def announce(screen: str | None) -> None:
            _announce(redacted(public_url), where, screen)
            if getattr(args, "demo", False):
                # Its own thread and loop: the demo is a client of the service, like any other.
                threading.Thread(target=demo.run_demo, args=(settings,), name="onestop-demo",
                                 daemon=True).start()

        died = _watch(server) if server is not None else threading.Event()
        try:
            asyncio.run(_serve(url, settings, announce=announce))
        except LostConnection:
            if not died.is_set():
                raise
        if died.is_set():
            return _fail(f"the embedded nats-server stopped on its own (exit code "
                         f"{server.process.returncode}; its log: {server.config.log_path}); "
                         "onestop stops too, for its supervisor to start both again",
                         EXIT_SERVER_DIED)
    except (SettingsError, EmbeddedServerError, CannotConnect, ReferenceDataError,
            SealKeyError, DataDirError, ScreenUnavailable) as error:
        return _fail(str(error), EXIT_CANNOT_START)
    except LostConnection as error:
        return _fail(str(error), EXIT_UNCLEAN_STOP)
    except KeyboardInterrupt:
        pass
    finally:
        stopping.set()
        if server is not None:
            server.stop()
        if lock is not None:
            lock.release()
    return 0


def _watch(server: EmbeddedNatsServer) -> threading.Event:
    """Set if the server's process ends while onestop runs; the service is then stopped as
    by SIGTERM (drained as far as it can be), and `run` says why and exits non-zero."""
    died = threading.Event()

    def watch() -> None:
        while server.process is not None and server.process.poll() is None:
            time.sleep(WATCH_SECONDS)
        if server.process is not None and not stopping.is_set():
            died.set()
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="onestop-server-watch", daemon=True).start()
    return died


stopping = threading.Event()  # onestop itself is stopping the server: not a death


async def _check_jetstream(url: str) -> None:
    failures: list[Exception] = []

    async def remember(error: Exception) -> None:
        failures.append(error)

    # A wrong NATS_URL fails now instead of being retried for minutes. (nats-py reads
    # max_reconnect_attempts=0 as "forever"; 1 with a short wait means two quick tries.)
    try:
        connection = await nats.connect(
            **connect_options(url), allow_reconnect=False, max_reconnect_attempts=1, reconnect_time_wait=0.1,
            connect_timeout=CONNECT_TIMEOUT_SECONDS, error_cb=remember)
    except (OSError, TimeoutError, nats.errors.Error) as error:
        cause = failures[-1] if failures else error
        raise CannotConnect(f"cannot connect to NATS at {redacted(url)} "
                            f"({_describe(cause)})") from None
    try:
        await connection.jetstream().account_info()
    except (TimeoutError, nats.errors.Error):
        raise CannotConnect(f"NATS at {redacted(url)} does not answer JetStream requests; "
                            "onestop needs a server with JetStream enabled") from None
    finally:
        await connection.close()


async def _serve(url: str, settings: UpSettings,
                 announce: Callable[[str | None], None]) -> None:
    ready = False

    def on_ready() -> None:
        nonlocal ready
        ready = True
        screen = bus.services.screen
        announce(screen.url if screen is not None else None)

    bus = build_bus(url, on_ready=on_ready, stream=settings.event_stream,
                    data_dir=settings.data_dir, separate_followers=True,
                    screen_port=settings.screen_port or None, screen_host=settings.screen_host)
    try:
        # FastStream's run loop stops the application on SIGINT and SIGTERM.
        await bus.app.run()
    except (OSError, nats.errors.Error) as error:
        if not ready:
            raise
        raise LostConnection(
            f"stopped, but the NATS connection was lost before it could drain "
            f"({_describe(error)})") from None


def _announce(url: str, where: str, screen: str | None) -> None:
    print(f"NATS: {url}", flush=True)
    print(f"Data: {where}", flush=True)
    if screen is not None:
        print(f"Results: {screen} (sign in as a principal, with the password `onestop creds "
              "<principal>` prints)", flush=True)
    print("onestop is up; press Ctrl-C to stop.", flush=True)


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _fail(message: str, exit_code: int) -> int:
    print(f"onestop: {message}", file=sys.stderr, flush=True)
    return exit_code
