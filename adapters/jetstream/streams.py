"""The event stream's configuration recipe, created when missing and verified when present.

The log of record must be append-only. A stream that exists with a weaker configuration is
refused with the list of what is wrong: silently "fixing" it could hide that events were lost.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import orjson
from eventsourcing.persistence import OperationalError
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from adapters.integrity.seal import Seal, sealed_metadata


REPLICAS_SETTING = "NATS_REPLICAS"
MAX_REPLICAS = 5  # JetStream's own limit


def configured_replicas(env: Mapping[str, str] | None = None) -> int:
    """How many copies of every stream and bucket the service owns the cluster keeps
    (NATS_REPLICAS, default 1): one setting for all of them, so that no single server holds
    anything the commands need alone."""
    value = (os.environ if env is None else env).get(REPLICAS_SETTING) or "1"
    try:
        replicas = int(value)
    except ValueError:
        replicas = 0
    if not 1 <= replicas <= MAX_REPLICAS:
        raise ValueError(f"{REPLICAS_SETTING} must be a number from 1 to {MAX_REPLICAS} (3 on "
                         f"a three-server cluster), not {value!r}")
    return replicas


class StreamConfigurationError(OperationalError):
    """The stream exists but is not configured the way the log of record requires."""


@dataclass(frozen=True)
class StreamRecipe:
    name: str
    subjects: tuple[str, ...]
    append_only: bool  # the event log; snapshots are disposable and may be purged
    replicas: int = 1
    description: str | None = None
    seal: Seal | None = None  # what every message is sealed with (adapters/integrity/seal.py)

    def config(self) -> StreamConfig:
        return StreamConfig(
            name=self.name,
            description=self.description or ("onestop event log of record" if self.append_only
                                             else "onestop snapshots"),
            subjects=list(self.subjects),
            retention=RetentionPolicy.LIMITS,
            max_msgs=-1,
            max_bytes=-1,
            max_age=0,
            # A per-subject limit would silently drop an aggregate's old events.
            max_msgs_per_subject=-1,
            discard=DiscardPolicy.NEW,
            storage=StorageType.FILE,
            num_replicas=self.replicas,
            deny_delete=self.append_only,
            deny_purge=self.append_only,
            allow_rollup_hdrs=False,
            allow_direct=True,
            allow_atomic=True,
            allow_msg_ttl=False,
            metadata=sealed_metadata(self.seal),
        )

    def weaknesses(self, existing: StreamConfig) -> list[str]:
        wanted = self.config()
        problems: list[str] = []

        def require(field: str, ok: bool, needs: str) -> None:
            if not ok:
                problems.append(f"{field} is {getattr(existing, field)!r} (needs {needs})")

        require("subjects", sorted(existing.subjects or []) == sorted(wanted.subjects or []),
                f"exactly {wanted.subjects}")
        require("allow_direct", bool(existing.allow_direct), "True")
        require("allow_atomic", bool(existing.allow_atomic), "True")
        require("storage", existing.storage == StorageType.FILE, "file")
        require("allow_rollup_hdrs", not existing.allow_rollup_hdrs, "False")
        require("allow_msg_ttl", not existing.allow_msg_ttl, "False")
        if self.append_only:
            require("deny_delete", bool(existing.deny_delete), "True")
            require("deny_purge", bool(existing.deny_purge), "True")
            require("retention", existing.retention == RetentionPolicy.LIMITS, "limits")
            require("discard", existing.discard == DiscardPolicy.NEW, "new")
            for limit in ("max_msgs", "max_bytes", "max_msgs_per_subject"):
                value = getattr(existing, limit)
                require(limit, value in (None, -1, 0), "-1 (no limit)")
            require("max_age", not existing.max_age, "0 (no limit)")
        return problems


async def ensure_stream(js: JetStreamContext, recipe: StreamRecipe, *, create: bool) -> None:
    try:
        info = await js.stream_info(recipe.name)
    except NotFoundError:
        if not create:
            raise StreamConfigurationError(
                f"stream {recipe.name} does not exist and creating it is turned off"
            ) from None
        await js.add_stream(recipe.config())
        return
    problems = recipe.weaknesses(info.config)
    if problems:
        raise StreamConfigurationError(
            f"stream {recipe.name} exists with a weaker configuration than the log of record "
            f"requires: {'; '.join(problems)}. onestop will not change it silently; "
            "an operator must review it (or use another NATS_STREAM)."
        )


async def list_streams(connection, subject: str | None = None) -> list[dict]:
    """Every stream the server lists (its configuration and state, as JSON), page by page;
    only those on `subject` (wildcards allowed) when it is given."""
    listed: list[dict] = []
    while True:
        asked = {"offset": len(listed), **({"subject": subject} if subject else {})}
        reply = await connection.request("$JS.API.STREAM.LIST", orjson.dumps(asked), timeout=10)
        page = orjson.loads(reply.data)
        if "error" in page:
            raise OperationalError(f"listing the streams: {page['error'].get('description')}")
        streams = page.get("streams") or []
        listed += streams
        if not streams or len(listed) >= page.get("total", 0):
            return listed
