"""The one-stop service application: every use case, on one store, under the district's rules
of authority."""

from __future__ import annotations

from collections.abc import Mapping

from eventsourcing.application import AggregateNotFoundError

from domain.authority import Authority, load_authority
from domain.base import Aggregate, CommandContext
from domain.casework import CaseUseCases
from domain.catalogue import Entry, catalogue
from domain.commands import Command
from domain.errors import refuse
from domain.programmes import ProgrammeUseCases
from domain.reference import Reference
from domain.registry import RegistryUseCases
from domain.satisfaction import SatisfactionUseCases
from domain.service import Outcome


class OneStop(CaseUseCases, RegistryUseCases, ProgrammeUseCases, SatisfactionUseCases):
    """Cases, enterprises, experts, instruments and programmes live on one store, so a booking can
    change a case and an expert or instrument in a single atomic write."""

    def __init__(self, env: Mapping[str, str] | None = None,
                 reference: Reference | None = None,
                 authority: Authority | None = None) -> None:
        super().__init__(env, reference)
        try:
            self.authority = authority or load_authority(
                self.reference, COMMANDS, self.env.get("AUTHORITY_RULES") or None)
        except BaseException:
            self.close()  # its store is open already: not left to the garbage collector
            raise

    def execute(self, ctx: CommandContext, command: Command) -> Outcome:
        """Any command, as a principal sends it: decided by the rules of authority, with the
        state of the record it acts on, then handled by its use case."""
        entry = COMMANDS.get(command.public_name)
        if entry is None or not isinstance(command, entry.command):
            raise refuse("command.unknown", f"There is no command {command.public_name!r}.")
        self._authorize(ctx, command)
        return entry.use_case(self, ctx, command)

    def _authorize(self, ctx: CommandContext, command: Command) -> None:
        principal, record_id = ctx.actor.principal, command.target_id()
        record_name = command.public_name.split(".", 1)[0]
        record: Aggregate | None = None
        if record_id is not None:
            try:
                record = self.repository.get(record_id)
            except AggregateNotFoundError:
                record = None
            if not (isinstance(record, Aggregate) and type(record).public_name == record_name):
                return  # no such record (of this kind): the use case says so, to anyone
            if record.has_applied(ctx.command_id):
                return  # a retry gets its first outcome, whatever has happened since
        self.authority.decide(principal, command, record, record_name)


COMMANDS: dict[str, Entry] = catalogue(OneStop)
