"""Who a broadcast audience means (db.uow.BroadcastRepository.audience), on
every database: each kind, combined with an event, and who is always left
out (opted out, unreachable, no consent)."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from db.engine import create_engine, create_session_factory
from db.migrate import upgrade
from db.models import EventParticipant, Person
from db.uow import AUDIENCES, SqlAlchemyUnitOfWork
from tests.support.broadcast_world import EXPECTED, seed_world


@pytest.fixture
async def sessions(database_url: str):
    engine = create_engine(database_url)
    await upgrade(engine)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def test_every_audience_kind_with_its_exclusions(sessions) -> None:
    world = await seed_world(sessions)
    by_person = {pid: tid for tid, pid in world.ids.items()}
    assert {kind for kind, _ in EXPECTED} == set(AUDIENCES)
    for (kind, in_event), (expected, opted_out, unreachable) in EXPECTED.items():
        async with SqlAlchemyUnitOfWork(sessions) as uow:
            audience = await uow.broadcasts.audience(kind, world.event_id if in_event else None)
        got = {by_person[r.person_id] for r in audience.recipients}
        assert (got, audience.opted_out, audience.unreachable) == (expected, opted_out, unreachable), (kind, in_event)
        assert all(r.telegram_id == by_person[r.person_id] for r in audience.recipients)


async def test_unreachable_people_come_back_when_they_write_again(sessions) -> None:
    world = await seed_world(sessions)
    async with sessions() as s:
        await s.execute(update(Person).where(Person.telegram_id == 7004).values(unreachable_at=None))
        await s.execute(update(Person).where(Person.telegram_id == 7001).values(announcements_opt_out=True))
        await s.commit()
    async with SqlAlchemyUnitOfWork(sessions) as uow:
        audience = await uow.broadcasts.audience("production")
    assert {r.telegram_id for r in audience.recipients} == {7004, 7005, 7008}
    assert (audience.opted_out, audience.unreachable) == (1, 0)
    assert world.event_id


async def test_an_events_participants_are_those_it_did_not_decline(sessions) -> None:
    """Declined people are no longer the event's participants; those waiting
    for a place (and applying, and admitted) still are."""
    world = await seed_world(sessions)
    async with sessions() as s:
        for tid, status in ((7001, "declined"), (7002, "waiting"), (7005, "pending")):
            await s.execute(update(EventParticipant).where(EventParticipant.event_id == world.event_id,
                                                           EventParticipant.person_id == world.ids[tid])
                            .values(status=status))
        await s.commit()
    async with SqlAlchemyUnitOfWork(sessions) as uow:
        audience = await uow.broadcasts.audience("event", world.event_id)
    assert {r.telegram_id for r in audience.recipients} == {7002, 7005}


async def test_an_unknown_audience_is_refused(sessions) -> None:
    async with SqlAlchemyUnitOfWork(sessions) as uow:
        with pytest.raises(ValueError):
            await uow.broadcasts.audience("vip")
        with pytest.raises(ValueError):
            await uow.broadcasts.audience("event")  # which event?
