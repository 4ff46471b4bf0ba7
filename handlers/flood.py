"""Flood control per person: a token bucket for each Telegram user.

Each update a person sends takes one token from their bucket; the bucket
holds at most `burst` tokens and refills at `rate` tokens a second. An update
that finds the bucket empty is *dropped*: the core gives it no processing at
all (no database, no lock, no place in the person's queue), so one person
sending hundreds of messages cannot slow down anybody else, and their own
conversation stays where it was. They are told once per flood episode to
slow down; a button pressed meanwhile is answered with a short toast (else
Telegram shows a spinner). An episode ends when the bucket is full again
(the person was quiet long enough); the next flood is told again.

What "slowed" means for the person: the first `burst` updates are handled as
usual, then at most `rate` a second; the rest are not deferred but dropped
(a real person who sends one more message after a pause of a second is
answered normally). Deferring would only move the load to later and answer
with stale questions; dropping with one notice keeps every reply current.

The buckets live in the process: with several processes behind a load
balancer each one counts on its own. Buckets that are full again are
forgotten (see `prune`), so memory stays bounded by the people active in the
last `burst / rate` seconds.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    PASS = "pass"  # handle the update as usual
    NOTIFY = "notify"  # over the limit, the first time in this episode: drop it and say so
    DROP = "drop"  # over the limit again: drop it quietly (a button still gets a toast)


@dataclass
class TokenBucket:
    """`burst` tokens at most, refilled at `rate` a second (a float clock in seconds)."""

    burst: float
    rate: float
    tokens: float
    stamp: float

    @classmethod
    def full(cls, burst: float, rate: float, now: float) -> TokenBucket:
        return cls(burst, rate, burst, now)

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = max(self.stamp, now)  # a clock that steps back gives nothing

    def take(self, now: float) -> bool:
        """One token if there is one."""
        self.refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def is_full(self, now: float) -> bool:
        self.refill(now)
        return self.tokens >= self.burst


@dataclass
class _Person:
    bucket: TokenBucket
    told: bool = False  # in a flood episode, and told so
    locale: str | None = None  # the catalog of their last handled update (for the notice)


class FloodGate:
    """The buckets of every person; `admit` decides about one update. With
    `burst` or `rate` 0 it admits everything (flood control off)."""

    PRUNE_EVERY = 1024  # admits between two sweeps over the buckets

    def __init__(self, burst: int, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = max(0, int(burst))
        self.rate = max(0.0, float(rate))
        self.clock = clock
        self._people: dict[int, _Person] = {}
        self._admits = 0
        self.dropped = 0  # updates dropped since start (for logs and tests)

    @property
    def enabled(self) -> bool:
        return self.burst > 0 and self.rate > 0

    def admit(self, user_id: int) -> Verdict:
        if not self.enabled:
            return Verdict.PASS
        now = self.clock()
        self._admits += 1
        if self._admits % self.PRUNE_EVERY == 0:
            self.prune(now)
        person = self._people.get(user_id)
        if person is None:
            person = self._people[user_id] = _Person(TokenBucket.full(self.burst, self.rate, now))
        elif person.told and person.bucket.is_full(now):
            person.told = False  # quiet long enough: the episode is over
        if person.bucket.take(now):
            return Verdict.PASS
        self.dropped += 1
        if person.told:
            return Verdict.DROP
        person.told = True
        return Verdict.NOTIFY

    def remember_locale(self, user_id: int, locale: str) -> None:
        """The catalog a handled update of this person used: the notice speaks it."""
        person = self._people.get(user_id)
        if person is not None:
            person.locale = locale

    def locale(self, user_id: int) -> str | None:
        person = self._people.get(user_id)
        return person.locale if person is not None else None

    def prune(self, now: float | None = None) -> int:
        """Forget the people whose bucket is full again (nothing to remember:
        a new bucket would be the same); how many were forgotten."""
        now = self.clock() if now is None else now
        idle = [uid for uid, p in self._people.items() if p.bucket.is_full(now)]
        for uid in idle:
            del self._people[uid]
        return len(idle)

    def __len__(self) -> int:
        return len(self._people)
