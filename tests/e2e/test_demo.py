"""`crosslab demo` runs end to end (a few participants, both frameworks)."""
from __future__ import annotations

import pytest

from bot.demo import load_cohort, run_demo


@pytest.mark.parametrize("framework", ["aiogram", "ptb"])
def test_demo_onboards_a_small_cohort(framework: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo(framework=framework, limit=3) == 0
    out = capsys.readouterr().out
    assert out.count("✓ profile saved") == 3
    assert "== Stored profiles (3) ==" in out
    _delivery_report(out, participants=3)


def _delivery_report(out: str, participants: int) -> None:
    """The organiser's announcement to the event: one participant blocked the
    bot (403), one send was answered with 429; everyone else got it."""
    assert "== Organiser: /broadcast to the event's participants ==" in out
    assert "one send answered 429" in out
    report = out.split("📊 Zustellbericht")[1]
    for line in (f"Empfänger: {participants}", f"Gesendet: {participants - 1}",
                 "Nicht erreichbar (Bot blockiert, Konto weg): 1", "Fehlgeschlagen: 0",
                 "Unsicher (nach einer Unterbrechung evtl. doppelt): 0"):
        assert line in report, line


def test_demo_rejects_unreadable_cohort(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "cohort.json"
    bad.write_text("{not json", encoding="utf-8")
    assert run_demo(cohort=str(bad)) == 2
    assert "cannot read the cohort file" in capsys.readouterr().err


def test_bundled_cohort_has_both_sides() -> None:
    sides = {p["side"] for p in load_cohort(None)}
    assert sides == {"production", "creative"}


def test_demo_goes_from_onboarding_to_reminders(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.demo import DEFAULT_COHORT, load_relevance

    relevance = load_relevance(None)
    assert relevance, f"{DEFAULT_COHORT} should carry relevance labels"
    # Two companies and their ideal creatives: enough for introductions and meetings.
    assert run_demo(limit=None, framework="aiogram", only=["d-p01", "d-p02", "d-c02", "d-c04", "d-c13"]) == 0
    out = capsys.readouterr().out
    assert "== Introductions ==" in out
    line = next(l for l in out.splitlines() if l.startswith("cards:"))
    assert "'introduced': " in line and "'scheduled': " in line
    reminders = next(l for l in out.splitlines() if l.startswith("reminders received:"))
    got, expected = reminders.split(":")[1].split("(")[0].strip(), reminders.split("up to ")[1].split(":")[0]
    assert int(got) == int(expected) > 0
    # Days pass on a simulated clock: feedback, follow-ups and the organiser's figures.
    assert "== After the meetings (simulated clock) ==" in out and "== Organiser: /stats ==" in out
    import json

    figures = json.loads(out.split("== Figures (JSON) ==\n")[1].splitlines()[0])
    assert figures["meetings_proposed"] >= figures["meetings_held"] > 0
    assert figures["meetings_rated"] > 0 and 1 <= figures["average_rating"] <= 5
    assert figures["outcomes"]["14d"]["answered"] > 0 and figures["outcomes"]["90d"]["pairs"] > 0
    funnel = figures["funnel"]
    assert funnel["registered"]["people"] >= funnel["onboarded"]["people"] >= funnel["met"]["people"] > 0
    assert "[photo: 📊 Der Weg der Teilnehmenden" in out and "Getroffen: " in out
    assert "Durchschnittliche Bewertung" in out
    _delivery_report(out, participants=5)
