"""A small cohort for broadcast audiences, written straight to the database
(every audience kind and every exclusion once): used by the audience query
tests (tests/integration) and the /broadcast scenarios."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from db.models import Event, EventParticipant, Feedback, Meeting, Pair, Person, Profile

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)

# telegram id: (name, side, completed, consent, opted out, unreachable, in the event, language)
PEOPLE: dict[int, tuple[str, str, bool, bool, bool, bool, bool, str]] = {
    7001: ("Klara Seifert", "production", True, True, False, False, True, "de"),
    7002: ("Ben Carter", "creative", True, True, False, False, True, "en"),
    7003: ("Carla Opt", "creative", True, True, True, False, True, "de"),  # opted out
    7004: ("Dora Weg", "production", True, True, False, True, False, "de"),  # unreachable
    7005: ("Emil Neu", "production", False, True, False, False, True, "de"),  # onboarding not finished
    7006: ("Fritz Ohne", "creative", False, False, False, False, True, "de"),  # no consent
    7007: ("Gina Grafik", "creative", True, True, False, False, False, "de"),
    7008: ("Hans Holz", "production", True, True, False, False, False, "de"),
}
NAMES = {tid: name.split()[0] for tid, (name, *_rest) in PEOPLE.items()}

# Who each audience means (telegram ids), and how many were left out: (opted out, unreachable).
EXPECTED: dict[tuple[str, bool], tuple[set[int], int, int]] = {
    ("all", False): ({7001, 7002, 7005, 7007, 7008}, 1, 1),
    ("production", False): ({7001, 7005, 7008}, 0, 1),
    ("creative", False): ({7002, 7007}, 1, 0),
    ("event", True): ({7001, 7002, 7005}, 1, 0),
    ("onboarding", False): ({7005}, 0, 0),
    ("feedback", False): ({7002}, 0, 0),  # Ben was asked after his meeting and has not answered
    ("unscheduled", False): ({7001, 7007}, 0, 0),  # Klara and Gina were introduced, no time yet
    ("production", True): ({7001, 7005}, 0, 0),
    ("unscheduled", True): ({7001}, 0, 0),
    ("feedback", True): ({7002}, 0, 0),
}


@dataclass
class World:
    event_id: int
    event_name: str
    ids: dict[int, int] = field(default_factory=dict)  # telegram id -> person id


async def seed_world(sessions: Any, event_name: str = "Werkstatttag") -> World:
    async with sessions() as s:
        event = Event(name=event_name, slug="evworld01")
        s.add(event)
        await s.flush()
        world = World(event.id, event_name)
        for tid, (name, side, completed, consent, opted_out, unreachable, in_event, lang) in PEOPLE.items():
            person = Person(telegram_id=tid, username=f"user{tid}", first_name=name.split()[0], language=lang,
                            consent_at=NOW if consent else None, announcements_opt_out=opted_out,
                            unreachable_at=NOW if unreachable else None)
            s.add(person)
            await s.flush()
            world.ids[tid] = person.id
            s.add(Profile(person_id=person.id, name=name, side=side, completed_at=NOW if completed else None))
            if in_event:
                s.add(EventParticipant(event_id=event.id, person_id=person.id))
        ids = world.ids
        # Klara and Gina: introduced, still agreeing on a time.
        open_pair = Pair(company_id=ids[7001], creative_id=ids[7007], status="introduced", introduced_at=NOW)
        # Hans and Ben: met; Hans answered the feedback questions, Ben has not.
        met_pair = Pair(company_id=ids[7008], creative_id=ids[7002], status="introduced", introduced_at=NOW)
        s.add_all([open_pair, met_pair])
        await s.flush()
        held = Meeting(pair_id=met_pair.id, status="held", starts_at=NOW - timedelta(days=3))
        s.add_all([Meeting(pair_id=open_pair.id, status="negotiating"), held])
        await s.flush()
        s.add_all([
            Feedback(meeting_id=held.id, person_id=ids[7002], starts_at=held.starts_at, step="rating", met="yes",
                     asked_at=NOW - timedelta(days=2), prompted_at=NOW - timedelta(days=2)),
            Feedback(meeting_id=held.id, person_id=ids[7008], starts_at=held.starts_at, step="done", met="yes",
                     rating=5, asked_at=NOW - timedelta(days=2), answered_at=NOW - timedelta(days=1)),
        ])
        await s.commit()
    return world
