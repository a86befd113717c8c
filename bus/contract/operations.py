"""Every command the bus accepts, as the domain declares it (domain/catalogue.py): its
public name, the message that carries it on the wire, and what it does.

The one table behind the request/reply subjects, the durable intake, the AsyncAPI document
and the NATS permissions: nothing here is written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from bus.contract.messages import wire_schema
from domain.application import COMMANDS
from domain.authority import Authority
from domain.commands import Command
from domain.refusals import refusals as domain_refusals

# What the bus refuses any command with before the domain sees it (bus/service/dispatch.py): too
# large, not JSON, not its fields, an id used for another command; the store of record not
# answering in time; a fault of ours (bus/service/routes.py; on the intake, after its retries).
ANY_COMMAND = frozenset({"command.too_large", "command.malformed_json", "command.invalid",
                         "command.id_reused", "service.unavailable", "internal.error"})


@dataclass(frozen=True)
class Operation:
    name: str  # subject suffix, e.g. "case.submit"
    command: type[Command]
    schema: type[BaseModel]  # what is sent: the command in its envelope

    @property
    def summary(self) -> str:
        return self.command.purpose

    def refusals(self, authority: Authority) -> frozenset[str]:
        """Every code the command can be refused with, under these rules of authority."""
        return ANY_COMMAND | domain_refusals(self.command, authority)


OPERATIONS: dict[str, Operation] = {
    name: Operation(name, entry.command, wire_schema(entry.command))
    for name, entry in COMMANDS.items()}
