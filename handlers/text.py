"""Small helpers for rendering texts about people (no contact details)."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from i18n import language_of
from matching.taxonomy import DISCIPLINES

if TYPE_CHECKING:
    from db.models import Profile


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
