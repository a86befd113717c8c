"""Fields that take a code of the district's reference data: a department, a service type, a
channel, a station, a town or an industry.

A field says so by its type (`Department`, `ServiceType`, ...), and that one declaration does
two things: every command is checked against the reference data before its use case runs
(`require_known`: `<record>.unknown_<kind>`), and the published contract lists the codes the
field takes (the JSON schema of the field carries `REFERENCE_KIND`, which the contract turns
into an enum of the district's codes). So what is checked and what is published cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, Field

from domain.base import CODE
from domain.errors import refuse

Kind = Literal["department", "service", "channel", "station", "town", "industry"]
REFERENCE_KIND = "x-reference-kind"  # in a field's JSON schema: the kind of code it takes

# How a refusal names what the code is not.
WHAT: dict[str, str] = {
    "department": "a department",
    "service": "a service of the catalogue",
    "channel": "a service channel",
    "station": "a service station",
    "town": "a town or street of the district",
    "industry": "an industry of the district's register",
}


@dataclass(frozen=True)
class ReferenceCode:
    """Marks a text field as taking a code of the reference data of one `kind`."""

    kind: Kind

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        schema = handler(core_schema)
        schema[REFERENCE_KIND] = self.kind
        schema.setdefault("description", f"The code of {WHAT[self.kind]} (reference data).")
        return schema


def _code(kind: Kind) -> Any:
    """A code a command gives: checked for its form here, against the reference data later."""
    return Annotated[str, Field(pattern=CODE, max_length=40), ReferenceCode(kind)]


def recorded(kind: Kind) -> Any:
    """A code an event records: it was checked when its command came, so the event itself
    reads back whatever the log holds."""
    return Annotated[str, ReferenceCode(kind)]


class Recorded:
    """The codes as events record them (`recorded`)."""

    department = recorded("department")
    service = recorded("service")
    channel = recorded("channel")
    station = recorded("station")
    town = recorded("town")
    industry = recorded("industry")


Department = _code("department")
ServiceType = _code("service")
Channel = _code("channel")
Station = _code("station")
Town = _code("town")
Industry = _code("industry")


def _kind_in(annotation: Any, metadata: tuple = ()) -> Kind | None:
    for item in metadata:
        if isinstance(item, ReferenceCode):
            return item.kind
    if get_origin(annotation) is Annotated:
        inner, *more = get_args(annotation)
        return _kind_in(inner, tuple(more))
    for argument in get_args(annotation):  # str | None, tuple[str, ...]
        if argument is not Ellipsis and (kind := _kind_in(argument)):
            return kind
    return None


@cache
def coded_fields(model: type[BaseModel]) -> dict[str, Kind]:
    """The fields of `model` that take reference codes, with the kind each takes."""
    found = {}
    for name, info in model.model_fields.items():
        if kind := _kind_in(info.annotation, tuple(info.metadata)):
            found[name] = kind
    return found


class Codes:
    """What the district's reference data holds, kind by kind (domain/reference.py builds it)."""

    def __init__(self, by_kind: dict[str, frozenset[str]]) -> None:
        self.by_kind = by_kind

    def unknown(self, message: BaseModel) -> list[tuple[str, str, Kind]]:
        """Each (field, value, kind) of `message` that is not a code of the district."""
        found = []
        for name, kind in coded_fields(type(message)).items():
            value = getattr(message, name)
            values = value if isinstance(value, (tuple, list)) else (value,)
            found += [(name, item, kind) for item in values
                      if item is not None and item not in self.by_kind[kind]]
        return found

    def require_known(self, record: str, command: BaseModel) -> None:
        """`<record>.unknown_<kind>` for the first code the command gives that the district
        does not have."""
        for name, value, kind in self.unknown(command):
            raise refuse(f"{record}.unknown_{kind}", f"{value!r} is not {WHAT[kind]}.",
                         **{name: value})

