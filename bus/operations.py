"""Every command the bus accepts, as the domain declares it (domain/catalogue.py): its
public name, the message that carries it on the wire, and what it does.

The one table behind the request/reply subjects, the durable intake, the AsyncAPI document
and the NATS permissions: nothing here is written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from bus.messages import wire_schema
from domain.application import COMMANDS
from domain.commands import Command


@dataclass(frozen=True)
class Operation:
    name: str  # subject suffix, e.g. "case.submit"
    command: type[Command]
    schema: type[BaseModel]  # what is sent: the command in its envelope

    @property
    def summary(self) -> str:
        return self.command.purpose


OPERATIONS: dict[str, Operation] = {
    name: Operation(name, entry.command, wire_schema(entry.command))
    for name, entry in COMMANDS.items()}
