"""The event queries of issue 13 (db.uow.EventRepository), on every database:
counts per side, places taken, the waiting list's order and positions,
open applications, memberships for the matching scopes, co-organisers."""
from __future__ import annotations

from datetime import timedelta

import pytest

from db.engine import create_engine, create_session_factory
from db.migrate import upgrade
from db.models import Event, EventOrganiser, EventParticipant, Person, Profile, utcnow
from db.uow import SqlAlchemyUnitOfWork


@pytest.fixture
async def sessions(database_url: str):
    engine = create_engine(database_url)
    await upgrade(engine)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


# telegram id -> (side, profile finished?, status, queue_no)
PEOPLE = {
    101: ("production", True, "approved", None),
    102: ("production", True, "pending", None),
    103: ("production", True, "waiting", 2),
    104: ("production", True, "waiting", 1),
    105: ("production", True, "declined", None),
    201: ("creative", True, "approved", None),
    202: ("creative", True, "waiting", 1),
    203: ("creative", False, "registered", None),
    301: (None, False, "registered", None),
}


async def _world(sessions) -> dict[str, int]:
    now = utcnow()
    async with sessions() as s:
        event = Event(name="Lab", slug="evlab", format="speed", capacity_production=2, capacity_creative=1,
                      approval=True, released_at=now)
        other = Event(name="Andere", slug="evother")
        s.add_all([event, other])
        await s.flush()
        ids = {"event": event.id, "other": other.id}
        for tid, (side, done, status, queue_no) in PEOPLE.items():
            person = Person(telegram_id=tid, first_name=str(tid), language="de", consent_at=now)
            s.add(person)
            await s.flush()
            ids[str(tid)] = person.id
            s.add(Profile(person_id=person.id, name=f"P{tid}", side=side, completed_at=now if done else None))
            s.add(EventParticipant(event_id=event.id, person_id=person.id, status=status, queue_no=queue_no,
                                   applied_at=now + timedelta(minutes=tid) if done else None))
        s.add(EventParticipant(event_id=other.id, person_id=ids["101"], status="approved"))
        await s.commit()
    return ids


async def test_counts_per_side(sessions) -> None:
    ids = await _world(sessions)
    async with SqlAlchemyUnitOfWork(sessions) as uow:
        counts = await uow.events.counts([ids["event"], ids["other"], 999])
    lab = counts[ids["event"]]
    p, c, none = lab["production"], lab["creative"], lab[None]
    assert (p.registered, p.onboarded, p.approved, p.pending, p.waiting, p.declined, p.holding) == (5, 5, 1, 1, 2, 1, 2)
    assert (c.registered, c.onboarded, c.approved, c.pending, c.waiting, c.holding) == (3, 2, 1, 0, 1, 1)
    assert (none.registered, none.onboarded) == (1, 0)
    assert counts[ids["other"]]["production"].approved == 1 and counts[999] == {}


async def test_places_taken_and_the_waiting_list(sessions) -> None:
    ids = await _world(sessions)
    event_id = ids["event"]
    async with SqlAlchemyUnitOfWork(sessions) as uow:
        assert await uow.events.holding(event_id, "production") == 2
        assert await uow.events.holding(event_id, "creative") == 1
        first = await uow.events.first_waiting(event_id, "production")
        assert first is not None and first.person_id == ids["104"]  # queue number 1 before 2
        second = await uow.events.participant(event_id, ids["103"])
        assert await uow.events.waiting_position(first, "production") == 1
        assert await uow.events.waiting_position(second, "production") == 2
        assert (await uow.events.first_waiting(event_id, "creative")).person_id == ids["202"]
        assert await uow.events.next_queue_no(event_id) == 3
        assert await uow.events.next_queue_no(ids["other"]) == 1
        # Someone with the same number (two admissions at once): the earlier person first.
        tie = await uow.events.participant(event_id, ids["102"])
        tie.status, tie.queue_no = "waiting", 1
        await uow.session.flush()
        assert (await uow.events.first_waiting(event_id, "production")).person_id == ids["102"]
        assert await uow.events.waiting_position(first, "production") == 2
        await uow.events.leave(event_id, ids["102"])
        await uow.session.flush()
        assert await uow.events.participant(event_id, ids["102"]) is None
        assert await uow.events.waiting_position(first, "production") == 1


async def test_applications_people_and_memberships(sessions) -> None:
    ids = await _world(sessions)
    async with SqlAlchemyUnitOfWork(sessions) as uow:
        event = await uow.events.get(ids["event"], lock=True)
        assert [p.telegram_id for p, _, _ in await uow.events.applications(event.id)] == [102]
        approved = await uow.events.people(event, statuses=("approved",))
        assert [p.telegram_id for p, _ in approved] == [101, 201]
        assert len(await uow.events.people(event)) == len(PEOPLE)
        joined = await uow.events.memberships()
    assert sorted(joined[ids["101"]]) == sorted([(ids["event"], True, True), (ids["other"], False, True)])
    assert joined[ids["102"]] == [(ids["event"], True, False)]  # an open application is not admitted
    assert joined[ids["202"]] == [(ids["event"], True, False)]


async def test_co_organisers(sessions) -> None:
    ids = await _world(sessions)
    now = utcnow()
    async with SqlAlchemyUnitOfWork(sessions) as uow:
        add = uow.events.add_co_organiser
        assert await add(EventOrganiser(event_id=ids["event"], telegram_id=5_000_000_001, name="", added_by=1,
                                        added_at=now))
        assert not await add(EventOrganiser(event_id=ids["event"], telegram_id=5_000_000_001, name="Cora",
                                            added_by=1, added_at=now))  # again: only the name is updated
        assert await add(EventOrganiser(event_id=ids["other"], telegram_id=5_000_000_001, name="Cora", added_by=1,
                                        added_at=now))
        assert await add(EventOrganiser(event_id=ids["event"], telegram_id=7, name="Sam", added_by=1,
                                        added_at=now + timedelta(seconds=1)))  # listed in the order they were added
        await uow.commit()
    async with SqlAlchemyUnitOfWork(sessions) as uow:
        assert [e.slug for e in await uow.events.co_organised(5_000_000_001)] == ["evlab", "evother"]
        assert [(c.telegram_id, c.name) for c in await uow.events.co_organisers(ids["event"])] == \
            [(5_000_000_001, "Cora"), (7, "Sam")]
        assert await uow.events.remove_co_organiser(ids["event"], 7)
        assert not await uow.events.remove_co_organiser(ids["event"], 7)
        await uow.events.forget_co_organiser(5_000_000_001)
        await uow.commit()
    async with SqlAlchemyUnitOfWork(sessions) as uow:
        assert await uow.events.co_organised(5_000_000_001) == []
        assert await uow.events.co_organisers(ids["event"]) == []
