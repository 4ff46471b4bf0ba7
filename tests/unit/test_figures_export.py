"""The funnel of `/stats` (who got how far), its chart, and the CSV files of
`/export` (Excel as used in Germany), on plain rows."""
from __future__ import annotations

import csv
import io
import struct
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from db.uow import ReportRows
from handlers.export import TABLES, build, csv_bytes
from handlers.figures import (FUNNEL, Funnel, FunnelStep, approved, chart_png, chart_texts, compute, funnel, reached,
                              render)

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2027, 3, 2, 9, 30, tzinfo=timezone.utc)


def person(i: int) -> SimpleNamespace:
    return SimpleNamespace(id=i, telegram_id=700000 + i, username=f"user{i}", consent_at=AT)


def profile(i: int, side: str | None, done: bool = True, **extra: object) -> SimpleNamespace:
    return SimpleNamespace(person_id=i, side=side, completed_at=AT if done else None, name=f"Person {i}",
                           organisation=extra.get("organisation", "Werkstatt"), sector=extra.get("sector"),
                           disciplines=extra.get("disciplines"), seeks="Unser Problem", offers="Meine Stärken")


def world() -> ReportRows:
    """Eight people in an event:
    1 company, 2 creative: introduced, met (meeting held), both want to continue;
    3 company, 4 creative: introduced; 3 says the meeting fell through, 4 says they met (so the
       pair met), and 4 only "maybe" wants to continue;
    5 creative: a card shown, declined; 6 company: only a pending card (not yet seen);
    7 creative: profile not finished (but a stray suggestion row); 8: only consented (no profile)."""
    people = [(person(1), profile(1, "production")), (person(2), profile(2, "creative")),
              (person(3), profile(3, "production")), (person(4), profile(4, "creative")),
              (person(5), profile(5, "creative")), (person(6), profile(6, "production")),
              (person(7), profile(7, "creative", done=False)), (person(8), None)]
    sug = lambda i, who, whom, status, shown=True: SimpleNamespace(  # noqa: E731
        id=i, person_id=who, counterpart_id=whom, status=status, shown_at=AT if shown else None, score=0.5,
        created_at=AT, answered_at=None)
    suggestions = [sug(1, 1, 2, "interested"), sug(2, 2, 1, "interested"), sug(3, 3, 4, "interested"),
                   sug(4, 4, 3, "interested"), sug(5, 5, 1, "declined"), sug(6, 6, 2, "pending", shown=False),
                   sug(7, 7, 1, "shown")]
    pair = lambda i, c, k, status="introduced": SimpleNamespace(  # noqa: E731
        id=i, company_id=c, creative_id=k, status=status, company_answer="interested", creative_answer="interested",
        created_at=AT, introduced_at=AT)
    pairs = [pair(1, 1, 2), pair(2, 3, 4), pair(3, 1, 5, "declined")]
    meeting = lambda i, p, status: SimpleNamespace(  # noqa: E731
        id=i, pair_id=p, status=status, starts_at=AT, duration_min=45, place_kind="onsite", created_at=AT)
    meetings = [meeting(1, 1, "held"), meeting(2, 2, "fell_through")]
    fb = lambda i, m, who, met, cont=None, rating=None, text=None: SimpleNamespace(  # noqa: E731
        id=i, meeting_id=m, person_id=who, met=met, wants_to_continue=cont, rating=rating, text=text, step="done",
        asked_at=AT, answered_at=AT)
    feedback = [fb(1, 1, 1, "yes", "yes", 5, "Toll"), fb(2, 1, 2, "yes", "yes", 4),
                fb(3, 2, 3, "no"), fb(4, 2, 4, "yes", "maybe", 3)]
    memberships = [SimpleNamespace(event_id=1, person_id=i, joined_at=AT, status="approved") for i in range(1, 9)]
    events = [SimpleNamespace(id=1, name="Werkstattrunde", slug="evX")]
    return ReportRows(event_id=1, people=people, memberships=memberships, events=events,  # type: ignore[arg-type]
                      suggestions=suggestions, pairs=pairs, meetings=meetings, feedback=feedback, outcomes=[])


def test_each_step_counts_who_got_that_far_and_never_widens() -> None:
    rows = world()
    steps = reached(rows)
    assert list(steps) == list(FUNNEL)
    assert steps["registered"] == set(range(1, 9))
    assert steps["onboarded"] == {1, 2, 3, 4, 5, 6}  # 7 did not finish, 8 has no profile
    assert steps["approved"] == steps["onboarded"]  # for now: approved = profile completed
    assert steps["matched"] == {1, 2, 3, 4, 5}  # 6's card is still pending; 7's stray card: not onboarded
    assert steps["introduced"] == {1, 2, 3, 4}  # pair 1–5 was declined
    assert steps["met"] == {1, 2, 3, 4}  # meeting 2: one side says they met
    assert steps["continued"] == {1, 2}  # 4 said maybe
    for before, after in zip(FUNNEL, FUNNEL[1:]):
        assert steps[after] <= steps[before]


def test_funnel_counts_per_side_and_shares() -> None:
    fun = funnel(world())
    assert [(s.step, s.people) for s in fun.steps] == [
        ("registered", 8), ("onboarded", 6), ("approved", 6), ("matched", 5), ("introduced", 4), ("met", 4),
        ("continued", 2)]
    registered = fun.steps[0]
    assert registered.sides == {"production": 3, "creative": 4, "": 1}
    assert fun.steps[-1].sides == {"production": 1, "creative": 1, "": 0}
    assert fun.share(fun.steps[3]) == 5 / 8 and fun.count("met") == 4
    assert Funnel([FunnelStep(s, 0, {}) for s in FUNNEL]).share(FunnelStep("met", 0, {})) is None


def test_approved_is_one_small_rule() -> None:
    assert approved(profile(1, "creative"), []) is True
    assert approved(profile(1, "creative", done=False), []) is False
    assert approved(None, []) is False


def test_the_figures_text_in_english_and_german() -> None:
    rows = world()
    fig = compute(rows.meetings, rows.feedback, rows.outcomes, ["14d"])
    en = render("en", fig, " for “Werkstattrunde”", funnel(rows))
    assert en.startswith("📊 Figures for “Werkstattrunde”\n\nFrom signing up")
    assert "Registered: 8 (100 %) – 🏭 3 · 🎨 4" in en and "Want to continue: 2 (25 %) – 🏭 1 · 🎨 1" in en
    assert "Got suggestions: 5 (63 %)" in en and "Cancelled: 0" in en
    de = render("de-du", fig, "", funnel(rows))
    assert "Vorschläge erhalten: 5 (63 %)" in de and "Einander vorgestellt: 4 (50 %)" in de
    assert render("de", fig).startswith("📊 Kennzahlen\n\nVorstellungen")  # without the funnel: as before


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_the_chart_is_a_phone_sized_png() -> None:
    fun = funnel(world())
    png = chart_png(fun, chart_texts("de", "Lab 2027: Preis $5 – $10 🎉 " + "sehr lang " * 10, "2. März 2027"), "de")
    assert _png_size(png) == (1280, 880)
    empty = Funnel([FunnelStep(s, 0, {"production": 0, "creative": 0, "": 0}) for s in FUNNEL])
    assert _png_size(chart_png(empty, chart_texts("en", "Nobody yet", "Mar 2, 2027"), "en")) == (1280, 880)


def test_matplotlib_is_not_imported_at_start() -> None:
    code = ("import sys, bot.app, bot.bootstrap, handlers.registry, handlers.figures, handlers.export; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def _read(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_csv_for_excel_quotes_what_needs_it() -> None:
    rows = [["Jäger & Söhne; Möbel", 'Sie sagte "gut"', "Zeile 1\nZeile 2", None, 0.8234, 3, True, False],
            ["=HYPERLINK(\"http://x\")", "+49 30 1", "-5", "@SUM(A1)", "Straße", 1.0, 0, "plain"]]
    data = csv_bytes(["Name", "Zitat", "Text", "Leer", "Passung", "Zahl", "Ja", "Nein"], rows)
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == "Name;Zitat;Text;Leer;Passung;Zahl;Ja;Nein"
    assert '"Jäger & Söhne; Möbel";"Sie sagte ""gut""";"Zeile 1\nZeile 2";;0,823;3;1;0\r\n' in text
    assert "Straße".encode("utf-8") in data
    back = _read(data)
    assert back[1] == ["Jäger & Söhne; Möbel", 'Sie sagte "gut"', "Zeile 1\nZeile 2", "", "0,823", "3", "1", "0"]
    # Text Excel would run as a formula starts with an apostrophe.
    assert back[2][:4] == ["'=HYPERLINK(\"http://x\")", "'+49 30 1", "'-5", "'@SUM(A1)"]
    assert _read(csv_bytes(["x"], [[0.5]], decimal="."))[1] == ["0.500"]


def test_the_export_zip_has_one_csv_per_table_without_telegram_ids() -> None:
    rows = world()
    export = build(rows, "en", ZoneInfo("Europe/Berlin"), "crosslab-evX-2027-03-02")
    assert export.filename == "crosslab-evX-2027-03-02.zip"
    assert export.counts == {"participants": 8, "suggestions": 7, "pairs": 3, "meetings": 2, "feedback": 4,
                             "outcomes": 0}
    with zipfile.ZipFile(io.BytesIO(export.content)) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    assert sorted(files) == sorted(f"{t}.csv" for t in TABLES)
    for table, columns in TABLES.items():
        data = _read(files[f"{table}.csv"])
        assert len(data[0]) == len(columns) and all(len(r) == len(columns) for r in data)
        assert len(data) == 1 + export.counts[table]
        text = files[f"{table}.csv"].decode("utf-8-sig")
        assert "7000" not in text and "user" not in text and "Unser Problem" not in text and "Toll" not in text
    people = _read(files["participants.csv"])
    assert people[0][:3] == ["ID", "Side", "Name"] and people[0][-1] == "Wants to continue"
    assert people[1][0] == "P1" and people[1][7] == "2027-03-02 10:30"  # the bot's time zone
    assert [r[-5:] for r in people[1:3]] == [["1", "1", "1", "1", "1"]] * 2
    assert _read(files["suggestions.csv"])[1][2] == "0.500"  # English: decimal point
    feedback = _read(files["feedback.csv"])
    assert feedback[1][8] == "1" and feedback[2][8] == "0"  # a comment written: yes/no, never its text


def test_approved_follows_the_admission_status() -> None:
    """The funnel's approved step: a finished profile and, in an event, an
    approved membership (applications under review, waiting or declined are
    not); nothing to approve in the open pool."""
    done = SimpleNamespace(completed_at=AT)
    member = lambda status: SimpleNamespace(event_id=1, status=status)  # noqa: E731
    assert approved(done, [member("approved")]) and approved(done, [])
    for status in ("pending", "waiting", "declined", "registered"):
        assert not approved(done, [member(status)])
    assert not approved(SimpleNamespace(completed_at=None), [member("approved")]) and not approved(None, [])
