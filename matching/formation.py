"""Plans for the programmes' formats: breakout groups and speed-meetup rounds.

Pure: numpy and scipy only (the matcher is used through its public API, and
only by `score_matrix` / `pair_reasons`).  The chat flows (plan review,
`/round`, release) and `crosslab plan` are built on these functions:

    prepared = matcher.prepare(participants)
    scores = score_matrix(matcher, participants, prepared=prepared,
                          forbidden=declined_or_met, wishes=marked_pairs)
    plan = form_groups(scores, group_size=2, max_groups_per_creative=1,
                       locked={("firm-1", "anna")})
    plan.groups[0].company, .creatives, .score, .diverse;  plan.unplaced
    rota = form_rounds(scores, rounds=6, locked={("firm-1", "ben", 1)})
    rota.rounds[0][0].company, .creative, .table, .score;  rota.breaks[0]
    rota.agenda("ben")  # [Meeting | None] per round

Scale.  `ScoreMatrix.relevance` is the matcher's score mapped linearly onto
[0, 1] over the cohort's scorable pairs (1 = the cohort's best pair, 0 = its
worst).  The solvers maximise the *utility* `relevance + WISH_BONUS` for a
pair somebody marked "möchte ich treffen"; both weights below are in those
units (a fraction of the cohort's score range).  The solvers accept a plain
array too (any finite scale; NaN or −inf = forbidden) — the weights keep
their meaning only on a [0, 1] scale.

Guarantees and formulations: docs/matching.md, "Formation".
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Collection, Iterable, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matching.domain import Participant
    from matching.learning import FeedbackModel
    from matching.matcher import Matcher, PreparedCohort

__all__ = [
    "DIVERSITY_WEIGHT",
    "WISH_BONUS",
    "Group",
    "GroupPlan",
    "Meeting",
    "RoundPlan",
    "ScoreMatrix",
    "Unplaced",
    "UnplacedReason",
    "form_groups",
    "form_rounds",
    "pair_reasons",
    "score_matrix",
]

# A "möchte ich treffen" mark adds a quarter of the cohort's score range to the
# pair: it lifts a good pair over a slightly better one, never an unrelated
# person over a strong match.
WISH_BONUS = 0.25
# A breakout group whose creatives all share one discipline profile costs this
# much utility: the plan accepts such a group only when every diverse
# alternative loses more than a quarter of the score range in total.
DIVERSITY_WEIGHT = 0.25
# HiGHS gets this long per solve before a plan is returned as not proven optimal
DEFAULT_TIME_LIMIT = 60.0

PRODUCTION, CREATIVE = "production", "creative"


class UnplacedReason(StrEnum):
    """Why somebody got no group (or no meeting in any round)."""

    #: every pair with the other side is forbidden (declined, met, no common
    #: working language) — or there is nobody on the other side
    ALL_PAIRS_FORBIDDEN = "all_pairs_forbidden"
    #: a company: the creatives it could meet are all needed in other groups
    NOT_ENOUGH_CREATIVES = "not_enough_creatives"
    #: a creative: the groups it could join are all full
    NOT_ENOUGH_PLACES = "not_enough_places"


@dataclass(frozen=True)
class Unplaced:
    id: str
    side: str  # "production" | "creative"
    reason: UnplacedReason


# ---------------------------------------------------------------------------
# the score matrix
# ---------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ScoreMatrix:
    """Relevance of every company × creative pair, with the constraints.

    `relevance` (float64, m × n) is in [0, 1] when built by `score_matrix`;
    `allowed` is False for forbidden pairs (declined or met, no common working
    language); `wished` marks "möchte ich treffen" pairs, worth `wish_bonus`
    more.  `disciplines` maps a creative's id to its declared discipline codes
    (`matching.taxonomy.DISCIPLINES`).  `raw` holds the matcher's own scores
    (−inf where it refuses a pair), for display; None for synthetic matrices.
    Rows and columns follow `companies` and `creatives` (the input order).
    """

    companies: tuple[str, ...]
    creatives: tuple[str, ...]
    relevance: np.ndarray
    allowed: np.ndarray
    wished: np.ndarray
    wish_bonus: float = WISH_BONUS
    disciplines: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    raw: np.ndarray | None = None

    def __post_init__(self) -> None:
        m, n = len(self.companies), len(self.creatives)
        for name in ("relevance", "allowed", "wished"):
            if getattr(self, name).shape != (m, n):
                raise ValueError(f"{name} must be {m} × {n}, not {getattr(self, name).shape}")
        for ids, side in ((self.companies, "company"), (self.creatives, "creative")):
            if len(set(ids)) != len(ids):
                raise ValueError(f"duplicate {side} id")
        if set(self.companies) & set(self.creatives):
            raise ValueError("an id is both a company and a creative: "
                             + ", ".join(sorted(set(self.companies) & set(self.creatives))))

    @classmethod
    def from_array(
        cls,
        values: np.ndarray | Sequence[Sequence[float]],
        companies: Sequence[str] | None = None,
        creatives: Sequence[str] | None = None,
        *,
        disciplines: Mapping[str, Iterable[str]] | None = None,
        forbidden: Iterable[tuple[str, str]] = (),
        wishes: Iterable[tuple[str, str]] = (),
        wish_bonus: float = WISH_BONUS,
    ) -> "ScoreMatrix":
        """A matrix of given scores (used as they are, not rescaled; NaN or
        −inf = forbidden).  Ids default to "c0", "c1", … and "k0", "k1", …;
        `forbidden` and `wishes` are unordered pairs of ids (unknown ids are
        ignored: people may have left)."""
        arr = np.array(values, dtype=np.float64, ndmin=2)
        if arr.ndim != 2:
            raise ValueError("scores must be a companies × creatives matrix")
        m, n = arr.shape
        companies = tuple(str(c) for c in companies) if companies is not None else tuple(f"c{i}" for i in range(m))
        creatives = tuple(str(k) for k in creatives) if creatives is not None else tuple(f"k{j}" for j in range(n))
        if (len(companies), len(creatives)) != (m, n):
            raise ValueError(f"{len(companies)} company ids and {len(creatives)} creative ids for a {m} × {n} matrix")
        allowed = np.isfinite(arr)
        relevance = np.where(allowed, arr, 0.0)
        matrix = cls(companies, creatives, relevance, allowed, np.zeros((m, n), dtype=bool), float(wish_bonus),
                     {k: tuple(v) for k, v in (disciplines or {}).items()})
        return matrix.forbid(forbidden).wish(wishes)

    # -- lookups --------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.companies), len(self.creatives)

    def company_index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.companies)}

    def creative_index(self) -> dict[str, int]:
        return {k: j for j, k in enumerate(self.creatives)}

    def score(self, company: str, creative: str) -> float:
        """The pair's relevance (whether allowed or not)."""
        return float(self.relevance[self.company_index()[company], self.creative_index()[creative]])

    def utility(self) -> np.ndarray:
        """relevance + wish_bonus · wished; −inf where the pair is forbidden."""
        u = self.relevance + self.wish_bonus * self.wished
        return np.where(self.allowed, u, -np.inf)

    def _mask(self, pairs: Iterable[tuple[str, str]]) -> np.ndarray:
        """Cells of these unordered (company, creative) pairs; unknown ids and
        same-side pairs are ignored."""
        ci, kj = self.company_index(), self.creative_index()
        mask = np.zeros(self.shape, dtype=bool)
        for a, b in pairs:
            a, b = str(a), str(b)
            if a in ci and b in kj:
                mask[ci[a], kj[b]] = True
            elif b in ci and a in kj:
                mask[ci[b], kj[a]] = True
        return mask

    # -- derived matrices (the chat flow's edits) ----------------------------

    def forbid(self, pairs: Iterable[tuple[str, str]]) -> "ScoreMatrix":
        """A copy with these unordered pairs forbidden too (unknown ids ignored)."""
        mask = self._mask(pairs)
        if not mask.any():
            return self
        return self._replace(allowed=self.allowed & ~mask)

    def wish(self, pairs: Iterable[tuple[str, str]]) -> "ScoreMatrix":
        """A copy with these unordered pairs marked "möchte ich treffen"."""
        mask = self._mask(pairs)
        if not mask.any():
            return self
        return self._replace(wished=self.wished | mask)

    def _replace(self, **changes) -> "ScoreMatrix":
        fields = {name: getattr(self, name) for name in
                  ("companies", "creatives", "relevance", "allowed", "wished", "wish_bonus", "disciplines", "raw")}
        fields.update(changes)
        return ScoreMatrix(**fields)


def score_matrix(
    matcher: "Matcher",
    participants: Iterable["Participant"],
    *,
    prepared: "PreparedCohort | None" = None,
    forbidden: Iterable[tuple[str, str]] = (),
    wishes: Iterable[tuple[str, str]] = (),
    wish_bonus: float = WISH_BONUS,
    feedback: "FeedbackModel | None" = None,
) -> ScoreMatrix:
    """The shipped matcher's relevance of every active company × creative.

    The matcher's score `s` (fused: a weighted mean of clipped per-company
    z-scores; classic: its hand-weighted sum) becomes `(s − min) / (max −
    min)` over the cohort's scorable pairs, so 1 is the best pair of this
    cohort and 0 the worst (all 1 when every pair scores the same).  Pairs
    the matcher refuses (stated working languages without one in common) and
    `forbidden` pairs (declined, met — unordered) are not allowed; `wishes`
    (unordered "möchte ich treffen" pairs) are worth `wish_bonus` more.
    Rows and columns keep the order of `participants`; paused and deleted
    people are left out.  `prepared` (from `matcher.prepare` of the same
    participants) saves the preparation; `feedback` adds the learned
    adjustment as in `Matcher.suggest`.
    """
    people = [p for p in participants if p.active]
    if prepared is None:
        prepared = matcher.prepare(people)
    features, scorer = prepared.features, prepared.scorer
    c_pos = {p.id: i for i, p in enumerate(features.companies)}
    k_pos = {p.id: j for j, p in enumerate(features.creatives)}
    companies = [p for p in people if p.side == PRODUCTION and p.id in c_pos]
    creatives = [p for p in people if p.side == CREATIVE and p.id in k_pos]
    m, n = len(companies), len(creatives)
    raw = np.full((m, n), -np.inf)
    if m and n:
        extra = None
        if feedback is not None and not feedback.is_empty():
            bound = feedback.bind(features)
            extra = (bound.left, bound.right)
        block = np.asarray(scorer.block(slice(None), slice(None), extra=extra), dtype=np.float64) - scorer.epsilon
        raw = block[np.ix_([c_pos[p.id] for p in companies], [k_pos[p.id] for p in creatives])]
    scorable = np.isfinite(raw)
    relevance = np.zeros((m, n))
    if scorable.any():
        lo, hi = float(raw[scorable].min()), float(raw[scorable].max())
        relevance[scorable] = (raw[scorable] - lo) / (hi - lo) if hi > lo else 1.0
    matrix = ScoreMatrix(
        companies=tuple(p.id for p in companies),
        creatives=tuple(p.id for p in creatives),
        relevance=relevance,
        allowed=scorable,
        wished=np.zeros((m, n), dtype=bool),
        wish_bonus=float(wish_bonus),
        disciplines={p.id: tuple(p.disciplines) for p in creatives},
        raw=raw,
    )
    return matrix.forbid(forbidden).wish(wishes)


def pair_reasons(prepared: "PreparedCohort", pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, str]]:
    """The matcher's short reasons ({"de": …, "en": …}) for (company, creative)
    pairs of a prepared cohort, as shown to organisers and in briefings."""
    from matching.explain import explain_pair

    features = prepared.features
    c_pos = {p.id: i for i, p in enumerate(features.companies)}
    k_pos = {p.id: j for j, p in enumerate(features.creatives)}
    return {(c, k): explain_pair(features, c_pos[c], k_pos[k], PRODUCTION) for c, k in pairs}


def _as_matrix(
    scores: "ScoreMatrix | np.ndarray | Sequence[Sequence[float]]",
    companies: Sequence[str] | None,
    creatives: Sequence[str] | None,
    disciplines: Mapping[str, Iterable[str]] | None,
    forbidden: Iterable[tuple[str, str]],
) -> ScoreMatrix:
    if isinstance(scores, ScoreMatrix):
        if companies is not None and tuple(map(str, companies)) != scores.companies:
            raise ValueError("companies must match the ScoreMatrix's (or be left out)")
        if creatives is not None and tuple(map(str, creatives)) != scores.creatives:
            raise ValueError("creatives must match the ScoreMatrix's (or be left out)")
        if disciplines is not None:
            scores = scores._replace(disciplines={k: tuple(v) for k, v in disciplines.items()})
        return scores.forbid(forbidden)
    return ScoreMatrix.from_array(scores, companies, creatives, disciplines=disciplines, forbidden=forbidden)


def _unknown(kind: str, value: str) -> ValueError:
    return ValueError(f"unknown {kind} {value!r} in a locked choice")


# ---------------------------------------------------------------------------
# breakout groups
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Group:
    """One breakout group: a company and its creatives (best first)."""

    company: str
    creatives: tuple[str, ...]
    scores: tuple[float, ...]  # relevance of each creative with the company
    score: float  # their sum (relevance only, without wish bonus)
    diverse: bool  # False when ≥ 2 creatives who all declared the same disciplines
    locked: tuple[str, ...] = ()  # creatives the organiser pinned here
    wished: tuple[str, ...] = ()  # creatives in a "möchte ich treffen" pair with the company


@dataclass(frozen=True)
class GroupPlan:
    groups: list[Group]
    unplaced: list[Unplaced]
    group_size: int
    max_groups_per_creative: int
    optimal: bool = True  # False only when HiGHS hit the time limit first

    @property
    def total(self) -> float:
        return float(sum(g.score for g in self.groups))

    @property
    def full_groups(self) -> int:
        return sum(1 for g in self.groups if len(g.creatives) == self.group_size)

    def group_of(self, company: str) -> Group | None:
        return next((g for g in self.groups if g.company == company), None)

    def groups_of(self, creative: str) -> list[Group]:
        return [g for g in self.groups if creative in g.creatives]

    def to_json(self) -> dict:
        """The `crosslab plan --format breakout --json` object."""
        return {"groups": [{"company": g.company, "creatives": list(g.creatives)} for g in self.groups],
                "unplaced": [u.id for u in self.unplaced]}


def _alike_classes(creatives: Sequence[str], disciplines: Mapping[str, Iterable[str]]) -> np.ndarray:
    """Class number per creative: equal non-empty discipline sets share one;
    −1 = none declared (never alike with anybody)."""
    keys: dict[frozenset[str], int] = {}
    out = np.full(len(creatives), -1, dtype=np.int64)
    for j, k in enumerate(creatives):
        codes = frozenset(disciplines.get(k, ()) or ())
        if codes:
            out[j] = keys.setdefault(codes, len(keys))
    return out


def _max_seats(allowed: np.ndarray, locked: np.ndarray, cap_c: int, cap_k: int) -> int:
    """Most (company, creative) places any plan can fill: the locked ones
    plus a maximum flow over the rest (source → company → creative → sink)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_flow

    m, n = allowed.shape
    rest_c = cap_c - locked.sum(axis=1)
    rest_k = cap_k - locked.sum(axis=0)
    free = allowed & ~locked
    ci, kj = np.nonzero(free)
    src, sink = 0, m + n + 1
    rows = np.concatenate([np.zeros(m, np.int64), 1 + ci, 1 + m + np.arange(n)])
    cols = np.concatenate([1 + np.arange(m), 1 + m + kj, np.full(n, sink)])
    caps = np.concatenate([rest_c, np.ones(len(ci), np.int64), rest_k]).astype(np.int32)
    graph = csr_matrix((caps, (rows, cols)), shape=(m + n + 2, m + n + 2))
    return int(locked.sum()) + int(maximum_flow(graph, src, sink).flow_value)


class _GroupModel:
    """The breakout MILP (see docs/matching.md, "Formation").

    Variables: x_p ∈ {0, 1} per allowed pair p = (c, k); per company the group
    size s_c (continuous, = Σ_k x_ck), h_c ∈ {0, 1} (the group is all alike)
    and f_c ∈ {0, 1} (the group is full).
    """

    def __init__(self, utility: np.ndarray, allowed: np.ndarray, locked: np.ndarray, classes: np.ndarray,
                 group_size: int, max_groups: int) -> None:
        from scipy.sparse import coo_matrix

        self.m, self.n = m, n = allowed.shape
        self.K, self.M = group_size, max_groups
        self.classes = classes
        self.ci, self.kj = np.nonzero(allowed)
        P = self.P = len(self.ci)
        self.w = utility[self.ci, self.kj]
        self.x_lb = locked[self.ci, self.kj].astype(np.float64)
        # variable layout: x[0:P] | s[P:P+m] | h[P+m:P+2m] | f[P+2m:P+3m]
        self.s0, self.h0, self.f0 = P, P + m, P + 2 * m
        self.nvar = P + 3 * m
        rows, cols, vals, lo, hi = [], [], [], [], []

        def add(r_cols, r_vals, lb, ub):
            r = len(lo)
            rows.extend([r] * len(r_cols))
            cols.extend(r_cols)
            vals.extend(r_vals)
            lo.append(lb)
            hi.append(ub)

        by_company = [np.flatnonzero(self.ci == c) for c in range(m)]
        by_creative = [np.flatnonzero(self.kj == k) for k in range(n)]
        for c, ps in enumerate(by_company):
            # s_c − Σ_k x_ck = 0, s_c ≤ K (the bound), K·f_c − Σ_k x_ck ≤ 0
            add([self.s0 + c, *ps.tolist()], [1.0] + [-1.0] * len(ps), 0.0, 0.0)
            add([self.f0 + c, *ps.tolist()], [float(self.K)] + [-1.0] * len(ps), -np.inf, 0.0)
        for k, ps in enumerate(by_creative):
            if len(ps) > self.M:
                add(ps.tolist(), [1.0] * len(ps), -np.inf, float(self.M))
        self.homogeneous_rows = 0
        if self.K >= 2:
            # a group is all alike in class t when a_ct = Σ_{k∈t} x_ck = s_c ≥ 2:
            #   h_c ≥ (a_ct − 1)/(K − 1) − (s_c − a_ct)   ⇔
            #   a_ct·(1 + 1/(K−1)) − s_c − h_c ≤ 1/(K−1)
            # (≤ 0 when a_ct ≤ 1 or another creative is in the group; = 1 only
            # when the group is all alike, so the binary h_c is forced to 1)
            # For K = 2 the tighter clique form a_ct − h_c ≤ 1 says the same
            # (two of a class in a group of two is the whole group) and its LP
            # relaxation is much closer to the integer optimum.
            q = 1.0 / (self.K - 1)
            for c, ps in enumerate(by_company):
                cls = classes[self.kj[ps]]
                for t in np.unique(cls[cls >= 0]):
                    members = ps[cls == t]
                    if len(members) < 2:
                        continue
                    if self.K == 2:
                        add([*members.tolist(), self.h0 + c], [1.0] * len(members) + [-1.0], -np.inf, 1.0)
                    else:
                        add([*members.tolist(), self.s0 + c, self.h0 + c], [1.0 + q] * len(members) + [-1.0, -1.0],
                            -np.inf, q)
                    self.homogeneous_rows += 1
        self.A = coo_matrix((vals, (rows, cols)), shape=(len(lo), self.nvar)).tocsr()
        self.lo, self.hi = np.array(lo), np.array(hi)
        self.seat_row = np.zeros(self.nvar)
        self.seat_row[:P] = 1.0
        self.full_row = np.zeros(self.nvar)
        self.full_row[self.f0:] = 1.0

    def solve(self, objective: np.ndarray, min_seats: int, min_full: int, time_limit: float
              ) -> tuple[np.ndarray, float, bool]:
        """The chosen pairs (a mask over the allowed pairs), the objective's
        value and whether it is proven optimal.

        The LP relaxation comes first: it is a bound on every plan, so when
        its optimal vertex is integral in x (and the full groups it implies
        reach `min_full`) with the same objective value, that plan is optimal
        — the usual case, as the b-matching part is totally unimodular.
        Otherwise HiGHS's branch and bound with relative gap 0."""
        from scipy.optimize import Bounds, LinearConstraint, milp

        constraints = [LinearConstraint(self.A, self.lo, self.hi),
                       LinearConstraint(np.vstack([self.seat_row, self.full_row]), [min_seats, min_full], [np.inf, np.inf])]
        lb = np.zeros(self.nvar)
        ub = np.ones(self.nvar)
        lb[:self.P] = self.x_lb
        ub[self.s0:self.h0] = self.K
        bounds = Bounds(lb, ub)
        relaxed = milp(-objective, constraints=constraints, integrality=np.zeros(self.nvar), bounds=bounds,
                       options={"time_limit": time_limit})
        if relaxed.x is not None and relaxed.status == 0:
            x = relaxed.x[:self.P]
            if np.all(np.abs(x - np.round(x)) < 1e-6):
                chosen = np.round(x).astype(bool)
                value = self.value(objective, chosen)
                if self.full_count(chosen) >= min_full and value >= -relaxed.fun - 1e-7 * max(1.0, abs(relaxed.fun)):
                    return chosen, value, True
        integrality = np.ones(self.nvar)
        integrality[self.s0:self.h0] = 0
        result = milp(-objective, constraints=constraints, integrality=integrality, bounds=bounds,
                      options={"time_limit": time_limit, "mip_rel_gap": 0.0})
        if result.x is None:
            raise RuntimeError(f"the group solver found no plan: {result.message}")
        chosen = np.round(result.x[:self.P]).astype(bool)
        return chosen, self.value(objective, chosen), result.status == 0

    def full_count(self, chosen: np.ndarray) -> int:
        return int((np.bincount(self.ci[chosen], minlength=self.m) == self.K).sum())

    def homogeneous(self, chosen: np.ndarray) -> int:
        """Groups of ≥ 2 creatives all of one class."""
        ci, cls = self.ci[chosen], self.classes[self.kj[chosen]]
        size = np.bincount(ci, minlength=self.m)
        lo = np.full(self.m, np.iinfo(np.int64).max)
        hi = np.full(self.m, -2)
        np.minimum.at(lo, ci, cls)
        np.maximum.at(hi, ci, cls)
        return int(((size >= 2) & (lo >= 0) & (lo == hi)).sum())

    def value(self, objective: np.ndarray, chosen: np.ndarray) -> float:
        """The objective of an integral plan (h and f set as they must be)."""
        total = float(objective[:self.P][chosen].sum())
        h_weight = float(objective[self.h0]) if self.m else 0.0
        f_weight = float(objective[self.f0]) if self.m else 0.0
        if h_weight:
            total += h_weight * self.homogeneous(chosen)
        if f_weight:
            total += f_weight * self.full_count(chosen)
        return total

    def utility_objective(self, diversity_weight: float) -> np.ndarray:
        obj = np.zeros(self.nvar)
        obj[:self.P] = self.w
        obj[self.h0:self.f0] = -diversity_weight
        return obj

    def full_objective(self) -> np.ndarray:
        return self.full_row.copy()


def form_groups(
    scores: "ScoreMatrix | np.ndarray | Sequence[Sequence[float]]",
    group_size: int = 2,
    max_groups_per_creative: int = 1,
    *,
    companies: Sequence[str] | None = None,
    creatives: Sequence[str] | None = None,
    disciplines: Mapping[str, Iterable[str]] | None = None,
    locked: Iterable[tuple[str, str]] = (),
    forbidden: Iterable[tuple[str, str]] = (),
    diversity_weight: float = DIVERSITY_WEIGHT,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> GroupPlan:
    """Breakout groups of one company and up to `group_size` creatives.

    Solved exactly with `scipy.optimize.milp` (HiGHS, relative gap 0), with
    these priorities, each one absolute over the next:

    1. as many places filled as possible (creatives in groups, counting a
       creative once per group; each creative in at most
       `max_groups_per_creative` groups);
    2. as many full groups (exactly `group_size` creatives) as possible;
    3. the largest total utility (relevance + wish bonus) minus
       `diversity_weight` per group whose ≥ 2 creatives all declared the same
       set of disciplines (creatives without declared disciplines are never
       alike with anybody).

    `scores` is a `ScoreMatrix` or a plain companies × creatives array (then
    `companies` / `creatives` name its rows and columns, `disciplines` maps
    creative ids to codes).  `locked` (company, creative) pairs are in the
    plan whatever it costs (the organiser pinned them; recompute around them
    by calling again); `forbidden` unordered pairs never are.  Raises
    ValueError for a locked pair that is unknown, forbidden or over a
    capacity.  Companies without a group and creatives in none are in
    `unplaced`, with the reason.
    """
    K, M = int(group_size), int(max_groups_per_creative)
    if K < 1:
        raise ValueError(f"group size must be at least 1, not {group_size}")
    if M < 1:
        raise ValueError(f"max groups per creative must be at least 1, not {max_groups_per_creative}")
    if not diversity_weight >= 0 or math.isinf(diversity_weight):
        raise ValueError("diversity_weight must be a finite number ≥ 0")
    matrix = _as_matrix(scores, companies, creatives, disciplines, forbidden)
    m, n = matrix.shape
    ci, kj = matrix.company_index(), matrix.creative_index()
    allowed = matrix.allowed.copy()
    locked_mask = np.zeros((m, n), dtype=bool)
    for pair in locked:
        c, k = map(str, pair)
        if c not in ci:
            raise _unknown("company", c)
        if k not in kj:
            raise _unknown("creative", k)
        if not allowed[ci[c], kj[k]]:
            raise ValueError(f"{c} – {k} is a forbidden pair (declined, met or no common language) and cannot be locked")
        locked_mask[ci[c], kj[k]] = True
    for i in np.flatnonzero(locked_mask.sum(axis=1) > K):
        raise ValueError(f"{matrix.companies[i]} has {int(locked_mask[i].sum())} locked creatives, "
                         f"more than the group size {K}")
    for j in np.flatnonzero(locked_mask.sum(axis=0) > M):
        raise ValueError(f"{matrix.creatives[j]} is locked into {int(locked_mask[:, j].sum())} groups, "
                         f"more than the {M} allowed per creative")

    utility = matrix.utility()
    chosen = np.zeros((m, n), dtype=bool)
    optimal = True
    if allowed.any():
        seats = _max_seats(allowed, locked_mask, K, M)
        classes = _alike_classes(matrix.creatives, matrix.disciplines)
        model = _GroupModel(np.where(allowed, utility, 0.0), allowed, locked_mask, classes, K, M)
        # upper bound on full groups; when the utility-optimal plan reaches it,
        # priority 2 holds without a solve of its own
        full_bound = min(seats // K, int((allowed.sum(axis=1) >= K).sum()))
        x, _, optimal = model.solve(model.utility_objective(diversity_weight), seats, 0, time_limit)
        if model.full_count(x) < full_bound:
            fx, best_full, proven = model.solve(model.full_objective(), seats, 0, time_limit)
            optimal = optimal and proven
            if round(best_full) > model.full_count(x):
                x, _, proven = model.solve(model.utility_objective(diversity_weight), seats, round(best_full), time_limit)
                optimal = optimal and proven
        chosen[model.ci[x], model.kj[x]] = True

    classes = _alike_classes(matrix.creatives, matrix.disciplines)
    groups = []
    for i, company in enumerate(matrix.companies):
        members = np.flatnonzero(chosen[i])
        if not len(members):
            continue
        members = sorted(members.tolist(), key=lambda j: (-matrix.relevance[i, j], matrix.creatives[j]))
        member_classes = classes[members]
        alike = len(members) >= 2 and member_classes[0] >= 0 and bool((member_classes == member_classes[0]).all())
        groups.append(Group(
            company=company,
            creatives=tuple(matrix.creatives[j] for j in members),
            scores=tuple(float(matrix.relevance[i, j]) for j in members),
            score=float(sum(matrix.relevance[i, j] for j in members)),
            diverse=not alike,
            locked=tuple(matrix.creatives[j] for j in members if locked_mask[i, j]),
            wished=tuple(matrix.creatives[j] for j in members if matrix.wished[i, j]),
        ))
    unplaced = []
    for i, company in enumerate(matrix.companies):
        if not chosen[i].any():
            reason = UnplacedReason.NOT_ENOUGH_CREATIVES if allowed[i].any() else UnplacedReason.ALL_PAIRS_FORBIDDEN
            unplaced.append(Unplaced(company, PRODUCTION, reason))
    for j, creative in enumerate(matrix.creatives):
        if not chosen[:, j].any():
            reason = UnplacedReason.NOT_ENOUGH_PLACES if allowed[:, j].any() else UnplacedReason.ALL_PAIRS_FORBIDDEN
            unplaced.append(Unplaced(creative, CREATIVE, reason))
    return GroupPlan(groups, unplaced, K, M, optimal)


# ---------------------------------------------------------------------------
# speed-meetup rounds
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Meeting:
    company: str
    creative: str
    table: int  # the company's table: the same in every round
    score: float  # the pair's relevance
    locked: bool = False


@dataclass(frozen=True)
class RoundPlan:
    """`rounds[r]` — the meetings of round r + 1, by table; `breaks[r]` —
    who sits that round out (companies first, each side in input order);
    `tables` — every company's table (1, 2, … in input order, kept in every
    round: only creatives move); `unplaced` — people without any meeting."""

    rounds: list[list[Meeting]]
    breaks: list[list[str]]
    tables: dict[str, int]
    unplaced: list[Unplaced] = field(default_factory=list)

    @property
    def totals(self) -> list[float]:
        """Each round's total relevance."""
        return [float(sum(m.score for m in r)) for r in self.rounds]

    @property
    def total(self) -> float:
        return float(sum(self.totals))

    def agenda(self, person: str) -> list[Meeting | None]:
        """One entry per round: the person's meeting, or None for a break."""
        return [next((mt for mt in r if person in (mt.company, mt.creative)), None) for r in self.rounds]

    def to_json(self) -> dict:
        """The `crosslab plan --format speed --json` object."""
        return {"rounds": [[{"company": mt.company, "creative": mt.creative, "table": mt.table} for mt in r]
                           for r in self.rounds],
                "breaks": [list(b) for b in self.breaks]}


def form_rounds(
    scores: "ScoreMatrix | np.ndarray | Sequence[Sequence[float]]",
    rounds: int,
    *,
    companies: Sequence[str] | None = None,
    creatives: Sequence[str] | None = None,
    locked: Iterable[tuple[str, str, int]] = (),
    forbidden: Iterable[tuple[str, str]] = (),
) -> RoundPlan:
    """`rounds` rounds of one-to-one meetings between the sides.

    Round after round, one exact assignment (`linear_sum_assignment` on the
    companies and creatives plus a break seat for everyone) with these
    priorities, each absolute over the next:

    1. as many meetings as possible in this round;
    2. fair breaks: the people who sit out are those with the fewest breaks
       so far (so nobody sits out twice before everyone on the larger side
       sat out once — unless the pairs still open, after forbidden and
       earlier ones, leave a company nobody else to meet);
    3. the largest total utility (relevance + wish bonus).

    No pair meets twice (the pairs of earlier rounds, and locked pairs of
    later ones, are taken out), forbidden pairs never meet.  Later rounds can
    only choose among fewer pairs, so with equal sides each round's total is
    at most the one before (best pairs early); breaks and locks can bend that
    for uneven sides.  `locked` (company, creative, round) triples (rounds
    counted from 1) meet in that round.  Every company keeps its table (its
    position in `companies`, from 1) in every round; creatives move.

    Raises ValueError when `rounds` < 1, a side is empty, `rounds` is more
    than the larger side (no round without a repeated pair would be left), a
    round would have no meeting at all (every remaining pair forbidden or
    used), or a lock is unknown, forbidden, repeated or double-booked.
    """
    N = int(rounds)
    if N < 1:
        raise ValueError(f"the number of rounds must be at least 1, not {rounds}")
    matrix = _as_matrix(scores, companies, creatives, None, forbidden)
    m, n = matrix.shape
    if m == 0 or n == 0:
        raise ValueError(f"speed rounds need people on both sides ({m} companies, {n} creatives)")
    if N > max(m, n):
        raise ValueError(f"{N} rounds without a repeated pair are not possible with {m} companies and "
                         f"{n} creatives: at most {max(m, n)}")
    ci, kj = matrix.company_index(), matrix.creative_index()
    allowed = matrix.allowed
    lock_at: dict[int, list[tuple[int, int]]] = {}
    seen_pairs: set[tuple[int, int]] = set()
    busy: set[tuple[int, str, int]] = set()
    for triple in locked:
        c, k, r = triple
        c, k = str(c), str(k)
        if c not in ci:
            raise _unknown("company", c)
        if k not in kj:
            raise _unknown("creative", k)
        if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or not 1 <= r <= N:
            raise ValueError(f"round {r!r} of the locked pair {c} – {k} is not one of 1 … {N}")
        i, j = ci[c], kj[k]
        if not allowed[i, j]:
            raise ValueError(f"{c} – {k} is a forbidden pair (declined, met or no common language) and cannot be locked")
        if (i, j) in seen_pairs:
            raise ValueError(f"{c} – {k} is locked into two rounds; a pair meets once")
        for who, side in ((i, "c"), (j, "k")):
            if (who, side, r) in busy:
                name = c if side == "c" else k
                raise ValueError(f"{name} is locked into two meetings in round {r}")
            busy.add((who, side, r))
        seen_pairs.add((i, j))
        lock_at.setdefault(int(r), []).append((i, j))

    utility = matrix.utility()
    finite = utility[allowed]
    base = float(finite.min()) if finite.size else 0.0
    w = np.where(allowed, utility - base, 0.0)  # ≥ 0: only differences matter once the count is fixed
    relevance_span = min(m, n) * float(w.max(initial=0.0)) + 1.0
    fairness_step = relevance_span  # one more break for somebody outweighs all relevance
    meeting_value = (m + n) * (N + 1) * fairness_step + relevance_span  # one more meeting outweighs both

    used = np.zeros((m, n), dtype=bool)
    for pairs in lock_at.values():
        for i, j in pairs:
            used[i, j] = True  # reserved for its round
    breaks_c = np.zeros(m, dtype=np.int64)
    breaks_k = np.zeros(n, dtype=np.int64)
    met = np.zeros((m, n), dtype=bool)
    tables = {c: i + 1 for i, c in enumerate(matrix.companies)}
    plan_rounds: list[list[Meeting]] = []
    plan_breaks: list[list[str]] = []
    for r in range(1, N + 1):
        locks = lock_at.get(r, [])
        candidate = allowed & ~used
        for i, j in locks:
            candidate[i, :] = False
            candidate[:, j] = False
            candidate[i, j] = True
        pairs = _one_round(w, candidate, breaks_c, breaks_k, meeting_value, fairness_step,
                           must_meet_c={i for i, _ in locks}, must_meet_k={j for _, j in locks})
        if not pairs:
            raise ValueError(f"only {r - 1} round(s) possible: in round {r} every remaining pair "
                             "has met already or is forbidden")
        meets_c = np.zeros(m, dtype=bool)
        meets_k = np.zeros(n, dtype=bool)
        meetings = []
        for i, j in sorted(pairs):
            used[i, j] = met[i, j] = True
            meets_c[i] = meets_k[j] = True
            meetings.append(Meeting(matrix.companies[i], matrix.creatives[j], tables[matrix.companies[i]],
                                    float(matrix.relevance[i, j]), (i, j) in locks))
        breaks_c += ~meets_c
        breaks_k += ~meets_k
        plan_rounds.append(meetings)
        plan_breaks.append([matrix.companies[i] for i in np.flatnonzero(~meets_c)]
                           + [matrix.creatives[j] for j in np.flatnonzero(~meets_k)])

    unplaced = [Unplaced(matrix.companies[i], PRODUCTION,
                         UnplacedReason.NOT_ENOUGH_CREATIVES if allowed[i].any() else UnplacedReason.ALL_PAIRS_FORBIDDEN)
                for i in range(m) if not met[i].any()]
    unplaced += [Unplaced(matrix.creatives[j], CREATIVE,
                          UnplacedReason.NOT_ENOUGH_PLACES if allowed[:, j].any() else UnplacedReason.ALL_PAIRS_FORBIDDEN)
                 for j in range(n) if not met[:, j].any()]
    return RoundPlan(plan_rounds, plan_breaks, tables, unplaced)


def _one_round(w: np.ndarray, candidate: np.ndarray, breaks_c: np.ndarray, breaks_k: np.ndarray,
               meeting_value: float, fairness_step: float, must_meet_c: Collection[int],
               must_meet_k: Collection[int]) -> list[tuple[int, int]]:
    """One round's meetings: a square assignment of (companies + a break seat
    per creative) × (creatives + a break seat per company).  A meeting is
    worth `meeting_value` + its utility, sitting out costs `fairness_step` ×
    the person's breaks so far; break seat × break seat is free."""
    from scipy.optimize import linear_sum_assignment

    m, n = candidate.shape
    size = m + n
    gain = np.full((size, size), -np.inf)
    gain[:m, :n] = np.where(candidate, meeting_value + w, -np.inf)
    sit_c = -fairness_step * breaks_c.astype(np.float64)
    sit_k = -fairness_step * breaks_k.astype(np.float64)
    for i in must_meet_c:
        sit_c[i] = -np.inf
    for j in must_meet_k:
        sit_k[j] = -np.inf
    gain[:m, n:] = sit_c[:, None]  # company i sits out (any of its break seats)
    gain[m:, :n] = sit_k[None, :]  # creative j sits out
    gain[m:, n:] = 0.0
    rows, cols = linear_sum_assignment(gain, maximize=True)
    return [(int(i), int(j)) for i, j in zip(rows, cols) if i < m and j < n]
