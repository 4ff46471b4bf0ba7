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
from matching.testing import FakeEncoder

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
    monkeypatch.setattr(cli, "_matcher", lambda model=None: Matcher(encoder=FakeEncoder()))


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
    assert [line.split("  ")[0] for line in lines[2:5]] == ["crosslab matcher", "baseline: TF-IDF char 2-5", "baseline: random"]


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
