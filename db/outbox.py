"""The sender's side of the outbox: claiming rows, recording what became of
them, recovering rows whose sender died, pruning. (Rows are written by
`db.uow.OutboxRepository` in the transaction that decides them.)

Order per chat: a row is claimed only if no earlier row of the same chat is
still waiting or being sent, so one person's messages arrive in the order they
were decided, whatever their priority. On PostgreSQL the claim takes row locks
with ``FOR UPDATE SKIP LOCKED``: several senders never claim the same row.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from db.models import OutboxMessage, Person

WAITING = ("pending", "sending")
# A finished row keeps its status (reports count them) but not its text:
# personal messages are not kept once they are out (or can never go out).
GONE: dict[str, Any] = {}
FINISHED = ("sent", "failed", "unreachable")


@dataclass
class ClaimedRow:
    id: int
    chat_id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    parts_done: int
    broadcast_id: int | None = None


@dataclass
class Result:
    """What became of one claimed row.

    status: sent | failed | unreachable (final); retry (a transient failure:
    counts as an attempt) | requeue (429, or a changed payload: not an attempt)
    | release (not tried: back in the queue as it was)."""

    row_id: int
    chat_id: int
    status: str
    parts_done: int = 0
    error: str | None = None
    not_before: datetime | None = None
    payload: dict[str, Any] | None = None


@dataclass
class Counts:
    by_status: dict[str, int] = field(default_factory=dict)
    in_doubt: int = 0

    def __getitem__(self, status: str) -> int:
        return self.by_status.get(status, 0)


class OutboxStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def claim(self, now: datetime, limit: int, per_chat: int) -> list[ClaimedRow]:
        """Up to `limit` due rows, most urgent first (priority, then age), each the
        first waiting row of its chat, plus up to `per_chat` - 1 rows that follow
        it in the same chat; all marked "sending" (claimed at `now`)."""
        o = OutboxMessage
        earlier = aliased(OutboxMessage)
        due = and_(o.status == "pending", or_(o.not_before.is_(None), o.not_before <= now))
        blocked = (select(earlier.id).where(earlier.chat_id == o.chat_id, earlier.id < o.id,
                                            earlier.status.in_(WAITING)).exists())
        async with self.sessions() as session:
            postgres = session.bind.dialect.name == "postgresql"
            first = select(o.id, o.chat_id).where(due, ~blocked).order_by(o.priority, o.id).limit(limit)
            if postgres:
                first = first.with_for_update(skip_locked=True)
            heads = (await session.execute(first)).all()
            if not heads:
                return []
            chats = {chat_id: row_id for row_id, chat_id in heads}
            ids: list[int] = [row_id for row_id, _ in heads]
            if per_chat > 1:
                follow = (select(o.id, o.chat_id, o.status, o.not_before)
                          .where(o.chat_id.in_(list(chats)), o.status.in_(WAITING))
                          .order_by(o.chat_id, o.id))
                if postgres:
                    follow = follow.with_for_update(skip_locked=True)
                taken: dict[int, int] = {}
                stopped: set[int] = set()
                for row_id, chat_id, status, not_before in (await session.execute(follow)).all():
                    if chat_id in stopped or row_id <= chats[chat_id]:
                        continue
                    ready = status == "pending" and (not_before is None or not_before <= now)
                    if not ready or taken.get(chat_id, 1) >= per_chat:
                        stopped.add(chat_id)
                        continue
                    taken[chat_id] = taken.get(chat_id, 1) + 1
                    ids.append(row_id)
            await session.execute(update(o).where(o.id.in_(ids)).values(status="sending", claimed_at=now))
            rows = (await session.execute(
                select(o.id, o.chat_id, o.kind, o.payload, o.attempts, o.parts_done, o.broadcast_id)
                .where(o.id.in_(ids)).order_by(o.id))).all()
            await session.commit()
        return [ClaimedRow(*row) for row in rows]

    async def finish(self, results: Iterable[Result], now: datetime) -> None:
        """Record results (one transaction). An unreachable chat: its other
        waiting rows are not sent either, and the person is marked."""
        results = list(results)
        if not results:
            return
        o = OutboxMessage
        async with self.sessions() as session:
            sent = [r for r in results if r.status == "sent"]
            for parts, group in _by(sent, lambda r: r.parts_done).items():
                # (the chat too: a result recorded late never lands on another chat's row)
                await session.execute(update(o).where(o.id.in_([r.row_id for r in group]),
                                                      o.chat_id.in_({r.chat_id for r in group}))
                                      .values(status="sent", sent_at=now, parts_done=parts, claimed_at=None,
                                              payload=GONE))
            released = [r.row_id for r in results if r.status == "release"]
            if released:
                await session.execute(update(o).where(o.id.in_(released), o.status == "sending")
                                      .values(status="pending", claimed_at=None))
            for r in results:
                if r.status in ("sent", "release"):
                    continue
                values: dict[str, Any] = {"parts_done": r.parts_done, "error": (r.error or "")[:200] or None,
                                          "claimed_at": None}
                if r.status in ("retry", "requeue"):
                    values.update(status="pending", not_before=r.not_before)
                    if r.status == "retry":
                        values["attempts"] = o.attempts + 1
                    if r.payload is not None:
                        values["payload"] = r.payload
                else:
                    values["status"] = r.status
                    values["payload"] = GONE
                    if r.status == "failed":
                        values["attempts"] = o.attempts + 1
                await session.execute(update(o).where(o.id == r.row_id, o.chat_id == r.chat_id).values(**values))
            unreachable = {r.chat_id for r in results if r.status == "unreachable"}
            if unreachable:
                await session.execute(update(o).where(o.chat_id.in_(unreachable), o.status.in_(WAITING))
                                      .values(status="unreachable", error="chat unreachable", claimed_at=None,
                                              payload=GONE))
                await session.execute(update(Person).where(Person.telegram_id.in_(unreachable))
                                      .values(unreachable_at=now))
            await session.commit()

    async def renew(self, row_ids: Sequence[int], now: datetime) -> int:
        """Rows this sender still holds ("sending"): claimed again at `now`, so
        no sender takes them as left behind while they are being sent (a long
        batch, a reply waiting out a 429). How many were still held."""
        o = OutboxMessage
        renewed = 0
        ids = sorted(set(row_ids))
        async with self.sessions() as session:
            for i in range(0, len(ids), 500):
                result = await session.execute(update(o).where(o.id.in_(ids[i:i + 500]), o.status == "sending")
                                                .values(claimed_at=now))
                renewed += int(result.rowcount or 0)
            await session.commit()
        return renewed

    async def requeue_stale(self, claimed_before: datetime) -> int:
        """Rows left "sending" since before `claimed_before` (their sender died or
        hung): waiting again, marked in doubt (they may have arrived)."""
        o = OutboxMessage
        async with self.sessions() as session:
            result = await session.execute(
                update(o).where(o.status == "sending", o.claimed_at < claimed_before)
                .values(status="pending", in_doubt=True, claimed_at=None))
            await session.commit()
        return int(result.rowcount or 0)

    async def waiting_chats(self, chats: Sequence[int]) -> set[int]:
        """Which of `chats` still have rows waiting or being sent."""
        if not chats:
            return set()
        o = OutboxMessage
        async with self.sessions() as session:
            rows = await session.execute(select(o.chat_id).where(o.chat_id.in_(list(chats)),
                                                                 o.status.in_(WAITING)).distinct())
            return set(rows.scalars())

    async def prune(self, finished_before: datetime) -> int:
        """Forget finished rows (their texts are personal) created before the cut."""
        o = OutboxMessage
        async with self.sessions() as session:
            result = await session.execute(delete(o).where(o.status.in_(FINISHED), o.created_at < finished_before))
            await session.commit()
        return int(result.rowcount or 0)

    async def depth(self, now: datetime) -> tuple[dict[str, int], float]:
        """What waits: rows "pending" and "sending" (always both keys), and how
        many seconds the longest-waiting due row has been due (0 if none)."""
        o = OutboxMessage
        due_since = func.coalesce(o.not_before, o.created_at)
        async with self.sessions() as session:
            rows = await session.execute(select(o.status, func.count()).where(o.status.in_(WAITING))
                                         .group_by(o.status))
            oldest = (await session.execute(select(func.min(due_since)).where(
                o.status == "pending", or_(o.not_before.is_(None), o.not_before <= now)))).scalar_one()
        by_status = {status: 0 for status in WAITING}
        by_status.update({status: int(n) for status, n in rows.all()})
        if isinstance(oldest, str):  # SQLite returns min() of a coalesce as text
            oldest = datetime.fromisoformat(oldest)
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=now.tzinfo)
        return by_status, max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0

    async def counts(self, broadcast_id: int | None = None) -> Counts:
        """Rows per status (of one broadcast, or of all), and how many were in doubt."""
        o = OutboxMessage
        where = [o.broadcast_id == broadcast_id] if broadcast_id is not None else []
        async with self.sessions() as session:
            rows = await session.execute(select(o.status, func.count()).where(*where).group_by(o.status))
            doubt = await session.execute(select(func.count()).select_from(o).where(o.in_doubt.is_(True), *where))
            return Counts({status: int(n) for status, n in rows.all()}, int(doubt.scalar_one()))


def _by(items: Iterable[Result], key: Any) -> dict[Any, list[Result]]:
    out: dict[Any, list[Result]] = {}
    for item in items:
        out.setdefault(key(item), []).append(item)
    return out
