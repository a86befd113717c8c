"""The published contract: an AsyncAPI 3.0.0 document of everything on the bus.

Built from the tables the service itself runs on (OPERATIONS, QUERIES, the message schemas,
the domain's event classes, the refusals each command and query can get, the reference data,
the subject helpers), so the document cannot drift from the code; a stored copy in
docs/asyncapi.json is compared with it by a test, the official parser checks it
(.ci/asyncapi), and real replies and events are validated against it
(tests/bus/contract/test_contract_on_the_bus.py). Operations are seen from a client system: it sends
commands and receives feeds. A district's own reference data and rules of authority
(REFERENCE_DATA, AUTHORITY_RULES) make its own contract; docs/asyncapi.json is the shipped
district's.
"""

from __future__ import annotations

import json
import os
from typing import Any

from adapters.jetstream.cloudevents import MSG_ID, TOPIC, cloudevent_type
from adapters.jetstream.stream_subjects import StreamSubjects
from adapters.natsserver import DEFAULT_HOST, DEFAULT_PORT
from bus.contract import messages, queries, subjects

from adapters.jetstream.factory import DEFAULT_STREAM
from bus.contract.identity import feed_stream, inbox_prefix
from bus.contract.messages import MAX_COMMAND_BYTES, SERVICE_NAME, HealthReport, service_version
from bus.contract.operations import OPERATIONS
from bus.contract.schemas import (
    NUMBER,
    SCHEMAS,
    Schemas,
    event_classes,
    event_headers_schema,
    headers,
    intake_ack_schema,
    not_stored_schema,
    refusal_schema,
    stored_event_schema,
    string,
)
from domain.authority import Authority, load_authority
from domain.money import YUAN_TEXT
from domain.reference import Reference, load_reference

# Channel addresses are the real subjects with AsyncAPI parameters in place of the tokens.
PRINCIPAL, DEPARTMENT, CASE_ID = "{principal}", "{department}", "{case_id}"
# The feed publisher forwards exactly the events whose topic has this prefix (bus/service/feeds.py).
CASE_TOPIC_PREFIX = "case."
EVALUATION_TOPIC_PREFIX = "evaluation."

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

**Commands** are answered by request/reply with `Done` or a refusal, `{{"ok": false, \
"error": {{"code", "message", "fields"}}}}`: each command's refusal (`<command>.refused`) lists \
every code it can be refused with, as an enum, and so does each query's. Every command \
carries a `command_id`: repeating it returns the first outcome and writes nothing new. \
Systems that cannot wait use the durable **intake**: a command published to \
`{subjects.intake(PRINCIPAL, '<command>')}` is stored in the JetStream stream \
`{subjects.INTAKE_STREAM}`, and JetStream answers the publish at once with its \
acknowledgement (`IntakeAck`: the stream, the message's sequence in it, and `duplicate: true` \
when a `Nats-Msg-Id` header repeats one of the last two minutes), or with `IntakeNotStored` \
(send it again). The outcome, `Done` or a refusal, arrives later on the principal's feed \
`{subjects.feed_outcome(PRINCIPAL)}`, with the intake sequence in its \
`Onestop-Intake-Sequence` header. **Feeds** are JetStream streams \
(`{feed_stream('<principal>')}`) that a system reads with its own durable pull consumer; a \
department's feed carries the CloudEvents of the cases it is involved in, in log order.

**Size.** A command or query body is at most {MAX_COMMAND_BYTES} bytes (64 KiB) of JSON; a \
larger one is refused with `command.too_large` or `query.too_large` (`x-max-bytes` on each \
message).

**Codes.** Departments, service types, channels, stations, towns and industries are codes of \
the district's reference data; every field that takes one lists them (`enum`), and the \
service refuses any other (`<record>.unknown_<kind>`, or `query.invalid`).

**Money** is exact: decimal text with at most two decimals (`"1200.50"`, pattern \
`{YUAN_TEXT}`) or a whole number of yuan; a JSON number with a fraction is refused, as is \
12.345 in any form. Events and answers give money as decimal text."""


def parameter(description: str, examples: list[str] | None = None) -> dict:
    return {"description": description, **({"examples": examples} if examples else {})}


def parameters(reference: Reference) -> dict[str, dict]:
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
    def __init__(self, reference: Reference, authority: Authority) -> None:
        self.authority = authority
        self.schemas = Schemas(reference)
        self.messages: dict[str, dict] = {}
        self.channels: dict[str, dict] = {}
        self.operations: dict[str, dict] = {}
        self.parameters = parameters(reference)
        self.replies: list[str] = []  # the messages that arrive on a principal's inbox

    def message(self, key: str, payload: dict, summary: str, **more: Any) -> str:
        self.messages[key] = {"name": key, "summary": summary,
                              "contentType": "application/json", "payload": payload, **more}
        return key

    def reply(self, key: str, payload: dict, summary: str, **more: Any) -> str:
        self.replies.append(self.message(key, payload, summary, **more))
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
                  reply: list[str] | None = None) -> None:
        """`reply`: the messages that may answer it, on the principal's inbox."""
        def messages_of(channel_key: str, keys: list[str]) -> list[dict]:
            return [{"$ref": f"#/channels/{channel_key}/messages/{m}"} for m in keys]

        self.operations[key] = {
            "action": action, "summary": summary,
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": messages_of(channel, list(self.channels[channel]["messages"])),
        }
        if reply is not None:
            self.operations[key]["reply"] = {"channel": {"$ref": f"#/channels/{INBOX}"},
                                             "messages": messages_of(INBOX, reply)}

    def as_dict(self) -> dict:
        self.channel(INBOX, f"{inbox_prefix(PRINCIPAL)}.{{reply}}", self.replies,
                     "Replies to a principal's requests, on its own inbox prefix.")
        return {
            "asyncapi": "3.0.0",
            "info": {"title": f"{SERVICE_NAME} bus", "version": service_version(),
                     "description": DESCRIPTION, "license": LICENSE},
            "defaultContentType": "application/json",
            "servers": {"embedded": {
                "host": f"{DEFAULT_HOST}:{DEFAULT_PORT}", "protocol": "nats",
                "description": "The nats-server `onestop up` embeds by default."}},
            "channels": self.channels,
            "operations": self.operations,
            "components": {"schemas": self.schemas.by_name, "messages": self.messages,
                           "parameters": self.parameters},
        }


INBOX = "inbox"
LICENSE = {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"}


def build() -> dict:
    reference = load_reference(os.environ.get("REFERENCE_DATA") or None)
    authority = load_authority(reference, OPERATIONS, os.environ.get("AUTHORITY_RULES") or None)
    doc = Document(reference, authority)
    add_replies(doc)
    add_commands(doc)
    add_queries(doc)
    add_feeds(doc)
    add_operator_and_health(doc)
    return doc.as_dict()


def add_replies(doc: Document) -> None:
    done = doc.schemas.of_model(messages.Done, "serialization")
    doc.schemas.of_model(messages.Refused, "serialization")  # each command's refusal's base
    report = doc.schemas.of_model(HealthReport, "serialization")
    doc.reply("Done", done, "The command was applied (or had been: `replayed`).")
    doc.reply("HealthReport", report, "The service answers, with its version.")
    doc.reply("IntakeAck", doc.schemas.add("IntakeAck", intake_ack_schema()),
              f"JetStream stored the command in {subjects.INTAKE_STREAM}; its outcome comes "
              "on the principal's feed.")
    doc.reply("IntakeNotStored", doc.schemas.add("IntakeNotStored", not_stored_schema()),
              "JetStream did not store the command: send it again (same `command_id`).")


def add_commands(doc: Document) -> None:
    size = {"x-max-bytes": MAX_COMMAND_BYTES}
    for name, operation in OPERATIONS.items():
        schema = operation.schema
        payload = doc.schemas.of_model(schema)
        who = f" {who_may_send(doc.authority, name)}{in_which_states(operation)}"
        doc.message(schema.__name__, payload, f"The command {name}.{who}", **size)
        refused = doc.reply(f"{name}.refused", doc.schemas.add(f"{name}.refused", refusal_schema(
            "Refused", operation.refusals(doc.authority),
            f"How {name} can be refused: every code it can get.")),
            f"{name} was refused; nothing was written.")
        doc.channel(f"cmd.{name}", subjects.command(PRINCIPAL, name), [schema.__name__],
                    f"{operation.summary}{who} Request/reply: answered with Done or "
                    f"{refused}.")
        doc.operation(f"send.cmd.{name}", "send", f"cmd.{name}", f"{operation.summary}{who}",
                      reply=["Done", refused])
        doc.channel(f"intake.{name}", subjects.intake(PRINCIPAL, name), [schema.__name__],
                    f"{operation.summary}{who} Durable intake: JetStream acknowledges the "
                    f"publish (IntakeAck); the outcome, Done or {refused}, comes later on the "
                    f"principal's feed ({subjects.feed_outcome(PRINCIPAL)}).")
        doc.operation(f"send.intake.{name}", "send", f"intake.{name}",
                      f"{operation.summary} (durable intake){who}",
                      reply=["IntakeAck", "IntakeNotStored"])


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
    size = {"x-max-bytes": MAX_COMMAND_BYTES}
    doc.schemas.of_model(queries.Answered, "serialization")  # each answer's base
    doc.schemas.of_model(queries.QueryRefused, "serialization")  # each refusal's base
    for name, query in queries.QUERIES.items():
        schema = query.schema
        users = [other for other, q in queries.QUERIES.items() if q.schema is schema]
        doc.message(schema.__name__, doc.schemas.of_model(schema),
                    "The query " + ", ".join(users) + ".", **size)
        result = doc.schemas.of_model(query.result, "serialization")
        answered = doc.reply(f"{name}.answered", doc.schemas.add(f"{name}.answered", {
            "description": f"The answer to {name}, with the log position its view had reached.",
            "allOf": [{"$ref": SCHEMAS + "Answered"},
                      {"type": "object", "properties": {"result": result}}]}),
            f"The answer to {name}.")
        refused = doc.reply(f"{name}.refused", doc.schemas.add(f"{name}.refused", refusal_schema(
            "QueryRefused", query.refusals, f"How {name} can be refused: every code it can "
                                            "get.")),
            f"{name} was not answered, with a stable code.")
        doc.channel(f"query.{name}", subjects.query(PRINCIPAL, name), [schema.__name__],
                    f"{query.summary} Request/reply: answered with {answered} or {refused}.")
        doc.operation(f"send.query.{name}", "send", f"query.{name}", query.summary,
                      reply=[answered, refused])


def add_feeds(doc: Document) -> None:
    outcome_headers = headers({
        MSG_ID: string("`outcome-<intake sequence>`: a redelivery is published once."),
        "Onestop-Intake-Sequence": string("The command's sequence in the intake stream.",
                                          **NUMBER),
        "Onestop-Log-Stream": string("The log (stream) of the service that processed it.")})
    any_refusal = frozenset().union(*(operation.refusals(doc.authority)
                                      for operation in OPERATIONS.values()))
    doc.schemas.add("OutcomeRefused", refusal_schema(
        "Refused", any_refusal, "An intake command refused: with any code a command can get "
        "(its own command's refusal lists those it can)."))
    doc.message("OutcomeDone", {"$ref": SCHEMAS + "Done"},
                "The outcome of an intake command: done.", headers=outcome_headers)
    doc.message("OutcomeRefused", {"$ref": SCHEMAS + "OutcomeRefused"},
                "The outcome of an intake command: refused.", headers=outcome_headers)
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
        if name.startswith((CASE_TOPIC_PREFIX, EVALUATION_TOPIC_PREFIX)):
            case_events.append(name)
    doc.channel("feed.case", subjects.feed_case(DEPARTMENT, CASE_ID), case_events,
                "CloudEvents (binary mode: `ce-` headers, the event's JSON as the body) of "
                "the cases the department is involved in, in the stream "
                f"{feed_stream('<department>')}. "
                "A department that becomes involved first receives the case's earlier "
                "events. The ratings of its stages (好差评, `evaluation.*`) go to the "
                "department a rating is for and to the window, town post or portal that took "
                "the case, which tells the enterprise what was rectified. The service stores "
                "a feed's messages in atomic batches, so a message may also carry "
                "`Nats-Batch-Id`, `Nats-Batch-Sequence` and `Nats-Batch-Commit`: they say "
                "how it was stored, nothing of the event.")
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
                  reply=["HealthReport"])


def render(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
