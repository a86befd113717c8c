"""Who may do what on the bus, enforced by nats-server itself.

Every principal (a department, a station, the online portal, an auditor, the operator, and the
onestop service) is a NATS user. Its permissions follow from its kind: it publishes commands,
intake messages and queries only under its own prefix, reads only its own feed, and gets
replies only on its own inbox prefix, so no one can read another's answers. Only the service
writes the event log; only the operator may change, purge or delete streams.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Kind = Literal["lead", "department", "station", "portal", "auditor", "operator", "service"]

ROOT = "onestop"
STREAM_ADMIN = ("$JS.API.STREAM.UPDATE.>", "$JS.API.STREAM.DELETE.>",
                "$JS.API.STREAM.PURGE.>", "$JS.API.STREAM.MSG.DELETE.>")


def feed_stream(principal_id: str) -> str:
    return f"FEED_{principal_id.upper().replace('-', '_')}"


def inbox_prefix(principal_id: str) -> str:
    return f"_INBOX.{principal_id}"


@dataclass(frozen=True)
class Principal:
    id: str  # also the NATS user name and the subject token of its prefixes
    kind: Kind

    @property
    def reads_whole_log(self) -> bool:
        return self.kind in ("lead", "auditor", "operator", "service")

    @property
    def has_feed(self) -> bool:
        # Departments follow their cases there; everyone who sends commands reads the
        # outcomes of its intake there.
        return self.kind in ("lead", "department", "station", "portal")


def _consumer_api(stream: str) -> list[str]:
    """What a client needs to read one stream with its own consumers, and nothing more."""
    return [
        f"$JS.API.STREAM.INFO.{stream}",
        # Ephemeral and ordered consumers are created on the bare subject, named ones below it.
        f"$JS.API.CONSUMER.CREATE.{stream}",
        f"$JS.API.CONSUMER.CREATE.{stream}.>",
        f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.>",
        f"$JS.API.CONSUMER.INFO.{stream}.>",
        f"$JS.API.CONSUMER.DELETE.{stream}.>",
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.>",
        f"$JS.API.DIRECT.GET.{stream}",
        f"$JS.API.DIRECT.GET.{stream}.>",
        f"$JS.ACK.{stream}.>",
        f"$JS.FC.{stream}.>",
    ]


def permissions(principal: Principal, event_stream: str) -> dict:
    if principal.kind == "service":
        return {
            "publish": {"allow": [">"], "deny": list(STREAM_ADMIN)},
            "subscribe": {"allow": [">"]},
        }
    if principal.kind == "operator":
        return {"publish": {"allow": [">"]}, "subscribe": {"allow": [">"]}}
    me = principal.id
    publish = [
        f"{ROOT}.cmd.{me}.>",
        f"{ROOT}.intake.{me}.>",
        f"{ROOT}.query.{me}.>",
        f"{ROOT}.sys.health",
        "$JS.API.INFO",
    ]
    if principal.has_feed:
        publish += _consumer_api(feed_stream(me))
    if principal.reads_whole_log:
        publish += _consumer_api(event_stream)
    if principal.kind == "auditor":  # refusals and reads: see adapters/audit/trail.py
        publish += _consumer_api(f"{event_stream}_AUDIT")
    return {
        "publish": {
            "allow": publish,
            # Deny wins over allow: never the log itself, never stream administration.
            "deny": [f"{event_stream}.>", *STREAM_ADMIN],
        },
        "subscribe": {"allow": [f"{inbox_prefix(me)}.>"]},
    }


def render_authorization(principals: list[Principal], passwords: dict[str, str],
                         event_stream: str) -> str:
    """The `authorization` block for nats-server (JSON is valid nats-server config syntax)."""
    users = [
        {"user": principal.id, "password": passwords[principal.id],
         "permissions": permissions(principal, event_stream)}
        for principal in principals
    ]
    return "authorization " + json.dumps({"users": users}, indent=2) + "\n"


class CredentialStore:
    """Passwords generated once per principal and kept under the data directory, readable by
    the operator only. They are never logged and never in the repository."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, principal_id: str) -> Path:
        return self.directory / f"{principal_id}.json"

    def password(self, principal_id: str) -> str:
        path = self.path(principal_id)
        if path.exists():
            return json.loads(path.read_text())["password"]
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        password = secrets.token_urlsafe(32)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump({"user": principal_id, "password": password}, file)
        return password

    def has(self, principal_id: str) -> bool:
        """Whether a password was ever made for `principal_id`."""
        return self.path(principal_id).exists()

    def passwords(self, principals: list[Principal]) -> dict[str, str]:
        return {principal.id: self.password(principal.id) for principal in principals}

    def url_for(self, principal_id: str, server_url: str) -> str:
        scheme, _, address = server_url.partition("://")
        return f"{scheme}://{principal_id}:{self.password(principal_id)}@{address}"
