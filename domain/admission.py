"""Who gets a place at an event (issue 13): an event's format, its places per
side, whether applications need the organisers' approval, and a participant's
way from joining by the invitation link to being matched.

Pure: plain values in, plain values out; the conversations
(`handlers.admission`) read and write the rows.

A participant's status in one event:

- `registered`: joined by the invitation link, profile not finished;
- `pending`: an application the organisers decide on (approval on);
- `approved`: admitted; only approved participants are matched (after the release);
- `declined`: the organisers said no;
- `waiting`: their side was full; on the waiting list, in the order they came.

`pending` and `approved` take a place of their side. A place that becomes free
(someone leaves the event, is declined, deletes their data; or the organisers
raise the capacity) goes to the first person waiting on that side: as an
application where approval is on, admitted at once otherwise.
"""
from __future__ import annotations

from enum import StrEnum


class EventFormat(StrEnum):
    OPEN = "open"  # offenes Networking: 1:1 suggestions
    BREAKOUT = "breakout"  # groups of one company with creatives
    SPEED = "speed"  # rounds of one-to-one meetings


class Admission(StrEnum):
    REGISTERED = "registered"
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    WAITING = "waiting"


# The statuses that take one of the side's places.
HOLDING = frozenset({Admission.PENDING, Admission.APPROVED})
SIDES = ("production", "creative")
MAX_CAPACITY = 10_000


class NotPending(Exception):
    """A decision on an application that is not (or no longer) open."""


def on_completion(approval: bool, taken: int, capacity: int | None) -> Admission:
    """The status of someone whose profile is complete: a place if one is free
    on their side (an application where approval is on), else the waiting list."""
    if capacity is not None and taken >= capacity:
        return Admission.WAITING
    return Admission.PENDING if approval else Admission.APPROVED


def free_places(taken: int, capacity: int | None) -> int | None:
    """How many places are free on a side (None: no limit)."""
    return None if capacity is None else max(0, capacity - taken)


def moved_up(approval: bool) -> Admission:
    """The status of the first person waiting when a place became free."""
    return Admission.PENDING if approval else Admission.APPROVED


def decide(status: str, approve: bool) -> Admission:
    """The organisers' answer to an application."""
    if status != Admission.PENDING:
        raise NotPending(status)
    return Admission.APPROVED if approve else Admission.DECLINED


def frees_a_place(status: str) -> bool:
    """Does someone with this status leaving (or being declined) free a place?"""
    return status in HOLDING
