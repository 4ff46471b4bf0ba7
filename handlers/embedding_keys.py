"""Which embedding-cache rows belong to a profile (erased with the person)."""
from __future__ import annotations

import hashlib

from db.models import Profile


def text_key(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\x00{text}".encode("utf-8")).hexdigest()


def profile_embedding_keys(profile: Profile, models: tuple[str, ...] = ()) -> list[str]:
    texts = [t for t in (profile.offers, profile.seeks, profile.sector) if t]
    return [text_key(m, t) for m in models for t in texts]
