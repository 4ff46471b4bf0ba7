"""Both catalogs carry the same texts, with the same placeholders, and every
text the code asks for exists."""
from __future__ import annotations

import re
import string
from pathlib import Path

from i18n import LOCALES, catalog, language_for, t

ROOT = Path(__file__).resolve().parents[2]


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    de = catalog("de")
    for locale in LOCALES:
        other = catalog(locale)
        assert set(other) == set(de), locale
        for key in de:
            assert _fields(de[key]) == _fields(other[key]), (locale, key)


def test_every_key_used_in_code_exists() -> None:
    used: set[str] = set()
    pattern = re.compile(r'(?:tr|say|toast|t)\((?:[a-z_.]+, )?"([a-z_]+\.[a-z_.0-9]+)"')
    for path in list((ROOT / "handlers").glob("*.py")) + list((ROOT / "bot").glob("*.py")):
        used |= set(pattern.findall(path.read_text(encoding="utf-8")))
    assert used, "the pattern should find keys"
    missing = sorted(k for k in used if k not in catalog("de"))
    assert missing == []


def test_language_choice() -> None:
    assert language_for("en-GB") == "en" and language_for("de-AT") == "de"
    assert language_for("pl", default="en") == "en" and language_for(None) == "de"
    assert t("en", "command.unknown", command="x") == "I don't know the command /x. /help lists all commands."
