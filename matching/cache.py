"""Embedding caches: unchanged profile texts are never embedded twice.

Entries are keyed by `cache_key(model, text)` — the sha256 of the model id and
the exact text — so a cache row says nothing readable about the person and a
profile's rows can be found (and erased) from its texts.

The bot's pattern: prefetch the rows of a cohort from the database into an
`InMemoryEmbeddingCache` (async), run the matcher in a worker thread, then
persist `drain_new()` (async).  The matcher itself never touches a database.
"""
from __future__ import annotations

import hashlib
import threading
from abc import ABC, abstractmethod
from typing import Mapping, Sequence

import numpy as np


def cache_key(model: str, text: str) -> str:
    """sha256 hex of model id and text, separated by a NUL byte."""
    return hashlib.sha256(f"{model}\x00{text}".encode("utf-8")).hexdigest()


class AbstractEmbeddingCache(ABC):
    """Port for an embedding store; vectors are float32, L2-normalised."""

    @abstractmethod
    def get_many(self, model: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors of the texts that are cached, keyed by text (missing ones absent)."""

    @abstractmethod
    def put_many(self, model: str, vectors: Mapping[str, np.ndarray]) -> None:
        """Store vectors keyed by text."""


class InMemoryEmbeddingCache(AbstractEmbeddingCache):
    """A dict of cache_key → vector, thread-safe, remembering what was added.

    `entries` (or `load`) takes rows already keyed by `cache_key`, e.g. from a
    database; `drain_new()` returns the rows put since the last drain, keyed
    the same way, ready to be persisted.
    """

    def __init__(self, entries: Mapping[str, np.ndarray] | None = None) -> None:
        self._lock = threading.Lock()
        self._vectors: dict[str, np.ndarray] = {}
        self._new: dict[str, np.ndarray] = {}
        self._new_models: dict[str, str] = {}
        if entries:
            self.load(entries)

    def load(self, entries: Mapping[str, np.ndarray]) -> None:
        """Add rows keyed by cache_key without marking them as new."""
        with self._lock:
            for key, vector in entries.items():
                self._vectors[key] = np.asarray(vector, dtype=np.float32)

    def get_many(self, model: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for text in texts:
                vector = self._vectors.get(cache_key(model, text))
                if vector is not None:
                    found[text] = vector
        return found

    def put_many(self, model: str, vectors: Mapping[str, np.ndarray]) -> None:
        with self._lock:
            for text, vector in vectors.items():
                key = cache_key(model, text)
                vector = np.asarray(vector, dtype=np.float32)
                if key not in self._vectors:
                    self._new[key] = vector
                    self._new_models[key] = model
                self._vectors[key] = vector

    def drain_new(self) -> dict[str, np.ndarray]:
        """Rows added by put_many since the last call, keyed by cache_key."""
        return {key: vector for key, (_, vector) in self.drain_new_entries().items()}

    def drain_new_entries(self) -> dict[str, tuple[str, np.ndarray]]:
        """Like `drain_new`, with the model string (namespace) of each row:
        {cache_key: (model, vector)} — what a database row stores."""
        with self._lock:
            new, self._new = self._new, {}
            models, self._new_models = self._new_models, {}
        return {key: (models[key], vector) for key, vector in new.items()}

    def __len__(self) -> int:
        return len(self._vectors)

    def __contains__(self, key: object) -> bool:
        return key in self._vectors
