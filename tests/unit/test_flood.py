"""Flood control per person (handlers/flood.py): the token bucket, the gate's
verdicts and episodes, and the settings."""
from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings
from handlers.flood import FloodGate, TokenBucket, Verdict


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_gives_a_burst_then_refills_at_its_rate() -> None:
    bucket = TokenBucket.full(3, 2.0, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert not bucket.take(0.4)  # 0.8 tokens
    assert bucket.take(0.5)  # 1.0
    assert not bucket.take(0.5)
    assert not bucket.is_full(1.0) and bucket.is_full(2.0)  # 3 tokens after 1.5 s at 2/s
    # never more than the burst, however long the pause
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]


def test_bucket_ignores_a_clock_that_steps_back() -> None:
    bucket = TokenBucket.full(1, 1.0, now=10.0)
    assert bucket.take(10.0)
    assert not bucket.take(5.0)  # no tokens from the past
    assert not bucket.take(10.5)  # and the step back did not reset the stamp
    assert bucket.take(11.0)


def test_gate_drops_the_excess_and_tells_once_per_episode() -> None:
    clock = Clock()
    gate = FloodGate(burst=5, rate=1.0, clock=clock)
    verdicts = [gate.admit(1) for _ in range(200)]
    assert verdicts[:5] == [Verdict.PASS] * 5
    assert verdicts[5] is Verdict.NOTIFY
    assert set(verdicts[6:]) == {Verdict.DROP}
    assert gate.dropped == 195
    # others are not affected at all
    assert [gate.admit(2) for _ in range(5)] == [Verdict.PASS] * 5
    # one second later the flooder's next message passes (the same episode: no new notice)
    clock.now += 1.0
    assert gate.admit(1) is Verdict.PASS
    assert gate.admit(1) is Verdict.DROP
    # quiet until the bucket is full again: the episode is over; a new flood is told again
    clock.now += 5.0
    assert [gate.admit(1) for _ in range(7)] == [Verdict.PASS] * 5 + [Verdict.NOTIFY, Verdict.DROP]


def test_steady_pace_at_the_rate_is_never_dropped() -> None:
    clock = Clock()
    gate = FloodGate(burst=2, rate=1.0, clock=clock)
    for _ in range(100):
        assert gate.admit(7) is Verdict.PASS
        clock.now += 1.0


@pytest.mark.parametrize(("burst", "rate"), [(0, 1.0), (20, 0.0), (0, 0.0)])
def test_zero_turns_flood_control_off(burst: int, rate: float) -> None:
    gate = FloodGate(burst=burst, rate=rate, clock=Clock())
    assert not gate.enabled
    assert all(gate.admit(1) is Verdict.PASS for _ in range(1000))
    assert len(gate) == 0 and gate.dropped == 0


def test_full_buckets_are_forgotten_and_the_locale_is_kept_meanwhile() -> None:
    clock = Clock()
    gate = FloodGate(burst=3, rate=1.0, clock=clock)
    for uid in range(10):
        gate.admit(uid)
    gate.remember_locale(3, "en")
    assert gate.locale(3) == "en" and gate.locale(99) is None
    assert gate.prune() == 0 and len(gate) == 10  # each took a token: not full yet
    clock.now += 1.0
    assert gate.prune() == 10 and len(gate) == 0
    # pruning also happens by itself, every PRUNE_EVERY admits
    gate = FloodGate(burst=3, rate=1.0, clock=clock)
    for uid in range(FloodGate.PRUNE_EVERY - 1):
        gate.admit(uid)
    clock.now += 10.0
    gate.admit(-1)
    assert len(gate) == 1


def test_settings() -> None:
    s = load_settings(_env_file=None)
    assert (s.flood_burst, s.flood_rate) == (20, 1.0)
    off = load_settings(_env_file=None, flood_burst="0", flood_rate="0.5")
    assert (off.flood_burst, off.flood_rate) == (0, 0.5)
    for bad in ({"flood_burst": "-1"}, {"flood_rate": "-0.1"}):
        with pytest.raises(SettingsError, match="FLOOD_"):
            load_settings(_env_file=None, **bad)
