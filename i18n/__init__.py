"""User-facing texts live in catalogs: i18n/locales/de.json (German with
*Sie*, the default for this audience), de-du.json (German with *du*) and
en.json.

`t(locale, key, **fields)` formats a text. A locale is a language ("de",
"en") or "de-du"; `locale_for(language, form)` picks it for a person. A key
missing in one catalog falls back to German, a key missing everywhere raises
(tests check every catalog has the same keys and placeholders).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("de", "en")
GERMAN_FORMS = ("sie", "du")
LOCALES = ("de", "de-du", "en")
FALLBACK = "de"
_DIR = Path(__file__).with_name("locales")


@lru_cache(maxsize=None)
def catalog(locale: str) -> dict[str, str]:
    return json.loads((_DIR / f"{locale}.json").read_text(encoding="utf-8"))


def locale_for(language: str | None, german_form: str | None = "sie") -> str:
    """The catalog for a language and, in German, the form of address."""
    if language == "en":
        return "en"
    return "de-du" if german_form == "du" else "de"


def language_of(locale: str) -> str:
    """The language of a locale ("de-du" → "de")."""
    return "en" if locale == "en" else "de"


def t(locale: str, key: str, **fields: object) -> str:
    locale = locale if locale in LOCALES else FALLBACK
    text = catalog(locale).get(key)
    if text is None:
        text = catalog(FALLBACK)[key]
    return text.format(**fields) if fields else text


def language_for(telegram_code: str | None, default: str = FALLBACK) -> str:
    """English for an English Telegram client, German for German; else the default."""
    code = (telegram_code or "").lower()
    if code.startswith("en"):
        return "en"
    if code.startswith("de"):
        return "de"
    return default if default in LANGUAGES else FALLBACK
