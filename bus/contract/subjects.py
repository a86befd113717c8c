"""Every NATS subject the bus application uses, in one place: lowercase, broad to narrow."""

ROOT = "onestop"

# Core request/reply: is the service up, and which version answers.
HEALTH = f"{ROOT}.sys.health"

# The service announces that it wrote to the log (at most every few milliseconds), so the
# views of every service process look at once, without receiving every event.
LOG_ADVANCED = f"{ROOT}.sys.log_advanced"

# Commands by request/reply: onestop.cmd.<principal>.<aggregate>.<action>.
COMMANDS = f"{ROOT}.cmd"
ALL_COMMANDS = f"{COMMANDS}.*.>"
COMMAND_WORKERS = "onestop-commands"


def command(principal: str, name: str) -> str:
    return f"{COMMANDS}.{principal}.{name}"


def principal_and_name(subject: str) -> tuple[str, str]:
    """A command's or a query's subject, `onestop.<cmd|query|intake>.<principal>.<name>`, to
    its principal and name: `onestop.cmd.jxw.case.accept` -> ("jxw", "case.accept")."""
    _root, _kind, principal, name = subject.split(".", 3)
    return principal, name


parse_command = parse_query = principal_and_name

# Queries by request/reply: onestop.query.<principal>.<view>.<question>.
QUERIES = f"{ROOT}.query"
ALL_QUERIES = f"{QUERIES}.*.>"
QUERY_WORKERS = "onestop-queries"


def query(principal: str, name: str) -> str:
    return f"{QUERIES}.{principal}.{name}"


# Durable intake (JetStream): onestop.intake.<principal>.<aggregate>.<action>.
INTAKE = f"{ROOT}.intake"
ALL_INTAKE = f"{INTAKE}.*.>"
INTAKE_STREAM = "ONESTOP_INTAKE"
INTAKE_CONSUMER = "onestop-intake"

# Messages the intake could not process, with the reason, for an operator to re-drive.
DEAD_LETTERS = f"{ROOT}.deadletter"
DEAD_LETTER_STREAM = "ONESTOP_DEADLETTER"

# Each principal's feed (JetStream): outcomes of its intake commands, and for departments the
# CloudEvents of the cases they are involved in.
FEED = f"{ROOT}.feed"
# On every feed message, the event log (stream) it came from: the feeds are the server's, and
# services of another log on the same server write to them too.
FEED_LOG_HEADER = "Onestop-Log-Stream"


def intake(principal: str, name: str) -> str:
    return f"{INTAKE}.{principal}.{name}"


def feed_outcome(principal: str) -> str:
    return f"{FEED}.{principal}.outcome"


def feed_case(department: str, case_id: str) -> str:
    return f"{FEED}.{department}.case.{case_id}"


def all_feed(principal: str) -> str:
    return f"{FEED}.{principal}.>"


def dead_letter(principal: str, name: str) -> str:
    return f"{DEAD_LETTERS}.{principal}.{name}"


parse_intake = principal_and_name  # `onestop.intake.post_laisu.case.submit`
