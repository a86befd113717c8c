"""Helpers for unittest-style suites, which cannot receive pytest fixtures."""

from __future__ import annotations

import os
import uuid

from tests.conftest import NATS_URL_VARIABLE


def session_nats_url() -> str:
    url = os.environ.get(NATS_URL_VARIABLE)
    if not url:
        raise RuntimeError("the session nats-server is not running (run the tests with pytest)")
    return url


def unique_stream_name(prefix: str = "T") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"
