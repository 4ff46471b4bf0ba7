"""The outbox's queries on SQLite and PostgreSQL: what is claimed first, the
order per chat, results, unreachable chats, stale claims, pruning."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from db.engine import create_engine, create_session_factory
from db.migrate import upgrade
from db.models import OutboxMessage, Person, utcnow
from db.outbox import OutboxStore, Result
from db.uow import SqlAlchemyUnitOfWork
from handlers.types import Button, Document, OutMessage


@pytest.fixture
async def sessions(database_url: str):
    engine = create_engine(database_url)
    await upgrade(engine)
    yield create_session_factory(engine)
    await engine.dispose()


async def add(sessions, *rows: tuple[int, str], priority: int = 0, not_before=None) -> list[int]:
    async with SqlAlchemyUnitOfWork(sessions) as uow:
        made = [uow.outbox.add(chat, OutMessage(chat, text).to_payload(), kind="message", priority=priority,
                               now=utcnow(), not_before=not_before) for chat, text in rows]
        await uow.session.flush()
        ids = [row.id for row in made]
        await uow.commit()
    return ids


async def statuses(sessions) -> dict[int, str]:
    async with sessions() as s:
        return dict((await s.execute(select(OutboxMessage.id, OutboxMessage.status))).all())


async def test_claim_takes_the_first_rows_of_each_chat_in_order(sessions) -> None:
    store = OutboxStore(sessions)
    a1, b1, a2, a3, a4 = await add(sessions, (1, "a1"), (2, "b1"), (1, "a2"), (1, "a3"), (1, "a4"))
    rows = await store.claim(utcnow(), limit=10, per_chat=3)
    assert [(r.chat_id, r.payload["text"]) for r in rows] == [(1, "a1"), (2, "b1"), (1, "a2"), (1, "a3")]
    # a4 waits: earlier rows of chat 1 are still being sent
    assert await store.claim(utcnow(), limit=10, per_chat=3) == []
    await store.finish([Result(r.id, r.chat_id, "sent", 1) for r in rows], utcnow())
    again = await store.claim(utcnow(), limit=10, per_chat=3)
    assert [r.id for r in again] == [a4]
    assert (await statuses(sessions))[a1] == "sent"
    async with sessions() as s:
        sent = await s.get(OutboxMessage, a1)
        assert sent.payload == {}  # the text is not kept once it is out


async def test_priority_orders_chats_but_never_one_chats_messages(sessions) -> None:
    store = OutboxStore(sessions)
    (bulk,) = await add(sessions, (1, "broadcast"), priority=2)
    (personal,) = await add(sessions, (1, "personal"), priority=0)
    (other,) = await add(sessions, (2, "other"), priority=0)
    rows = await store.claim(utcnow(), limit=1, per_chat=1)
    assert [r.id for r in rows] == [other]  # urgent first; chat 1's personal message waits for its broadcast
    rows = await store.claim(utcnow(), limit=5, per_chat=1)
    assert [r.id for r in rows] == [bulk]
    assert personal not in [r.id for r in rows]


async def test_retry_waits_for_not_before_and_holds_back_the_chat(sessions) -> None:
    store = OutboxStore(sessions)
    first, second = await add(sessions, (1, "one"), (1, "two"))
    rows = await store.claim(utcnow(), 10, 3)
    later = utcnow() + timedelta(minutes=5)
    await store.finish([Result(first, 1, "retry", 0, "502", later), Result(second, 1, "release")], utcnow())
    assert await store.claim(utcnow(), 10, 3) == []  # not due, and the second waits behind it
    rows = await store.claim(later + timedelta(seconds=1), 10, 3)
    assert [r.id for r in rows] == [first, second]
    assert rows[0].attempts == 1 and rows[1].attempts == 0


async def test_unreachable_marks_the_chat_and_the_person(sessions) -> None:
    async with sessions() as s:
        s.add(Person(telegram_id=5, first_name="Eva", language="de"))
        await s.commit()
    store = OutboxStore(sessions)
    one, two, other = await add(sessions, (5, "one"), (5, "two"), (6, "x"))
    rows = await store.claim(utcnow(), 10, 1)
    assert {r.id for r in rows} == {one, other}
    await store.finish([Result(one, 5, "unreachable", 0, "Forbidden: bot was blocked by the user"),
                        Result(other, 6, "sent", 1)], utcnow())
    st = await statuses(sessions)
    assert st[one] == st[two] == "unreachable" and st[other] == "sent"
    async with sessions() as s:
        person = (await s.execute(select(Person).where(Person.telegram_id == 5))).scalar_one()
        assert person.unreachable_at is not None
    counts = await store.counts()
    assert counts["unreachable"] == 2 and counts["sent"] == 1


async def test_a_claim_left_behind_is_sent_again_in_doubt(sessions) -> None:
    store = OutboxStore(sessions)
    (row,) = await add(sessions, (1, "hello"))
    await store.claim(utcnow() - timedelta(minutes=10), 10, 1)  # a sender claimed it and died
    assert await store.requeue_stale(utcnow() - timedelta(minutes=5)) == 1
    rows = await store.claim(utcnow(), 10, 1)
    assert [r.id for r in rows] == [row]
    assert (await store.counts()).in_doubt == 1


async def test_payload_round_trip_and_a_changed_payload(sessions) -> None:
    store = OutboxStore(sessions)
    msg = OutMessage(3, "Hallo", [[Button("Kontakt", url="tg://user?id=3"), Button("Ja", data="x|1")]],
                     document=Document("a.ics", b"BEGIN:VCALENDAR\r\n", "text/calendar"))
    async with SqlAlchemyUnitOfWork(sessions) as uow:
        queued = await uow.outbox.stage([msg, OutMessage(4, "own")], own_chat=4, now=utcnow())
        await uow.commit()
    assert queued == 1 and msg.outbox_id is not None
    rows = await store.claim(utcnow(), 10, 1)
    assert [r.chat_id for r in rows] == [3]  # the reply to chat 4 is being delivered by its transport
    back = OutMessage.from_payload(3, rows[0].payload, rows[0].id)
    assert back.buttons == msg.buttons and back.document == msg.document and back.text == "Hallo"
    plain = OutMessage(3, "Hallo", [[Button("Ja", data="x|1")]]).to_payload()
    await store.finish([Result(rows[0].id, 3, "requeue", 0, "BUTTON_USER_PRIVACY_RESTRICTED", None, plain)], utcnow())
    rows = await store.claim(utcnow(), 10, 1)
    assert rows[0].payload == plain and rows[0].attempts == 0


async def test_prune_forgets_finished_rows_only(sessions) -> None:
    store = OutboxStore(sessions)
    done, waiting = await add(sessions, (1, "old"), (2, "waiting"))
    rows = await store.claim(utcnow(), 10, 1)
    await store.finish([Result(done, 1, "sent", 1), Result(waiting, 2, "release")], utcnow())
    assert await store.prune(utcnow() + timedelta(seconds=1)) == 1
    assert set(await statuses(sessions)) == {waiting}


async def test_a_result_recorded_late_never_lands_on_a_newer_row(sessions) -> None:
    """A reply goes out and is recorded a moment later; in between its person
    deleted their data (their rows went) and the bot queued a message to someone
    else. That message keeps its own id and stays waiting (SQLite once gave it
    the freed id, and the late record marked it sent: it never went out)."""
    store = OutboxStore(sessions)
    (reply,) = await add(sessions, (1951, "Wirklich löschen?"))
    async with SqlAlchemyUnitOfWork(sessions) as uow:
        await uow.outbox.forget_chat(1951)
        await uow.commit()
    (move_up,) = await add(sessions, (1953, "Ein Platz ist frei geworden"))
    assert move_up != reply
    await store.finish([Result(reply, 1951, "sent", 1)], utcnow())
    await store.finish([Result(reply, 1951, "failed", 0, "gone")], utcnow())
    assert (await statuses(sessions)) == {move_up: "pending"}
    # and a result with the wrong chat does not touch a row
    await store.finish([Result(move_up, 1951, "sent", 1)], utcnow())
    assert (await statuses(sessions)) == {move_up: "pending"}
