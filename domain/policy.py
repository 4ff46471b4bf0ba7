"""When the bot follows up by itself: feedback after a meeting, nudges, quiet
hours, outcome follow-ups, pausing after ignored cards. Pure: built from the
parsed settings, asked with explicit instants."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Protocol


class Due(StrEnum):
    """What an unanswered question is due for."""

    NUDGE = "nudge"
    GIVE_UP = "give_up"


class PolicySettings(Protocol):
    """The parsed settings a policy is made from (bot.settings.Settings has them)."""

    feedback_delay: tuple[tuple[str, timedelta], ...]
    nudge_intervals: tuple[tuple[str, timedelta], ...]
    quiet_hours: tuple[time, time] | None
    followup_after: tuple[tuple[str, timedelta], ...]
    ignored_limit: int

    @property
    def tz(self) -> tzinfo: ...


@dataclass(frozen=True)
class FollowupPolicy:
    delay: timedelta
    nudges: tuple[timedelta, ...]  # growing intervals; at most two
    quiet: tuple[time, time] | None
    followups: tuple[tuple[str, timedelta], ...]  # ("14d", 14 days), ... shortest first
    ignored_limit: int
    tz: tzinfo

    @classmethod
    def from_settings(cls, settings: PolicySettings) -> FollowupPolicy:
        return cls(
            delay=settings.feedback_delay[0][1],
            nudges=tuple(sorted(d for _, d in settings.nudge_intervals)),
            quiet=settings.quiet_hours,
            followups=tuple(sorted(settings.followup_after, key=lambda x: x[1])),
            ignored_limit=settings.ignored_limit,
            tz=settings.tz,
        )

    @property
    def shortest_wait(self) -> timedelta:
        """Nothing asked more recently than this can be due for a nudge or give-up."""
        return min((*self.nudges, self.give_up_after))

    @property
    def give_up_after(self) -> timedelta:
        """After the last nudge, wait this long once more before giving up."""
        return self.nudges[-1] if self.nudges else timedelta(days=2)

    def quiet_now(self, now: datetime) -> bool:
        if self.quiet is None:
            return False
        local = now.astimezone(self.tz).time()
        start, end = self.quiet
        if start < end:
            return start <= local < end
        return local >= start or local < end

    def nudge_due(self, prompted_at: datetime | None, nudges: int, now: datetime) -> Due | None:
        """NUDGE, GIVE_UP or None for something asked at `prompted_at`."""
        if prompted_at is None:
            return None
        if nudges < len(self.nudges):
            return Due.NUDGE if now >= prompted_at + self.nudges[nudges] else None
        return Due.GIVE_UP if now >= prompted_at + self.give_up_after else None

    def met_at(self, stage: str, due_at: datetime) -> datetime:
        """The meeting an outcome follow-up of `stage` due at `due_at` asks about."""
        return due_at - dict(self.followups).get(stage, timedelta(0))

    @property
    def stages(self) -> list[str]:
        return [stage for stage, _ in self.followups]
