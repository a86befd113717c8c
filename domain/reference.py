"""Reference data the district edits, not code: departments, services, channels, stations,
industries, and its calendar of working days."""

from __future__ import annotations

import tomllib
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, ValidationError, model_validator

from domain.base import CODE, Value
from domain.calendar import WorkingCalendar
from domain.codes import Codes, Kind

DEFAULT = "reference.toml"


PrincipalKind = Literal["lead", "department", "station", "portal"]


class ReferenceDataError(ValueError):
    pass


class Named(Value):
    code: str = Field(pattern=CODE)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Service(Named):
    lead: str
    sla_days: int = Field(gt=0)


class Station(Named):
    kind: Literal["window", "promotion_centre", "town_post"]
    town: str | None = None


class Reference(Value):
    lead: Named
    departments: list[Named] = Field(min_length=1)
    services: list[Service] = Field(min_length=1)
    channels: list[Named] = Field(min_length=1)
    stations: list[Station] = Field(min_length=1)
    industries: list[Named] = Field(min_length=1)
    calendar: WorkingCalendar = WorkingCalendar()

    @model_validator(mode="after")
    def _codes_are_unique_and_known(self) -> Reference:
        for key in ("departments", "services", "channels", "stations", "industries"):
            seen: set[str] = {self.lead.code} if key == "departments" else set()
            for index, item in enumerate(getattr(self, key)):
                if item.code in seen:
                    raise ValueError(f"{key}[{index}].code: duplicate code {item.code!r}")
                seen.add(item.code)
        for index, service in enumerate(self.services):
            if service.lead not in self.department_codes:
                raise ValueError(f"services[{index}].lead: unknown department {service.lead!r}")
        return self

    @property
    def department_codes(self) -> set[str]:
        return {self.lead.code} | {d.code for d in self.departments}

    @property
    def station_codes(self) -> set[str]:
        return {s.code for s in self.stations}

    @property
    def towns(self) -> set[str]:
        return {s.town for s in self.stations if s.town}

    def names(self, kind: Kind) -> dict[str, str]:
        """The codes of one kind, each with its name in Chinese and English (a town, whose
        station names it, with none)."""
        if kind == "town":
            return dict.fromkeys(sorted(self.towns), "")
        named: list[Named] = {
            "department": [self.lead, *self.departments], "service": self.services,
            "channel": self.channels, "station": self.stations, "industry": self.industries,
        }[kind]
        return {item.code: f"{item.zh} / {item.en}" for item in named}

    @cached_property
    def codes(self) -> Codes:
        """Every code of the district, by the kind of field that takes it (domain/codes.py)."""
        return Codes({kind: frozenset(self.names(kind)) for kind in get_args(Kind)})

    def is_principal(self, code: str) -> bool:
        return self.kind_of(code) is not None

    def kind_of(self, code: str) -> PrincipalKind | None:
        """What a principal who may act on the district's records is; None for anyone else
        (an auditor reads, the operator runs the service: neither acts)."""
        if code == self.lead.code:
            return "lead"
        if code == "portal":
            return "portal"
        if any(d.code == code for d in self.departments):
            return "department"
        if any(s.code == code for s in self.stations):
            return "station"
        return None

    def service(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def has_channel(self, code: str) -> bool:
        return any(c.code == code for c in self.channels)


def district_file(path: str | Path | None, default: str, what: str) -> tuple[str, str]:
    """The text of a district's own file (`path`), or of the one shipped in domain/, and how
    to name it in an error."""
    if path is None:
        return (resources.files("domain").joinpath(default).read_text(encoding="utf-8"),
                f"domain/{default}")
    try:
        return Path(path).read_text(encoding="utf-8"), str(path)
    except OSError as error:
        raise ReferenceDataError(f"{path}: cannot read {what}: {error}") from None


def load_reference(path: str | Path | None = None) -> Reference:
    text, where = district_file(path, DEFAULT, "reference data")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:  # its message names the line and column
        raise ReferenceDataError(f"{where}: not valid TOML: {error}") from None
    try:
        return Reference.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{_key(e['loc']) or '(top)'}: {e['msg']}" for e in error.errors()
        )
        raise ReferenceDataError(f"{where}: {problems}") from None


def _key(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key
