"""The published contract: an AsyncAPI 3.0.0 document of everything on the bus.

Built from the tables the service itself runs on (OPERATIONS, the message schemas, the domain's
event classes, the subject helpers), so the document cannot drift from the code; a stored copy
in docs/asyncapi.json is compared with it by a test. Operations are seen from a client system:
it sends commands and receives feeds.
"""

from __future__ import annotations

import json
import os
from typing import Any

from pydantic import BaseModel

from adapters.jetstream.cloudevents import (
    COMMAND,
    COMMAND_DIGEST,
    MSG_ID,
    SPEC_VERSION,
    TOPIC,
    TYPE_PREFIX,
    VERSION,
    cloudevent_type,
)
from adapters.jetstream.subjects import StreamSubjects
from adapters.natsserver import DEFAULT_HOST, DEFAULT_PORT
from bus import messages, subjects
from bus.app import SERVICE_NAME, service_version
from bus.health import HealthReport
from bus.identity import feed_stream, inbox_prefix
from bus import queries
from bus.operations import OPERATIONS
from bus.services import DEFAULT_STREAM
from domain.authority import Authority, load_authority
from domain.base import DomainEvent
from domain.mapping import ORIGINATOR_FIELDS
from domain.reference import load_reference

SCHEMAS = "#/components/schemas/"
# Channel addresses are the real subjects with AsyncAPI parameters in place of the tokens.
PRINCIPAL, DEPARTMENT, CASE_ID = "{principal}", "{department}", "{case_id}"
# The feed publisher forwards exactly the events whose topic has this prefix (bus/feeds.py).
CASE_TOPIC_PREFIX = "case."

DESCRIPTION = f"""\
The district's quality-infrastructure one-stop service over NATS. Department systems, the \
online portal, stations, auditors and the operator connect as principals.

**Identity.** Each principal is a NATS user with its own credentials (`onestop creds \
<principal>` gives them to its integrator). The principal is the `{{principal}}` token of the \
subject, never a field of the payload: the server's permissions let a principal publish only \
under its own `onestop.cmd.<principal>.>` and `onestop.intake.<principal>.>` prefixes, so a \
command on another principal's prefix is refused by the server itself (a permissions \
violation, no reply). A principal may subscribe only under its own inbox prefix, so it must \
connect with the custom inbox prefix `{inbox_prefix('<principal>')}` (nats-py: \
`nats.connect(..., inbox_prefix="{inbox_prefix('<principal>')}")`); replies and pull-consumer \
deliveries then arrive there and no one can read another's answers.

**Accounts.** Each principal's user is alone in a NATS account of its own; the service's \
streams live in another. A principal's account imports from it only its own command, query \
and intake subjects, `{subjects.HEALTH}`, and the JetStream API of its own feed (the lead \
bureau and the auditor also `STREAM.INFO` and `DIRECT.GET` of the event log, the auditor of \
the audit trail). Every request crosses as a service import: the server gives it a reply \
subject of its own that leads back into the requester's account, so an answer can land \
nowhere else whatever reply subject a client names. For integrators this means: read your \
feed with **pull** consumers (durable or ephemeral, `fetch`), as push and ordered push \
consumers are not delivered across accounts; the event log is read by position with direct \
gets, not with consumers; and the service answers a request only on a server-mapped reply or \
the principal's own inbox prefix (anything else is recorded as a `reply.foreign` refusal and \
not executed).

**Commands** are answered by request/reply with `Done` or `Refused`. Every command carries a \
`command_id`: repeating it returns the first outcome and writes nothing new. Systems that \
cannot wait use the durable **intake**; the outcome arrives later on their feed \
`{subjects.feed_outcome(PRINCIPAL)}`. **Feeds** are JetStream streams \
(`{feed_stream('<principal>')}`) that a \
system reads with its own durable pull consumer; a department's feed carries the CloudEvents of \
the cases it is involved in, in log order."""


class Schemas:
    """components/schemas, filled from pydantic models; a name used twice must mean one thing."""

    def __init__(self) -> None:
        self.by_name: dict[str, dict] = {}

    def of_model(self, model: type[BaseModel], mode: str = "validation") -> dict:
        schema = model.model_json_schema(mode=mode, ref_template=SCHEMAS + "{model}")
        return self.add(model.__name__, schema)

    def add(self, name: str, schema: dict) -> dict:
        for nested_name, nested in schema.pop("$defs", {}).items():
            self._put(nested_name, nested)
        self._put(name, schema)
        return {"$ref": SCHEMAS + name}

    def _put(self, name: str, schema: dict) -> None:
        if self.by_name.setdefault(name, schema) != schema:
            raise ValueError(f"two different schemas are both called {name!r}")


def event_classes() -> list[type[DomainEvent]]:
    """Every domain event with a public name, the name it is stored and published under."""
    from domain import cases, enterprises, resources  # noqa: F401 - defines the events

    found, pending = set(), [DomainEvent]
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if "public_name" in cls.__dict__:
            found.add(cls)
    return sorted(found, key=lambda cls: cls.public_name)


def stored_event_schema(event_class: type[DomainEvent]) -> dict:
    """The event's JSON as the log keeps it (domain/mapping.py): the aggregate's id and
    version travel in the subject and headers, and a class version above 1 in the body."""
    schema = event_class.model_json_schema(mode="serialization",
                                           ref_template=SCHEMAS + "{model}")
    schema["title"] = event_class.public_name
    for field in sorted(ORIGINATOR_FIELDS):
        del schema["properties"][field]
        schema["required"].remove(field)
    if event_class.class_version > 1:
        schema["properties"]["class_version"] = {"const": event_class.class_version}
        schema["required"].append("class_version")
    return schema


def string(description: str, **more: Any) -> dict:
    return {"type": "string", "description": description, **more}


NUMBER = {"pattern": "^[0-9]+$"}


def event_headers_schema() -> dict:
    properties = {
        "ce-specversion": {"const": SPEC_VERSION},
        "ce-id": string("Derived from the event's content: a resent event keeps its id.",
                        format="uuid"),
        "ce-source": string("Percent-encoded; the log, `/onestop/<stream>` by default.",
                            examples=[f"/onestop/{DEFAULT_STREAM}"]),
        "ce-type": string(f"`{TYPE_PREFIX}.<public name>.v<class version>`; exact per "
                          "message."),
        "ce-subject": string("The aggregate's id (on a department feed, the case id).",
                             format="uuid"),
        "ce-time": string("When the event happened.", format="date-time"),
        "ce-datacontenttype": {"const": "application/json"},
        MSG_ID: string("Equal to ce-id, so NATS de-duplicates a resent event.", format="uuid"),
        TOPIC: string("The event's public name."),
        VERSION: string("The aggregate's version after this event.", **NUMBER),
        "Onestop-Log-Sequence": string("On department feeds: the event's sequence in the log, "
                                       "the position to wait for before reading views.",
                                       **NUMBER),
        COMMAND: string("The command that wrote the event: `<principal>/<command id>`."),
        COMMAND_DIGEST: string("SHA-256 (hex) of that command's request, so the same id "
                               "with a different request is told apart."),
    }
    optional = {"Onestop-Log-Sequence", COMMAND, COMMAND_DIGEST}
    required = sorted(name for name in properties if name not in optional)
    return {"type": "object", "properties": properties, "required": required}


def headers(properties: dict[str, dict]) -> dict:
    return {"type": "object", "properties": properties, "required": sorted(properties)}


def parameter(description: str, examples: list[str] | None = None) -> dict:
    return {"description": description, **({"examples": examples} if examples else {})}


def parameters() -> dict[str, dict]:
    reference = load_reference()  # the packaged district, so the document stays the same
    departments = sorted(reference.department_codes)
    return {
        "principal": parameter(
            "Who acts: a department code, a station code or `portal`. Enforced by NATS "
            "permissions: a principal can use only its own.",
            [*departments, *sorted(reference.station_codes), "portal"]),
        "department": parameter("The department whose feed this is.", departments),
        "case_id": parameter("The case (a UUID)."),
        "command": parameter("The command's name as sent to the intake, e.g. `case.submit`; "
                             "it may be unknown, since that is one reason for a dead letter."),
        "stream": parameter("The event log's stream name.", [DEFAULT_STREAM]),
        "aggregate_id": parameter("The aggregate's id (a UUID)."),
        "reply": parameter("The rest of the reply subject, chosen by the client library."),
    }


class Document:
    def __init__(self) -> None:
        self.schemas = Schemas()
        self.messages: dict[str, dict] = {}
        self.channels: dict[str, dict] = {}
        self.operations: dict[str, dict] = {}
        self.parameters = parameters()

    def message(self, key: str, payload: dict, summary: str, **more: Any) -> str:
        self.messages[key] = {"name": key, "summary": summary,
                              "contentType": "application/json", "payload": payload, **more}
        return key

    def channel(self, key: str, address: str, message_keys: list[str], description: str) -> str:
        used = [name for name in self.parameters if "{" + name + "}" in address]
        self.channels[key] = {
            "address": address, "description": description,
            "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in message_keys},
            **({"parameters": {name: {"$ref": f"#/components/parameters/{name}"}
                               for name in used}} if used else {}),
        }
        return key

    def operation(self, key: str, action: str, channel: str, summary: str,
                  reply: tuple[str, list[str]] | None = None) -> None:
        def messages_of(channel_key: str, keys: list[str]) -> list[dict]:
            return [{"$ref": f"#/channels/{channel_key}/messages/{m}"} for m in keys]

        self.operations[key] = {
            "action": action, "summary": summary,
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": messages_of(channel, list(self.channels[channel]["messages"])),
        }
        if reply is not None:
            reply_channel, reply_messages = reply
            self.operations[key]["reply"] = {
                "channel": {"$ref": f"#/channels/{reply_channel}"},
                "messages": messages_of(reply_channel, reply_messages)}

    def as_dict(self) -> dict:
        return {
            "asyncapi": "3.0.0",
            "info": {"title": f"{SERVICE_NAME} bus", "version": service_version(),
                     "description": DESCRIPTION},
            "defaultContentType": "application/json",
            "servers": {"embedded": {
                "host": f"{DEFAULT_HOST}:{DEFAULT_PORT}", "protocol": "nats",
                "description": "The nats-server `onestop up` embeds by default."}},
            "channels": self.channels,
            "operations": self.operations,
            "components": {"schemas": self.schemas.by_name, "messages": self.messages,
                           "parameters": self.parameters},
        }


def build() -> dict:
    doc = Document()
    add_replies(doc)
    add_commands(doc)
    add_queries(doc)
    add_feeds(doc)
    add_operator_and_health(doc)
    return doc.as_dict()


def add_replies(doc: Document) -> None:
    done = doc.schemas.of_model(messages.Done, "serialization")
    refused = doc.schemas.of_model(messages.Refused, "serialization")
    report = doc.schemas.of_model(HealthReport, "serialization")
    doc.message("Done", done, "The command was applied (or had been: `replayed`).")
    doc.message("Refused", refused, "The command was refused; nothing was written.")
    doc.message("HealthReport", report, "The service answers, with its version.")
    doc.channel("inbox", f"{inbox_prefix(PRINCIPAL)}.{{reply}}",
                ["Done", "Refused", "HealthReport", "Answered", "QueryRefused"],
                "Replies to a principal's requests, on its own inbox prefix.")


def add_commands(doc: Document) -> None:
    authority = load_authority(load_reference(), OPERATIONS,
                               os.environ.get("AUTHORITY_RULES") or None)
    for name, operation in OPERATIONS.items():
        schema = operation.schema
        payload = doc.schemas.of_model(schema)
        who = f" {who_may_send(authority, name)}{in_which_states(operation)}"
        doc.message(schema.__name__, payload, f"The command {name}.{who}")
        doc.channel(f"cmd.{name}", subjects.command(PRINCIPAL, name), [schema.__name__],
                    f"{operation.summary}{who} Request/reply: answered with Done or Refused.")
        doc.operation(f"send.cmd.{name}", "send", f"cmd.{name}", f"{operation.summary}{who}",
                      reply=("inbox", ["Done", "Refused"]))
        doc.channel(f"intake.{name}", subjects.intake(PRINCIPAL, name), [schema.__name__],
                    f"{operation.summary}{who} Durable intake: the outcome comes later on the "
                    f"principal's feed ({subjects.feed_outcome(PRINCIPAL)}).")
        doc.operation(f"send.intake.{name}", "send", f"intake.{name}",
                      f"{operation.summary} (durable intake){who}")


def in_which_states(operation) -> str:
    states = sorted(operation.command.states)
    if not states:
        return ""
    record = operation.name.split(".")[0]
    return (f" When the {record} is {' or '.join(states)} (else "
            f"{record}.invalid_transition).")


def who_may_send(authority: Authority, name: str) -> str:
    """The rule in words: who may send the command (from domain/authority.toml)."""
    roles = authority.roles_for(name)
    says = [role.says for role in roles]
    listed = says[0] if len(says) == 1 else ", ".join(says[:-1]) + " or " + says[-1]
    codes = ", ".join(role.name for role in roles)
    return (f"Who may send it: {listed} ({codes}); anyone else is refused with "
            "command.not_permitted or <record>.not_yours, and the refusal is audited.")


def add_queries(doc: Document) -> None:
    doc.message("Answered", doc.schemas.of_model(queries.Answered, "serialization"),
                "The answer, with the log position its view had reached.")
    doc.message("QueryRefused", doc.schemas.of_model(queries.QueryRefused, "serialization"),
                "The query was not answered, with a stable code.")
    for name, query in queries.QUERIES.items():
        schema = query.schema
        users = [other for other, q in queries.QUERIES.items() if q.schema is schema]
        doc.message(schema.__name__, doc.schemas.of_model(schema),
                    "The query " + ", ".join(users) + ".")
        doc.channel(f"query.{name}", subjects.query(PRINCIPAL, name), [schema.__name__],
                    f"{query.summary} Request/reply: answered with Answered or QueryRefused.")
        doc.operation(f"send.query.{name}", "send", f"query.{name}", query.summary,
                      reply=("inbox", ["Answered", "QueryRefused"]))


def add_feeds(doc: Document) -> None:
    outcome_headers = headers({
        MSG_ID: string("`outcome-<intake sequence>`: a redelivery is published once."),
        "Onestop-Intake-Sequence": string("The command's sequence in the intake stream.",
                                          **NUMBER)})
    for reply in ("Done", "Refused"):
        doc.message(f"Outcome{reply}", {"$ref": SCHEMAS + reply},
                    f"The outcome of an intake command: {reply}.", headers=outcome_headers)
    doc.channel("feed.outcome", subjects.feed_outcome(PRINCIPAL), ["OutcomeDone", "OutcomeRefused"],
                "Outcomes of the principal's intake commands, in the stream "
                f"{feed_stream('<principal>')}, read with the principal's own durable pull "
                "consumer.")
    doc.operation("receive.feed.outcome", "receive", "feed.outcome",
                  "Read the outcomes of intake commands.")

    common_headers = doc.schemas.add("EventHeaders", event_headers_schema())
    case_events, all_events = [], []
    for event_class in event_classes():
        name = event_class.public_name
        payload = doc.schemas.add(name, stored_event_schema(event_class))
        ce_type = cloudevent_type(name)
        exact = {"type": "object", "properties": {
            "ce-type": {"const": ce_type}, TOPIC: {"const": name}}}
        doc.message(name, payload, f"`{ce_type}`: the event's JSON as the log keeps it.",
                    headers={"type": "object", "allOf": [common_headers, exact]})
        all_events.append(name)
        if name.startswith(CASE_TOPIC_PREFIX):
            case_events.append(name)
    doc.channel("feed.case", subjects.feed_case(DEPARTMENT, CASE_ID), case_events,
                "CloudEvents (binary mode: `ce-` headers, the event's JSON as the body) of "
                "the cases the department is involved in, in the stream "
                f"{feed_stream('<department>')}. "
                "A department that becomes involved first receives the case's earlier "
                "events.")
    doc.operation("receive.feed.case", "receive", "feed.case",
                  "Follow the cases the department is involved in.")
    log_events = StreamSubjects("{stream}", "events").events
    doc.channel("log.events", f"{log_events}.{{aggregate_id}}", all_events,
                "The event log itself, as stored: for the lead bureau, auditors and the "
                "operator, who may read the whole log. Written by the service only.")
    doc.operation("receive.log.events", "receive", "log.events", "Read the whole event log.")


def add_operator_and_health(doc: Document) -> None:
    letter_headers = headers({
        MSG_ID: string("`dead-<intake sequence>`."),
        "Onestop-Reason": string("Why it could not be processed (one line)."),
        "Onestop-Original-Subject": string("The intake subject it was sent to."),
        "Onestop-Intake-Sequence": string("Its sequence in the intake stream.", **NUMBER)})
    doc.message("DeadLetter", {"description": "The intake message's body exactly as sent; "
                               "it may not be JSON at all."},
                "An intake message that could not be processed.", headers=letter_headers,
                contentType="application/octet-stream")
    doc.channel("deadletter", f"{subjects.DEAD_LETTERS}.{PRINCIPAL}.{{command}}", ["DeadLetter"],
                "Intake messages that could not be processed, kept with their reason for "
                "the operator (`onestop deadletters list | redrive`).")
    doc.operation("receive.deadletter", "receive", "deadletter",
                  "The operator reads dead letters to re-drive them.")

    doc.message("HealthCheck", {"description": "Any body; it is ignored."},
                "Is the service up?")
    doc.channel("health", subjects.HEALTH, ["HealthCheck"],
                "Request/reply: the service answers with its health (ok, or degraded when "
                "a part is in trouble), each part's state (the store, the views, the feeds, "
                "the checkpoints: how far behind, stuck or failed), its version, and "
                "`warnings` for its operator.")
    doc.operation("send.health", "send", "health", "Check that the service answers.",
                  reply=("inbox", ["HealthReport"]))


def render(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
