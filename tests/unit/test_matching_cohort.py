"""Cohort files and the `crosslab match` / `match-eval` commands (fake model)."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import matching.cli as cli
from matching import Matcher
from matching.cohort import CohortError, load_cohort, parse_cohort
from matching.evaluation import evaluate, hit_at_k, ndcg_at_k, reciprocal_rank
from matching.fusion import DEFAULT_RANKING, RANKINGS
from matching.testing import FakeEncoder

OTHER = next(r for r in RANKINGS if r != DEFAULT_RANKING)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HOLDOUT = FIXTURES / "cohort_holdout.json"


def person(pid, side, **extra):
    base = {"id": pid, "side": side, "name": pid.upper(), "organisation": "", "language": "de",
            "offers": "", "seeks": ""}
    base.update(extra)
    return base


def object_lines(text: str) -> list[int]:
    """Line numbers of the participant objects in a generated cohort text."""
    return [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "{"][1:]


def cohort_text(*people, relevance=None) -> str:
    data = {"participants": list(people)}
    if relevance is not None:
        data["relevance"] = relevance
    return json.dumps(data, indent=1, ensure_ascii=False)


@pytest.fixture(autouse=True)
def fake_model(monkeypatch):
    monkeypatch.setattr(cli, "_matcher", lambda model=None, **kw: Matcher(encoder=FakeEncoder(), **kw))


def test_fixture_cohorts_load():
    for path in FIXTURES.glob("cohort_*.json"):
        cohort = load_cohort(path)
        assert cohort.participants and cohort.relevance
        assert all(p.id in cohort.lines for p in cohort.participants)


def test_extra_keys_and_optional_fields():
    text = cohort_text(
        person("a", "production", sector="Tischlerei", languages=["de", "en"], note="anything"),
        person("b", "creative", disciplines=["ux"], paused=True),
    )
    cohort = parse_cohort(text)
    a, b = cohort.participants
    assert a.sector == "Tischlerei" and a.languages == ("de", "en") and b.disciplines == ("ux",) and b.paused


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda p: p[1].pop("seeks"), "has no 'seeks'"),
        (lambda p: p[1].update(side="designer"), "unknown side 'designer'"),
        (lambda p: p[1].update(id="a"), "duplicate id 'a' (first on line 3)"),
        (lambda p: p[1].update(offers=3), "'offers' must be a string"),
        (lambda p: p[1].update(languages="de"), "'languages' must be a list"),
        (lambda p: p[1].update(disciplines=["knitting"]), "unknown discipline(s) 'knitting'"),
    ],
)
def test_malformed_participants_are_rejected_with_their_line(mutate, message):
    people = [person("a", "production"), person("b", "creative"), person("c", "creative")]
    mutate(people)
    text = cohort_text(*people)
    line = object_lines(text)[1]
    assert object_lines(text)[0] == 3
    with pytest.raises(CohortError) as err:
        parse_cohort(text, "cohort.json")
    assert err.value.line == line and message in str(err.value)
    assert str(err.value).startswith(f"cohort.json:{line}: ")


def test_invalid_json_and_shape():
    with pytest.raises(CohortError, match=r"c.json:3: invalid JSON"):
        parse_cohort('{"participants": [\n {"id": "a",\n  "side": }\n]}', "c.json")
    with pytest.raises(CohortError, match="participants"):
        parse_cohort('{"people": []}')
    with pytest.raises(CohortError, match="top level"):
        parse_cohort("[]")
    with pytest.raises(CohortError, match="unknown participant 'zz'"):
        parse_cohort(cohort_text(person("a", "production"), person("b", "creative"), relevance={"a": {"zz": 2}}))
    with pytest.raises(CohortError, match="file not found"):
        load_cohort(FIXTURES / "no-such-file.json")


def run(fn, *args, **kwargs):
    out = io.StringIO()
    code = fn(*args, out=out, **kwargs)
    return code, out.getvalue()


def test_match_json_prints_exactly_one_object_for_everyone(capsys):
    code, out = run(cli.run_match, str(HOLDOUT), top=3, as_json=True)
    assert code == 0
    data = json.loads(out)
    cohort = load_cohort(HOLDOUT)
    assert list(data) == [p.id for p in cohort.participants]
    sides = {p.id: p.side for p in cohort.participants}
    for pid, counterparts in data.items():
        assert len(counterparts) == 3 and all(sides[c] != sides[pid] for c in counterparts)
    assert capsys.readouterr().out == ""  # nothing else went to the real stdout


def test_match_table_has_reasons_in_the_participants_language():
    code, out = run(cli.run_match, str(HOLDOUT), top=2, as_json=False)
    assert code == 0
    assert "Backhaus Riedel [h-p01, production]" in out
    assert "Die Herausforderung" in out and "The challenge" in out  # de and en participants


def test_match_rejects_a_broken_cohort_on_stderr(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    text = cohort_text(person("a", "production"), person("a", "creative"))
    bad.write_text(text, encoding="utf-8")
    code, out = run(cli.run_match, str(bad), top=3, as_json=True)
    err = capsys.readouterr().err
    assert code == 2 and out == ""
    assert f"{bad}:{object_lines(text)[1]}: duplicate id 'a'" in err
    assert run(cli.run_match, str(HOLDOUT), top=0)[0] == 2


def test_match_eval_prints_metrics_and_baselines():
    code, out = run(cli.run_match_eval, str(HOLDOUT), k=3)
    assert code == 0
    lines = out.splitlines()
    assert "nDCG@3" in lines[1] and "hit@3" in lines[1] and "MRR" in lines[1]
    assert [line.split("  ")[0] for line in lines[2:6]] == [
        f"crosslab matcher ({DEFAULT_RANKING})", f"other ranking ({OTHER})", "baseline: TF-IDF char 2-5", "baseline: random"]


def test_match_eval_needs_labels(tmp_path, capsys):
    path = tmp_path / "c.json"
    path.write_text(cohort_text(person("a", "production"), person("b", "creative")), encoding="utf-8")
    assert run(cli.run_match_eval, str(path))[0] == 2
    assert "no \"relevance\"" in capsys.readouterr().err


def test_metrics():
    grades = {"a": 2, "b": 1}
    assert ndcg_at_k(["a", "b", "x"], grades, 3) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "y", "z"], grades, 3) == 0.0
    assert 0 < ndcg_at_k(["b", "a"], grades, 3) < 1
    assert hit_at_k(["x", "y", "b"], grades, 3) == 1.0 and hit_at_k(["x", "y", "z", "a"], grades, 3) == 0.0
    assert reciprocal_rank(["x", "b"], grades) == 0.5
    scores = evaluate({"q": ["a", "x"]}, {"q": grades, "empty": {}}, k=3)
    assert scores["queries"] == 1 and scores["hit@3"] == 1.0 and scores["mrr"] == 1.0


def test_match_eval_prints_both_rankings_and_the_ablations():
    code, out = run(cli.run_match_eval, str(HOLDOUT), k=3, ranking="fused")
    assert code == 0
    names = [line[:34].strip() for line in out.splitlines()]
    assert names[2:4] == ["crosslab matcher (fused)", "other ranking (classic)"]
    assert "ablations of the fused ranking (equal weights over the signals named):" in out
    for signal in ("dense", "bridge", "stems", "lexical"):
        assert f"{signal} alone" in names and f"all minus {signal}" in names
    code, out = run(cli.run_match_eval, str(HOLDOUT), k=3, ranking="classic", ablations=False)
    assert code == 0 and "ablations" not in out and "crosslab matcher (classic)" in out
    assert run(cli.run_match_eval, str(HOLDOUT), ranking="best")[0] == 2


def test_match_eval_loco_prints_a_fold_per_cohort(capsys):
    paths = [str(HOLDOUT), str(FIXTURES / "cohort_hard1.json"), str(FIXTURES / "cohort_holdout2.json")]
    code, out = run(cli.run_match_loco, paths, k=3)
    assert code == 0, capsys.readouterr().err
    lines = out.splitlines()
    assert lines[0].startswith("leave-one-cohort-out over 3 cohorts")
    assert [line.split()[0] for line in lines[2:6]] == ["holdout", "hard1", "holdout2", "mean"]
    assert lines[6].startswith("mean hard ")  # the hard-style folds alone (here hard1)
    assert lines[6].split()[2:5] == lines[3].split()[5:8]  # = hard1's fitted nDCG / hit / MRR
    assert lines[7].startswith("fit on all cohorts: dense=")
    assert lines[8].startswith("verdict: ship the fit on all cohorts") or lines[8].startswith("verdict: keep equal weights")
    assert run(cli.run_match_loco, [str(HOLDOUT)])[0] == 2


def test_match_eval_command_line_options(monkeypatch):
    from bot import cli as bot_cli

    seen = {}
    monkeypatch.setattr(cli, "run_match_loco", lambda paths, k=3, model=None: seen.setdefault("loco", (paths, k)) and 0)
    monkeypatch.setattr(cli, "run_match_eval", lambda path, k=3, model=None, ranking=None, ablations=True:
                        seen.setdefault("eval", (path, ranking, ablations)) and 0)
    assert bot_cli.main(["match-eval", "--loco"]) == 0 and seen["loco"] == (None, 3)
    assert bot_cli.main(["match-eval", "--cohort", "a.json", "--ranking", "classic", "--no-ablations"]) == 0
    assert seen["eval"] == ("a.json", "classic", False)
    assert bot_cli.main(["match-eval", "--cohort", "a.json", "--cohort", "b.json"]) == 2
