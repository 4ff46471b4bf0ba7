"""Suggestions from the matching library (`/matches`).

The matcher is pure and CPU-bound: profiles and cached embeddings are read from
the database, the database connection is released, the matcher runs in a worker
thread, and new embeddings are written back. Contact details are never part of
a suggestion: introductions need both sides' consent.
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import numpy as np

from db.models import Person, Profile
from handlers import onboarding as ob
from matching.taxonomy import DISCIPLINES

if TYPE_CHECKING:
    from matching import Participant, Suggestion

    from handlers.turn import Turn

TOP = 3


class MatchingService:
    """Owns the (lazily loaded) matcher; one computation at a time."""

    def __init__(self, model_name: str | None) -> None:
        self.model_name = (model_name or "").strip() or None
        self._lock = asyncio.Lock()

    @property
    def namespace(self) -> str:
        """The model string under which this deployment caches embeddings."""
        from matching.encoder import Encoder

        return Encoder(self.model_name).namespace("document")

    def embedding_keys(self, profile: Profile) -> list[str]:
        from matching import cache_key

        texts = {t for t in (profile.offers, profile.seeks, profile.sector) if t and t.strip()}
        return [cache_key(self.namespace, t) for t in sorted(texts)]

    async def suggest(self, turn: Turn, person: Person, top: int = TOP) -> list[tuple[Profile, Suggestion]]:
        from matching import InMemoryEmbeddingCache, Matcher, cache_key

        rows = await turn.uow.people.completed_profiles()
        by_id = {str(p.id): (p, pr) for p, pr in rows}
        participants = [to_participant(p, pr) for p, pr in rows]
        namespace = self.namespace
        keys = {cache_key(namespace, t) for pt in participants for t in (pt.offers, pt.seeks, pt.sector) if t.strip()}
        cached = await turn.uow.embeddings.get_many(sorted(keys))
        cache = InMemoryEmbeddingCache({k: np.frombuffer(row.vector, dtype=np.float32) for k, row in cached.items()})
        matcher = Matcher(self.model_name, cache)
        await turn.uow.checkpoint()  # do not hold the database while the model works
        async with self._lock:
            result = await asyncio.to_thread(matcher.suggest, participants, top, frozenset(), [str(person.id)])
        for key, vector in cache.drain_new().items():
            vector = np.asarray(vector, dtype=np.float32)
            await turn.uow.embeddings.put(key, namespace, int(vector.shape[0]), vector.tobytes())
        return [(by_id[s.counterpart_id][1], s) for s in result.get(str(person.id), []) if s.counterpart_id in by_id]


def to_participant(person: Person, profile: Profile) -> Participant:
    from matching import Participant

    return Participant(
        id=str(person.id),
        side=profile.side or "production",
        name=profile.name or "",
        organisation=profile.organisation or "",
        language=person.language,
        languages=tuple(profile.languages or ()),
        offers=profile.offers or "",
        seeks=profile.seeks or "",
        sector=profile.sector or "",
        disciplines=tuple(profile.disciplines or ()),
        paused=person.paused,
    )


def describe(turn: Turn, profile: Profile) -> str:
    """Who someone is, without contact details."""
    if profile.side == "creative":
        what = ", ".join(DISCIPLINES[c][turn.lang] for c in profile.disciplines or [] if c in DISCIPLINES)
    else:
        what = profile.sector or ""
    org = profile.organisation or ""
    parts = [p for p in (org, what) if p]
    return f"{profile.name}" + (f" – {' · '.join(parts)}" if parts else "")


async def cmd_matches(turn: Turn, profile: Profile, args: str) -> None:
    person = turn.person
    assert person is not None
    if profile.completed_at is None:
        turn.say("profile.incomplete")
        if turn.flow == "idle":
            turn.goto("onboarding", None)
        ob.resume(turn, profile)
        return
    if person.paused:
        turn.say("matches.paused")
        return
    suggestions = await turn.core.matching.suggest(turn, person)
    if not suggestions:
        turn.say("matches.none")
        return
    lines = [turn.tr("matches.head")]
    for i, (other, suggestion) in enumerate(suggestions, 1):
        side = turn.tr(f"side.{other.side}")
        lines.append(f"\n{i}. {describe(turn, other)}\n{side}\n💡 {suggestion.reason(turn.lang)}")
    lines.append("\n" + turn.tr("matches.privacy"))
    turn.send("\n".join(lines))
