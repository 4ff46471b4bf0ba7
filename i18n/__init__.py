"""User-facing texts live in catalogs: i18n/locales/de.json (German with
*Sie*, the default for this audience), de-du.json (German with *du*) and
en.json.

`t(locale, key, **fields)` formats a text. A locale is a language ("de",
"en") or "de-du"; `locale_for(language, form)` picks it for a person. A key
missing in one catalog falls back to German, a key missing everywhere raises
(tests check every catalog has the same keys and placeholders).

Numbers agree with their nouns through Babel's CLDR plural rules: a catalog
value may be an object of plural categories ({"one": …, "other": …}) chosen
by the field named in "by" (default `count`). Whole numbers are formatted for
the locale ("1.250" in German).
"""
from __future__ import annotations

import json
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Union

from babel import Locale
from babel.dates import format_timedelta
from babel.numbers import format_decimal

Text = Union[str, dict[str, str]]

LANGUAGES = ("de", "en")
GERMAN_FORMS = ("sie", "du")
LOCALES = ("de", "de-du", "en")
FALLBACK = "de"
_DIR = Path(__file__).with_name("locales")


@lru_cache(maxsize=None)
def catalog(locale: str) -> dict[str, Text]:
    return json.loads((_DIR / f"{locale}.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _babel(language: str) -> Locale:
    return Locale.parse(language)


def locale_for(language: str | None, german_form: str | None = "sie") -> str:
    """The catalog for a language and, in German, the form of address."""
    if language == "en":
        return "en"
    return "de-du" if german_form == "du" else "de"


def language_of(locale: str) -> str:
    """The language of a locale ("de-du" → "de")."""
    return "en" if locale == "en" else "de"


def plural(locale: str, text: Text, fields: dict[str, object]) -> str:
    """The plural form of `text` that agrees with its number (CLDR rules)."""
    if isinstance(text, str):
        return text
    number = fields.get(text.get("by", "count"), 0)
    category = _babel(language_of(locale)).plural_form(number if isinstance(number, (int, float)) else 0)
    return text.get(category) or text["other"]


def number(locale: str, value: int | float) -> str:
    return format_decimal(value, locale=language_of(locale))


def duration(locale: str, delta: timedelta, direction: bool = False) -> str:
    """"2 Wochen", "1 Stunde", "3 months"; with direction "in 1 Stunde"."""
    return format_timedelta(delta, locale=language_of(locale), format="long", threshold=1,
                            add_direction=direction)


def t(locale: str, key: str, **fields: object) -> str:
    locale = locale if locale in LOCALES else FALLBACK
    text = catalog(locale).get(key)
    if text is None:
        text = catalog(FALLBACK)[key]
    text = plural(locale, text, fields)
    if not fields:
        return text
    shown = {k: number(locale, v) if isinstance(v, int) and not isinstance(v, bool) else v
             for k, v in fields.items()}
    return text.format(**shown)


def language_for(telegram_code: str | None, default: str = FALLBACK) -> str:
    """English for an English Telegram client, German for German; else the default."""
    code = (telegram_code or "").lower()
    if code.startswith("en"):
        return "en"
    if code.startswith("de"):
        return "de"
    return default if default in LANGUAGES else FALLBACK
