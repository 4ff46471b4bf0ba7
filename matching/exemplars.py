"""The exemplar bank: for every discipline, company problems in the
companies' own words and creatives' self-descriptions (de and en).

Data only, no model: `load_exemplars()` reads `matching/data/exemplars.json`
(package data), validates it against `matching.taxonomy.DISCIPLINES` and
returns frozen dataclasses. How the bank was written and how to extend it:
docs/matching.md, "Exemplar bank".

    bank = load_exemplars()
    bank.codes                          # discipline codes, in DISCIPLINES order
    bank["ux"].problems[0].text         # Exemplar(discipline, kind, lang, text)
    bank.problems(lang="de")            # every German problem, all disciplines
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterator, Mapping

from .taxonomy import DISCIPLINES

LANGUAGES = ("de", "en")
KINDS = ("problems", "creatives")
_KIND = {"problems": "problem", "creatives": "creative"}


class ExemplarError(ValueError):
    """The exemplar file is malformed (the message says where)."""


@dataclass(frozen=True, slots=True)
class Exemplar:
    discipline: str  # a code of DISCIPLINES
    kind: str  # "problem" (a company's words) | "creative" (a self-description)
    lang: str  # "de" | "en"
    text: str


@dataclass(frozen=True, slots=True)
class DisciplineExemplars:
    code: str
    problems: tuple[Exemplar, ...]
    creatives: tuple[Exemplar, ...]


@dataclass(frozen=True, slots=True)
class ExemplarBank:
    version: int
    about: str
    disciplines: Mapping[str, DisciplineExemplars]  # read-only, in DISCIPLINES order

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.disciplines)

    def __getitem__(self, code: str) -> DisciplineExemplars:
        return self.disciplines[code]

    def __iter__(self) -> Iterator[DisciplineExemplars]:
        return iter(self.disciplines.values())

    def problems(self, lang: str | None = None) -> tuple[Exemplar, ...]:
        return tuple(e for d in self for e in d.problems if lang is None or e.lang == lang)

    def creatives(self, lang: str | None = None) -> tuple[Exemplar, ...]:
        return tuple(e for d in self for e in d.creatives if lang is None or e.lang == lang)

    def all(self) -> tuple[Exemplar, ...]:
        return tuple(e for d in self for e in (*d.problems, *d.creatives))


def parse_exemplars(data: Any) -> ExemplarBank:
    """Validate the decoded JSON and build the bank; ExemplarError if malformed.

    Rules: an object with "version" (int ≥ 1), "about" (non-empty string) and
    "disciplines" (an object with exactly the codes of DISCIPLINES); each
    discipline has exactly "problems" and "creatives", non-empty lists of
    {"lang": "de" | "en", "text": non-empty string}; no text occurs twice.
    """
    if not isinstance(data, Mapping):
        raise ExemplarError("the exemplar file must hold a JSON object")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ExemplarError(f"'version' must be a positive integer, not {version!r}")
    about = data.get("about")
    if not isinstance(about, str) or not about.strip():
        raise ExemplarError("'about' must say how the bank was written")
    unknown = sorted(set(data) - {"about", "version", "disciplines"})
    if unknown:
        raise ExemplarError(f"unknown top-level keys: {unknown}")
    raw = data.get("disciplines")
    if not isinstance(raw, Mapping):
        raise ExemplarError("'disciplines' must be an object of discipline code -> exemplars")
    strange = sorted(set(raw) - set(DISCIPLINES))
    if strange:
        raise ExemplarError(f"unknown discipline codes: {strange} (see matching.taxonomy.DISCIPLINES)")
    missing = [code for code in DISCIPLINES if code not in raw]
    if missing:
        raise ExemplarError(f"disciplines without exemplars: {missing}")

    seen: dict[str, str] = {}
    built: dict[str, DisciplineExemplars] = {}
    for code in DISCIPLINES:
        entry = raw[code]
        if not isinstance(entry, Mapping):
            raise ExemplarError(f"{code}: must be an object with 'problems' and 'creatives'")
        extra = sorted(set(entry) - set(KINDS))
        if extra:
            raise ExemplarError(f"{code}: unknown keys {extra}")
        lists: dict[str, tuple[Exemplar, ...]] = {}
        for kind in KINDS:
            items = entry.get(kind)
            if not isinstance(items, list) or not items:
                raise ExemplarError(f"{code}.{kind}: must be a non-empty list")
            out = []
            for i, item in enumerate(items):
                where = f"{code}.{kind}[{i}]"
                if not isinstance(item, Mapping) or set(item) != {"lang", "text"}:
                    raise ExemplarError(f"{where}: must be an object with exactly 'lang' and 'text'")
                lang, text = item["lang"], item["text"]
                if lang not in LANGUAGES:
                    raise ExemplarError(f"{where}: lang must be one of {LANGUAGES}, not {lang!r}")
                if not isinstance(text, str) or not text.strip():
                    raise ExemplarError(f"{where}: text must be a non-empty string")
                text = " ".join(text.split())
                key = text.casefold()
                if key in seen:
                    raise ExemplarError(f"{where}: duplicate text (also at {seen[key]}): {text!r}")
                seen[key] = where
                out.append(Exemplar(code, _KIND[kind], lang, text))
            lists[kind] = tuple(out)
        built[code] = DisciplineExemplars(code, lists["problems"], lists["creatives"])
    return ExemplarBank(version, about.strip(), MappingProxyType(built))


def read_exemplars(path: str | Path) -> ExemplarBank:
    """Load and validate an exemplar file at `path` (not cached)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ExemplarError(f"{path}: not valid JSON ({exc})") from exc
    return parse_exemplars(data)


@lru_cache(maxsize=1)
def load_exemplars() -> ExemplarBank:
    """The bundled bank (matching/data/exemplars.json), parsed once per process."""
    source = resources.files("matching") / "data" / "exemplars.json"
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ExemplarError(f"matching/data/exemplars.json: not valid JSON ({exc})") from exc
    return parse_exemplars(data)
