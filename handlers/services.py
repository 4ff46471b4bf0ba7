"""What the conversations depend on, built once by the composition root
(`bot.bootstrap`) and passed in: settings, clock, button signer, matching,
follow-up policy, the message bus and the ports to the world outside the
database (reminder jobs). Frozen: nothing is swapped after start; tests and the
demo compose their own (a simulated clock, no reminder scheduler)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Protocol

from db.models import utcnow
from domain.policy import FollowupPolicy
from handlers.callbacks import CallbackSigner

if TYPE_CHECKING:
    from domain.events import Event


class Config(Protocol):
    """The settings the conversations read (bot.settings.Settings has them, parsed)."""

    admin_ids: Collection[int]
    default_language: str
    german_form: str
    meeting_minutes: int
    embedding_model: str
    followup_after: tuple[tuple[str, timedelta], ...]
    flood_burst: int
    flood_rate: float

    @property
    def tz(self) -> tzinfo: ...


class ReminderPort(Protocol):
    """Meeting reminder jobs (bot.reminders.ReminderService)."""

    @property
    def running(self) -> bool: ...
    def plan(self, meeting_id: int, starts_at: datetime) -> None: ...
    def cancel(self, meeting_id: int) -> None: ...


class Publisher(Protocol):
    """The message bus as the conversations see it (handlers.bus.MessageBus)."""

    async def publish(self, turn: Any, event: Event) -> None: ...
    def after_commit(self, services: Services, events: list[Event]) -> None: ...


class MatchingPort(Protocol):
    """Suggestions from the matching library (handlers.suggestions.MatchingService)."""

    async def suggest_many(self, turn: Any, person_ids: list[int], *, pool: list[int] | None = ...,
                           exclude: Any = ..., top: int | None = ..., release: int | None = ...) -> dict[int, list[Any]]: ...
    async def relevance(self, turn: Any, person_id: int) -> dict[int, float]: ...  # scores of everyone in scope (/browse)
    async def formation(self, turn: Any, rows: Any, *, forbidden: Any = ..., wishes: Any = ..., solve: Any = ...,
                        explain: Any = ...) -> Any: ...  # score matrix, plan and reasons for an event (/plan)
    async def learned(self, turn: Any, rows: Any = ...) -> Any: ...
    def embedding_keys(self, profile: Any, models: Any = ...) -> list[str]: ...
    async def discipline_hint(self, text: str) -> list[str] | None: ...  # what the bridge sees in a challenge
    def warm_up(self) -> Awaitable[None]: ...  # start loading the model in the background (once)


class SimulatedClock:
    """A clock that can be set (demo, tests, benchmarks): real time until set."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now

    def set(self, when: datetime | None) -> None:
        self.now = when

    def __call__(self) -> datetime:
        return self.now or utcnow()


@dataclass(frozen=True)
class Services:
    settings: Config
    signer: CallbackSigner
    matching: MatchingPort
    policy: FollowupPolicy
    bus: Publisher
    flows: Mapping[str, Any]  # Flow -> FlowHandler (handlers.registry.FLOWS)
    clock: Callable[[], datetime] = utcnow
    reminders: ReminderPort | None = None
    bot_username: str = "crosslab_bot"

    def now(self) -> datetime:
        """The clock of conversations and follow-ups (feedback, nudges, cards)."""
        return self.clock()

    def is_admin(self, telegram_id: int) -> bool:
        return telegram_id in self.settings.admin_ids
