"""Hypothesis strategies for the domain's commands, read off their pydantic models: each
field's type and its constraints (lengths, ranges, patterns, digits), with ids and codes
drawn mostly from records and reference data that exist, so that most commands generated
are valid and reach the domain's own rules, and some are not."""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from uuid import UUID

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from hypothesis import strategies as st
from pydantic import AwareDatetime, BaseModel

NOWHERE = [UUID(int=0), UUID("5bd90866-2ca4-5047-ac54-b5c340ce34e8")]
OFFSETS = [timezone.utc, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5)),
           timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))]


@dataclass
class Known:
    """What exists: ids by field name, codes by field name, and the time commands are sent."""

    now: datetime
    ids: dict[str, list[UUID]] = field(default_factory=dict)
    codes: dict[str, list[str]] = field(default_factory=dict)


def payloads(model: type[BaseModel], known: Known) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON-like payload for `model`: its required fields always, optional ones at times."""
    required, optional = {}, {}
    for name, info in model.model_fields.items():
        strategy = _value(name, info.annotation, info.metadata, known)
        (required if info.is_required() else optional)[name] = strategy
    return st.fixed_dictionaries(required, optional=optional)


def _value(name: str, annotation: Any, metadata: list, known: Known) -> st.SearchStrategy:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        inner = [m for extra in args[1:] for m in getattr(extra, "metadata", [extra])]
        return _value(name, args[0], metadata + inner, known)
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        strategy = st.one_of(*(_value(name, a, metadata, known) for a in options))
        return st.one_of(st.none(), strategy) if len(options) < len(args) else strategy
    if origin is Literal:
        return st.sampled_from(args)
    lengths = _bounds(metadata, MinLen, "min_length", 0), _bounds(metadata, MaxLen,
                                                                   "max_length", 8)
    if origin in (tuple, list):
        small = min(lengths[1], max(lengths[0], 4))
        return st.lists(_value(name, args[0], [], known), min_size=lengths[0],
                        max_size=small).map(tuple if origin is tuple else list)
    if origin is dict:
        small = min(lengths[1], max(lengths[0], 4))
        return st.dictionaries(_value(name, args[0], [], known), _value(name, args[1], [],
                                                                        known),
                               min_size=lengths[0], max_size=small)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return payloads(annotation, known)
    if annotation is UUID:
        found = known.ids.get(name) or known.ids.get(name.rstrip("s") + "_id") or []
        # Mostly a record that exists, so that the command reaches the domain's rules; at
        # times one that does not.
        return st.sampled_from(found * 9 + NOWHERE) if found else st.uuids()
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        low = _bounds(metadata, Ge, "ge", -(2**40))
        high = _bounds(metadata, Le, "le", 2**40)
        return st.integers(low, high)
    if annotation is Decimal:
        return st.decimals(min_value=0, max_value=Decimal("99999999999999.99"), places=2,
                           allow_nan=False, allow_infinity=False).map(str)
    if annotation in (datetime, AwareDatetime):
        return _times(known.now)
    if annotation is date:
        return _times(known.now).map(lambda t: date.fromisoformat(t[:10]).isoformat())
    if annotation is str:
        codes = known.codes.get(name) or known.codes.get(name.rstrip("s"))
        if _pattern(metadata) is not None:
            from_regex = st.from_regex(_pattern(metadata), fullmatch=True).filter(
                lambda code: len(code) <= lengths[1])
            return st.one_of(st.sampled_from(codes), from_regex) if codes else from_regex
        longest = min(lengths[1], 60)
        # Any printable text, at times with a control character (which is invalid).
        any_character = st.characters(blacklist_categories=("Cs",))
        printable = st.characters(blacklist_categories=("Cs", "Cc"))
        return st.integers(0, 9).flatmap(lambda n: st.text(
            any_character if n == 0 else printable, min_size=lengths[0], max_size=longest))
    raise TypeError(f"no strategy for {name}: {annotation!r}")


def _times(now: datetime) -> st.SearchStrategy[str]:
    """Mostly near `now` (where the domain's horizons lie), at times anywhere the type
    allows, at every offset."""
    def hours_from_now(low: int, high: int) -> st.SearchStrategy[datetime]:
        return st.integers(low, high).map(lambda hours: (now + timedelta(hours=hours))
                                          .astimezone(timezone.utc).replace(tzinfo=None))

    soon = hours_from_now(-48, 60 * 24)  # where appointments, bookings and visits lie
    near = hours_from_now(-3 * 365 * 24, 3 * 365 * 24)
    anywhere = st.datetimes(datetime(2000, 1, 2), datetime(2099, 12, 30))
    which = st.integers(0, 3).flatmap(lambda n: (soon, soon, near, anywhere)[n])
    return st.tuples(which, st.sampled_from(OFFSETS)).map(
        lambda pair: (pair[0].replace(tzinfo=timezone.utc).astimezone(pair[1])
                      if pair[0].year < 2099 else pair[0].replace(tzinfo=pair[1])).isoformat())


def _bounds(metadata: list, kind: type, attribute: str, default: Any) -> Any:
    for item in metadata:
        if isinstance(item, kind):
            return getattr(item, attribute)
        if kind is Ge and isinstance(item, Gt):
            return item.gt + 1
        if kind is Le and isinstance(item, Lt):
            return item.lt - 1
    return default


def _pattern(metadata: list) -> str | None:
    for item in metadata:
        pattern = getattr(item, "pattern", None)
        if pattern:
            return pattern
    return None
