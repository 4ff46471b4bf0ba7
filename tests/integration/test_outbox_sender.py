"""The outbox sender against a channel double (no HTTP), on SQLite and
PostgreSQL: every row is sent once and recorded, also when the sender is
stopped half-way; errors are handled per kind."""
from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from bot.delivery import Rejected, RetryLater, Transient, Unreachable
from bot.outbox import Outbox
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade
from db.models import utcnow
from db.outbox import OutboxStore
from db.uow import SqlAlchemyUnitOfWork
from handlers.types import Button, OutMessage


class Channel:
    """Records sends; `faults[chat]` is a list of exceptions raised by that chat's next sends."""

    def __init__(self, delay: float = 0.001) -> None:
        self.delay = delay
        self.sent: list[tuple[int, str, list[list[Button]]]] = []
        self.faults: dict[int, list[Exception]] = {}

    async def send_text(self, chat_id: int, text: str, buttons: list[list[Button]]) -> int:
        await asyncio.sleep(self.delay)
        if self.faults.get(chat_id):
            raise self.faults[chat_id].pop(0)
        self.sent.append((chat_id, text, buttons))
        return len(self.sent)

    async def answer_callback(self, *args: Any) -> None:
        return None


@pytest.fixture
async def sessions(database_url: str):
    engine = create_engine(database_url)
    await upgrade(engine)
    yield create_session_factory(engine)
    await engine.dispose()


async def enqueue(sessions, messages: list[OutMessage]) -> None:
    async with SqlAlchemyUnitOfWork(sessions) as uow:
        for msg in messages:
            uow.outbox.add(msg.chat_id, msg.to_payload(), kind="message", priority=0, now=utcnow())
        await uow.commit()


def outbox(sessions, channel: Channel, **kw: Any) -> Outbox:
    kw.setdefault("rate", 5000.0)
    kw.setdefault("chat_rate", 1000.0)
    return Outbox(sessions, channel, **kw)  # type: ignore[arg-type]


async def test_every_row_is_sent_once_and_recorded(sessions) -> None:
    channel = Channel()
    await enqueue(sessions, [OutMessage(1000 + i % 50, f"m{i}") for i in range(300)])
    box = outbox(sessions, channel)
    box.start()
    try:
        await box.drain()
    finally:
        await box.stop()
    assert len(channel.sent) == 300 and len({text for _, text, _ in channel.sent}) == 300
    # one chat's messages in the order they were written
    for chat in range(1000, 1050):
        texts = [int(t[1:]) for c, t, _ in channel.sent if c == chat]
        assert texts == sorted(texts)
    assert (await OutboxStore(sessions).counts()).by_status == {"sent": 300}


async def test_stopping_half_way_records_what_was_sent(sessions) -> None:
    channel = Channel(delay=0.01)
    await enqueue(sessions, [OutMessage(2000 + i, f"m{i}") for i in range(200)])
    box = outbox(sessions, channel, rate=200.0)
    box.start()
    while len(channel.sent) < 50:
        await asyncio.sleep(0.01)
    await box.stop()
    counts = await OutboxStore(sessions).counts()
    assert counts["sent"] == len(channel.sent)  # nothing sent is left unrecorded
    box = outbox(sessions, channel)
    box.start()
    try:
        await box.drain()
    finally:
        await box.stop()
    per_chat = Counter(c for c, _, _ in channel.sent)
    assert len(per_chat) == 200 and max(per_chat.values()) == 1


async def test_errors_by_kind(sessions) -> None:
    channel = Channel()
    channel.faults = {
        1: [Transient("502 Bad Gateway")],
        2: [Unreachable("Forbidden: bot was blocked by the user")],
        3: [RetryLater(0.2)],
        4: [Rejected("Bad Request: BUTTON_USER_PRIVACY_RESTRICTED")],
        5: [Rejected("Bad Request: message text is empty")],
    }
    link = [[Button("Kontakt", url="tg://user?id=9"), Button("Ja", data="x")]]
    await enqueue(sessions, [OutMessage(1, "transient"), OutMessage(2, "blocked"), OutMessage(2, "blocked too"),
                             OutMessage(3, "slow down"), OutMessage(4, "link", link), OutMessage(5, "bad"),
                             OutMessage(5, "after bad")])
    box = outbox(sessions, channel, max_attempts=3)
    box.start()
    try:
        for _ in range(200):
            if {c for c, _, _ in channel.sent} >= {1, 3, 4, 5} and len(channel.sent) >= 4:
                break
            await asyncio.sleep(0.05)
        await box.drain()
    finally:
        await box.stop()
    got = {(c, t) for c, t, _ in channel.sent}
    assert {(1, "transient"), (3, "slow down"), (4, "link"), (5, "after bad")} <= got
    assert not any(c == 2 for c, _, _ in channel.sent) and (5, "bad") not in got
    link_sent = next(b for c, t, b in channel.sent if c == 4)
    assert link_sent == [[Button("Ja", data="x")]]  # once more without the link button
    counts = await OutboxStore(sessions).counts()
    assert counts["unreachable"] == 2 and counts["failed"] == 1 and counts["sent"] == 4


async def test_a_flush_right_after_a_reply_does_not_wait_for_the_batch(sessions, monkeypatch) -> None:
    """Sent replies are recorded in batches; flush() (at stop, in tests) records
    them at once, also when it comes before the batch's task first ran (the
    task used to clear the flush request and then wait the batch out)."""
    import bot.outbox as outbox_module
    from db.outbox import Result

    monkeypatch.setattr(outbox_module, "FLUSH_SECONDS", 60.0)
    await enqueue(sessions, [OutMessage(4242, "Hallo")])
    [row] = await OutboxStore(sessions).claim(utcnow(), limit=10, per_chat=3)
    box = outbox(sessions, Channel())
    box._record_later([Result(row.id, row.chat_id, "sent", 1)])
    async with asyncio.timeout(10):  # not the batch's 60 s (and in this task, before the batch's task runs)
        await box.flush()
    assert (await OutboxStore(sessions).counts()).by_status == {"sent": 1}


async def test_a_row_still_being_sent_is_not_taken_by_another_sender(sessions) -> None:
    """A send that takes longer than the lease (a slow Bot API, a long batch):
    the living sender renews its claim, so another process's sender, looking
    for rows left behind, does not take the row and send it a second time."""
    slow = Channel(delay=1.5)
    await enqueue(sessions, [OutMessage(7001, "slow")])
    first = outbox(sessions, slow, lease_seconds=0.3)
    first.start()
    store = OutboxStore(sessions)
    try:
        while not first._held:  # claimed, being sent
            await asyncio.sleep(0.01)
        taken = 0
        for _ in range(20):  # what another process's sender does, for a second
            await asyncio.sleep(0.05)
            taken += await store.requeue_stale(utcnow() - first.lease)
        assert taken == 0
        await first.drain()
    finally:
        await first.stop()
    assert [t for _, t, _ in slow.sent] == ["slow"]
    counts = await store.counts()
    assert counts.by_status == {"sent": 1} and counts.in_doubt == 0


async def test_a_dead_senders_rows_are_taken_after_the_lease(sessions) -> None:
    """The other side of renewal: rows held by a sender that stopped renewing
    (its process died) go to another sender after the lease, in doubt."""
    await enqueue(sessions, [OutMessage(7002, "orphan")])
    [row] = await OutboxStore(sessions).claim(utcnow(), limit=10, per_chat=3)  # a sender that then died
    other = outbox(sessions, Channel(), lease_seconds=0.3)
    other.start()
    try:
        async with asyncio.timeout(10):
            while not other.channel.sent:
                await asyncio.sleep(0.05)
    finally:
        await other.stop()
    assert [t for _, t, _ in other.channel.sent] == ["orphan"]
    assert (await OutboxStore(sessions).counts()).in_doubt == 1


async def test_a_reply_being_sent_keeps_its_claim(sessions) -> None:
    """The reply to a person's own update (its row staged "sending" with the
    update) is held the same way while the transport sends it slowly."""
    from handlers.types import Reply

    await enqueue(sessions, [OutMessage(7003, "reply")])
    store = OutboxStore(sessions)
    [row] = await store.claim(utcnow(), limit=10, per_chat=3)  # as the core stages a reply
    slow = Channel(delay=1.5)
    box = outbox(sessions, slow, lease_seconds=0.3)
    box.start()
    try:
        sending = asyncio.create_task(box.deliver_reply(Reply(messages=[OutMessage(7003, "reply", outbox_id=row.id)]),
                                                        7003))
        taken = 0
        for _ in range(20):
            await asyncio.sleep(0.05)
            taken += await store.requeue_stale(utcnow() - box.lease)
        await sending
        assert taken == 0 and [t for _, t, _ in slow.sent] == ["reply"]
        await box.flush()
    finally:
        await box.stop()
    assert (await store.counts()).by_status == {"sent": 1}
