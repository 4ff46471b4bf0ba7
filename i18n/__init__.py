"""User-facing texts live in catalogs (i18n/locales/de.json, en.json).

`t(lang, key, **fields)` formats a text; a key missing in one language falls
back to German, a key missing everywhere raises (tests check both catalogs
have the same keys and placeholders).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("de", "en")
FALLBACK = "de"
_DIR = Path(__file__).with_name("locales")


@lru_cache(maxsize=None)
def catalog(lang: str) -> dict[str, str]:
    return json.loads((_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def t(lang: str, key: str, **fields: object) -> str:
    lang = lang if lang in LANGUAGES else FALLBACK
    text = catalog(lang).get(key)
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
