"""Scoring, constraints, reciprocity and top-k (fake embeddings, no model)."""
from __future__ import annotations

import random

import numpy as np
import pytest

from matching import Matcher, Participant, ScoringWeights
from matching.testing import FakeEncoder


def matcher(**kwargs) -> Matcher:
    kwargs.setdefault("ranking", "classic")  # this module tests the classic scorer (fused: test_matching_fusion)
    return Matcher(encoder=FakeEncoder(), **kwargs)


def company(pid, seeks, offers="", **kw):
    return Participant(pid, "production", offers=offers, seeks=seeks, **kw)


def creative(pid, offers, seeks="", **kw):
    return Participant(pid, "creative", offers=offers, seeks=seeks, **kw)


COHORT = [
    company("c-bakery", "Wir finden keine Auszubildenden mehr, niemand bewirbt sich.", "Bäckerei mit drei Filialen"),
    company("c-robot", "Operators find our control software confusing and make mistakes.", "Robot cells"),
    company("c-shop", "Wir wollen unsere Möbel online verkaufen, haben aber keinen Shop.", "Tischlerei"),
    creative("k-video", "Recruiting-Videos und Employer Branding auf TikTok für Handwerksbetriebe."),
    creative("k-ux", "UX-Designerin: Bedienkonzepte, Benutzeroberflächen, Nutzertests."),
    creative("k-web", "Webentwickler: Onlineshops mit Shopify, Produktfotos."),
    creative("k-sound", "Sounddesign und Musik für Imagefilme."),
]


def ids(suggestions):
    return [s.counterpart_id for s in suggestions]


def test_each_company_gets_the_creative_that_solves_its_challenge():
    result = matcher().suggest(COHORT, top=2)
    assert ids(result["c-bakery"])[0] == "k-video"
    assert ids(result["c-robot"])[0] == "k-ux"
    assert ids(result["c-shop"])[0] == "k-web"
    assert ids(result["k-ux"])[0] == "c-robot"  # and the other way round


def test_suggestions_only_cross_sides_and_cover_everyone():
    result = matcher().suggest(COHORT, top=10)
    assert set(result) == {p.id for p in COHORT}
    for p in COHORT:
        others = {q.id for q in COHORT if q.side != p.side}
        assert set(ids(result[p.id])) == others
        scores = [s.score for s in result[p.id]]
        assert scores == sorted(scores, reverse=True)


def test_paused_and_deleted_people_are_neither_served_nor_suggested():
    people = COHORT + [creative("k-paused", "Recruiting-Videos für Azubis", paused=True),
                       creative("k-gone", "Employer Branding für Azubis", deleted=True)]
    result = matcher().suggest(people, top=10)
    assert result["k-paused"] == [] and result["k-gone"] == []
    assert not {"k-paused", "k-gone"} & set(ids(result["c-bakery"]))


def test_excluded_pairs_in_either_order():
    result = matcher().suggest(COHORT, top=10, exclude_pairs=frozenset({("k-video", "c-bakery"), ("c-robot", "k-ux")}))
    assert "k-video" not in ids(result["c-bakery"]) and "c-bakery" not in ids(result["k-video"])
    assert "k-ux" not in ids(result["c-robot"]) and "c-robot" not in ids(result["k-ux"])
    assert len(result["c-bakery"]) == 3


def test_stated_languages_without_overlap_exclude_the_pair():
    people = [
        company("c1", "Wir brauchen Recruiting-Videos", languages=("de",)),
        creative("k-de", "Recruiting-Videos", languages=("de", "en")),
        creative("k-pl", "Recruiting-Videos", languages=("pl",)),
        creative("k-unstated", "Recruiting-Videos", language="en"),
    ]
    result = matcher().suggest(people, top=5)
    assert "k-pl" not in ids(result["c1"]) and result["k-pl"] == []
    assert set(ids(result["c1"])) == {"k-de", "k-unstated"}  # a chat language alone is not a constraint


def test_unknown_language_overlap_is_a_small_penalty_not_an_exclusion():
    people = [
        company("c1", "Wir brauchen Recruiting-Videos", language="de"),
        creative("k-de", "Recruiting-Videos", language="de"),
        creative("k-en", "Recruiting-Videos", language="en"),
    ]
    ranked = matcher().suggest(people, top=5)["c1"]
    assert ids(ranked) == ["k-de", "k-en"]
    assert ranked[0].score - ranked[1].score == pytest.approx(ScoringWeights().language_mismatch, abs=1e-5)


def test_reciprocity_prefers_the_creative_whose_wish_fits_the_company():
    people = [
        company("c1", "Unsere Marke wirkt verstaubt.", "Porzellanmanufaktur, Handwerk seit 1890"),
        creative("k-a", "Markenberatung und Positionierung.", seeks="Möchte mit Softwarefirmen arbeiten."),
        creative("k-b", "Markenberatung und Positionierung.", seeks="Gerne Manufakturen und Handwerk mit Tradition."),
    ]
    m = matcher()
    assert ids(m.suggest(people, top=2)["c1"]) == ["k-b", "k-a"]
    flat = Matcher(encoder=FakeEncoder(), weights={"reciprocal": 0}, ranking="classic")
    scores = {s.counterpart_id: s.score for s in flat.suggest(people, top=2)["c1"]}
    assert scores["k-a"] == pytest.approx(scores["k-b"])  # identical offers: only the wish differs


def test_pair_score_is_the_weighted_harmonic_mean_of_both_directions():
    people = [
        company("c1", "Unsere Marke wirkt verstaubt.", "Porzellanmanufaktur"),
        creative("k1", "Markenberatung und Positionierung.", seeks="Manufakturen mit Tradition"),
        creative("k2", "Markenberatung", seeks=""),
    ]
    w = ScoringWeights()
    signals = matcher().pair_signals(people, [("c1", "k1"), ("k2", "c1")])

    def mean(values, names):
        total = sum(getattr(w, n) for n in names)
        return sum(getattr(w, n) * values[key] for n, key in names.items()) / total

    fwd = {n: n for n in ("dense", "lexical", "taxonomy", "discipline", "sector")}
    bwd = {n: f"backward_{n}" for n in ("dense", "lexical", "taxonomy", "sector")}
    s = signals[("c1", "k1")]
    f, b, eps, r = mean(s, fwd), mean(s, bwd), w.smoothing, w.reciprocal
    expected = (1 + r) / (1 / (f + eps) + r / (b + eps)) - eps
    assert s["score"] == pytest.approx(expected, abs=1e-5)
    s2 = signals[("c1", "k2")]  # no wish: the forward score alone
    assert s2["score"] == pytest.approx(mean(s2, fwd), abs=1e-5)


def test_ties_are_broken_by_id_and_input_order_does_not_matter():
    people = [company("c1", "Wir brauchen Fotos")] + [creative(f"k{i}", "Fotografie") for i in (3, 1, 2)]
    m = matcher()
    first = m.suggest(people, top=2)
    shuffled = people[::-1]
    second = m.suggest(shuffled, top=2)
    assert ids(first["c1"]) == ids(second["c1"]) == ["k1", "k2"]
    assert [ids(v) for v in first.values()] == [ids(second[k]) for k in first]


def test_empty_texts_are_handled():
    people = [company("c-empty", ""), company("c1", "Wir brauchen Fotos"),
              creative("k-empty", ""), creative("k1", "Fotografie")]
    result = matcher().suggest(people, top=2)
    assert ids(result["c1"])[0] == "k1"
    assert len(result["c-empty"]) == 2 and len(result["k-empty"]) == 2
    for items in result.values():
        for s in items:
            assert s.reason("de") and s.reason("en")


def test_for_ids_limits_the_result_but_not_the_ranking():
    m = matcher()
    everything = m.suggest(COHORT, top=3)
    some = m.suggest(COHORT, top=3, for_ids=["c-shop", "k-sound"])
    assert set(some) == {"c-shop", "k-sound"}
    assert ids(some["c-shop"]) == ids(everything["c-shop"])
    assert ids(some["k-sound"]) == ids(everything["k-sound"])
    assert m.suggest(COHORT, top=3, for_ids=["nobody"]) == {}


def test_top_zero_and_one_sided_cohorts():
    m = matcher()
    assert m.suggest(COHORT, top=0) == {p.id: [] for p in COHORT}
    only = [p for p in COHORT if p.side == "creative"]
    assert m.suggest(only, top=3) == {p.id: [] for p in only}
    assert m.suggest([], top=3) == {}


def test_duplicate_ids_are_rejected():
    with pytest.raises(ValueError, match="duplicate"):
        matcher().suggest(COHORT + [creative("k-ux", "x")])


def test_weights_from_mapping_and_dense_free_operation():
    with pytest.raises(ValueError, match="unknown weight"):
        ScoringWeights.from_mapping({"density": 1})
    w = ScoringWeights.from_mapping({"dense": 0, "lexical": 2})
    assert w.dense == 0 and w.lexical == 2 and w.taxonomy == ScoringWeights().taxonomy
    enc = FakeEncoder()
    result = Matcher(encoder=enc, weights=w, ranking="classic").suggest(COHORT, top=1)
    assert enc.embedded == []  # no embeddings needed at all
    assert ids(result["c-robot"]) == ["k-ux"]


def test_participant_normalises_fields():
    p = Participant(7, "creative", languages=["EN", "de", "en"], disciplines=["UX"], offers=None)
    assert p.id == "7" and p.languages == ("en", "de") and p.disciplines == ("ux",) and p.offers == ""
    assert p.working_languages == {"en", "de"}
    assert Participant("x", "production", language="en").working_languages == {"en"}
    with pytest.raises(ValueError):
        Participant("x", "designer")


# -- the chunked, parallel top-k against a brute-force reference ---------------


def random_cohort(seed: int, n_companies: int, n_creatives: int) -> list[Participant]:
    rng = random.Random(seed)
    words = ("Nachwuchs Azubis Recruiting Fotos Fotografie Marke Logo Onlineshop Shopify Verpackung Etikett "
             "Messe Messestand Export Übersetzung Nachhaltigkeit Recycling Dashboard Kennzahlen Handwerk "
             "Tischlerei Bäckerei Software Bedienung Interface Preise Abo Innenarchitektur Laden").split()

    def text(k):
        return " ".join(rng.choice(words) for _ in range(k))

    people = []
    for i in range(n_companies):
        stated = rng.choice([(), (), ("de",), ("en",), ("de", "en")])
        people.append(company(f"c{i:03d}", text(rng.randint(0, 6)), text(rng.randint(0, 3)),
                              language=rng.choice(["de", "de", "en"]), languages=stated, paused=rng.random() < 0.05))
    shared = text(4)  # identical offers create exact ties
    for i in range(n_creatives):
        stated = rng.choice([(), (), ("de",), ("en",), ("de", "en"), ("pl",)])
        offers = shared if rng.random() < 0.15 else text(rng.randint(0, 6))
        people.append(creative(f"k{i:03d}", offers, text(rng.randint(0, 3)) if rng.random() < 0.6 else "",
                               language=rng.choice(["de", "en"]), languages=stated))
    rng.shuffle(people)
    return people


def reference_scores(m: Matcher, people, exclude) -> dict[tuple[str, str], float]:
    """Every pair's score from one full-matrix product (no chunks, no top-k)."""
    prepared = m.prepare(people)
    f = prepared.features
    full = prepared.scorer.block(slice(None), slice(None)) - prepared.scorer.epsilon
    out = {}
    for i, c in enumerate(f.companies):
        for j, k in enumerate(f.creatives):
            excluded = (c.id, k.id) in exclude or (k.id, c.id) in exclude
            out[(c.id, k.id)] = out[(k.id, c.id)] = -np.inf if excluded else float(full[i, j])
    return out


def assert_matches_reference(result, people, reference, top):
    """Same best scores as the brute force; equal ones (up to float rounding
    between differently shaped matrix products) in id order."""
    for p in people:
        if not p.active:
            assert result[p.id] == []
            continue
        others = [q.id for q in people if q.side != p.side and q.active]
        best = sorted((reference[(p.id, q)] for q in others if reference[(p.id, q)] > -1e3), reverse=True)[:top]
        got = result[p.id]
        assert np.allclose([s.score for s in got], best, atol=1e-5), p.id
        for s in got:
            assert s.score == pytest.approx(reference[(p.id, s.counterpart_id)], abs=1e-5)
        for a, b in zip(got, got[1:]):
            if a.score == b.score:
                assert a.counterpart_id < b.counterpart_id


@pytest.mark.parametrize("ranking", ["classic", "fused"])
@pytest.mark.parametrize("chunk_size", [7, 64, None])
def test_chunked_topk_equals_brute_force(chunk_size, ranking):
    people = random_cohort(1, 90, 70)
    exclude = frozenset({("c001", "k002"), ("k010", "c020"), ("c003", "k004")})
    m = Matcher(encoder=FakeEncoder(), chunk_size=chunk_size, ranking=ranking)
    result = m.suggest(people, top=5, exclude_pairs=exclude)
    assert_matches_reference(result, people, reference_scores(m, people, exclude), 5)


@pytest.mark.parametrize("ranking", ["classic", "fused"])
def test_few_creatives_requested_are_scored_on_their_own(ranking):
    people = random_cohort(2, 80, 60)
    m = Matcher(encoder=FakeEncoder(), chunk_size=16, ranking=ranking)
    full = m.suggest(people, top=4)
    wanted = [p.id for p in people if p.side == "creative" and p.active][:3]
    part = m.suggest(people, top=4, for_ids=wanted)
    assert {k: ids(v) for k, v in part.items()} == {k: ids(full[k]) for k in wanted}
