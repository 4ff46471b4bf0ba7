"""Cohort files: `{"participants": [...], "relevance": {...}}`.

Every error names the file and the line of the offending participant, so a
hand-edited cohort can be fixed quickly.  Extra keys are allowed; known
optional keys (`languages`, `disciplines`, `sector`, `paused`) are checked.
"""
from __future__ import annotations

import json
import json.decoder
import json.scanner
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matching import taxonomy
from matching.domain import SIDES, Participant

REQUIRED = ("id", "side", "name", "organisation", "language", "offers", "seeks")
TEXT_FIELDS = ("name", "organisation", "language", "offers", "seeks")


class CohortError(ValueError):
    """A cohort file that cannot be used; str() is the message for stderr."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path, self.line, self.message = path, line, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")


@dataclass
class Cohort:
    participants: list[Participant]
    relevance: dict[str, dict[str, int]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    def by_id(self) -> dict[str, Participant]:
        return {p.id: p for p in self.participants}


class _Located(dict):
    """A JSON object that remembers the offset of its opening brace."""

    __slots__ = ("offset",)


def _decoder() -> json.JSONDecoder:
    decoder = json.JSONDecoder()
    parse_object = decoder.parse_object

    def located(s_and_end, *args, **kwargs):
        obj, end = parse_object(s_and_end, *args, **kwargs)
        out = _Located(obj)
        out.offset = s_and_end[1] - 1
        return out, end

    decoder.parse_object = located
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # the C scanner ignores parse_object
    return decoder


def parse_cohort(text: str, path: str = "<cohort>") -> Cohort:
    def line_of(obj: Any) -> int | None:
        offset = getattr(obj, "offset", None)
        return None if offset is None else text.count("\n", 0, offset) + 1

    try:
        data = _decoder().decode(text)
    except json.JSONDecodeError as exc:
        raise CohortError(path, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(data, dict):
        raise CohortError(path, 1, "the top level must be an object with a \"participants\" list")
    people = data.get("participants")
    if not isinstance(people, list):
        raise CohortError(path, line_of(data), "missing \"participants\" list")

    participants: list[Participant] = []
    lines: dict[str, int] = {}
    for position, raw in enumerate(people, start=1):
        line = line_of(raw)
        if not isinstance(raw, dict):
            raise CohortError(path, line, f"participant #{position} is not an object")
        label = f"participant #{position}" + (f" ({raw['id']!r})" if isinstance(raw.get("id"), (str, int)) else "")
        missing = [key for key in REQUIRED if key not in raw]
        if missing:
            raise CohortError(path, line, f"{label} has no {', '.join(repr(k) for k in missing)}")
        pid = raw["id"]
        if not isinstance(pid, (str, int)) or isinstance(pid, bool) or not str(pid).strip():
            raise CohortError(path, line, f"{label}: 'id' must be a non-empty string")
        pid = str(pid)
        if pid in lines:
            raise CohortError(path, line, f"duplicate id {pid!r} (first on line {lines[pid]})")
        if raw["side"] not in SIDES:
            raise CohortError(path, line, f"{label}: unknown side {raw['side']!r} (expected \"production\" or \"creative\")")
        for key in TEXT_FIELDS:
            if not isinstance(raw[key], str):
                raise CohortError(path, line, f"{label}: {key!r} must be a string")
        if not raw["language"].strip():
            raise CohortError(path, line, f"{label}: 'language' is empty")
        languages = raw.get("languages") or ()
        if not isinstance(languages, (list, tuple)) or not all(isinstance(x, str) and x.strip() for x in languages):
            raise CohortError(path, line, f"{label}: 'languages' must be a list of language codes")
        disciplines = raw.get("disciplines") or ()
        if not isinstance(disciplines, (list, tuple)) or not all(isinstance(x, str) for x in disciplines):
            raise CohortError(path, line, f"{label}: 'disciplines' must be a list of codes")
        unknown = [d for d in disciplines if d not in taxonomy.DISCIPLINES]
        if unknown:
            raise CohortError(path, line, f"{label}: unknown discipline(s) {', '.join(map(repr, unknown))}; "
                              f"known: {', '.join(taxonomy.DISCIPLINES)}")
        sector = raw.get("sector") or ""
        if not isinstance(sector, str):
            raise CohortError(path, line, f"{label}: 'sector' must be a string")
        paused = raw.get("paused", False)
        if not isinstance(paused, bool):
            raise CohortError(path, line, f"{label}: 'paused' must be true or false")
        lines[pid] = line or 0
        participants.append(
            Participant(
                id=pid, side=raw["side"], name=raw["name"], organisation=raw["organisation"],
                language=raw["language"], languages=tuple(languages), offers=raw["offers"], seeks=raw["seeks"],
                sector=sector, disciplines=tuple(disciplines), paused=paused,
            )
        )

    relevance_raw = data.get("relevance") or {}
    if not isinstance(relevance_raw, dict):
        raise CohortError(path, line_of(relevance_raw) or line_of(data), "\"relevance\" must be an object")
    sides = {p.id: p.side for p in participants}
    relevance: dict[str, dict[str, int]] = {}
    for pid, grades in relevance_raw.items():
        line = line_of(grades)
        if pid not in sides:
            raise CohortError(path, line, f"relevance for unknown participant {pid!r}")
        if not isinstance(grades, dict):
            raise CohortError(path, line, f"relevance of {pid!r} must be an object {{counterpart: grade}}")
        for other, grade in grades.items():
            if other not in sides:
                raise CohortError(path, line, f"relevance of {pid!r} names unknown participant {other!r}")
            if sides[other] == sides[pid]:
                raise CohortError(path, line, f"relevance of {pid!r} names {other!r} of the same side")
            if not isinstance(grade, (int, float)) or isinstance(grade, bool) or grade < 0:
                raise CohortError(path, line, f"relevance grade of {pid!r} → {other!r} must be a number ≥ 0")
        relevance[pid] = {other: int(g) if float(g).is_integer() else g for other, g in grades.items()}
    return Cohort(participants, relevance, lines)


def load_cohort(path: str | Path) -> Cohort:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CohortError(str(path), None, "file not found") from None
    except UnicodeDecodeError as exc:
        raise CohortError(str(path), None, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise CohortError(str(path), None, exc.strerror or str(exc)) from None
    return parse_cohort(text, str(path))
