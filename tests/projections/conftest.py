from __future__ import annotations

import pytest

from tests.domain.conftest import _no_store_from_the_environment  # noqa: F401
from tests.domain.support import World, in_memory_world


@pytest.fixture
def world() -> World:
    return in_memory_world()
