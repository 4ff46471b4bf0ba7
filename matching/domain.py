"""The matcher's vocabulary: who takes part and what is suggested to them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

SIDES = ("production", "creative")
REASON_LANGUAGES = ("de", "en")


def other_side(side: str) -> str:
    return SIDES[1] if side == SIDES[0] else SIDES[0]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _codes(value: object) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        value = [value]
    return tuple(dict.fromkeys(str(v).strip().lower() for v in value if v and str(v).strip()))


@dataclass(frozen=True, slots=True)
class Participant:
    """One person of a cohort.

    `seeks` is a company's challenge or a creative's wished collaboration;
    `offers` a creative's skills or a company's trade and capacities; `sector`
    a company's trade in its own words (onboarding).  `wanted` are the
    discipline codes a company confirmed after its challenge (onboarding:
    "Dabei könnten helfen …"); empty when it gave none or was never asked
    (cohorts).  `languages` are the
    working languages the person stated; when empty, only `language` (their
    chat language) is known — see `working_languages`.
    """

    id: str
    side: str
    name: str = ""
    organisation: str = ""
    language: str = "de"
    languages: tuple[str, ...] = ()
    offers: str = ""
    seeks: str = ""
    sector: str = ""
    disciplines: tuple[str, ...] = ()
    wanted: tuple[str, ...] = ()
    paused: bool = False
    deleted: bool = False

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, not {self.side!r}")
        set_ = object.__setattr__
        set_(self, "id", _text(self.id))
        for name in ("name", "organisation", "offers", "seeks", "sector"):
            set_(self, name, _text(getattr(self, name)))
        set_(self, "language", (_text(self.language).strip().lower() or "de"))
        set_(self, "languages", _codes(self.languages))
        set_(self, "disciplines", _codes(self.disciplines))
        set_(self, "wanted", _codes(self.wanted))

    @property
    def languages_stated(self) -> bool:
        return bool(self.languages)

    @property
    def working_languages(self) -> frozenset[str]:
        """Stated languages, else the chat language alone."""
        return frozenset(self.languages or (self.language,))

    @property
    def active(self) -> bool:
        return not (self.paused or self.deleted)

    @property
    def trade(self) -> str:
        """A company's trade: its `offers` and `sector` texts joined."""
        return " ".join(t.strip() for t in (self.offers, self.sector) if t and t.strip())


class LazyReasons(Mapping[str, str]):
    """Reasons per language, computed on first access (suggestions for a large
    cohort are cheap; only the ones shown to somebody get explained)."""

    __slots__ = ("_build", "_reasons")

    def __init__(self, build: Callable[[], Mapping[str, str]] | Mapping[str, str]) -> None:
        if callable(build):
            self._build: Callable[[], Mapping[str, str]] | None = build
            self._reasons: dict[str, str] | None = None
        else:
            self._build = None
            self._reasons = dict(build)

    def _get(self) -> dict[str, str]:
        if self._reasons is None:
            assert self._build is not None
            self._reasons = dict(self._build())
            self._build = None
        return self._reasons

    def __getitem__(self, lang: str) -> str:
        return self._get()[lang]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __repr__(self) -> str:
        return repr(self._get())


@dataclass(frozen=True)
class Suggestion:
    """A counterpart suggested to someone, best first in `Matcher.suggest`.

    `score` is only for ordering and thresholds; what a person sees is
    `reason(lang)`, a short sentence naming what connects the two.
    """

    counterpart_id: str
    score: float
    reasons: Mapping[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def unchecked(cls, counterpart_id: str, score: float, reasons: Mapping[str, str]) -> "Suggestion":
        """The same object as `Suggestion(counterpart_id, score, reasons)`,
        built without the frozen dataclass's per-field `object.__setattr__`
        (the matcher makes 100,000 of them for a 10k × 10k cohort)."""
        obj = object.__new__(cls)
        obj.__dict__.update(counterpart_id=counterpart_id, score=score, reasons=reasons)
        return obj

    def reason(self, lang: str = "de") -> str:
        reasons = self.reasons
        for candidate in (lang, "en", "de"):
            if candidate in reasons:
                return reasons[candidate]
        return next(iter(reasons.values()), "")
