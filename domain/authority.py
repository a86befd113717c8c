"""Who may send which command about which record: the district's rules of authority.

The rules are data, beside the reference data (domain/authority.toml): each command lists the
roles that may send it. A role is what a principal is (the lead bureau, a department, a
station, the portal) or how it stands to the record the command acts on, decided with that
record's state when the command arrives: the lead of a case is whoever leads it now.

A principal that can never send a command (a station resolving a case, an auditor sending
anything) is refused with `command.not_permitted`; one that could, but not about this record
(a department transferring a case it does not lead), with `<record>.not_yours`. Both name the
rule (the command) and the roles that would have allowed it.

The same relations decide what a department may see (projections/queries/access.py asks
`case_roles`), so that the rule to act and the rule to see cannot drift apart.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.commands import Command
from domain.errors import DomainError, refuse
from domain.reference import PrincipalKind, Reference, ReferenceDataError, district_file

DEFAULT = "authority.toml"

Holds = Callable[[str, Any, Command], bool]  # (principal, the record or None, the command)


@dataclass(frozen=True)
class Role:
    name: str
    kinds: frozenset[str]  # the kinds of principal that can hold it
    says: str  # in words, for refusals and the published contract
    holds: Holds


def _always(_principal: str, _record: Any, _command: Command) -> bool:
    return True


def case_roles(principal: str, lead: str | None, collaborators: Collection[str],
               taker: str | None) -> set[str]:
    """How a principal stands to a case: the relations both acting and seeing follow."""
    roles = set()
    if principal == lead:
        roles.add("case_lead")
    if principal in collaborators:
        roles.add("case_collaborator")
    if principal == taker:
        roles.add("case_taker")
    return roles


def _case_role(name: str) -> Holds:
    def holds(principal: str, case: Any, _command: Command) -> bool:
        return case is not None and name in case_roles(
            principal, getattr(case, "lead", None), getattr(case, "collaborators", ()),
            getattr(case, "taker", None))
    return holds


def _owner(principal: str, resource: Any, _command: Command) -> bool:
    return resource is not None and getattr(resource, "owner", None) == principal


def programme_departments(programme: Any) -> set[str]:
    """The departments a campaign, recall, improvement project or dispute names."""
    named = {getattr(programme, "department", None), getattr(programme, "filed_by", None)}
    mediation = getattr(programme, "mediation", None)
    if mediation is not None:
        named.add(mediation.mediator_department)
    return {department for department in named if department}


def _programme_department(principal: str, programme: Any, command: Command) -> bool:
    if programme is None:  # one being started: the department it will name
        return getattr(command, "department", None) == principal
    return principal in programme_departments(programme)


def _evaluated_department(principal: str, evaluation: Any, _command: Command) -> bool:
    return evaluation is not None and getattr(evaluation, "department", None) == principal


ROLES: dict[str, Role] = {role.name: role for role in (
    Role("lead_bureau", frozenset({"lead"}), "the lead bureau", _always),
    Role("any_department", frozenset({"department"}), "a department", _always),
    Role("any_station", frozenset({"station"}), "a service station", _always),
    Role("portal", frozenset({"portal"}), "the online portal", _always),
    # The lead bureau can lead a case, or collaborate on one, as a department does.
    Role("case_lead", frozenset({"department", "lead"}), "the department leading the case",
         _case_role("case_lead")),
    Role("case_collaborator", frozenset({"department", "lead"}),
         "a department collaborating on the case", _case_role("case_collaborator")),
    Role("case_taker", frozenset({"station", "portal"}),
         "the station that took the case (the portal for an online order)",
         _case_role("case_taker")),
    Role("owner", frozenset({"department", "lead"}),
         "the department that registered it", _owner),
    Role("programme_department", frozenset({"department", "lead"}),
         "the department the programme names", _programme_department),
    Role("evaluated_department", frozenset({"department", "lead"}),
         "the department the rating is for", _evaluated_department),
)}


class Authority:
    """The rules in force: for each command, the roles that may send it."""

    def __init__(self, rules: Mapping[str, tuple[Role, ...]], reference: Reference) -> None:
        self.rules = dict(rules)
        self.reference = reference

    def roles_for(self, command_name: str) -> tuple[Role, ...]:
        return self.rules.get(command_name, ())

    def kinds_for(self, command_name: str) -> set[str]:
        """The kinds of principal that may send it about some record, if not about all."""
        return {kind for role in self.roles_for(command_name) for kind in role.kinds}

    def asks_about_the_record(self, command_name: str) -> bool:
        """Whether a rule for the command depends on the record (how the principal stands to
        it), so that a principal of a kind that may send it can still be told `not_yours`."""
        return any(role.holds is not _always for role in self.roles_for(command_name))

    def may_ever(self, principal: str, command_name: str) -> bool:
        kind = self.reference.kind_of(principal)
        return kind is not None and kind in self.kinds_for(command_name)

    def decide(self, principal: str, command: Command, record: Any,
               record_name: str) -> None:
        """Raises the refusal if `principal` may not send `command` about `record` (None:
        a command that starts a record)."""
        name = command.public_name
        roles = self.roles_for(name)
        kind: PrincipalKind | None = self.reference.kind_of(principal)
        fitting = [role for role in roles if kind in role.kinds]
        if not fitting:
            raise _refusal("command.not_permitted",
                           f"{_who(principal, kind)} may not send {name}: it is for "
                           f"{_listed(roles)}.", name, roles)
        if not any(role.holds(principal, record, command) for role in fitting):
            raise _refusal(f"{record_name}.not_yours",
                           f"{principal} may not send {name} about this {record_name}: it is "
                           f"for {_listed(fitting)}.", name, roles)


def _who(principal: str, kind: str | None) -> str:
    return principal if kind is None else f"{principal} ({kind})"


def _listed(roles: tuple[Role, ...] | list[Role]) -> str:
    says = [role.says for role in roles]
    return says[0] if len(says) == 1 else ", ".join(says[:-1]) + " or " + says[-1]


def _refusal(code: str, message: str, rule: str, roles: tuple[Role, ...]) -> DomainError:
    return refuse(code, message, rule=rule, roles=[role.name for role in roles])


def load_authority(reference: Reference, commands: Collection[str],
                   path: str | Path | None = None) -> Authority:
    """The rules in `path` (default: domain/authority.toml), checked against the commands
    the service handles: each has a line, and every role named is known."""
    text, where = district_file(path, DEFAULT, "the rules of authority")
    try:
        table = tomllib.loads(text).get("commands")
    except tomllib.TOMLDecodeError as error:
        raise ReferenceDataError(f"{where}: not valid TOML: {error}") from None
    if not isinstance(table, dict):
        raise ReferenceDataError(f"{where}: no [commands] table")
    problems = []
    rules: dict[str, tuple[Role, ...]] = {}
    for name, roles in table.items():
        if name not in commands:
            problems.append(f"commands.{name}: not a command of the service")
        elif not (isinstance(roles, list) and roles
                  and all(isinstance(role, str) for role in roles)):
            problems.append(f"commands.{name}: a list of one role or more, please")
        elif unknown := [role for role in roles if role not in ROLES]:
            problems.append(f"commands.{name}: unknown role {unknown[0]!r} (the roles are "
                            f"{', '.join(ROLES)})")
        else:
            rules[name] = tuple(ROLES[role] for role in roles)
    problems += [f"commands.{name}: missing (who may send it?)"
                 for name in commands if name not in table]
    if problems:
        raise ReferenceDataError(f"{where}: {'; '.join(problems)}")
    return Authority(rules, reference)
