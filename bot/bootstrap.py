"""Builds the core and everything it depends on, once, from the settings:
the composition root's one place that knows every concrete class."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from bot.settings import Settings
from db.models import utcnow
from domain.policy import FollowupPolicy
from handlers.callbacks import CallbackSigner
from handlers.core import CrosslabCore
from handlers.registry import build_bus, build_registry
from handlers.services import MatchingPort, ReminderPort, Services
from handlers.suggestions import MatchingService

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


def build_services(settings: Settings, *, flows: object, clock: Callable[[], datetime] = utcnow,
                   reminders: ReminderPort | None = None, bot_username: str = "crosslab_bot",
                   matching: MatchingPort | None = None) -> Services:
    return Services(
        settings=settings,
        signer=CallbackSigner(settings.effective_callback_secret()),
        matching=matching or MatchingService(settings.embedding_model),
        policy=FollowupPolicy.from_settings(settings),  # settings never change at run time
        bus=build_bus(),
        flows=flows,  # type: ignore[arg-type]
        clock=clock,
        reminders=reminders,
        bot_username=bot_username,
    )


def build_core(settings: Settings, sessions: async_sessionmaker[AsyncSession], *,
               clock: Callable[[], datetime] = utcnow, reminders: ReminderPort | None = None,
               bot_username: str = "crosslab_bot", matching: MatchingPort | None = None) -> CrosslabCore:
    """`matching` replaces the `MatchingService` (tests compose a slow one)."""
    registry = build_registry()
    services = build_services(settings, flows=registry.flows, clock=clock, reminders=reminders,
                              bot_username=bot_username, matching=matching)
    return CrosslabCore(services, sessions, registry)

