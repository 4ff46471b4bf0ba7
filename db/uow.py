"""Repositories and the unit of work (Architecture Patterns with Python, async).

The unit of work rolls back unless `commit()` was called; repositories never
commit.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Sequence

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    ConsentRefusal,
    ConversationState,
    Embedding,
    Event,
    EventParticipant,
    Person,
    ProcessedUpdate,
    Profile,
    utcnow,
)


class PeopleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_telegram_id(self, telegram_id: int) -> Person | None:
        return (await self.session.execute(select(Person).where(Person.telegram_id == telegram_id))).scalar_one_or_none()

    async def add(self, person: Person) -> Person:
        self.session.add(person)
        await self.session.flush()
        return person

    async def delete(self, person: Person) -> None:
        await self.session.execute(delete(Person).where(Person.id == person.id))
        self.session.expunge(person)

    async def load_context(self, telegram_id: int) -> tuple[Person, ConversationState | None, Profile | None] | None:
        """A person with their conversation state and profile, in one query."""
        row = (await self.session.execute(
            select(Person, ConversationState, Profile)
            .outerjoin(ConversationState, ConversationState.person_id == Person.id)
            .outerjoin(Profile, Profile.person_id == Person.id)
            .where(Person.telegram_id == telegram_id)
        )).first()
        return (row[0], row[1], row[2]) if row is not None else None

    async def profile(self, person: Person) -> Profile:
        profile = await self.session.get(Profile, person.id)
        if profile is None:
            profile = Profile(person_id=person.id)
            self.session.add(profile)
            await self.session.flush()
        return profile

    async def completed_profiles(self) -> Sequence[tuple[Person, Profile]]:
        rows = await self.session.execute(
            select(Person, Profile).join(Profile, Profile.person_id == Person.id).where(Profile.completed_at.is_not(None))
        )
        return [(p, pr) for p, pr in rows.all()]

    async def count(self) -> int:
        from sqlalchemy import func

        return int((await self.session.execute(select(func.count()).select_from(Person))).scalar_one())


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, person: Person) -> ConversationState:
        state = await self.session.get(ConversationState, person.id)
        if state is None:
            state = ConversationState(person_id=person.id, flow="idle", step=None, data={}, version=0)
            self.session.add(state)
            await self.session.flush()
        return state


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_slug(self, slug: str) -> Event | None:
        return (await self.session.execute(select(Event).where(Event.slug == slug))).scalar_one_or_none()

    async def get(self, event_id: int) -> Event | None:
        return await self.session.get(Event, event_id)

    async def add(self, event: Event) -> Event:
        self.session.add(event)
        await self.session.flush()
        return event

    async def all(self) -> Sequence[Event]:
        return (await self.session.execute(select(Event).order_by(Event.id))).scalars().all()

    async def join(self, event: Event, person: Person) -> bool:
        """Add a participant; False if they were already in."""
        existing = await self.session.get(EventParticipant, (event.id, person.id))
        if existing is not None:
            return False
        self.session.add(EventParticipant(event_id=event.id, person_id=person.id))
        await self.session.flush()
        return True

    async def of_person(self, person: Person) -> Sequence[tuple[Event, EventParticipant]]:
        rows = await self.session.execute(
            select(Event, EventParticipant)
            .join(EventParticipant, EventParticipant.event_id == Event.id)
            .where(EventParticipant.person_id == person.id)
            .order_by(Event.id)
        )
        return [(e, ep) for e, ep in rows.all()]

    async def participant_count(self, event: Event) -> int:
        from sqlalchemy import func

        q = select(func.count()).select_from(EventParticipant).where(EventParticipant.event_id == event.id)
        return int((await self.session.execute(q)).scalar_one())


class UpdateLog:
    """Idempotency: remembers which Telegram update ids were handled."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def record(self, update_id: int) -> None:
        """Record an update as handled, written with the update's other effects.
        A duplicate makes the commit fail with IntegrityError (primary key)."""
        self.session.add(ProcessedUpdate(update_id=update_id))

    async def prune(self, older_than: timedelta = timedelta(days=2)) -> None:
        cutoff: datetime = utcnow() - older_than
        await self.session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < cutoff))


class EmbeddingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_many(self, keys: Sequence[str]) -> dict[str, Embedding]:
        out: dict[str, Embedding] = {}
        keys = list(dict.fromkeys(keys))
        for i in range(0, len(keys), 500):
            rows = await self.session.execute(select(Embedding).where(Embedding.key.in_(keys[i : i + 500])))
            out.update({row.key: row for row in rows.scalars()})
        return out

    async def put(self, key: str, model: str, dim: int, vector: bytes) -> None:
        if await self.session.get(Embedding, key) is None:
            self.session.add(Embedding(key=key, model=model, dim=dim, vector=vector))

    async def delete_keys(self, keys: Sequence[str]) -> None:
        if keys:
            await self.session.execute(delete(Embedding).where(Embedding.key.in_(list(keys))))


class DuplicateUpdate(Exception):
    """The update being handled was already handled (seen at an early commit)."""


class SqlAlchemyUnitOfWork:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = session_factory
        self._committed = False

    async def __aenter__(self) -> SqlAlchemyUnitOfWork:
        self.session = self._factory()
        self.people = PeopleRepository(self.session)
        self.conversations = ConversationRepository(self.session)
        self.events = EventRepository(self.session)
        self.updates = UpdateLog(self.session)
        self.embeddings = EmbeddingRepository(self.session)
        self._committed = False
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if not self._committed:
                await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()
        self._committed = True

    async def checkpoint(self) -> None:
        """Commit what is done so far and release the connection; the unit of
        work goes on in a new transaction (used before long computations)."""
        try:
            await self.session.commit()
        except IntegrityError:
            await self.session.rollback()
            raise DuplicateUpdate() from None

    async def rollback(self) -> None:
        await self.session.rollback()

    def add_refusal(self, language: str) -> None:
        self.session.add(ConsentRefusal(language=language))


__all__ = ["SqlAlchemyUnitOfWork", "IntegrityError", "Any"]
