"""What the bus's tests share: a service of the district on a stream of its own."""

from __future__ import annotations

import pytest

from tests.bus_support import Service


@pytest.fixture
def service(district, unique_name):
    running = Service(district, unique_name())
    yield running
    running.close()
