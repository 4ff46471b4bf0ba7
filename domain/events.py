"""Domain events: what happened, recorded by the rules in `domain.model`.

The conversations publish them on the message bus (`handlers.bus`): handlers
render the messages for each person inside the same transaction, and ports
outside the database (reminder jobs) act on them only after the commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Event:
    """Base class of every domain event."""


@dataclass(frozen=True)
class PairIntroduced(Event):
    """Both sides said yes: each gets the other's contact and a briefing."""

    pair_id: int


@dataclass(frozen=True)
class TimeOffered(Event):
    """One side offered a time; the other is asked to accept or reject it."""

    meeting_id: int
    by_person_id: int
    when: datetime


@dataclass(frozen=True)
class MeetingScheduled(Event):
    meeting_id: int
    starts_at: datetime


@dataclass(frozen=True)
class MeetingMoved(Event):
    """A scheduled (or arranged, or missed) meeting is back to choosing a time."""

    meeting_id: int
    by_person_id: int
    old_starts_at: datetime | None


@dataclass(frozen=True)
class MeetingSelfArranged(Event):
    meeting_id: int


@dataclass(frozen=True)
class MeetingCancelled(Event):
    meeting_id: int
    by_person_id: int
    starts_at: datetime | None
    was_scheduled: bool
    by_deletion: bool = False  # the person who cancelled deleted their data (/delete)


@dataclass(frozen=True)
class MeetingPlaceSet(Event):
    """Someone said where the meeting is (an address or a link)."""

    meeting_id: int
    by_person_id: int
    was_scheduled: bool  # already in calendars: a new .ics (same UID, higher SEQUENCE) follows
