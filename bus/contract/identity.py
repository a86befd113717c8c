"""Who may do what on the bus, enforced by nats-server itself.

Every principal (a department, a station, the online portal, an auditor, the operator, and the
onestop service) is a NATS user; the service and the operator share the account that holds
every stream, and every other principal has an account of its own (`render_accounts`). Its
permissions follow from its kind: it publishes commands, intake messages and queries only under
its own prefix, reads only its own feed, and gets replies only on its own inbox prefix, so no
one can read another's answers. Only the service writes the event log; only the operator may
change, purge or delete streams.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from adapters.audit.trail import audit_stream
from adapters.nats_address import NatsAddress
from bus.contract import subjects
from bus.contract.operations import OPERATIONS

Kind = Literal["lead", "department", "station", "portal", "auditor", "operator", "service"]

# The account of the service and the operator, which holds every stream of onestop's.
SERVICE_ACCOUNT = "ONESTOP"
STREAM_ADMIN = ("$JS.API.STREAM.UPDATE.>", "$JS.API.STREAM.DELETE.>",
                "$JS.API.STREAM.PURGE.>", "$JS.API.STREAM.MSG.DELETE.>")


FEED_PREFIX = "FEED_"  # of every feed stream's name


def feed_stream(principal_id: str) -> str:
    return f"{FEED_PREFIX}{principal_id.upper().replace('-', '_')}"


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


@dataclass(frozen=True)
class Imported:
    """A subject the service's account exports and a principal's account imports.

    Every request crosses the account boundary as a service import, so the server itself
    maps its reply to a private subject that leads back into the requester's own account:
    whatever reply subject a principal chooses, an answer can land nowhere else."""

    subject: str
    streamed: bool = False  # answered with many messages: a pull, a batched direct get
    shared: bool = False  # the service is told who asked (the `Nats-Request-Info` header)
    # The export it is taken from, when one export serves many imports of one principal
    # (its commands): the server config stays small, and the export is still its alone.
    exported: str | None = None

    @property
    def export(self) -> str:
        return self.exported or self.subject


def _consumer_api(stream: str) -> list[Imported]:
    """What a client needs to read one stream with its own consumers, and nothing more."""
    api = "$JS.API"
    return [
        Imported(f"{api}.STREAM.INFO.{stream}"),
        # Ephemeral consumers are created on the bare subject, named ones below it.
        Imported(f"{api}.CONSUMER.CREATE.{stream}"),
        Imported(f"{api}.CONSUMER.CREATE.{stream}.>"),
        Imported(f"{api}.CONSUMER.DURABLE.CREATE.{stream}.>"),
        Imported(f"{api}.CONSUMER.INFO.{stream}.>"),
        Imported(f"{api}.CONSUMER.DELETE.{stream}.>"),
        Imported(f"{api}.CONSUMER.NAMES.{stream}"),
        Imported(f"{api}.CONSUMER.LIST.{stream}"),
        Imported(f"{api}.CONSUMER.MSG.NEXT.{stream}.>", streamed=True),
        *_direct_get(stream),
        Imported(f"$JS.ACK.{stream}.>"),
    ]


def _direct_get(stream: str) -> list[Imported]:
    return [Imported(f"$JS.API.DIRECT.GET.{stream}", streamed=True),
            Imported(f"$JS.API.DIRECT.GET.{stream}.>", streamed=True)]


def _reader_api(stream: str) -> list[Imported]:
    """Reading a stream of the service's by position, without any consumer: the consumers
    on it are the service's own, which no principal may see, pull from, change or delete."""
    return [Imported(f"$JS.API.STREAM.INFO.{stream}"), *_direct_get(stream)]


def imports_of(principal: Principal, event_stream: str) -> list[Imported]:
    """Everything a principal's account imports from the service's account."""
    me = principal.id
    # Each command of the service's table (bus/contract/operations.py) by request and by the intake;
    # whether this principal may send it about a record is the service's to decide (and to
    # audit when it refuses), so every command is reachable: only its subject is checked here.
    # The intake's outcomes go to the sender's feed: only who has one may use it.
    ways = (subjects.command, subjects.intake) if principal.has_feed else (subjects.command,)
    imports = [Imported(way(me, name), shared=True, exported=way(me, ">"))
               for way in ways for name in OPERATIONS]
    imports += [
        Imported(subjects.query(me, ">"), shared=True),
        Imported(subjects.HEALTH),
        # Clients ask it to learn that JetStream is there (nats.js' jetstreamManager does).
        Imported("$JS.API.INFO"),
    ]
    if principal.has_feed:
        imports += _consumer_api(feed_stream(me))
    if principal.reads_whole_log:
        imports += _reader_api(event_stream)
    if principal.kind == "auditor":  # refusals and reads: see adapters/audit/trail.py
        imports += _reader_api(audit_stream(event_stream))
    return imports


def permissions(principal: Principal, event_stream: str) -> dict:
    if principal.kind == "service":
        return {
            "publish": {"allow": [">"], "deny": list(STREAM_ADMIN)},
            "subscribe": {"allow": [">"]},
        }
    if principal.kind == "operator":
        return {"publish": {"allow": [">"]}, "subscribe": {"allow": [">"]}}
    # Within its own account too, a principal may use only what it imports: anything else
    # is refused as a permissions violation that its client hears of at once.
    return {
        "publish": {
            "allow": [imported.subject for imported in imports_of(principal, event_stream)],
            # Deny wins over allow: never the log itself, never stream administration.
            "deny": [f"{event_stream}.>", *STREAM_ADMIN],
        },
        "subscribe": {"allow": [f"{inbox_prefix(principal.id)}.>"]},
    }


def in_service_account(principal: Principal) -> bool:
    return principal.kind in ("service", "operator")


def render_accounts(principals: list[Principal], passwords: dict[str, str],
                    event_stream: str) -> str:
    """nats-server's `accounts` block (JSON is valid nats-server config syntax).

    The service and the operator share the account that holds every stream, bucket and
    consumer: the event log, the audit trail, the intake, the feeds. Every other principal
    has an account of its own with nothing in it but what it imports, so nothing it sends,
    and no reply subject it names, can reach a subject of the service's or of anyone else."""

    def user(principal: Principal) -> dict:
        return {"user": principal.id, "password": passwords[principal.id],
                "permissions": permissions(principal, event_stream)}

    exports: dict[str, dict] = {}
    accounts: dict[str, dict] = {}
    for principal in principals:
        if in_service_account(principal):
            continue
        imports = []
        for imported in imports_of(principal, event_stream):
            export = exports.setdefault(imported.export, {
                "service": imported.export, "accounts": [],
                **({"response_type": "stream"} if imported.streamed else {})})
            if principal.id not in export["accounts"]:
                export["accounts"].append(principal.id)
            imports.append({"service": {"account": SERVICE_ACCOUNT, "subject": imported.subject},
                            **({"share": True} if imported.shared else {})})
        accounts[principal.id] = {"users": [user(principal)], "imports": imports}
    service_account = {
        "jetstream": "enabled",
        "users": [user(principal) for principal in principals if in_service_account(principal)],
        "exports": list(exports.values()),
    }
    return "accounts " + json.dumps({SERVICE_ACCOUNT: service_account, **accounts},
                                    indent=2) + "\n"


class MissingCredentials(Exception):
    """The data directory keeps no password for a principal: it is not the data directory of
    a running `onestop up`, most likely. The message says where it looked."""


class CredentialStore:
    """Passwords generated once per principal and kept under the data directory, readable by
    the operator only. They are never logged and never in the repository.

    Only the commands that configure a server (`onestop up`, `onestop nats-auth`) make them
    (`make_missing`); any other command, finding none, says so instead of handing out a new
    password that no server knows."""

    def __init__(self, directory: Path, *, make_missing: bool = False) -> None:
        self.directory = directory
        self.make_missing = make_missing

    def path(self, principal_id: str) -> Path:
        return self.directory / f"{principal_id}.json"

    def password(self, principal_id: str) -> str:
        path = self.path(principal_id)
        if path.exists():
            return json.loads(path.read_text())["password"]
        if not self.make_missing:
            raise MissingCredentials(
                f"no credentials of {principal_id} in {self.directory}: is "
                f"{self.directory.parent} the data directory of `onestop up`? "
                "(--data-dir or ONESTOP_DATA_DIR)")
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
        """The server (or list of servers) as this principal, its password inside."""
        return NatsAddress.parse(server_url).as_user(principal_id,
                                                     self.password(principal_id)).text()
