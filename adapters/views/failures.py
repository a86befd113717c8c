"""What a view store reports when a projection cannot go on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Failure:
    position: int
    topic: str
    originator_id: str
    error: str  # the exception's type and message
    failed_at: str  # wall-clock time of the store, ISO 8601 UTC


class ProjectionFailed(Exception):
    """An event could not be applied: nothing of its batch was written, the failure is
    recorded in the store's status, and the projection stays stopped until it is cleared."""

    def __init__(self, name: str, generation: int, failure: Failure) -> None:
        super().__init__(f"projection {name} (generation {generation}) failed at position "
                         f"{failure.position} ({failure.topic} of {failure.originator_id}): "
                         f"{failure.error}")
        self.name, self.generation, self.failure = name, generation, failure


class ProjectionStopped(Exception):
    """The projection failed earlier; `clear_failure` once the cause is fixed."""

    def __init__(self, name: str, generation: int, failure: Failure) -> None:
        super().__init__(f"projection {name} (generation {generation}) is stopped since it "
                         f"failed at position {failure.position}: {failure.error}")
        self.name, self.generation, self.failure = name, generation, failure


class EventFailed(Exception):
    """Inside a store: a projection could not apply `event`; the store records the failure
    and raises `ProjectionFailed`."""

    def __init__(self, generation: int, event: Any, error: Exception) -> None:
        super().__init__(str(error))
        self.generation, self.event, self.error = generation, event, error


class GenerationError(Exception):
    """A generation that does not exist, or cannot be switched to or abandoned."""


class GenerationBehind(GenerationError):
    """A rebuilt generation has not yet caught up with the one it would replace."""
