"""Every stream and bucket the service owns, kept at the replicas NATS_REPLICAS asks for.

On a cluster, a stream kept by one server stops whatever needs it when that server is lost:
the commands need the log, its snapshots, the outcomes bucket and the audit trail; the intake,
the dead letters, the feeds and their cursor are needed by the departments. All of them are
created with the one setting (`configured_replicas`). One made before the setting changed, or
by hand, keeps its old number: the service reports each at start-up and `onestop scale` (as
the operator, whose account may change streams) gives them all the setting's.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.aio.client import Client

from adapters.jetstream.streams import list_streams

from bus.contract import subjects
from bus.contract.identity import FEED_PREFIX

SCALE_COMMAND = "onestop scale"


@dataclass(frozen=True)
class Kept:
    stream: str
    replicas: int
    atomic: bool = True  # takes atomic batches


def is_feed(stream: str) -> bool:
    return stream.startswith(FEED_PREFIX)


def owned_by(event_stream: str, stream: str) -> bool:
    """Whether `stream` is one of the service's (its KV buckets' streams included)."""
    return stream in {
        event_stream, f"{event_stream}_SNAPSHOTS", f"{event_stream}_AUDIT",
        f"KV_{event_stream}_COMMANDS", f"KV_{event_stream}_FEEDS",
        subjects.INTAKE_STREAM, subjects.DEAD_LETTER_STREAM,
    } or is_feed(stream)


async def owned_streams(connection: Client, event_stream: str) -> list[Kept]:
    """The service's streams as the server keeps them, by name."""
    kept = [Kept(info["config"]["name"], int(info["config"].get("num_replicas") or 1),
                 bool(info["config"].get("allow_atomic")))
            for info in await list_streams(connection)
            if owned_by(event_stream, info["config"]["name"])]
    return sorted(kept, key=lambda stream: stream.stream)


async def differing(connection: Client, event_stream: str, replicas: int) -> list[Kept]:
    return [kept for kept in await owned_streams(connection, event_stream)
            if kept.replicas != replicas]


def without_batches(owned: list[Kept]) -> list[str]:
    """Feed streams an older onestop made, which take no atomic batches: the feeds send to
    them one message at a time (bus/service/feed_outbox.py) until `onestop scale`."""
    return [kept.stream for kept in owned if is_feed(kept.stream) and not kept.atomic]


def report_batches(streams: list[str]) -> str:
    names = ", ".join(streams[:8]) + (f" and {len(streams) - 8} more" if len(streams) > 8
                                      else "")
    return (f"{len(streams)} feed stream(s), made by an older onestop, take no atomic "
            f"batches, so the feeds send to them one message at a time: {names}; run "
            f"`{SCALE_COMMAND}` as the operator")


def report(streams: list[Kept], replicas: int) -> str:
    """One line for the operator: which streams, and the command that mends them."""
    names = ", ".join(f"{kept.stream} ({kept.replicas})" for kept in streams[:8])
    more = f" and {len(streams) - 8} more" if len(streams) > 8 else ""
    return (f"{len(streams)} stream(s) of the service keep another number of copies than "
            f"NATS_REPLICAS={replicas}: {names}{more}; run `{SCALE_COMMAND}` as the operator")


async def scale(connection: Client, event_stream: str, replicas: int,
                on_scaled=lambda kept: None) -> list[Kept]:
    """Gives each owned stream `replicas` copies; returns what each had. A server that cannot
    (fewer servers than copies) raises, and the streams scaled before it stay scaled."""
    js = connection.jetstream()
    changed: list[Kept] = []
    for kept in await differing(connection, event_stream, replicas):
        info = await js.stream_info(kept.stream)
        info.config.num_replicas = replicas
        await js.update_stream(info.config)
        changed.append(kept)
        on_scaled(kept)
    return changed


async def give_feeds_batches(connection: Client, event_stream: str,
                             on_given=lambda stream: None) -> list[str]:
    """Lets each feed stream an older onestop made take atomic batches; returns which."""
    js = connection.jetstream()
    given = []
    for stream in without_batches(await owned_streams(connection, event_stream)):
        info = await js.stream_info(stream)
        info.config.allow_atomic = True
        await js.update_stream(info.config)
        given.append(stream)
        on_given(stream)
    return given
