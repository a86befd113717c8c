"""The schemas of the published contract (bus/contract/asyncapi.py), in `components/schemas`: pydantic
models' own, each reference code's list of the district's codes, each command's and query's
refusal with every code it can get, the events as the log keeps them with their CloudEvents
headers, and JetStream's answers to an intake publish.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from adapters.jetstream.cloudevents import (
    COMMAND,
    COMMAND_DIGEST,
    MSG_ID,
    RECORDED_TIME,
    SPEC_VERSION,
    TOPIC,
    TYPE_PREFIX,
    VERSION,
)
from adapters.jetstream.factory import DEFAULT_STREAM
from bus.contract import subjects
from domain.base import DomainEvent
from domain.codes import REFERENCE_KIND, WHAT, Kind
from domain.mapping import ORIGINATOR_FIELDS
from domain.reference import Reference

SCHEMAS = "#/components/schemas/"
# The list of the district's codes each kind of reference code refers to.
CODE_SCHEMAS: dict[str, str] = {
    "department": "DepartmentCode", "service": "ServiceTypeCode", "channel": "ChannelCode",
    "station": "StationCode", "town": "TownCode", "industry": "IndustryCode"}


class Schemas:
    """components/schemas, filled from pydantic models; a name used twice must mean one thing.
    Every field that takes a code of the reference data refers to the list of the district's
    codes of its kind (`DepartmentCode`, ...)."""

    def __init__(self, reference: Reference) -> None:
        self.by_name: dict[str, dict] = {}
        for kind, name in CODE_SCHEMAS.items():
            self._put(name, code_schema(reference, kind))

    def of_model(self, model: type[BaseModel], mode: str = "validation") -> dict:
        schema = model.model_json_schema(mode=mode, ref_template=SCHEMAS + "{model}")
        return self.add(model.__name__, schema)

    def add(self, name: str, schema: dict) -> dict:
        for nested_name, nested in schema.pop("$defs", {}).items():
            self._put(nested_name, nested)
        self._put(name, schema)
        return {"$ref": SCHEMAS + name}

    def _put(self, name: str, schema: dict) -> None:
        schema = with_codes(schema)
        if self.by_name.setdefault(name, schema) != schema:
            raise ValueError(f"two different schemas are both called {name!r}")


def code_schema(reference: Reference, kind: Kind) -> dict:
    names = reference.names(kind)
    listed = "; ".join(f"`{code}` {name}".rstrip() for code, name in names.items())
    return {"type": "string", "enum": sorted(names),
            "description": f"The code of {WHAT[kind]}, from the district's reference data "
                           f"(anything else is refused: `<record>.unknown_{kind}` for a "
                           f"command, query.invalid for a query): {listed}."}


def with_codes(node: Any) -> Any:
    """The schema with each field that takes a reference code referring to its code list
    (the list says all the form does: the pattern and length beside the marker go)."""
    if isinstance(node, list):
        return [with_codes(item) for item in node]
    if not isinstance(node, dict):
        return node
    if REFERENCE_KIND in node:
        return {"$ref": SCHEMAS + CODE_SCHEMAS[node[REFERENCE_KIND]]}
    return {key: with_codes(value) for key, value in node.items()}


def refusal_schema(base: str, codes: frozenset[str], description: str) -> dict:
    """A refusal (`base`: Refused or QueryRefused) whose `error.code` is one of `codes`."""
    return {"description": description, "allOf": [
        {"$ref": SCHEMAS + base},
        {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code"],
            "properties": {"code": {"enum": sorted(codes)}}}}},
    ]}


def event_classes() -> list[type[DomainEvent]]:
    """Every domain event with a public name, the name it is stored and published under."""
    from domain import cases, enterprises, resources  # noqa: F401 - defines the events

    found, pending = set(), list(DomainEvent.__subclasses__())
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if cls.__dict__.get("public_name"):  # named by itself, not only by inheritance
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
        "ce-id": string("A UUID of version 8 (RFC 9562) derived from the event's content: "
                        "a resent event keeps its id.", format="uuid",
                        pattern="^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                "[0-9a-f]{12}$"),
        "ce-source": string("Percent-encoded; the log, `/onestop/<stream>` by default.",
                            examples=[f"/onestop/{DEFAULT_STREAM}"]),
        "ce-type": string(f"`{TYPE_PREFIX}.<public name>.v<class version>`; exact per "
                          "message."),
        "ce-subject": string("The aggregate's id: a case's, or a rating's (`evaluation.*`, "
                             "whose case is the feed subject's last token).",
                             format="uuid"),
        "ce-time": string("When the event happened, as its sender said (a command's "
                          "`occurred_at`; by default, when it was recorded).",
                          format="date-time"),
        RECORDED_TIME: string("When the service recorded the event (absent on events "
                              "written before the two times were told apart).",
                              format="date-time"),
        "ce-datacontenttype": {"const": "application/json"},
        MSG_ID: string("Equal to ce-id, so NATS de-duplicates a resent event.", format="uuid"),
        TOPIC: string("The event's public name."),
        VERSION: string("The aggregate's version after this event.", **NUMBER),
        "Onestop-Log-Sequence": string("On department feeds: the event's sequence in the log, "
                                       "the position to wait for before reading views.",
                                       **NUMBER),
        "Onestop-Log-Stream": string("On department feeds: the log (stream) it was copied "
                                     "from.", examples=[DEFAULT_STREAM]),
        COMMAND: string("The command that wrote the event: `<principal>/<command id>`."),
        COMMAND_DIGEST: string("SHA-256 (hex) of that command's request, so the same id "
                               "with a different request is told apart."),
    }
    optional = {"Onestop-Log-Sequence", "Onestop-Log-Stream", COMMAND, COMMAND_DIGEST,
                RECORDED_TIME}
    required = sorted(name for name in properties if name not in optional)
    return {"type": "object", "properties": properties, "required": required}


def headers(properties: dict[str, dict]) -> dict:
    return {"type": "object", "properties": properties, "required": sorted(properties)}


def intake_ack_schema() -> dict:
    return {
        "type": "object", "title": "IntakeAck",
        "description": "JetStream's acknowledgement of a publish to the intake (a `PubAck`), "
                       "sent by the NATS server, not by the service: the command is stored and "
                       "will be processed; its outcome arrives on the principal's feed with "
                       "this `seq` in its `Onestop-Intake-Sequence` header.",
        "required": ["stream", "seq"],
        "properties": {
            "stream": {"const": subjects.INTAKE_STREAM},
            "seq": {"type": "integer", "minimum": 1,
                    "description": "The command's sequence in the intake stream."},
            "duplicate": {"type": "boolean", "description": (
                "True when the publish carried a `Nats-Msg-Id` header that one of the last "
                "two minutes carried: stored once, processed once.")},
            "domain": {"type": "string", "description": "The JetStream domain, if any."},
        },
    }


def not_stored_schema() -> dict:
    return {
        "type": "object", "title": "IntakeNotStored",
        "description": "JetStream's answer when it could not store a publish (the stream "
                       "unavailable or full, say). Publishing with no answer at all (no "
                       "responders, a timeout) means the same: not stored, send again.",
        "required": ["error"],
        "properties": {"error": {
            "type": "object", "required": ["code"],
            "properties": {"code": {"type": "integer", "description": "An HTTP-like status."},
                           "err_code": {"type": "integer",
                                        "description": "JetStream's own error code."},
                           "description": {"type": "string"}}}},
    }
