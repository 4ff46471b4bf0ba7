"""The three catalogs (German with Sie, German with du, English) carry the same
texts with the same placeholders; every text the code asks for exists; German
texts use the catalog's form of address and no English words of the UI; numbers
agree with their nouns."""
from __future__ import annotations

import re
import string
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from i18n import LOCALES, catalog, language_for, locale_for, t
from handlers.text import reminder_sentence

ROOT = Path(__file__).resolve().parents[2]


def _variants(value: str | dict[str, str]) -> list[str]:
    return [value] if isinstance(value, str) else [v for k, v in value.items() if k != "by"]


def _fields(value: str | dict[str, str]) -> set[str]:
    return {name for text in _variants(value) for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    de = catalog("de")
    for locale in LOCALES:
        other = catalog(locale)
        assert set(other) == set(de), (locale, set(other) ^ set(de))
        for key in de:
            assert _fields(de[key]) == _fields(other[key]), (locale, key)
            if isinstance(other[key], dict):  # plural forms: "other" is required, "by" names a placeholder
                assert "other" in other[key], (locale, key)
                assert other[key].get("by", "count") in _fields(other[key]), (locale, key)


def test_every_key_used_in_code_exists() -> None:
    used: set[str] = set()
    pattern = re.compile(r'(?:tr|tr_for|say|toast|t)\((?:[a-z_.]+, )?"([a-z_]+\.[a-z_.0-9]+)"')
    for path in list((ROOT / "handlers").glob("*.py")) + list((ROOT / "bot").glob("*.py")):
        used |= set(pattern.findall(path.read_text(encoding="utf-8")))
    assert used, "the pattern should find keys"
    missing = sorted(k for k in used if k not in catalog("de"))
    assert missing == []


# Words that give away the other form of address (whole words, case-sensitive;
# "Sie/du" naming the choice itself is allowed).
DU_WORDS = re.compile(r"\b(du|Du|dich|Dich|dir|Dir|dein\w*|Dein\w*|euch|Euch|euer|Euer|eure\w*|Eure\w*|ihr|habt|seid|"
                      r"möchtest|kannst|bist|hast|wolltet|trefft|Schick|schick|Tippe|Wähle|Beschreib|Schreib)\b")
SIE_WORDS = re.compile(r"\b(Ihnen|Ihre|Ihren|Ihrem|Ihrer|Ihres|möchten Sie|können Sie|haben Sie|sind Sie|Sie bekommen)\b")
# The UI's own English terms, which must not leak into German texts (commands like /matches are fine).
ENGLISH_TERMS = {
    "match", "matches", "matching", "feedback", "briefing", "session", "event", "events", "challenge", "skills",
    "button", "buttons", "card", "cards", "profile", "meeting", "meetings", "outcome", "outcomes", "release",
    "reminder", "nudge", "slot", "slots", "follow-up", "followup", "onboarding", "stats", "hand-over", "handover",
    "creative", "creatives", "company", "companies", "organiser", "organisers", "side", "results", "please", "ok",
}


def _prose(text: str) -> str:
    return re.sub(r"/\w+|\{\w+\}|Sie/du", " ", text)


@pytest.mark.parametrize("locale", ["de", "de-du"])
def test_german_texts_have_no_english_ui_words(locale: str) -> None:
    leaks = {}
    for key, value in catalog(locale).items():
        for text in _variants(value):
            words = {w.lower() for w in re.findall(r"[A-Za-zÄÖÜäöüß-]+", _prose(text))} & ENGLISH_TERMS
            if words:
                leaks[key] = sorted(words)
    assert leaks == {}


def test_german_catalogs_keep_their_form_of_address() -> None:
    sie = {k: m.group(0) for k, v in catalog("de").items() for x in _variants(v) if (m := DU_WORDS.search(_prose(x)))}
    du = {k: m.group(0) for k, v in catalog("de-du").items() for x in _variants(v) if (m := SIE_WORDS.search(_prose(x)))}
    assert sie == {}, "du-forms in the Sie catalog"
    assert du == {}, "Sie-forms in the du catalog"


def test_forms_differ_where_people_are_addressed() -> None:
    assert t("de", "ask.name").startswith("Wie heißen Sie?")
    assert t("de-du", "ask.name").startswith("Wie heißt du?")
    assert locale_for("de", None) == locale_for("de", "sie") == "de"
    assert locale_for("de", "du") == "de-du" and locale_for("en", "du") == "en"


def test_numbers_agree_with_their_nouns() -> None:
    counts = dict(side="S", registered=1250, onboarded=1, approved=0, waiting=2)
    assert "1.250 angemeldet · 1 mit fertigem Profil" in t("de", "event.counts", **counts)
    assert "1,250 registered · 1 onboarded" in t("en", "event.counts", **counts)
    assert "Ihr Eintrag bleibt" in t("de", "ho.kept", count=1)
    assert "Deine 3 Einträge" in t("de-du", "ho.kept", count=3)
    assert "1 item." in t("en", "ho.sent", company="C", count=1)
    assert "1.250 Einträge" in t("de", "ho.sent", company="C", count=1250)  # numbers formatted for the locale
    assert "1,250 items" in t("en", "ho.sent", company="C", count=1250)
    assert "von 1 teilnehmenden Person hat" in t("de", "admin.released", event="E", count=1, total=1)


def test_reminders_are_sentences() -> None:
    tz = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 12, 3, 9, 30, tzinfo=timezone.utc)  # Thursday 10:30 in Berlin
    assert reminder_sentence("de", "Lena", start, timedelta(hours=24), tz) == \
        "⏰ Zur Erinnerung: Morgen um 10:30 Uhr treffen Sie Lena."
    assert reminder_sentence("de-du", "Lena", start, timedelta(hours=1), tz) == \
        "⏰ Zur Erinnerung: In 1 Stunde triffst du Lena (10:30 Uhr)."
    assert reminder_sentence("en", "Lena", start, timedelta(days=2), tz) == \
        "⏰ Reminder: on Thursday 3 December at 10:30 you meet Lena."
    assert reminder_sentence("de", "Lena", start, timedelta(hours=9), tz) == \
        "⏰ Zur Erinnerung: Heute um 10:30 Uhr treffen Sie Lena."


def test_language_choice() -> None:
    assert language_for("en-GB") == "en" and language_for("de-AT") == "de"
    assert language_for("pl", default="en") == "en" and language_for(None) == "de"
    assert t("en", "command.unknown", command="x") == "I don't know the command /x. /help lists all commands."
