"""The cyclic garbage collector is paused for a linkage run and back on after it."""

from __future__ import annotations

import gc
import threading

import pytest

from services.linkage import LinkageSettings, link
from services.linkage.collection import collection_paused
from services.linkage.prior import synthetic_population
from services.linkage.scoring import score


def test_the_collector_is_off_inside_and_back_on_after_nested_blocks() -> None:
    assert gc.isenabled()
    with collection_paused():
        assert not gc.isenabled()
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still holds the pause
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_is_back_on_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), collection_paused():
        raise RuntimeError("a failed run")
    assert gc.isenabled()


def test_the_last_of_two_threads_to_leave_turns_it_back_on() -> None:
    inside, leave = threading.Event(), threading.Event()

    def other_run() -> None:
        with collection_paused():
            inside.set()
            leave.wait(timeout=10)

    thread = threading.Thread(target=other_run)
    thread.start()
    inside.wait(timeout=10)
    with collection_paused():
        pass
    assert not gc.isenabled()  # the other run is still going
    leave.set()
    thread.join(timeout=10)
    assert gc.isenabled()


def test_link_runs_with_the_collector_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    health, education, _ = synthetic_population(50, seed=3)
    seen: list[bool] = []

    def watching_score(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return score(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("services.linkage.engine.score", watching_score)
    link(health=health, education=education, settings=LinkageSettings())

    assert seen == [False]
    assert gc.isenabled()
