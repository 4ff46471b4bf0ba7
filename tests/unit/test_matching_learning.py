"""Learning from meeting feedback (matching.learning): exclusions, the learned
cell prior, its bound and cold start (fake embeddings, no model)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from matching import FeedbackModel, FeedbackObservation, Matcher, Participant, bad_pairs
from matching.learning import clean_rating, outcome
from matching.testing import FakeEncoder


def matcher() -> Matcher:
    return Matcher(encoder=FakeEncoder(), ranking="classic")  # the bounds are on the classic scale; fused: test_matching_fusion


def company(pid, seeks, offers="", **kw):
    return Participant(pid, "production", offers=offers, seeks=seeks, **kw)


def creative(pid, offers, seeks="", **kw):
    return Participant(pid, "creative", offers=offers, seeks=seeks, **kw)


def ids(suggestions):
    return [s.counterpart_id for s in suggestions]


def obs(c, k, rating=None, cont=None):
    return FeedbackObservation(company=c, creative=k, rating=rating, wants_to_continue=cont)


# a recruiting challenge ("Y"); photo/film ("X") and marketing ("Z") creatives
# both fit it by text, so what earlier meetings said decides between them
NEW = company("c-new", "Wir finden keine Auszubildenden, niemand bewirbt sich bei uns.", "Zimmerei")
PHOTO = [
    creative("k-photo1", "Fotografin: Reportagen und Porträts aus Betrieben, auch für Stellenanzeigen.", disciplines=("photo_film",)),
    creative("k-photo2", "Filmemacher: kurze Filme über Ausbildungsberufe und Betriebe.", disciplines=("photo_film",)),
]
MARKETING = [
    creative("k-mkt1", "Social-Media-Kampagnen für Azubi-Recruiting und Stellenanzeigen auf Instagram.", disciplines=("marketing",)),
    creative("k-mkt2", "Online-Marketing: Recruiting-Kampagnen, Bewerbermanagement, Karriereseiten.", disciplines=("marketing",)),
]
OTHER = [
    creative("k-sound", "Sounddesign und Musik für Hörspiele.", disciplines=("music_sound",)),
    creative("k-ux", "UX-Designerin: Bedienkonzepte und Nutzertests für Maschinen.", disciplines=("ux",)),
]
COHORT = [NEW, company("c-robot", "Operators find our control software confusing."), *PHOTO, *MARKETING, *OTHER]

# earlier meetings of *other* companies with recruiting challenges
PAST_COMPANIES = [
    company(f"c-past{i}", text)
    for i, text in enumerate([
        "Uns fehlen Lehrlinge, die Schulabgänger bewerben sich nicht.",
        "Wir suchen dringend Fachkräfte und Azubis für unsere Bäckerei.",
        "Nachwuchs fehlt: keiner will den Beruf lernen.",
    ])
]
PAST_PHOTO = [creative(f"k-pastphoto{i}", "Fotograf und Videograf", disciplines=("photo_film",)) for i in range(3)]
PAST_MKT = [creative(f"k-pastmkt{i}", "Werbeagentur, Kampagnen", disciplines=("marketing",)) for i in range(3)]


def past_feedback(repeat: int = 4) -> list[FeedbackObservation]:
    out = []
    for _ in range(repeat):
        for c in PAST_COMPANIES:
            out += [obs(c, k, 5, "yes") for k in PAST_PHOTO]
            out += [obs(c, k, 2, "no") for k in PAST_MKT]
    return out


def scores_of(suggestions):
    return {s.counterpart_id: s.score for s in suggestions}


# -- cold start ----------------------------------------------------------------


def test_cold_start_is_identical_to_no_feedback():
    m = matcher()
    base = m.suggest(COHORT, top=10)
    for model in (FeedbackModel.fit([]), FeedbackModel.fit([obs(NEW, PHOTO[0])])):  # nothing usable either
        assert model.is_empty() and model.n_observations == 0
        with_model = m.suggest(COHORT, top=10, feedback=model)
        assert with_model.keys() == base.keys()
        for pid in base:
            assert [(s.counterpart_id, s.score) for s in with_model[pid]] == [(s.counterpart_id, s.score) for s in base[pid]]
            assert [dict(s.reasons) for s in with_model[pid]] == [dict(s.reasons) for s in base[pid]]
        assert model.adjustment(NEW, PHOTO[0]) == 0.0
    prepared = m.prepare(COHORT)
    a = m.rank(prepared, top=3, for_ids={"k-photo1"})
    b = m.rank(prepared, top=3, for_ids={"k-photo1"}, feedback=FeedbackModel.fit([]))
    assert [(s.counterpart_id, s.score) for s in a["k-photo1"]] == [(s.counterpart_id, s.score) for s in b["k-photo1"]]


# -- learning moves rankings in the expected direction ---------------------------


def test_positive_and_negative_feedback_move_disciplines_for_a_new_company():
    m = matcher()
    before = m.suggest(COHORT, top=10)["c-new"]
    model = FeedbackModel.fit(past_feedback())
    assert not model.is_empty() and model.n_observations == len(past_feedback())
    after = m.suggest(COHORT, top=10, feedback=model)["c-new"]
    s0, s1 = scores_of(before), scores_of(after)
    for k in PHOTO:
        assert s1[k.id] > s0[k.id]
    for k in MARKETING:
        assert s1[k.id] < s0[k.id]
    rank0, rank1 = ids(before), ids(after)
    assert sum(rank1.index(k.id) for k in PHOTO) < sum(rank0.index(k.id) for k in PHOTO)
    assert sum(rank1.index(k.id) for k in MARKETING) > sum(rank0.index(k.id) for k in MARKETING)
    # by text alone both marketing creatives came first; now a photographer
    # overtakes one of them (the best text match keeps its place: a nudge, not a veto)
    assert rank0[:2] == ["k-mkt1", "k-mkt2"]
    assert rank1.index("k-photo1") < rank1.index("k-mkt2") and rank1.index("k-photo2") < rank1.index("k-mkt2")
    # unrelated disciplines are untouched (no cell learned for them)
    assert s1["k-sound"] == pytest.approx(s0["k-sound"], abs=1e-6)
    # the creative's view of the same pair shows the same score
    mine = scores_of(m.suggest(COHORT, top=10, feedback=model, for_ids={"k-photo1"})["k-photo1"])
    assert mine["c-new"] == pytest.approx(s1["k-photo1"], abs=1e-5)


def test_few_ratings_nudge_many_move():
    one = FeedbackModel.fit(past_feedback(repeat=1)[:1])
    many = FeedbackModel.fit(past_feedback(repeat=20))
    a1, a_many = one.adjustment(NEW, PHOTO[0]), many.adjustment(NEW, PHOTO[0])
    assert 0 < a1 < 0.2 * one.max_adjustment and a_many > 0.5 * many.max_adjustment and a_many > 3 * a1
    assert many.adjustment(NEW, MARKETING[0]) < 0
    assert abs(a_many) <= many.max_adjustment


def test_adjustment_matches_the_matcher_and_pair_signals():
    m = matcher()
    model = FeedbackModel.fit(past_feedback())
    plain = m.pair_signals(COHORT, [("c-new", "k-photo1"), ("k-mkt1", "c-new")])
    learned = m.pair_signals(COHORT, [("c-new", "k-photo1"), ("k-mkt1", "c-new")], feedback=model)
    for pair, row in learned.items():
        c = NEW
        k = next(p for p in COHORT if p.id == pair[1])
        assert row["feedback"] == pytest.approx(model.adjustment(c, k), abs=1e-6)
        assert row["score"] == pytest.approx(plain[pair]["score"] + row["feedback"], abs=1e-5)
        assert "feedback" not in plain[pair]


# -- exclusions ---------------------------------------------------------------------


def test_bad_pairs_are_excluded_for_both_people():
    feedback = [
        obs(NEW, PHOTO[0], 2, "maybe"),     # low rating
        obs(NEW, MARKETING[0], 5, "no"),    # "no" outweighs a good rating
        obs(PHOTO[1], NEW, 1, None),        # given the wrong way round
        obs(NEW, MARKETING[1], 3, "maybe"),  # fine
        obs(NEW, OTHER[0], 0, None),         # out of range: ignored, not a bad rating
        obs(NEW, OTHER[1], None, None),
    ]
    bad = bad_pairs(feedback)
    assert bad == {("c-new", "k-photo1"), ("c-new", "k-mkt1"), ("c-new", "k-photo2")}
    result = matcher().suggest(COHORT, top=10, exclude_pairs=bad)
    for cid, kid in bad:
        assert kid not in ids(result[cid])
        assert cid not in ids(result[kid])
    assert "k-mkt2" in ids(result["c-new"]) and "k-sound" in ids(result["c-new"])
    assert len(result["c-new"]) == len(COHORT) - 2 - len(bad)


# -- bounded ---------------------------------------------------------------------


def test_hundreds_of_ratings_cannot_lift_an_unrelated_creative_over_a_strong_match():
    strong = creative("k-strong", "Recruiting-Videos und Azubi-Kampagnen: wir bringen Schulabgänger in Ihren Betrieb.",
                      disciplines=("marketing",))
    unrelated = creative("k-unrelated", "Sounddesign und Musik für Hörspiele.", disciplines=("music_sound",))
    people = [NEW, strong, unrelated]
    sound = [creative(f"k-s{i}", "Musik", disciplines=("music_sound",)) for i in range(5)]
    mkt = [creative(f"k-m{i}", "Werbung", disciplines=("marketing",)) for i in range(5)]
    feedback = []
    for _ in range(20):
        for c in PAST_COMPANIES:
            feedback += [obs(c, k, 5, "yes") for k in sound] + [obs(c, k, 1, "no") for k in mkt]
    model = FeedbackModel.fit(feedback)
    assert model.n_observations == 600
    m = matcher()
    before = scores_of(m.suggest(people, top=5)["c-new"])
    after = m.suggest(people, top=5, feedback=model)["c-new"]
    assert ids(after) == ["k-strong", "k-unrelated"]
    for kid, score in scores_of(after).items():
        assert abs(score - before[kid]) <= model.max_adjustment + 1e-6
    # the model learned as much as it can: the cells sit near the bound
    assert model.adjustment(NEW, unrelated) > 0.7 * model.max_adjustment
    assert model.adjustment(NEW, strong) < -0.7 * model.max_adjustment
    # so the guarantee is the bound: any gap above 2 × max_adjustment survives
    assert before["k-strong"] - before["k-unrelated"] > 2 * model.max_adjustment


def test_adjustment_is_bounded_for_every_pair():
    model = FeedbackModel.fit(past_feedback(repeat=50), max_adjustment=0.05)
    m = matcher()
    base = m.suggest(COHORT, top=10)
    learned = m.suggest(COHORT, top=10, feedback=model)
    for pid in base:
        b, a = scores_of(base[pid]), scores_of(learned[pid])
        assert b.keys() == a.keys()
        assert all(abs(a[x] - b[x]) <= 0.05 + 1e-6 for x in b)


# -- robust input --------------------------------------------------------------------


def test_unusable_ratings_and_missing_disciplines_are_handled():
    bare_company = company("c-bare", "")  # no challenge text: no challenge type
    bare_creative = creative("k-bare", "")  # neither disciplines nor text
    c = PAST_COMPANIES[0]
    feedback = [
        obs(c, PAST_PHOTO[0], None, None),   # nothing said: ignored
        obs(c, PAST_PHOTO[0], 0, None),       # out of range
        obs(c, PAST_PHOTO[0], 6, "perhaps"),  # out of range, unknown answer
        obs(c, PAST_PHOTO[0], True, None),    # a bool is no rating
        obs(c, PAST_PHOTO[0], 4.5, None),     # not an integer
        obs(c, c, 5, "yes"),                  # same side: ignored
        obs(c, PAST_PHOTO[0], "5", " YES "),  # tolerated spelling
        obs(c, bare_creative, 5, "yes"),      # usable, but adds no cell weight
        obs(bare_company, PAST_PHOTO[1], 1, "no"),
    ]
    model = FeedbackModel.fit(feedback)
    assert model.n_observations == 3 and model.describe()["n_ignored"] == 6
    assert model.adjustment(bare_company, PAST_PHOTO[0]) == 0.0
    assert model.adjustment(NEW, bare_creative) == 0.0
    assert model.adjustment(NEW, PAST_PHOTO[0]) > 0
    assert clean_rating(4.0) == 4 and clean_rating("x") is None and clean_rating(float("nan")) is None
    assert outcome(None, "maybe") == 0.0 and outcome(1, "no") == -1.0 and outcome(5, None) == 1.0
    # a cohort with a bare participant still ranks
    result = matcher().suggest(COHORT + [bare_company, bare_creative], top=10, feedback=model)
    assert "k-bare" in ids(result["c-new"])
    assert bad_pairs(feedback) == {("c-bare", "k-pastphoto1")}


def test_describe_is_json_and_names_the_learned_cells():
    model = FeedbackModel.fit(past_feedback())
    info = json.loads(json.dumps(model.describe()))
    assert info["n_observations"] == len(past_feedback())
    top = {(c["challenge_type"], c["discipline"]): c for c in info["cells"]}
    assert top[("recruiting", "photo_film")]["adjustment"] > 0
    assert top[("recruiting", "marketing")]["adjustment"] < 0
    assert set(info["hyper"]) >= {"pseudo_count", "max_adjustment"}
    assert FeedbackModel.fit([]).describe()["cells"] == []


def test_reason_mentions_earlier_meetings_only_when_they_lifted_the_pair():
    m = matcher()
    model = FeedbackModel.fit(past_feedback(repeat=10))
    top = m.suggest(COHORT, top=2, feedback=model)["c-new"][0]
    assert top.counterpart_id in {k.id for k in PHOTO}
    assert "In earlier meetings, Photo, film & video for “Recruiting & young talent” was rated well" in top.reason("en")
    assert "In früheren Treffen wurde Foto, Film & Video bei „Nachwuchs & Fachkräfte gewinnen“ gut bewertet" in top.reason("de")
    lowered = scores_of(m.suggest(COHORT, top=10, feedback=model)["c-new"])
    assert "k-mkt1" in lowered
    mkt = next(s for s in m.suggest(COHORT, top=10, feedback=model)["c-new"] if s.counterpart_id == "k-mkt1")
    assert "earlier meetings" not in mkt.reason("en")
    plain = m.suggest(COHORT, top=2)["c-new"][0]
    assert "earlier meetings" not in plain.reason("en")
    # a single rating is too little evidence to claim anything
    weak = FeedbackModel.fit(past_feedback(repeat=1)[:1])
    assert "earlier meetings" not in m.suggest(COHORT, top=2, feedback=weak)["c-new"][0].reason("en")


def test_hyper_parameters_are_checked():
    with pytest.raises(ValueError):
        FeedbackModel.fit([], pseudo_count=0)
    assert np.all(FeedbackModel.fit(past_feedback(), max_adjustment=0).describe()["cells"][0]["adjustment"] == 0)
    assert FeedbackModel.fit(past_feedback(), max_adjustment=0).is_empty()
