"""Test doubles for code that uses the matcher without the real model."""
from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

from matching.text import content_words


class FakeEncoder:
    """Deterministic bag-of-words embeddings (hashed folded words), no model.

    An `matching.encoders.Encoder` (symmetric); counts the texts it had to
    embed in `embedded`.  Use `Matcher(encoder=FakeEncoder(), cache=...)`.
    """

    symmetric = True

    def __init__(self, dim: int = 64, name: str = "fake/bag-of-words") -> None:
        self.dim = dim
        self.name = name
        self.embedded: list[str] = []

    @property
    def model_id(self) -> str:  # the name before the Encoder port existed
        return self.name

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for word in content_words(text):
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
            v[h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.embedded.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i] = self._vector(t)
        return out

    encode_queries = encode_passages
