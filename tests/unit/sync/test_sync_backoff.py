"""Background sync: backoff after failures, and the status the window shows."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from reviewer.store.database import BackendLoginFailed, BackendUnavailable
from reviewer.sync.engine import Backoff, Connection


def test_backoff_doubles_from_five_seconds_up_to_five_minutes():
    backoff = Backoff()
    delays = [backoff.delay(n).total_seconds() for n in range(1, 10)]
    assert delays == [5, 10, 20, 40, 80, 160, 300, 300, 300]
    assert backoff.delay(0) == timedelta(0)


def test_jitter_spreads_clients_within_bounds():
    backoff = Backoff(jitter=0.2, rng=random.Random(3))
    delays = {backoff.delay(2).total_seconds() for _ in range(50)}
    assert len(delays) > 10 and min(delays) >= 8 and max(delays) <= 12


pytestmark = pytest.mark.demo(cases=5)


def test_a_sync_sets_online_and_plans_the_next_one(workstation, clock):
    engine = workstation.sync
    status = engine.status()
    assert status.connection is Connection.ONLINE  # the helper synced once already
    assert status.last_success_at == clock.now()
    assert status.next_attempt_at == clock.now() + engine.interval
    assert engine.sync_if_due() is None  # the interval has not passed
    clock.advance(engine.interval)
    assert engine.sync_if_due() is not None


def test_failures_back_off_and_a_success_resets(workstation, clock, monkeypatch):
    engine = workstation.sync
    down = [True]
    real_push = engine.push

    def push(report, progress=None):  # type: ignore[no-untyped-def]
        if down[0]:
            raise BackendUnavailable("the backend db on server cannot be reached: refused")
        real_push(report, progress)

    monkeypatch.setattr(engine, "push", push)
    with pytest.raises(BackendUnavailable):
        engine.sync_once()
    status = engine.status()
    assert status.connection is Connection.OFFLINE and status.failures == 1
    assert status.retry_in(clock.now()) == timedelta(seconds=5)
    assert status.last_error == "the backend db on server cannot be reached: refused"
    assert status.connection.label == "Offline"
    for failures, wait in ((2, 10), (3, 20)):
        clock.advance(engine.status().retry_in(clock.now()))
        assert engine.sync_if_due() is None
        assert engine.status().failures == failures
        assert engine.status().retry_in(clock.now()) == timedelta(seconds=wait)
    clock.advance(timedelta(seconds=19))
    assert engine.sync_if_due() is None and engine.status().failures == 3  # not yet due
    down[0] = False
    clock.advance(timedelta(seconds=1))
    assert engine.sync_if_due() is not None
    status = engine.status()
    assert status.connection is Connection.ONLINE and status.failures == 0
    assert status.last_error is None and status.last_success_at == clock.now()


def test_a_refusal_is_told_apart_from_being_offline(workstation, monkeypatch):
    engine = workstation.sync

    def refuse(report, progress=None):  # type: ignore[no-untyped-def]
        raise BackendLoginFailed("the backend db refused the sign-in: password")

    monkeypatch.setattr(engine, "push", refuse)
    with pytest.raises(BackendLoginFailed):
        engine.sync_once()
    assert engine.status().connection is Connection.REFUSED


def test_an_unexpected_error_is_reported_as_failed_not_offline(workstation, monkeypatch):
    engine = workstation.sync

    def broken(report, progress=None):  # type: ignore[no-untyped-def]
        raise ValueError("a bug")

    monkeypatch.setattr(engine, "push", broken)
    with pytest.raises(ValueError):
        engine.sync_once()
    status = engine.status()
    assert status.connection is Connection.FAILED and status.last_error == "a bug"


def test_only_one_sync_runs_at_a_time(workstation, clock):
    engine = workstation.sync
    clock.advance(engine.interval)
    with engine._running:  # a sync (e.g. F5) is under way in another thread
        assert engine.sync_if_due() is None
    assert engine.sync_if_due() is not None
