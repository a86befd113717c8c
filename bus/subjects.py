"""Every NATS subject the bus application uses, in one place: lowercase, broad to narrow."""

ROOT = "onestop"

# Core request/reply: is the service up, and which version answers.
HEALTH = f"{ROOT}.sys.health"
