"""A doorbell rung while a follower's round is reading is not lost: the next round starts at
once, not at the next poll. (Cleared after the round, the last ring of a burst of commands was
lost, and the views and feeds showed its events a whole poll, a second, later.) The same for a
checkpoint asked for while the checkpointer is at work."""

from __future__ import annotations

import asyncio

from adapters.audit import checkpointer as checkpointer_module
from adapters.audit.checkpointer import Checkpointer
from adapters.logs import Throttled
from adapters.views import follower as views_module
from adapters.views.follower import ViewFollower
from bus.service import feeds as feeds_module
from bus.service.feeds import FeedPublisher

A_LONG_POLL = 60.0  # longer than the test waits: a round after a lost ring would never come


def rounds_after_a_ring_during_the_first(follower, bell: str, round_name: str) -> int:
    rounds = 0
    second_round = asyncio.Event()

    async def a_round(*_args, **_kwargs):
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            getattr(follower, bell).set()  # the log grew while this round was reading
        else:
            second_round.set()
        return 0 if round_name == "publish_next_batch" else True  # caught up, it believes

    setattr(follower, round_name, a_round)

    async def scenario() -> int:
        setattr(follower, bell, asyncio.Event())
        following = asyncio.get_running_loop().create_task(follower._follow())
        try:
            await asyncio.wait_for(second_round.wait(), 10)
        finally:
            following.cancel()
        return rounds

    return asyncio.run(scenario())


def test_the_views_look_again_at_once_after_a_ring_during_their_round(monkeypatch):
    monkeypatch.setattr(views_module, "POLL_SECONDS", A_LONG_POLL)
    follower = ViewFollower.__new__(ViewFollower)
    assert rounds_after_a_ring_during_the_first(follower, "_doorbell", "catch_up_once") == 2


def test_the_feeds_look_again_at_once_after_a_ring_during_their_round(monkeypatch):
    monkeypatch.setattr(feeds_module, "POLL_SECONDS", A_LONG_POLL)
    publisher = FeedPublisher.__new__(FeedPublisher)
    assert rounds_after_a_ring_during_the_first(publisher, "_rung", "publish_next_batch") == 2


def test_the_checkpointer_looks_again_at_once_when_asked_during_its_round(monkeypatch):
    monkeypatch.setattr(checkpointer_module, "POLL_SECONDS", A_LONG_POLL)
    checkpointer = Checkpointer.__new__(Checkpointer)
    checkpointer._failing = Throttled(checkpointer_module.log)
    checkpointer.trouble, checkpointer.on_trouble = None, lambda _trouble: None
    assert rounds_after_a_ring_during_the_first(checkpointer, "_wake", "catch_up") == 2
