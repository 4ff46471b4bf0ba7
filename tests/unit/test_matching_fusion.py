"""The exemplar bridge, the fused ranking (per-company clipped z-scores) and
LOCO weight fitting — with the fake bag-of-words encoder, no model."""
from __future__ import annotations

import json

import numpy as np
import pytest

from matching import Matcher, Participant
from matching.bridge import (
    CODES,
    build_bridge,
    clear_memo,
    declared_matrix,
    exemplar_vectors,
    membership,
    need_distribution,
    topk_affinity,
)
from matching.cohort import Cohort
from matching.encoder import CachedEncoder
from matching.exemplars import load_exemplars
from matching.fusion import CLIP, FusedScorer, FusionWeights, row_moments, standardised_vectors
from matching.loco import (
    CohortSignals,
    Fold,
    cohort_signals,
    equal_weights,
    fit,
    loco,
    score,
    simplex_grid,
    verdict,
)
from matching.testing import FakeEncoder


@pytest.fixture(scope="module")
def fake():
    return FakeEncoder(dim=512, name="fake/bridge-test")


@pytest.fixture(scope="module")
def vectors(fake):
    clear_memo()
    return exemplar_vectors(CachedEncoder(fake, None))


# -- bridge -----------------------------------------------------------------------


def test_exemplar_vectors_shapes_and_memo(fake, vectors):
    bank = load_exemplars()
    assert vectors.problems.shape == (sum(len(bank[c].problems) for c in bank.codes), fake.dim)
    assert vectors.creatives.shape == (sum(len(bank[c].creatives) for c in bank.codes), fake.dim)
    assert set(vectors.problem_labels.tolist()) == set(range(len(CODES)))
    before = len(fake.embedded)
    assert exemplar_vectors(CachedEncoder(fake, None)) is vectors  # once per encoder and process
    assert len(fake.embedded) == before


def test_topk_affinity_is_the_mean_of_the_k_best_per_class():
    texts = np.array([[1.0, 0.0]], np.float32)
    examples = np.array([[1, 0], [0.5, 0.5], [0, 1], [0.8, 0.2], [0.1, 0.9]], np.float32)
    labels = np.array([0, 0, 0, 1, 1])
    out = topk_affinity(texts, examples, labels, k=2, n_classes=3)
    assert out.shape == (1, 3)
    assert out[0, 0] == pytest.approx(0.75) and out[0, 1] == pytest.approx(0.45) and out[0, 2] == 0


def test_a_disciplines_own_exemplar_ranks_it_first(fake, vectors):
    bank = load_exemplars()
    embed = CachedEncoder(fake, None)
    for d, code in enumerate(CODES):
        problem = bank[code].problems[0].text
        creative = bank[code].creatives[0].text
        b = build_bridge(embed.encode([problem], kind="query"), embed.encode([creative], kind="passage"),
                         [Participant("k", "creative", offers=creative)], vectors)
        assert b.need.shape == (1, len(CODES)) and b.member.shape == (1, len(CODES))
        assert int(np.argmax(b.need[0])) == d, code
        assert b.member[0, d] == pytest.approx(1.0), code
        assert b.need[0].sum() == pytest.approx(1.0)


def test_need_is_a_distribution_membership_relative_and_empty_texts_have_none():
    raw = np.array([[0.2, 0.5, 0.3], [0, 0, 0]], np.float32)
    p = need_distribution(raw)
    assert p[0].sum() == pytest.approx(1.0) and np.argmax(p[0]) == 1 and not p[1].any()
    m = membership(raw)
    assert m[0].max() == pytest.approx(1.0) and (m[0] > 0).all() and not m[1].any()
    # the same values on another scale (another encoder) give the same vectors
    np.testing.assert_allclose(need_distribution(raw * 0.2 + 0.7)[0], p[0], rtol=1e-5)


def test_declared_disciplines_count_as_full_membership(fake, vectors):
    people = [Participant("k1", "creative", offers="", disciplines=("ux", "brand_strategy")),
              Participant("k2", "creative", offers="")]
    declared = declared_matrix(people)
    assert declared[0, CODES.index("ux")] == 1 and declared[0].sum() == 2 and not declared[1].any()
    embed = CachedEncoder(fake, None)
    b = build_bridge(embed.encode(["Die Bediener finden im Menü nichts"], kind="query"),
                     embed.encode(["", ""], kind="passage"), people, vectors)
    assert b.member[0, CODES.index("ux")] == 1 and not b.member[1].any()
    assert b.score(0, 0) > b.score(0, 1) == 0


# -- fusion -----------------------------------------------------------------------


def test_row_moments_are_exact_both_ways():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 5)).astype(np.float32), rng.normal(size=(40, 5)).astype(np.float32)
    sims = a.astype(np.float64) @ b.T.astype(np.float64)
    mu, sd = row_moments(a, b)  # covariance route (40 > 5 + ...)
    np.testing.assert_allclose(mu, sims.mean(axis=1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sd, sims.std(axis=1), rtol=1e-4)
    mu2, sd2 = row_moments(a, b[:3])  # direct route
    np.testing.assert_allclose(sd2, (sims[:, :3]).std(axis=1), rtol=1e-4)


def test_standardised_vectors_give_z_scores_and_a_constant_signal_gives_zero():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(20, 4)).astype(np.float32)
    a[2] = 0  # company without this signal: constant 0 across its candidates
    left, right = standardised_vectors(a, b)
    z = left @ right.T
    assert z[:2].mean(axis=1) == pytest.approx([0, 0], abs=1e-5)
    assert z[:2].std(axis=1) == pytest.approx([1, 1], abs=1e-4)
    assert not z[2].any()


def _cohort():
    return [
        Participant("c1", "production", seeks="Unsere Bediener verstehen das Menü der Maschine nicht"),
        Participant("c2", "production", seeks="Keiner kennt unsere Bäckerei, Instagram ist leer"),
        Participant("c3", "production", seeks="Wir wollen Workshops mit Kunden anbieten", languages=("fr",)),
        Participant("k1", "creative", offers="Interaction Design und Bedienoberflächen für Maschinen", disciplines=("ux",)),
        Participant("k2", "creative", offers="Social Media und Fotografie für Bäckereien", disciplines=("photo_film",)),
        Participant("k3", "creative", offers="Moderation von Workshops", languages=("de",)),
        Participant("k4", "creative", offers="Keramik und Skulptur"),
    ]


def test_fused_scores_are_weighted_clipped_z_scores(fake):
    matcher = Matcher(encoder=fake, ranking="fused")
    prepared = matcher.prepare(_cohort())
    scorer = prepared.scorer
    assert isinstance(scorer, FusedScorer)
    every = slice(None)
    block = scorer.block(every, every)
    expected = np.zeros_like(block)
    w = FusionWeights().normalised()
    for name in scorer.standardised:
        z = scorer.z_block(name, every, every)
        assert np.abs(z).max() <= CLIP + 1e-6
        expected += w[name] * z
    finite = np.isfinite(block)
    np.testing.assert_allclose(block[finite], expected[finite], atol=2.5e-4)  # quantised to 1/4096
    # stated languages without one in common: never suggested
    c3 = [p.id for p in prepared.features.companies].index("c3")
    k3 = [p.id for p in prepared.features.creatives].index("k3")
    assert np.isneginf(block[c3, k3])
    out = matcher.suggest(_cohort(), top=4)
    assert "k3" not in [s.counterpart_id for s in out["c3"]]
    signals = matcher.pair_signals(_cohort(), [("c1", "k1")])[("c1", "k1")]
    assert {"dense", "bridge", "stems", "z_dense", "z_bridge", "score"} <= set(signals)


def test_a_signal_with_weight_zero_or_constant_changes_nothing(fake):
    people = _cohort()
    base = Matcher(encoder=fake, ranking="fused", fusion={"dense": 1, "bridge": 1}).prepare(people).scorer
    every = slice(None)
    # stems constant for every company (no stems in any text): adding them with weight changes no order
    people_plain = [Participant(p.id, p.side, seeks=p.seeks and "aaa " + p.id, offers=p.offers and "bbb " + p.id)
                    for p in people]
    s = Matcher(encoder=fake, ranking="fused", fusion={"stems": 1.0, "dense": 0.0001}).prepare(people_plain).scorer
    z = s.z_block("stems", every, every)
    assert not z.any()
    assert base.parts and {name for name, *_ in base.parts} == {"dense", "bridge"}


def test_fusion_weights_from_mapping():
    assert FusionWeights.from_mapping({"dense": 2, "bridge": 2}).normalised() == {
        "dense": 0.5, "bridge": 0.5, "stems": 0.0, "lexical": 0.0}
    with pytest.raises(ValueError):
        FusionWeights.from_mapping({"reciprocal": 1})
    with pytest.raises(ValueError):
        Matcher(encoder=FakeEncoder(), ranking="best")


def test_feedback_still_applies_on_top_of_the_fused_ranking(fake):
    from matching.learning import FeedbackModel, FeedbackObservation

    people = _cohort()
    matcher = Matcher(encoder=fake, ranking="fused")
    by_id = {p.id: p for p in people}
    model = FeedbackModel.fit([FeedbackObservation(by_id["c1"], by_id["k1"], 5, "yes")] * 20
                              + [FeedbackObservation(by_id["c2"], by_id["k4"], 1, "no")] * 20)
    assert not model.is_empty()
    before = matcher.pair_signals(people, [("c1", "k1")])[("c1", "k1")]
    after = matcher.pair_signals(people, [("c1", "k1")], feedback=model)[("c1", "k1")]
    assert after["feedback"] > 0 and after["score"] == pytest.approx(before["score"] + after["feedback"], abs=2.5e-4)
    # bounded on the fused scale: FEEDBACK_SCALE × max_adjustment (0.4 z-units)
    from matching.fusion import FEEDBACK_SCALE

    plain = matcher.suggest(people, top=4)
    learned = matcher.suggest(people, top=4, feedback=model)
    for pid in plain:
        b = {s.counterpart_id: s.score for s in plain[pid]}
        for s in learned[pid]:
            if s.counterpart_id in b:
                assert abs(s.score - b[s.counterpart_id]) <= FEEDBACK_SCALE * model.max_adjustment + 1e-3


# -- LOCO -------------------------------------------------------------------------


def _labelled(seed: int) -> Cohort:
    people = _cohort()
    rel = {"c1": {"k1": 2}, "c2": {"k2": 2}, "c3": {"k4": 1}}
    return Cohort(people, rel)


def test_simplex_grid_and_equal_weights():
    grid = simplex_grid(("a", "b", "c", "d"), 0.1)
    assert len(grid) == 286 and all(abs(sum(w.values()) - 1) < 1e-9 for w in grid)
    assert equal_weights(("a", "b")) == {"a": 0.5, "b": 0.5}


def test_loco_fits_on_the_other_cohorts_and_prefers_equal_weights_on_ties(fake):
    matcher = Matcher(encoder=fake, ranking="fused")
    sigs = [cohort_signals(matcher, _labelled(i), f"c{i}") for i in range(3)]
    w = fit(sigs, step=0.25)
    assert abs(sum(w.values()) - 1) < 1e-9
    best = np.mean([score(c, w)["ndcg@3"] for c in sigs])
    assert best >= np.mean([score(c, equal_weights(c.signals))["ndcg@3"] for c in sigs])
    folds = loco(sigs, step=0.25)
    assert [f.held_out for f in folds] == ["c0", "c1", "c2"]
    # identical cohorts: every fold fits what the whole fit finds
    assert all(f.weights == w for f in folds)
    # a constant objective: the tie goes to equal weights
    flat = [cohort_signals(matcher, Cohort(_cohort(), {"c1": {"k4": 0, "k1": 0}, "c2": {"k2": 0}}), "x")]
    flat[0].relevance = {"c1": {"k1": 1, "k2": 1, "k3": 1, "k4": 1}}
    assert fit(flat, step=0.25) == equal_weights(flat[0].signals)


def _synthetic(name: str, seed: int, n_companies: int = 6, n_creatives: int = 8) -> CohortSignals:
    """Company i's one relevant creative is i.  "good" puts it first, "bad"
    puts it last, "noise" is random: any fit worth the name leans on "good"."""
    rng = np.random.default_rng(seed)
    good = rng.normal(0.0, 0.3, (n_companies, n_creatives))
    bad = rng.normal(0.0, 0.3, (n_companies, n_creatives))
    for i in range(n_companies):
        good[i, i] = 3.0
        bad[i, i] = -3.0
    z = {"dense": good, "bridge": bad, "stems": rng.normal(0.0, 1.0, (n_companies, n_creatives)),
         "lexical": rng.normal(0.0, 1.0, (n_companies, n_creatives))}
    companies = [f"{name}-p{i}" for i in range(n_companies)]
    creatives = [f"{name}-c{j}" for j in range(n_creatives)]
    relevance = {companies[i]: {creatives[i]: 2} for i in range(n_companies)}
    return CohortSignals(name, companies, creatives, z, np.zeros((n_companies, n_creatives), bool),
                         np.arange(n_creatives), relevance)


def test_fit_picks_the_signal_that_ranks_the_relevant_creative_first():
    cohorts = [_synthetic(f"s{i}", seed=i) for i in range(3)]
    # equal weights: "good" and "bad" cancel on the relevant creative, noise decides
    assert np.mean([score(c, equal_weights(c.signals))["ndcg@3"] for c in cohorts]) < 0.9
    w = fit(cohorts)
    assert all(score(c, w)["ndcg@3"] == 1.0 for c in cohorts)
    assert w["dense"] == max(w.values()) and w["dense"] > w["bridge"] + 0.3
    folds = loco(cohorts)
    assert [f.held_out for f in folds] == ["s0", "s1", "s2"]
    for fold in folds:
        assert fold.fitted["ndcg@3"] == 1.0 > fold.equal["ndcg@3"]
        assert fold.weights["dense"] > fold.weights["bridge"]
    decision = verdict(folds)
    assert decision.ship and decision.mean_fitted == 1.0 > decision.mean_equal and decision.hard == []


def _fold(name: str, fitted: float, equal: float) -> Fold:
    return Fold(name, {"dense": 1.0}, {"ndcg@3": fitted}, {"ndcg@3": equal})


def test_verdict_keeps_equal_weights_unless_loco_improves_and_no_hard_fold_loses():
    better = [_fold("dev", 0.9, 0.8), _fold("hard1", 0.6, 0.5), _fold("hard2", 0.5, 0.5)]
    decision = verdict(better)
    assert decision.ship and decision.hard == [("hard1", 0.6, 0.5), ("hard2", 0.5, 0.5)]
    assert decision.reason.startswith("ship the fit on all cohorts")
    # better on the mean, but one hard-style fold loses: keep equal weights
    one_hard_worse = [_fold("dev", 0.95, 0.8), _fold("hard1", 0.45, 0.5), _fold("hard2", 0.7, 0.5)]
    decision = verdict(one_hard_worse)
    assert not decision.ship and decision.mean_fitted > decision.mean_equal
    assert "hard1" in decision.reason and "hard2" not in decision.reason
    # no better on the LOCO mean (a draw keeps the simpler equal weights)
    assert not verdict([_fold("dev", 0.8, 0.8), _fold("hard1", 0.5, 0.5)]).ship
    assert not verdict([_fold("dev", 0.7, 0.8), _fold("holdout", 0.85, 0.8)]).ship
    with pytest.raises(ValueError):
        verdict([])


# -- the company's confirmation (issue 11) -------------------------------------------


def _confirmation_cohort(wanted: tuple[str, ...]) -> list[Participant]:
    vague = "Wir brauchen frischen Wind für unseren Betrieb und wissen nicht genau, wo wir anfangen sollen."
    return [
        Participant(id="c", side="production", seeks=vague, offers="Bäckerei", wanted=wanted),
        Participant(id="photo", side="creative", offers="Kamerafrau mit eigenem Schnittplatz, Reportagen.",
                    disciplines=("photo_film",)),
        Participant(id="ux", side="creative", offers="Ich gestalte Bedienoberflächen und teste sie mit Nutzern.",
                    disciplines=("ux",)),
        Participant(id="text", side="creative", offers="Redakteurin, schreibe Reportagen und Magazinbeiträge.",
                    disciplines=("text",)),
    ]


@pytest.mark.parametrize("wanted, first", [(("photo_film",), "photo"), (("ux",), "ux"), (("text",), "text")])
def test_a_confirmed_discipline_ranks_its_creative_first_and_is_named(fake, wanted, first):
    result = Matcher(encoder=fake).suggest(_confirmation_cohort(wanted), top=3, for_ids={"c"})["c"]
    assert result[0].counterpart_id == first
    label = {"photo_film": "Foto, Film & Video", "ux": "UX & Interaction Design", "text": "Text, Redaktion"}[wanted[0]]
    assert result[0].reason("de").startswith(f"Gewünscht ist {label}")
    assert "genau das ist das Fach auf der kreativen Seite" in result[0].reason("de")
    assert "is what is wanted" in result[0].reason("en")


def test_the_confirmation_replaces_the_estimated_need_and_no_choice_keeps_it(fake, vectors):
    from matching.bridge import confirmed_need, wanted_matrix

    people = [Participant(id="a", side="production", wanted=("ux", "text")), Participant(id="b", side="production")]
    need = np.full((2, len(CODES)), 1 / len(CODES), np.float32)
    out = confirmed_need(need, wanted_matrix(people))
    assert out[0, CODES.index("ux")] == out[0, CODES.index("text")] == pytest.approx(0.5)
    assert out[0].sum() == pytest.approx(1.0) and np.array_equal(out[1], need[1])
    # a cohort without the field ranks exactly as before
    cohort = _confirmation_cohort(())
    assert not any("Gewünscht" in s.reason("de") for s in Matcher(encoder=fake).suggest(cohort, top=3)["c"])


def test_suggested_disciplines_are_the_few_that_stand_out(fake, vectors):
    from matching.bridge import HINT_MAX, suggested_disciplines

    bank = load_exemplars()
    problem = bank["music_sound"].problems[0].text
    hint = suggested_disciplines(CachedEncoder(fake, None), problem)
    assert hint and hint[0] == "music_sound" and len(hint) <= HINT_MAX
    assert suggested_disciplines(CachedEncoder(fake, None), "  ") == []


async def test_no_hint_when_the_model_is_not_available():
    from handlers.suggestions import MatchingService

    class Broken:
        name, symmetric = "broken", True

        def encode_queries(self, texts, **_):
            raise RuntimeError("no model here")

        encode_passages = encode_queries

    service = MatchingService(None)
    service._encoder = Broken()
    assert await service.discipline_hint("Unsere Website ist von 2009 und niemand findet uns.") is None
