"""Find taxonomy concepts (challenge types, disciplines, sectors) in free text.

Keywords are stems matched inside folded words, so German compounds are found
whatever they are glued to ("Kaffeeverpackungen" → verpackung).  Where stems
overlap inside one word the longest wins; phrases ("tag der offenen") are
matched on consecutive words first and hide their words from single stems.
The keyword syntax is described in `matching.taxonomy`.

Work is memoised per distinct word and per distinct text, so re-scoring a
cohort whose texts did not change costs dictionary look-ups only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Mapping

from matching import taxonomy
from matching.text import parts, tokenize


@dataclass(frozen=True)
class _Stem:
    text: str
    at_start: bool
    at_end: bool
    concept: int  # -1 for a blocker
    weight: float


@dataclass(frozen=True)
class ConceptHits:
    """Concepts found in one text: summed weight per concept index and the
    surface words (as written) that triggered each, for explanations."""

    weights: Mapping[int, float]
    words: Mapping[int, tuple[str, ...]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.weights)


_EMPTY = ConceptHits({}, {})


def _parse(spec: str) -> tuple[str, float]:
    text, _, weight = spec.partition(":")
    if weight and weight.replace(".", "", 1).isdigit():
        return text, float(weight)
    return spec, 1.0


class Lexicon:
    """Keywords of a set of concepts, compiled for fast matching."""

    def __init__(self, concepts: Mapping[str, Iterable[str]], blockers: Iterable[str] = ()) -> None:
        self.codes: list[str] = list(concepts)
        self._stems: dict[str, list[_Stem]] = {}
        self._phrases: dict[str, list[tuple[tuple[str, ...], int, float]]] = {}
        self._phrase_heads: set[int] = set()
        for index, code in enumerate(self.codes):
            for spec in concepts[code]:
                self._add(spec, index)
        for spec in blockers:
            self._add(spec, -1)
        self._lengths = sorted({len(s) for s in self._stems}, reverse=True)
        self._word_cache: dict[str, tuple[tuple[int, float, str], ...]] = {}
        self.extract = lru_cache(maxsize=100_000)(self._extract)

    def _add(self, spec: str, concept: int) -> None:
        raw, weight = _parse(spec)
        at_start = raw.startswith("^") or raw.startswith("=")
        at_end = raw.endswith("$") or raw.startswith("=")
        raw = raw.strip("^=$")
        tokens = parts(raw)
        if not tokens:
            return
        if len(tokens) > 1:
            self._phrases.setdefault(tokens[0], []).append((tuple(tokens[1:]), concept, weight))
            self._phrase_heads.add(len(tokens[0]))
            return
        self._stems.setdefault(tokens[0], []).append(_Stem(tokens[0], at_start, at_end, concept, weight))

    def match_word(self, word: str) -> tuple[tuple[int, float, str], ...]:
        """(concept, weight, stem) found in one folded word, longest match first."""
        cached = self._word_cache.get(word)
        if cached is not None:
            return cached
        n = len(word)
        found: list[tuple[int, int, _Stem]] = []
        stems = self._stems
        for length in self._lengths:
            if length > n:
                continue
            for start in range(n - length + 1):
                entries = stems.get(word[start:start + length])
                if entries is None:
                    continue
                for stem in entries:
                    if stem.at_start and start != 0:
                        continue
                    if stem.at_end and start + length != n:
                        continue
                    found.append((start, start + length, stem))
        result: list[tuple[int, float, str]] = []
        if found:
            taken = bytearray(n)
            # longest first, then leftmost; a blocker occupies its span silently
            found.sort(key=lambda f: (f[0] - f[1], f[0]))
            span_owner: dict[tuple[int, int], str] = {}
            for start, end, stem in found:
                owner = span_owner.get((start, end))
                if owner is None and any(taken[start:end]):
                    continue
                if owner is not None and owner != stem.text:
                    continue
                span_owner[(start, end)] = stem.text
                taken[start:end] = b"\x01" * (end - start)
                if stem.concept >= 0:
                    result.append((stem.concept, stem.weight, stem.text))
        out = tuple(result)
        if len(self._word_cache) < 500_000:
            self._word_cache[word] = out
        return out

    def _phrase_candidates(self, token: str) -> list[str]:
        """Phrase heads matching a token: itself, or a longer word it starts
        (inflection: "junger" for "jung")."""
        heads = [token] if token in self._phrases else []
        for length in self._phrase_heads:
            if _PREFIX_MIN <= length < len(token) and token[:length] in self._phrases:
                heads.append(token[:length])
        return heads

    def _extract(self, text: str) -> ConceptHits:
        if not text or not text.strip():
            return _EMPTY
        tokens, owners = tokenize(text)
        seen: set[tuple[int, str]] = set()
        weights: dict[int, float] = {}
        words: dict[int, list[str]] = {}

        def add(concept: int, weight: float, key: str, surface: str) -> None:
            if (concept, key) in seen:
                return
            seen.add((concept, key))
            weights[concept] = weights.get(concept, 0.0) + weight
            bucket = words.setdefault(concept, [])
            if surface not in bucket:
                bucket.append(surface)

        # phrases do not hide their words: "product photographer" is both
        # online-shop imagery (the phrase) and photography (the word)
        if self._phrases:
            for i, token in enumerate(tokens):
                for head in self._phrase_candidates(token):
                    for rest, concept, weight in self._phrases[head]:
                        end = i + 1 + len(rest)
                        if end > len(tokens) or concept < 0:
                            continue
                        if all(_word_matches(w, tokens[i + 1 + j]) for j, w in enumerate(rest)):
                            phrase_surface = " ".join(dict.fromkeys(owners[i:end]))
                            add(concept, weight, head + " " + " ".join(rest), phrase_surface)
        for i, token in enumerate(tokens):
            for concept, weight, stem in self.match_word(token):
                add(concept, weight, stem, owners[i])
        return ConceptHits(weights, {c: tuple(ws) for c, ws in words.items()})


# phrase words this long or longer also match longer words (inflections)
_PREFIX_MIN = 4


def _word_matches(pattern: str, token: str) -> bool:
    return token == pattern or (len(pattern) >= _PREFIX_MIN and token.startswith(pattern))


def _type_keywords() -> dict[str, list[str]]:
    types = taxonomy.CHALLENGE_TYPES
    keywords = {f"need:{code}": list(spec.get("need", ())) for code, spec in types.items()}
    keywords.update({f"skill:{code}": list(spec.get("skill", ())) for code, spec in types.items()})
    return keywords


@lru_cache(maxsize=1)
def challenge_lexicon() -> Lexicon:
    """Concepts 0..T-1 are the problem ("need") vocabulary of each challenge
    type, T..2T-1 its solution ("skill") vocabulary, in CHALLENGE_TYPES order."""
    return Lexicon(_type_keywords(), taxonomy.BLOCKERS)


def type_weights(hits: ConceptHits, need: float = 1.0, skill: float = 1.0) -> dict[int, float]:
    """Per challenge type index: need hits × need + skill hits × skill."""
    n_types = len(taxonomy.CHALLENGE_TYPES)
    out: dict[int, float] = {}
    for concept, weight in hits.weights.items():
        t, role = (concept, need) if concept < n_types else (concept - n_types, skill)
        out[t] = out.get(t, 0.0) + weight * role
    return out


def type_words(hits: ConceptHits, type_index: int) -> tuple[str, ...]:
    """Surface words that pointed to a challenge type (problem words first)."""
    n_types = len(taxonomy.CHALLENGE_TYPES)
    words = hits.words.get(type_index, ()) + hits.words.get(type_index + n_types, ())
    return tuple(dict.fromkeys(words))


@lru_cache(maxsize=1)
def discipline_lexicon() -> Lexicon:
    keywords = {code: taxonomy.DISCIPLINE_KEYWORDS.get(code, []) for code in taxonomy.DISCIPLINES}
    return Lexicon(keywords, taxonomy.BLOCKERS)


@lru_cache(maxsize=1)
def sector_lexicon() -> Lexicon:
    return Lexicon({code: spec["keywords"] for code, spec in taxonomy.SECTORS.items()}, taxonomy.BLOCKERS)


def disciplines_in(text: str, limit: int = 3) -> list[str]:
    """Discipline codes a text speaks of (e.g. a creative's skills), strongest
    first — what onboarding offers as pre-selection and the demo picks."""
    hits = discipline_lexicon()._extract(text)  # noqa: SLF001 - same module
    codes = discipline_lexicon().codes
    ranked = sorted(hits.weights.items(), key=lambda item: (-item[1], item[0]))
    return [codes[index] for index, _ in ranked[:limit]]
