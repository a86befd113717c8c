from __future__ import annotations

import pytest

from tests.domain.support import World, in_memory_world


@pytest.fixture(autouse=True)
def _no_store_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Domain tests run on the in-memory store whatever the shell exports.
    for name in ("PERSISTENCE_MODULE", "ONESTOP_PERSISTENCE_MODULE", "TRANSCODER_TOPIC",
                 "MAPPER_TOPIC", "REFERENCE_DATA"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def world() -> World:
    return in_memory_world()
