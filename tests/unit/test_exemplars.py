"""The exemplar bank (matching/data/exemplars.json) and its loader."""
from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from matching.exemplars import (
    ExemplarBank,
    ExemplarError,
    load_exemplars,
    parse_exemplars,
    read_exemplars,
)
from matching.taxonomy import DISCIPLINES

ROOT = Path(__file__).resolve().parents[2]
BANK_FILE = ROOT / "matching" / "data" / "exemplars.json"

# Label words that say nothing about the discipline on their own ("Produkte sehen
# aus wie vor 30 Jahren" is fine for product design) and plain function words.
GENERIC = {"und", "and", "of", "the", "produkt", "product", "fine"}
# Everyday words that merely begin with a label word (Kunst, Mode).
FALSE_FRIENDS = ("kunststoff", "modern")
# The discipline's trade names beyond its label: a problem in the company's own
# words names the symptom, not the profession that solves it.
JARGON = {
    "communication_design": ("grafik", "graphic"),
    "brand_strategy": ("branding", "positionierung", "positioning"),
    "marketing": ("seo",),
    "photo_film": ("fotograf", "photograph"),
    "architecture": ("architekt", "architect"),
    "digital": ("programmier", "developer"),
    "ux": ("usability", "ui", "interface"),
    "text": ("texter", "übersetzer", "translator", "lektor", "copywriter"),
    "art": ("künstler", "artist"),
    "music_sound": ("musiker", "musician", "komponist", "composer"),
    "events_performance": ("event", "performance"),
    "innovation_business": ("innovativ",),
}


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", text.casefold())


def _forbidden(code: str) -> set[str]:
    """The discipline's label words (de and en), with the plural -s and a final
    -e dropped from long words, plus its JARGON."""
    terms = {w for label in DISCIPLINES[code].values() for w in _words(label)} - GENERIC
    for term in list(terms):
        if len(term) >= 5 and term.endswith("s"):
            terms.add(term[:-1])
        if len(term) >= 8 and term.endswith("e"):
            terms.add(term[:-1])
    return terms | set(JARGON.get(code, ()))


def _names(word: str, term: str) -> bool:
    """Does `word` name `term`? Short terms (ux, web, art) only as the whole word
    (or +s); longer ones also at the start (Designer, Fotos, Marketingplan) or at
    the end of a compound, up to an inflection (Webdesign, Imagefilm, Dachmarken)."""
    if len(term) < 4:
        return word in (term, term + "s")
    if word.startswith(FALSE_FRIENDS):
        return False
    if word.startswith(term):
        return True
    at = word.rfind(term)
    return at > 0 and len(word) - (at + len(term)) <= 3


def _naming(code: str, text: str) -> list[str]:
    terms = _forbidden(code)
    return sorted({w for w in _words(text) for t in terms if _names(w, t)})


@pytest.fixture(scope="module")
def bank() -> ExemplarBank:
    return load_exemplars()


def test_the_label_check_catches_label_words_and_spares_everyday_ones() -> None:
    assert _naming("photo_film", "Wir brauchen einen Imagefilm und ein paar Fotos") == ["fotos", "imagefilm"]
    assert _naming("communication_design", "Unser Webdesign ist alt") == ["webdesign"]
    assert _naming("ux", "The UX of our app is bad") == ["ux"]
    assert _naming("marketing", "Mehr Social-Media-Marketing!") == ["marketing", "media", "social"]
    assert _naming("architecture", "Der Architekt hat keine Zeit") == ["architekt"]
    assert _naming("product_design", "Unsere Produkte sehen aus wie vor 30 Jahren") == []
    assert _naming("digital", "Unsere Website lädt ewig") == []  # "web" only as a word
    assert _naming("art", "Kunststoffteile in Serie") == []  # not "Kunst"


def test_all_disciplines_are_present_in_taxonomy_order(bank: ExemplarBank) -> None:
    assert bank.codes == tuple(DISCIPLINES)
    assert bank.version >= 1 and "cohort" in bank.about


def test_each_discipline_has_enough_problems_and_creatives(bank: ExemplarBank) -> None:
    for entry in bank:
        assert len(entry.problems) >= 35, entry.code
        assert len(entry.creatives) >= 18, entry.code
        assert {e.kind for e in entry.problems} == {"problem"}
        assert {e.kind for e in entry.creatives} == {"creative"}
        assert {e.discipline for e in (*entry.problems, *entry.creatives)} == {entry.code}


def test_mostly_german_and_both_languages_everywhere(bank: ExemplarBank) -> None:
    everything = bank.all()
    assert sum(e.lang == "de" for e in everything) / len(everything) >= 0.60
    for entry in bank:
        for group in (entry.problems, entry.creatives):
            assert {e.lang for e in group} == {"de", "en"}, entry.code
            assert sum(e.lang == "de" for e in group) / len(group) >= 0.55, entry.code


def test_english_texts_are_not_german(bank: ExemplarBank) -> None:
    german = re.compile(r"[äöüß]|\b(und|wir|nicht|unsere?|ist|für)\b", re.IGNORECASE)
    wrong = [e.text for e in bank.all() if e.lang == "en" and german.search(e.text)]
    assert wrong == []


def test_no_duplicate_texts(bank: ExemplarBank) -> None:
    counts = Counter(" ".join(e.text.casefold().split()) for e in bank.all())
    assert [t for t, n in counts.items() if n > 1] == []


def test_texts_are_short_like_typed_on_a_phone(bank: ExemplarBank) -> None:
    for e in bank.problems():
        assert 4 <= len(e.text.split()) <= 40, e.text
    for e in bank.creatives():
        assert 5 <= len(e.text.split()) <= 60, e.text


def test_no_problem_names_its_own_discipline(bank: ExemplarBank) -> None:
    offending = [(entry.code, e.text, _naming(entry.code, e.text))
                 for entry in bank for e in entry.problems if _naming(entry.code, e.text)]
    assert offending == []


def test_no_single_keyword_carries_a_discipline(bank: ExemplarBank) -> None:
    """The bank must teach meaning: no content word appears in more than a
    fifth of a discipline's problems."""
    stop = {"unsere", "unser", "unseren", "unserer", "unserem", "keiner", "nicht", "immer",
            "wollen", "können", "könnte", "müsste", "brauchen", "haben", "einen", "eine",
            "einem", "einer", "wissen", "aber", "about", "there", "their", "would", "could",
            "leute", "kunden", "people", "customers"}  # who has the problem, not what it is
    for entry in bank:
        seen = Counter(w for e in entry.problems for w in set(_words(e.text))
                       if len(w) >= 5 and w not in stop)
        word, n = seen.most_common(1)[0]
        assert n <= len(entry.problems) / 5, (entry.code, word, n)


def test_the_loader_is_cached_and_frozen(bank: ExemplarBank) -> None:
    assert load_exemplars() is bank
    with pytest.raises(dataclasses.FrozenInstanceError):
        bank.version = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        bank["ux"].problems[0].text = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        bank.disciplines["ux"] = bank["ux"]  # type: ignore[index]
    assert bank.problems("en") and all(e.lang == "en" for e in bank.problems("en"))
    assert len(bank.problems()) + len(bank.creatives()) == len(bank.all())


def test_the_file_on_disk_is_what_the_package_loads(bank: ExemplarBank) -> None:
    assert read_exemplars(BANK_FILE) == bank
    assert '"matching" = ["data/*.json"]' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def _raw() -> dict:
    return json.loads(BANK_FILE.read_text(encoding="utf-8"))


def _break(how: str) -> dict:
    data = copy.deepcopy(_raw())
    ux = data["disciplines"]["ux"]
    if how == "unknown code":
        data["disciplines"]["cooking"] = copy.deepcopy(ux)
    elif how == "missing discipline":
        del data["disciplines"]["art"]
    elif how == "empty text":
        ux["problems"][3]["text"] = "   "
    elif how == "text not a string":
        ux["creatives"][0]["text"] = 42
    elif how == "unknown language":
        ux["problems"][0]["lang"] = "fr"
    elif how == "no problems":
        ux["problems"] = []
    elif how == "creatives not a list":
        ux["creatives"] = "UX designer"
    elif how == "duplicate text":
        data["disciplines"]["text"]["problems"].append(dict(ux["problems"][0]))
    elif how == "extra key in item":
        ux["problems"][0]["source"] = "cohort"
    elif how == "extra key in discipline":
        ux["keywords"] = ["menu"]
    elif how == "bad version":
        data["version"] = "1"
    elif how == "no about":
        data["about"] = ""
    elif how == "disciplines a list":
        data["disciplines"] = list(data["disciplines"])
    return data


@pytest.mark.parametrize("how", [
    "unknown code", "missing discipline", "empty text", "text not a string", "unknown language",
    "no problems", "creatives not a list", "duplicate text", "extra key in item",
    "extra key in discipline", "bad version", "no about", "disciplines a list",
])
def test_a_malformed_bank_is_rejected(how: str) -> None:
    with pytest.raises(ExemplarError):
        parse_exemplars(_break(how))


def test_errors_say_where(tmp_path: Path) -> None:
    with pytest.raises(ExemplarError, match=r"ux\.problems\[3\]"):
        parse_exemplars(_break("empty text"))
    with pytest.raises(ExemplarError, match="cooking"):
        parse_exemplars(_break("unknown code"))
    broken = tmp_path / "exemplars.json"
    broken.write_text('{"version": 1, "about": "x", "disciplines": {', encoding="utf-8")
    with pytest.raises(ExemplarError, match="not valid JSON"):
        read_exemplars(broken)
    with pytest.raises(ExemplarError):
        parse_exemplars(["not", "an", "object"])


def test_a_valid_copy_parses_and_normalises_whitespace() -> None:
    data = _raw()
    data["disciplines"]["ux"]["problems"][0]["text"] = "  Das   Menü\nversteht keiner  "
    parsed = parse_exemplars(data)
    assert parsed["ux"].problems[0].text == "Das Menü versteht keiner"
    assert parsed["ux"].problems[0].lang == "de"
