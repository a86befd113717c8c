"""The table of commands: each command type and the use case that handles it.

A use case declares what it handles (`@handles(RateCase)`); `catalogue` collects them from
the application class. Nothing else lists commands: the bus's subjects, the intake, the
published contract and the NATS permissions all come from this table, and who may send each
command from the district's authority rules (domain/authority.py), checked against it.

A use case only ever sees the district's own codes: every field typed as a reference code
(domain/codes.py) is checked against the application's reference data before it runs
(`<record>.unknown_<kind>`), so no use case can forget one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from domain import commands
from domain.base import CommandContext
from domain.commands import Command

F = TypeVar("F", bound=Callable[..., Any])


def handles(command_type: type[Command]) -> Callable[[F], F]:
    """Marks a use case `(self, ctx, command) -> Outcome` as the handler of `command_type`."""
    record = command_type.public_name.split(".", 1)[0]

    def mark(use_case: F) -> F:
        @functools.wraps(use_case)
        def with_known_codes(service: Any, ctx: CommandContext, command: Command) -> Any:
            service.reference.codes.require_known(record, command)
            return use_case(service, ctx, command)

        with_known_codes.handles = command_type  # type: ignore[attr-defined]
        return with_known_codes  # type: ignore[return-value]
    return mark


@dataclass(frozen=True)
class Entry:
    command: type[Command]
    use_case: Callable[[Any, CommandContext, Command], Any]

    @property
    def name(self) -> str:
        return self.command.public_name


# The order commands are declared in (domain/commands.py): the order the contract lists them.
_DECLARED = {value: index for index, value in enumerate(vars(commands).values())
             if isinstance(value, type)}


def catalogue(application_class: type) -> dict[str, Entry]:
    """Every command the application handles, by public name, in declaration order."""
    entries: dict[str, Entry] = {}
    for klass in reversed(application_class.__mro__):
        for use_case in vars(klass).values():
            command = getattr(use_case, "handles", None)
            if command is None:
                continue
            if not command.public_name:
                raise TypeError(f"{command.__qualname__} has no public name")
            other = entries.get(command.public_name)
            if other is not None and other.use_case is not use_case:
                raise TypeError(f"{command.public_name} is handled twice: by "
                                f"{other.use_case.__qualname__} and {use_case.__qualname__}")
            entries[command.public_name] = Entry(command, use_case)
    return dict(sorted(entries.items(), key=lambda item: _DECLARED.get(item[1].command, 0)))
