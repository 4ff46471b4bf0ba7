"""Reasons: short, bilingual, naming what connects two people — never a score."""
from __future__ import annotations

import re

from matching import Matcher, Participant, Suggestion
from matching.domain import LazyReasons
from matching.testing import FakeEncoder


def suggest(people, top=3, **kw):
    return Matcher(encoder=FakeEncoder(), **kw).suggest(people, top=top)


def first(result, pid):
    return result[pid][0]


def test_reason_names_the_challenge_type_and_the_connecting_words():
    people = [
        Participant("c1", "production", seeks="Wir finden keinen Nachwuchs für die Backstube."),
        Participant("k1", "creative", offers="Recruiting-Videos für Handwerksbetriebe auf TikTok."),
    ]
    s = first(suggest(people), "c1")
    assert "Nachwuchs & Fachkräfte gewinnen" in s.reason("de")
    assert "„Nachwuchs“" in s.reason("de") and "„Recruiting-Videos“" in s.reason("de")
    assert "Recruiting & young talent" in s.reason("en") and "“Nachwuchs”" in s.reason("en")
    back = first(suggest(people), "k1")
    assert "Nachwuchs" in back.reason("de")


def test_reasons_exist_in_both_languages_and_contain_no_score():
    people = [
        Participant("c1", "production", seeks="Our robot teach pendant confuses operators.", language="en"),
        Participant("c2", "production", seeks="Polstermöbel mit eigenen Stoffen", offers="Polsterei"),
        Participant("k1", "creative", offers="Interaction design, usability tests, HMI prototypes."),
        Participant("k2", "creative", offers="Polsterbezüge und Heimtextilien"),
        Participant("k3", "creative", offers=""),
    ]
    result = suggest(people, top=3)
    for items in result.values():
        for s in items:
            for lang in ("de", "en"):
                text = s.reason(lang)
                assert text and len(text) < 400
                assert not re.search(r"\d\.\d{2}", text), text  # never a bare score


def test_discipline_then_shared_words_then_snippet_as_fallbacks():
    people = [
        Participant("c1", "production", seeks="Polsterei sucht neue Ideen", offers=""),
        Participant("k1", "creative", offers="Polsterbezüge aus Wolle"),
    ]
    reason = first(suggest(people), "c1").reason("de")
    assert "Polsterei" in reason and "Polsterbezüge" in reason
    people = [Participant("c1", "production", seeks="Irgendwas ganz Allgemeines"),
              Participant("k1", "creative", offers="Ganz anderes Thema hier")]
    assert first(suggest(people), "c1").reason("de").startswith("Aus dem Profil: „Ganz anderes Thema")
    assert first(suggest(people), "k1").reason("en").startswith("From the profile: “Irgendwas")
    people = [Participant("c1", "production", seeks=""), Participant("k1", "creative", offers="")]
    assert first(suggest(people), "c1").reason("en") == "There is no description to compare yet."


def test_wish_and_language_notes():
    people = [
        Participant("c1", "production", seeks="Unsere Marke wirkt verstaubt.", offers="Dachdeckerei",
                    languages=("de",)),
        Participant("k1", "creative", offers="Markenstrategie und Positionierung", seeks="Handwerksbetriebe",
                    language="en"),
    ]
    de = first(suggest(people), "c1").reason("de")
    assert "mit Betrieben aus dem Bereich Handwerk zu arbeiten („Handwerksbetriebe“)." in de
    assert "Eine gemeinsame Arbeitssprache ist nicht bekannt" in de


def test_suggestion_reason_falls_back_across_languages():
    s = Suggestion("x", 0.5, {"de": "nur deutsch"})
    assert s.reason("en") == "nur deutsch" and s.reason("fr") == "nur deutsch"
    calls = []
    lazy = LazyReasons(lambda: calls.append(1) or {"de": "a", "en": "b"})
    s = Suggestion("x", 0.5, lazy)
    assert calls == []  # computed only when read
    assert s.reason("en") == "b" and s.reason("de") == "a" and calls == [1]
    assert dict(s.reasons) == {"de": "a", "en": "b"}


def test_reasons_are_sentences_that_name_and_address_nobody():
    """Both sides (and organisers) read the same reason: plain sentences, no
    symbols, no names (nobody reads about themselves), no Sie/du."""
    people = [
        Participant("c1", "production", name="Uta Seifert", organisation="Bäckerei Seifert",
                    seeks="Wir finden keinen Nachwuchs für die Backstube."),
        Participant("k1", "creative", name="Lena Schmidt", offers="Recruiting-Videos für Handwerksbetriebe auf TikTok."),
    ]
    for s in (first(suggest(people), "c1"), first(suggest(people), "k1")):
        de, en = s.reason("de"), s.reason("en")
        assert de.startswith("Die Herausforderung „Nachwuchs & Fachkräfte gewinnen“") and "passt zur Erfahrung mit" in de
        assert en.startswith("The challenge “Recruiting & young talent”") and "fits the experience with" in en
        for text in (de, en):
            assert "↔" not in text and ";" not in text and text.endswith(".")
            assert not any(name in text for name in ("Uta", "Seifert", "Lena", "Schmidt"))
            assert not re.search(r"\b(Sie|Ihre?|du|dein\w*)\b", text)
