"""Test doubles for code that uses the matcher without the real model."""
from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

from matching.cache import AbstractEmbeddingCache
from matching.text import content_words


class FakeEncoder:
    """Deterministic bag-of-words embeddings (hashed folded words), no model.

    Same interface as `matching.encoder.Encoder`; uses and fills a cache the
    same way, and counts the texts it had to embed in `embedded`.
    """

    def __init__(self, dim: int = 64, cache: AbstractEmbeddingCache | None = None, model_id: str = "fake/bag-of-words") -> None:
        self.dim = dim
        self.cache = cache
        self.model_id = model_id
        self.embedded: list[str] = []

    def namespace(self, kind: str = "document") -> str:
        return self.model_id

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for word in content_words(text):
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
            v[h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode(self, texts: Sequence[str], *, kind: str = "document", progress: bool = False) -> np.ndarray:
        unique = list(dict.fromkeys(t for t in texts if t and t.strip()))
        found = self.cache.get_many(self.model_id, unique) if self.cache is not None else {}
        fresh = {t: self._vector(t) for t in unique if t not in found}
        self.embedded.extend(fresh)
        if self.cache is not None and fresh:
            self.cache.put_many(self.model_id, fresh)
        vectors = {**found, **fresh}
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            if t in vectors:
                out[i] = vectors[t]
        return out
