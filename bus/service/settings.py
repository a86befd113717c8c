"""What `onestop up` runs with: flags win over environment variables, which win over defaults."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from adapters.jetstream.stream_subjects import check_stream_name
from adapters.jetstream.streams import configured_replicas
from adapters.nats_address import AddressError, NatsAddress
from adapters.natsserver import DEFAULT_PORT, DEFAULT_SYNC_INTERVAL, EmbeddedServerConfig
from bus.service.results_screen import DEFAULT_SCREEN_PORT

DEFAULT_DATA_DIR = Path("var")
DEFAULT_EVENT_STREAM = "ONESTOP"
# nats-server accepts `always` or a Go duration such as 10s, 2m or 1m30s.
SYNC_INTERVAL = re.compile(r"always|(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+")


class SettingsError(ValueError):
    """A setting has a value onestop cannot use; the message names the setting."""


@dataclass(frozen=True)
class UpSettings:
    nats_url: str | None
    data_dir: Path
    port: int
    sync_interval: str
    nats_server_bin: Path | None
    event_stream: str = DEFAULT_EVENT_STREAM
    replicas: int = 1  # of every stream and bucket (adapters/jetstream/streams.py)
    # The results screen (bus/service/results_screen.py): its port (0: none) and address.
    screen_port: int = DEFAULT_SCREEN_PORT
    screen_host: str = "127.0.0.1"

    @property
    def embedded(self) -> bool:
        return self.nats_url is None

    @classmethod
    def read(
        cls,
        env: Mapping[str, str],
        data_dir: str | None = None,
        port: int | None = None,
        screen_port: int | None = None,
    ) -> UpSettings:
        return cls(
            nats_url=_nats_url(env.get("NATS_URL")),
            data_dir=Path(data_dir or env.get("ONESTOP_DATA_DIR") or DEFAULT_DATA_DIR).absolute(),
            port=_port(port if port is not None else env.get("ONESTOP_NATS_PORT")),
            sync_interval=_sync_interval(env.get("ONESTOP_SYNC_INTERVAL")),
            nats_server_bin=Path(env["NATS_SERVER_BIN"]) if env.get("NATS_SERVER_BIN") else None,
            event_stream=_event_stream(env.get("NATS_STREAM")),
            replicas=_replicas(env),
            screen_port=_screen_port(screen_port if screen_port is not None
                                     else env.get("ONESTOP_SCREEN_PORT")),
            screen_host=(env.get("ONESTOP_SCREEN_HOST") or "127.0.0.1").strip(),
        )._with_timings_checked(env)

    def _with_timings_checked(self, env: Mapping[str, str]) -> UpSettings:
        """The overdue watch reads its two timings itself (bus/service/overdue.py); a value
        it could not use is said here, before anything starts."""
        _seconds(env, "ONESTOP_OVERDUE_SECONDS", zero_allowed=False)
        _seconds(env, "ONESTOP_OVERDUE_SETTLING_SECONDS", zero_allowed=True)
        return self

    def server_config(self) -> EmbeddedServerConfig:
        return EmbeddedServerConfig(
            data_dir=self.data_dir,
            port=self.port,
            sync_interval=self.sync_interval,
            binary=self.nats_server_bin,
        )


def _nats_url(value: str | None) -> str | None:
    """NATS_URL: one server or a comma-separated list (adapters/nats_address.py)."""
    if not value or not value.strip():
        return None
    try:
        NatsAddress.parse(value)
    except AddressError as error:
        raise SettingsError(f"NATS_URL: {error}") from None
    return value.strip()


def _screen_port(value: int | str | None) -> int:
    if value is None or value == "":
        return DEFAULT_SCREEN_PORT
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = -1
    if not 0 <= port <= 65535:
        raise SettingsError(f"the results screen's port must be a number from 0 (no screen) "
                            f"to 65535, not {value!r} (--screen-port or ONESTOP_SCREEN_PORT)")
    return port


def _seconds(env: Mapping[str, str], name: str, zero_allowed: bool) -> None:
    value = env.get(name)
    if not value:
        return
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not (0 < seconds < 1e9 or (zero_allowed and seconds == 0)):
        least = "0 or more" if zero_allowed else "more than 0"
        raise SettingsError(f"{name} must be a number of seconds, {least}, not {value!r}")


def _replicas(env: Mapping[str, str]) -> int:
    try:
        return configured_replicas(env)
    except ValueError as error:
        raise SettingsError(str(error)) from None


def _port(value: int | str | None) -> int:
    if value is None or value == "":
        return DEFAULT_PORT
    try:
        port = int(value)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise SettingsError(f"the NATS port must be a number from 1 to 65535, not {value!r} "
                            "(--port or ONESTOP_NATS_PORT)")
    return port


def _sync_interval(value: str | None) -> str:
    interval = (value or DEFAULT_SYNC_INTERVAL).strip()
    if not SYNC_INTERVAL.fullmatch(interval):
        raise SettingsError(f"ONESTOP_SYNC_INTERVAL must be 'always' or a duration such as "
                            f"'10s' or '2m', not {value!r}")
    return interval


def _event_stream(value: str | None) -> str:
    try:
        return check_stream_name(value or DEFAULT_EVENT_STREAM)
    except ValueError as error:
        raise SettingsError(str(error)) from None
