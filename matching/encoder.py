"""An `Encoder` (matching.encoders) in front of an embedding cache.

Importing this module does not import torch or any encoder package: the model
is loaded on the first text that is not in the cache, once per process and
model (shared by all instances).

Cache namespaces: a symmetric encoder caches every text under its `name`; an
asymmetric one (e5, or a sentence-transformers model with prompts) under
"<name>#query" and "<name>#passage", so prompted and plain vectors never mix.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from matching.cache import AbstractEmbeddingCache
from matching.encoders import (  # noqa: F401 - re-exported for callers of the old module
    BUNDLED_MODEL_ID,
    Encoder,
    encoder_for,
    load_model,
    model_id_for,
)

KINDS = ("query", "passage")


def _kind(kind: str) -> str:
    if kind == "document":  # the name used before the port existed
        return "passage"
    if kind not in KINDS:
        raise ValueError(f"kind must be 'query' or 'passage', not {kind!r}")
    return kind


class CachedEncoder:
    """Embeds texts with an `Encoder`, reading and filling an embedding cache.

    `encoder` is an Encoder or an EMBEDDING_MODEL spec (None / "" = the
    bundled model; prompts only for sentence-transformers).  Rows are float32
    and L2-normalised; an empty text gets a zero row and is never sent to the
    model; each distinct text is encoded once.
    """

    def __init__(
        self,
        encoder: Encoder | str | None = None,
        cache: AbstractEmbeddingCache | None = None,
        *,
        batch_size: int = 64,
        device: str = "cpu",
        query_prompt: str | None = None,
        document_prompt: str | None = None,
    ) -> None:
        if encoder is None or isinstance(encoder, str):
            encoder = encoder_for(encoder, batch_size=batch_size, device=device,
                                  query_prompt=query_prompt, passage_prompt=document_prompt)
        elif query_prompt or document_prompt:
            raise ValueError("prompts belong to the encoder; give them to encoder_for / the adapter")
        self.encoder = encoder
        self.cache = cache

    @property
    def model_id(self) -> str:
        return self.encoder.name

    @property
    def symmetric(self) -> bool:
        return bool(getattr(self.encoder, "symmetric", False))

    def namespace(self, kind: str = "passage") -> str:
        """The model string under which vectors of this kind are cached."""
        kind = _kind(kind)
        return self.encoder.name if self.symmetric else f"{self.encoder.name}#{kind}"

    def namespaces(self) -> list[str]:
        """Every namespace this encoder writes (one when symmetric)."""
        return list(dict.fromkeys(self.namespace(k) for k in KINDS))

    def encode(self, texts: Sequence[str], *, kind: str = "passage", progress: bool = False) -> np.ndarray:
        """One row per text, in order; duplicates and cached texts cost nothing."""
        kind = _kind(kind)
        unique = list(dict.fromkeys(t for t in texts if t and t.strip()))
        namespace = self.namespace(kind)
        vectors: dict[str, np.ndarray] = {}
        if unique and self.cache is not None:
            vectors.update(self.cache.get_many(namespace, unique))
        missing = [t for t in unique if t not in vectors]
        if missing:
            method = self.encoder.encode_queries if kind == "query" else self.encoder.encode_passages
            encoded = method(missing, progress=True) if progress else method(missing)
            encoded = np.asarray(encoded, dtype=np.float32)
            if encoded.shape[0] != len(missing):
                raise ValueError(f"{self.encoder!r} returned {encoded.shape[0]} rows for {len(missing)} texts")
            fresh = dict(zip(missing, encoded))
            vectors.update(fresh)
            if self.cache is not None:
                self.cache.put_many(namespace, fresh)
        dim = next((v.shape[0] for v in vectors.values()), 0)
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for i, text in enumerate(texts):
            vector = vectors.get(text)
            if vector is not None:
                out[i] = vector
        return out

    def encode_split(
        self, queries: Sequence[str], passages: Sequence[str], *, progress: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Queries and passages in one go: a symmetric encoder sees them as
        one list (one model call, the same batches as a single `encode`)."""
        if self.symmetric:
            vectors = self.encode(list(queries) + list(passages), kind="passage", progress=progress)
            return vectors[:len(queries)], vectors[len(queries):]
        q = self.encode(queries, kind="query", progress=progress)
        p = self.encode(passages, kind="passage", progress=progress)
        if q.shape[1] != p.shape[1]:  # one of them had only empty texts
            dim = max(q.shape[1], p.shape[1])
            q = q if q.shape[1] == dim else np.zeros((q.shape[0], dim), np.float32)
            p = p if p.shape[1] == dim else np.zeros((p.shape[0], dim), np.float32)
        return q, p
