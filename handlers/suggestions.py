"""Suggestions from the matching library (shown as cards by `handlers.cards`).

The matcher is pure and CPU-bound: profiles and cached embeddings are read from
the database, the database connection is released, the matcher runs in a worker
thread, and new embeddings are written back. Contact details are never part of
a suggestion: introductions need both sides' consent.
"""
from __future__ import annotations

import asyncio
import gc
from typing import TYPE_CHECKING, Iterable

from db.models import Person, Profile

if TYPE_CHECKING:
    from matching import FeedbackModel, Participant, Suggestion

    from handlers.turn import Turn

TOP = 5


class MatchingService:
    """Owns the (lazily loaded) matcher; one computation at a time."""

    def __init__(self, model_name: str | None) -> None:
        self.model_name = (model_name or "").strip() or None  # an EMBEDDING_MODEL spec
        self._lock = asyncio.Lock()
        self._frozen = False
        self._encoder = None

    @property
    def encoder(self):
        """The `matching.encoders.Encoder` EMBEDDING_MODEL names (nothing loads
        until a text is not in the cache)."""
        if self._encoder is None:
            from matching.encoders import encoder_for

            self._encoder = encoder_for(self.model_name)
        return self._encoder

    @property
    def namespaces(self) -> list[str]:
        """The model strings under which this deployment caches embeddings:
        the encoder's name, or "<name>#query" and "<name>#passage" for an
        asymmetric encoder."""
        from matching.encoder import CachedEncoder

        return CachedEncoder(self.encoder).namespaces()

    def embedding_keys(self, profile: Profile, models: Iterable[str] = ()) -> list[str]:
        """The cache keys a profile's texts can have under this deployment's
        encoder and under `models` (e.g. every model string in the table, so
        erasure also finds rows an earlier EMBEDDING_MODEL wrote)."""
        from matching import cache_key

        texts = {t for t in (profile.offers, profile.seeks, profile.sector) if t and t.strip()}
        namespaces = dict.fromkeys([*self.namespaces, *models])
        return sorted({cache_key(ns, t) for ns in namespaces for t in texts})

    async def suggest_many(
        self,
        turn: Turn,
        person_ids: list[int],
        *,
        pool: list[int] | None = None,
        exclude: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset(),
        top: int = TOP,
    ) -> dict[int, list[tuple[Profile, Suggestion]]]:
        """Top suggestions for each of `person_ids` among the completed profiles
        (only those in `pool` when given), never a pair in `exclude`."""
        import numpy as np

        from matching import InMemoryEmbeddingCache, Matcher, cache_key
        from matching.encoder import CachedEncoder
        from matching.matcher import embedding_requests

        rows = await turn.uow.people.completed_profiles()
        model, bad = await self.learned(turn, rows)
        exclude = set(exclude) | {(a, b) for a, b in bad} | {(b, a) for a, b in bad}
        if pool is not None:
            allowed = set(pool) | set(person_ids)
            rows = [(p, pr) for p, pr in rows if p.id in allowed]
        by_id = {str(p.id): (p, pr) for p, pr in rows}
        participants = [to_participant(p, pr) for p, pr in rows]
        # exactly the vectors the matcher looks up (challenges as queries, the rest as passages)
        keys = {cache_key(ns, t) for ns, t in embedding_requests(participants, CachedEncoder(self.encoder))}
        cached = await turn.uow.embeddings.get_many(sorted(keys))
        cache = InMemoryEmbeddingCache({k: np.frombuffer(row.vector, dtype=np.float32) for k, row in cached.items()})
        matcher = Matcher(encoder=self.encoder, cache=cache)
        wanted = [str(i) for i in person_ids if str(i) in by_id]
        await turn.uow.checkpoint()  # do not hold the database while the model works
        async with self._lock:
            result = await asyncio.to_thread(matcher.suggest, participants, top, frozenset(exclude), wanted,
                                             feedback=model)
            if not self._frozen:
                # The model (hundreds of thousands of objects) lives for the whole
                # run: keep it out of the cyclic GC's full collections, which
                # otherwise stall every conversation for ~0.7 s each time.
                gc.freeze()
                self._frozen = True
        for key, (namespace, vector) in cache.drain_new_entries().items():
            vector = np.asarray(vector, dtype=np.float32)
            await turn.uow.embeddings.put(key, namespace, int(vector.shape[0]), vector.tobytes())
        return {
            int(pid): [(by_id[s.counterpart_id][1], s) for s in items if s.counterpart_id in by_id]
            for pid, items in result.items()
        }


    async def learned(self, turn: Turn, rows: list[tuple[Person, Profile]] | None = None) -> tuple[FeedbackModel, set[tuple[str, str]]]:
        """What meetings taught: a bounded score prior per challenge type ×
        discipline, and the pairs never to suggest again (rated ≤ 2 or "no").
        Each person's answer is one observation."""
        from matching import FeedbackModel, FeedbackObservation, bad_pairs

        answered = await turn.uow.followups.answered_feedback()
        if not answered:
            return FeedbackModel.fit([]), set()
        if rows is None:
            rows = await turn.uow.people.completed_profiles()
        by_id = {p.id: to_participant(p, pr) for p, pr in rows}
        observations = [FeedbackObservation(company=by_id[pair.company_id], creative=by_id[pair.creative_id],
                                            rating=f.rating, wants_to_continue=f.wants_to_continue)
                        for f, pair in answered if pair.company_id in by_id and pair.creative_id in by_id]
        bad = bad_pairs(observations)
        # A pair stays excluded even if one side deleted their profile text meanwhile.
        bad |= {(str(pair.company_id), str(pair.creative_id)) for f, pair in answered
                if (f.rating is not None and f.rating <= 2) or f.wants_to_continue == "no"}
        return FeedbackModel.fit(observations), bad


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

