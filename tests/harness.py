"""Harnesses own a database and a running bot; scenarios ask them for chats."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.settings import Settings
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade
from db.models import ConsentRefusal, ConversationState, Person, Profile
from handlers.core import CrosslabCore
from tests.drivers import CoreChat


class CoreHarness:
    """The core alone, no transport: fast, and used for the database matrix."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.chats: list[CoreChat] = []

    async def start(self) -> None:
        self.engine = create_engine(self.settings.database_url)
        await upgrade(self.engine)
        self.sessions = create_session_factory(self.engine)
        self.core = CrosslabCore(self.sessions, self.settings, bot_username="crosslab_test_bot")
        for chat in self.chats:
            chat.core = self.core

    async def stop(self) -> None:
        await self.engine.dispose()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def chat(self, user_id: int, first_name: str = "Anna", language_code: str | None = "de") -> CoreChat:
        chat = CoreChat(self.core, user_id, first_name, language_code)
        self.chats.append(chat)
        return chat

    # -- reading the database ---------------------------------------------------
    async def person(self, telegram_id: int) -> Person | None:
        async with self.sessions() as s:
            return (await s.execute(select(Person).where(Person.telegram_id == telegram_id))).scalar_one_or_none()

    async def profile(self, telegram_id: int) -> Profile | None:
        async with self.sessions() as s:
            row = await s.execute(select(Profile).join(Person).where(Person.telegram_id == telegram_id))
            return row.scalar_one_or_none()

    async def state(self, telegram_id: int) -> ConversationState | None:
        async with self.sessions() as s:
            row = await s.execute(select(ConversationState).join(Person, Person.id == ConversationState.person_id)
                                  .where(Person.telegram_id == telegram_id))
            return row.scalar_one_or_none()

    async def count(self, model: Any) -> int:
        async with self.sessions() as s:
            return int((await s.execute(select(func.count()).select_from(model))).scalar_one())

    async def refusals(self) -> int:
        return await self.count(ConsentRefusal)
