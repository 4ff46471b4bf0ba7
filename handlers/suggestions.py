"""Suggestions from the matching library (shown as cards by `handlers.cards`).

The matcher is pure and CPU-bound: profiles and cached embeddings are read from
the database, the database connection is released, the matcher runs in a worker
thread, and new embeddings are written back. Contact details are never part of
a suggestion: introductions need both sides' consent.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from db.models import Person, Profile

if TYPE_CHECKING:
    from matching import FeedbackModel, Participant, Suggestion
    from matching.formation import ScoreMatrix

    from handlers.turn import Turn

log = logging.getLogger(__name__)
TOP = 5
HINT_SECONDS = 20.0  # longer than a first model load; then the question comes without suggestions


@dataclass(frozen=True)
class Scopes:
    """Who may be suggested to whom (issue 10.11), the one rule every
    suggestion goes through:

    - someone in no event is matched with others in no event;
    - someone who joined an event (by its invitation link) waits until the
      organisers release it: no suggestions, and nobody's candidate;
    - after the release, they are matched only with people who share a
      released event with them;
    - an event counts for someone only once they are admitted to it
      (`domain.admission`: approved, not an open application, declined or on
      the waiting list).
    """

    events: dict[int, list[tuple[int, bool]]] = field(default_factory=dict)  # person -> [(event, released?)]

    def waiting(self, person_id: int) -> bool:
        joined = self.events.get(person_id)
        return bool(joined) and not any(released for _, released in joined)

    def scope(self, person_id: int) -> frozenset[int] | None:
        """None: the open pool (no event); else the released events to match within."""
        joined = self.events.get(person_id)
        return frozenset(e for e, released in joined if released) if joined else None

    def fits(self, scope: frozenset[int] | None, person_id: int) -> bool:
        """May `person_id` be a candidate for someone with this scope?"""
        theirs = self.scope(person_id)
        if scope is None or theirs is None:
            return scope is None and theirs is None
        return bool(scope & theirs)


async def scopes(turn: Turn, release: int | None = None) -> Scopes:
    """The scopes now; `release`: as if that event were released (the
    organiser's preview before confirming). Only admitted participants count
    as released."""
    joined = await turn.uow.events.memberships()
    return Scopes({p: [(e, admitted and (released or e == release)) for e, released, admitted in es]
                   for p, es in joined.items()})


class MatchingService:
    """Owns the matcher; one computation at a time.

    The app calls `warm_up` at start: the model loads in a worker thread while
    the bot answers other updates, so the first suggestions do not wait ~10-20 s
    for it. A matching that needs the model before it is ready waits for that
    same load (never a second one)."""

    def __init__(self, model_name: str | None) -> None:
        self.model_name = (model_name or "").strip() or None  # an EMBEDDING_MODEL spec
        self._encoder = None
        self._lock = asyncio.Lock()
        self._frozen = False
        self._warming: asyncio.Task[None] | None = None
        self.ready = False  # the model is loaded and has embedded once
        self.warm_seconds: float | None = None

    def warm_up(self) -> asyncio.Task[None]:
        """Start loading the model in the background (once); the task is done
        when it is ready (or failed: then the first matching loads it)."""
        if self._warming is None:
            self._warming = asyncio.get_running_loop().create_task(self._warm_up(), name="matching-warm-up")
        return self._warming

    async def _warm_up(self) -> None:
        started = time.perf_counter()
        try:
            await asyncio.to_thread(self._embed_once)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("warming up the embedding model failed; the first matching loads it")
            return
        self.warm_seconds = time.perf_counter() - started
        self.ready = True
        self._freeze()
        log.info("embedding model %s ready after %.1f s", self.encoder.name, self.warm_seconds)

    def _embed_once(self) -> None:
        """A matching of two made-up people without a cache: imports, loads the
        model and embeds (worker thread)."""
        from matching import Matcher, Participant

        people = [Participant(id="a", side="production", seeks="Warm-up: eine Herausforderung", offers="Holz"),
                  Participant(id="b", side="creative", offers="Warm-up: Fotografie und Design", seeks="Handwerk")]
        Matcher(encoder=self.encoder).suggest(people, top=1)

    async def _model_loaded(self) -> None:
        """Wait for a warm-up still in progress (its outcome does not matter here)."""
        warming = self._warming
        if warming is not None and not warming.done():
            await asyncio.wait([warming])

    def _freeze(self) -> None:
        if not self._frozen:
            # The model (hundreds of thousands of objects) lives for the whole
            # run: keep it out of the cyclic GC's full collections, which
            # otherwise stall every conversation for ~0.7 s each time.
            gc.freeze()
            self._frozen = True

    @property
    def encoder(self):
        """The `matching.encoders.Encoder` EMBEDDING_MODEL names (nothing loads
        until a text is not in the cache, or `warm_up`)."""
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
        top: int | None = TOP,
        release: int | None = None,
    ) -> dict[int, list[tuple[Profile, Suggestion]]]:
        """Top suggestions for each of `person_ids` among the completed profiles
        (only those in `pool` when given), never a pair in `exclude`, and only
        within each person's scope (`Scopes`): someone waiting for their
        event's release gets no entry at all (`release`: computed as if that
        event were released). `top=None`: every candidate, best first."""
        import numpy as np

        from matching import InMemoryEmbeddingCache, Matcher, cache_key
        from matching.encoder import CachedEncoder
        from matching.matcher import embedding_requests

        rows = await turn.uow.people.completed_profiles()
        if top is None:
            top = max(1, len(rows))
        model, bad = await self.learned(turn, rows)
        exclude = set(exclude) | {(a, b) for a, b in bad} | {(b, a) for a, b in bad}
        scoped = await scopes(turn, release)
        rows = [(p, pr) for p, pr in rows if not scoped.waiting(p.id)]
        if pool is not None:
            allowed = set(pool) | set(person_ids)
            rows = [(p, pr) for p, pr in rows if p.id in allowed]
        by_id = {str(p.id): (p, pr) for p, pr in rows}
        participants = [to_participant(p, pr) for p, pr in rows]
        groups: dict[frozenset[int] | None, list[str]] = {}
        for i in person_ids:
            if str(i) in by_id:
                groups.setdefault(scoped.scope(i), []).append(str(i))
        cohorts = [([pt for pt in participants if scoped.fits(scope, int(pt.id))], ids)
                   for scope, ids in groups.items()]
        # exactly the vectors the matcher looks up (challenges as queries, the rest as passages)
        embedder = CachedEncoder(self.encoder)
        keys = {cache_key(ns, t) for cohort, _ in cohorts for ns, t in embedding_requests(cohort, embedder)}
        cached = await turn.uow.embeddings.get_many(sorted(keys))
        cache = InMemoryEmbeddingCache({k: np.frombuffer(row.vector, dtype=np.float32) for k, row in cached.items()})
        matcher = Matcher(encoder=self.encoder, cache=cache)
        await turn.uow.checkpoint()  # do not hold the database while the model works
        result: dict[str, list[Suggestion]] = {}
        if keys - cached.keys():  # texts to embed: the model is needed
            await self._model_loaded()
        async with self._lock:
            for cohort, wanted in cohorts:
                result.update(await asyncio.to_thread(matcher.suggest, cohort, top, frozenset(exclude), wanted,
                                                      feedback=model))
            if cohorts:
                self._freeze()
        for key, (namespace, vector) in cache.drain_new_entries().items():
            vector = np.asarray(vector, dtype=np.float32)
            await turn.uow.embeddings.put(key, namespace, int(vector.shape[0]), vector.tobytes())
        return {
            int(pid): [(by_id[s.counterpart_id][1], s) for s in items if s.counterpart_id in by_id]
            for pid, items in result.items()
        }


    async def formation(
        self,
        turn: Turn,
        rows: list[tuple[Person, Profile]],
        *,
        forbidden: Collection[tuple[str, str]] = (),
        wishes: Collection[tuple[str, str]] = (),
        solve: Callable[[ScoreMatrix], Any] | None = None,
        explain: Callable[[ScoreMatrix, Any], Iterable[tuple[str, str]]] = lambda matrix, result: (),
    ) -> Formation:
        """The score matrix of these people (an event's participants, ids as
        strings) for `matching.formation`: the matcher's relevance on [0, 1]
        over their pairs with what meetings taught (as `suggest_many`; pairs
        rated badly are forbidden too), `forbidden` and `wishes` (unordered
        pairs). `solve(matrix)` (a plan) and the reasons of the pairs
        `explain(matrix, result)` names run in the worker thread, after the
        database connection was released (the unit of work is checkpointed);
        a `ValueError` of `solve` is raised here."""
        import numpy as np

        from matching import InMemoryEmbeddingCache, Matcher, cache_key
        from matching.encoder import CachedEncoder
        from matching.formation import pair_reasons, score_matrix
        from matching.matcher import embedding_requests

        model, bad = await self.learned(turn)
        participants = [to_participant(p, pr) for p, pr in rows]
        embedder = CachedEncoder(self.encoder)
        keys = {cache_key(ns, t) for ns, t in embedding_requests(participants, embedder)}
        cached = await turn.uow.embeddings.get_many(sorted(keys))
        cache = InMemoryEmbeddingCache({k: np.frombuffer(row.vector, dtype=np.float32) for k, row in cached.items()})
        matcher = Matcher(encoder=self.encoder, cache=cache)
        banned = set(forbidden) | set(bad)
        await turn.uow.checkpoint()  # do not hold the database while the model and the solver work
        if keys - cached.keys():
            await self._model_loaded()

        def work() -> Formation:
            prepared = matcher.prepare(participants)
            matrix = score_matrix(matcher, participants, prepared=prepared, forbidden=banned, wishes=wishes,
                                  feedback=model)
            result = solve(matrix) if solve is not None else None
            return Formation(matrix, result, pair_reasons(prepared, list(explain(matrix, result))))

        async with self._lock:
            done = await asyncio.to_thread(work)
            self._freeze()
        for key, (namespace, vector) in cache.drain_new_entries().items():
            vector = np.asarray(vector, dtype=np.float32)
            await turn.uow.embeddings.put(key, namespace, int(vector.shape[0]), vector.tobytes())
        return done

    async def relevance(self, turn: Turn, person_id: int) -> dict[int, float]:
        """The matcher's score of every counterpart this person may be
        suggested (for the order of /browse): the computation of
        `suggest_many`, with the same cohort (the person's scope, so per-company
        normalisation sees the same candidates) and learned feedback, every
        candidate ranked. A pair never to be suggested again (rated badly) has
        no score; someone waiting for a release gets {}."""
        ranked = await self.suggest_many(turn, [person_id], top=None)
        return {int(s.counterpart_id): s.score for _, s in ranked.get(person_id, [])}

    async def discipline_hint(self, text: str) -> list[str] | None:
        """The disciplines the exemplar bridge sees in a company's challenge
        (`matching.bridge.suggested_disciplines`), computed in a worker thread;
        None when the model or the bank is not available (or not within
        HINT_SECONDS): the question then offers every discipline unticked."""
        try:
            await asyncio.wait_for(self._model_loaded(), HINT_SECONDS)
            return await asyncio.wait_for(asyncio.to_thread(self._hint_now, text), HINT_SECONDS)
        except asyncio.TimeoutError:
            log.warning("no discipline hint within %.0f s", HINT_SECONDS)
        except Exception:
            log.exception("no discipline hint: the bridge is not available")
        return None

    def _hint_now(self, text: str) -> list[str]:
        from matching.bridge import suggested_disciplines
        from matching.encoder import CachedEncoder

        return suggested_disciplines(CachedEncoder(self.encoder, None), text)

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


@dataclass(frozen=True)
class Formation:
    """What `MatchingService.formation` computed: the score matrix, the
    solver's result (None without `solve`) and the reasons ({"de", "en"})
    of the pairs asked for."""

    matrix: ScoreMatrix
    result: Any
    reasons: dict[tuple[str, str], dict[str, str]]


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
        wanted=tuple(profile.wanted_disciplines or ()) if profile.side == "production" else (),
        paused=person.paused,
    )

