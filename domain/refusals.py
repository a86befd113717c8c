"""Every code a command can be refused with, so that a client can be told all of them.

Most follow from what the command declares: the rules of authority (`command.not_permitted`,
and `<record>.not_yours` when a rule asks how the principal stands to the record), the record
it acts on (`target`: `<record>.not_found`, and `store.conflict` when another write to it came
first), the states it needs (`<record>.invalid_transition`) and the reference codes it takes
(`<record>.unknown_<kind>`, domain/codes.py). Its own rules it lists beside its fields
(`Command.refusals`). Tests hold the list to the codes the service really answers.
"""

from __future__ import annotations

from domain.authority import Authority
from domain.codes import coded_fields
from domain.commands import Command


def refusals(command: type[Command], authority: Authority) -> frozenset[str]:
    record = command.public_name.split(".", 1)[0]
    codes = {"command.not_permitted", "command.occurred_in_future", *command.refusals}
    if authority.asks_about_the_record(command.public_name):
        codes.add(f"{record}.not_yours")
    if command.target is not None:
        # No such record is said to anyone, before the rules: to a principal that is none
        # of the district's (an auditor, the operator) as that.
        codes |= {f"{record}.not_found", "store.conflict", "actor.unknown_principal",
                  f"{record}.occurred_before_it_existed"}
    if command.states:
        codes.add(f"{record}.invalid_transition")
    codes |= {f"{record}.unknown_{kind}" for kind in coded_fields(command).values()}
    return frozenset(codes)
