"""`crosslab demo --format breakout|speed`: an organiser runs the event's
format through the emulator (approval, plan review, release, the groups'
results or the rounds), on both frameworks, and the demo says whether every
step was delivered."""
from __future__ import annotations

import re

import pytest

from bot.cli import main
from bot.demo import load_cohort
from bot.demo_formats import fits, pick, run_format_demo_cli

# 7 people: 2 companies and 5 creatives, one of whom the organiser declines.
LIMIT = 7


def _checks(out: str) -> list[str]:
    return [line.strip() for line in out.splitlines() if line.startswith(("  ✓ ", "  ✗ "))]


def _common(out: str) -> None:
    checks = _checks(out)
    assert checks and all(c.startswith("✓") for c in checks), checks
    assert "RESULT: OK" in out
    assert f"{LIMIT}/{LIMIT} participants joined by the invitation link" in out
    assert f"✓ {LIMIT} applications reached the organiser" in out
    assert re.search(rf"✓ {LIMIT - 1} approved, 1 declined \(.+\) by pressing the buttons; {LIMIT}/{LIMIT} applicants "
                     "were told the decision", out)
    assert "(declined) is not in the plan and got nothing at the release" in out
    assert "✓ nothing reached the participants during the review" in out
    assert re.search(r"✓ review: lock and swap done, \d+ pair\(s\) locked", out)
    assert "[🔄 Neu berechnen] → 🔄 Neu berechnet, um" in out
    assert "[📤 Jetzt freigeben] → ✅ Plan für" in out


@pytest.mark.parametrize("framework", ["aiogram", "ptb"])
def test_breakout_demo(framework: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_format_demo_cli("breakout", framework=framework, limit=LIMIT) == 0
    out = capsys.readouterr().out
    _common(out)
    # 2 companies and 4 admitted creatives: 2 groups of 1 + 2, all six told their group.
    assert "✓ 6 members got their group (2 groups) with time, place and briefing" in out
    assert "✓ the moderator (the organiser who released) got the profiles of 2/2 groups" in out
    assert "🧩 Ihre Gruppe bei „cp/lab Breakout-Runde“ (Gruppe 1)" in out and "📍 Spinnerei, Halle 14, Leipzig" in out
    assert ("✓ the results of 2 group(s) reached their company (one sent by a member, one bundled by the organiser)"
            in out)
    assert "groups released: 2, members told their group: 6" in out


@pytest.mark.parametrize("framework", ["aiogram", "ptb"])
def test_speed_demo(framework: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_format_demo_cli("speed", framework=framework, limit=LIMIT) == 0
    out = capsys.readouterr().out
    _common(out)
    # 2 tables, 4 admitted creatives: 3 rounds (one fewer than the creatives, so a swap is possible).
    assert "== Organiser: /plan " in out and " speed 3 ==" in out
    assert "✓ 6 people got their agenda (for each of 3 rounds: partner and table, or a break)" in out
    assert "✓ 3 rounds announced: 18/18 pings delivered, one per person and round (6 to companies at their table, " \
           "6 to creatives where to go, 6 breaks)" in out
    for r in (1, 2, 3):
        assert f"/round next → 🔔 Runde {r} von 3 („cp/lab Speed-Meetup“) angekündigt: 2 Gespräche" in out
    assert "/round next → Alle 3 Runden von „cp/lab Speed-Meetup“ sind angekündigt." in out
    assert "rounds: 3, per-person agendas sent: 6" in out


def test_a_wrong_delivery_fails_the_demo(monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The demo checks what arrived: one ping of round 2 that names the wrong
    table makes it fail (exit 1), whatever the bot said it did."""
    import handlers.plans

    real = handlers.plans.round_text
    spoilt: list[int] = []

    def round_text(view, person_id, number, locale):  # type: ignore[no-untyped-def]
        text = real(view, person_id, number, locale)
        if number == 2 and not spoilt and re.search(r"(Tisch|table) \d", text):
            spoilt.append(person_id)
            return re.sub(r"(Tisch|table) (\d+)", lambda m: f"{m.group(1)} {int(m.group(2)) + 7}", text, count=1)
        return text

    monkeypatch.setattr(handlers.plans, "round_text", round_text)
    assert run_format_demo_cli("speed", framework="aiogram", limit=LIMIT) == 1
    out = capsys.readouterr().out
    assert spoilt and "RESULT: FAILED" in out
    assert "✗ 3 rounds announced: 17/18 pings delivered" in out
    assert "✗ round 2, " in out


def test_pick_keeps_both_sides() -> None:
    cohort = load_cohort(None)
    chosen = pick(cohort, 7)
    assert len(chosen) == 7 and sum(p["side"] == "production" for p in chosen) == 2
    assert [p["id"] for p in chosen] == [p["id"] for p in cohort if p in chosen]  # the cohort's order
    assert pick(cohort, None) == cohort and len(pick(cohort, 3)) == 3
    assert {p["side"] for p in pick(cohort, 3)} == {"production", "creative"}


def test_fits_reads_a_text_with_unknown_fields() -> None:
    text = "🔔 Runde 2 von 3 beginnt: An Tisch 1 kommt Ben Okafor – Foto.\nWorüber: Produktfotos"
    assert fits(text, "de", "round.ping_company", round=2, rounds=3, table=1)
    assert not fits(text, "de", "round.ping_company", round=2, rounds=3, table=2)
    assert not fits(text, "en", "round.ping_company", round=2, rounds=3, table=1)


def test_cli_demo_format(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import _build_parser

    parser = _build_parser()
    assert parser.parse_args(["demo"]).demo_format == "open"  # the 1:1 open-networking demo, as before
    assert parser.parse_args(["demo", "--format", "open"]).demo_format == "open"
    assert main(["demo", "--format", "speed", "--limit", "1"]) == 2
    assert "needs companies and creatives" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["demo", "--format", "banquet"])
