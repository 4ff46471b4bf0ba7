"""Small helpers for rendering texts about people (no contact details)."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from babel.dates import format_date

from i18n import duration, language_of, t
from matching.taxonomy import DISCIPLINES

if TYPE_CHECKING:
    from db.models import Profile


# Characters that show nothing: spaces, controls, format characters (zero-width
# space/joiners, direction marks, BOM, …), surrogates, and the letters and
# symbols that render blank (Hangul fillers, braille blank, combining grapheme
# joiner, Khmer inherent vowels, variation selectors). Unassigned code points
# (e.g. emoji newer than this Python's Unicode tables) count as visible.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5") | frozenset(
    chr(c) for c in (*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)))


def is_invisible(char: str) -> bool:
    return char in _BLANK_LOOKING or unicodedata.category(char) in _INVISIBLE_CATEGORIES


def strip_invisible(text: str) -> str:
    """`text` without the invisible characters at its start and end (a name of
    zero-width spaces becomes empty; joiners inside a word or emoji stay)."""
    start, end = 0, len(text)
    while start < end and is_invisible(text[start]):
        start += 1
    while end > start and is_invisible(text[end - 1]):
        end -= 1
    return text[start:end]


def visible_length(text: str) -> int:
    """How many characters of `text` show something."""
    return sum(1 for char in text if not is_invisible(char))


def short(text: str | None, limit: int = 300) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def first_sentence(text: str | None, limit: int = 240) -> str:
    text = " ".join((text or "").split())
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return short(match.group(1) if match else text, limit)


def describe(lang: str, profile: Profile) -> str:
    """Who someone is, without contact details."""
    if profile.side == "creative":
        what = ", ".join(DISCIPLINES[c][language_of(lang)] for c in profile.disciplines or [] if c in DISCIPLINES)
    else:
        what = profile.sector or ""
    org = profile.organisation or ""
    parts = [p for p in (org, what) if p]
    return f"{profile.name}" + (f" – {' · '.join(parts)}" if parts else "")


def profile_card(locale: str, profile: Profile) -> str:
    """A whole profile for an organiser's eyes (an application), in their
    language: the answers of onboarding, no contact details."""
    none = t(locale, "profile.empty")
    lang = language_of(locale)

    def line(field: str, value: str | None) -> str:
        return f"{t(locale, 'field.' + field)}: {value or none}"

    lines = [line("name", profile.name),
             line("side", t(locale, "side." + profile.side) if profile.side in ("production", "creative") else None),
             line("organisation", profile.organisation), line("role", profile.role)]
    if profile.side == "production":
        wanted = profile.wanted_disciplines
        lines += [line("sector", profile.sector), line("challenge", profile.seeks),
                  line("wanted", None if wanted is None else ", ".join(
                      DISCIPLINES[c][lang] for c in wanted if c in DISCIPLINES) or t(locale, "wanted.none"))]
    elif profile.side == "creative":
        lines += [line("disciplines", ", ".join(DISCIPLINES[c][lang] for c in profile.disciplines or []
                                                 if c in DISCIPLINES)),
                  line("skills", profile.offers), line("collaboration", profile.seeks)]
    lines.append(line("languages", ", ".join(t(locale, f"lang.{c}") for c in profile.languages or [])))
    return "\n".join(lines)


SOON = timedelta(hours=6)  # closer than this, a reminder says "in 1 hour" rather than "today at"


def reminder_sentence(locale: str, name: str, starts_at: datetime, before: timedelta, tz: tzinfo) -> str:
    """"Morgen um 10:30 Uhr treffen Sie Lena Schmidt." – said from the moment
    the reminder is due (`before` the start), in the reader's language."""
    local = starts_at.astimezone(tz)
    due = (starts_at - before).astimezone(tz)
    time = f"{local:%H:%M}"
    if before <= SOON:
        when = duration(locale, before, direction=True)
        if locale != "en":
            when = when[:1].upper() + when[1:]
        return t(locale, "reminder.soon", when=when, name=name, time=time)
    days = (local.date() - due.date()).days
    if days == 0:
        return t(locale, "reminder.today", name=name, time=time)
    if days == 1:
        return t(locale, "reminder.tomorrow", name=name, time=time)
    pattern = "EEEE d MMMM" if locale == "en" else "EEEE, d. MMMM"
    date = format_date(local.date(), pattern, locale=language_of(locale))
    return t(locale, "reminder.on_day", name=name, time=time, date=date)


# A plea to go back or stop, typed where an answer is expected ("ich habe mich
# verklickt, bitte zurück", "go back please"): only such words, so a real
# answer that merely contains one ("Back to Basics GmbH") is not taken for it.
_PLEA = frozenset({
    "zurück", "zurueck", "abbrechen", "abbruch", "rückgängig", "rueckgaengig", "verklickt", "vertippt",
    "verdrückt", "stopp", "halt", "back", "cancel", "undo", "stop", "misclicked", "misclick", "abort",
})
_FILLER = frozenset({
    "bitte", "ich", "habe", "hab", "mich", "mir", "möchte", "moechte", "will", "wollte", "wieder", "nochmal",
    "doch", "falsch", "geklickt", "gedrückt", "knopf", "taste", "das", "war", "ein", "eine", "einen", "fehler",
    "oh", "oje", "ups", "hoppla", "sorry", "entschuldigung", "leider", "zum", "zur", "menü", "profil",
    "übersicht", "gehen", "geht", "und", "schritt", "kann", "können", "sie", "du", "man", "wie", "komme",
    "please", "i", "want", "wanted", "to", "go", "take", "me", "oops", "wrong", "button", "it", "was", "a",
    "mistake", "the", "step", "menu", "profile", "overview", "and", "can", "you", "how", "do", "get",
})


def looks_like_plea(text: str) -> bool:
    """True for a short text made only of words asking to go back or stop."""
    words = re.findall(r"[\w'-]+", text.lower())
    return 0 < len(words) <= 12 and any(w in _PLEA for w in words) and all(w in _PLEA or w in _FILLER for w in words)
