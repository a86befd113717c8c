"""Every NATS subject the bus application uses, in one place: lowercase, broad to narrow."""

ROOT = "onestop"

# Core request/reply: is the service up, and which version answers.
HEALTH = f"{ROOT}.sys.health"

# Commands by request/reply: onestop.cmd.<principal>.<aggregate>.<action>.
COMMANDS = f"{ROOT}.cmd"
ALL_COMMANDS = f"{COMMANDS}.*.>"
COMMAND_WORKERS = "onestop-commands"


def command(principal: str, name: str) -> str:
    return f"{COMMANDS}.{principal}.{name}"


def parse_command(subject: str) -> tuple[str, str]:
    """`onestop.cmd.jxw.case.accept` -> ("jxw", "case.accept")."""
    _root, _cmd, principal, name = subject.split(".", 3)
    return principal, name
