"""The pure parts of organisers' plans (issue 13): the edit rules, pages and
release diffs of `domain/plans.py`, and the arguments, pages and texts of
`handlers/plans.py` on plain objects (no database)."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from db.models import Event, Person, Plan, Profile
from domain import plans as rules
from domain.plans import BREAKOUT, SPEED, EditProblem, Slot
from handlers import plan_texts as texts
from handlers import plans
from handlers.callbacks import CallbackSigner, HandoverButton, PlanButton, unpack
from handlers.types import TELEGRAM_TEXT_LIMIT

TZ = ZoneInfo("Europe/Berlin")


# --- domain/plans.py ------------------------------------------------------------------------------

def test_paginate_by_count_and_by_length() -> None:
    assert rules.paginate([10] * 20, 8, 1000) == [range(0, 8), range(8, 16), range(16, 20)]
    assert rules.paginate([400, 400, 400, 100], 8, 1000) == [range(0, 2), range(2, 4)]
    assert rules.paginate([50, 5000, 50], 8, 1000) == [range(0, 1), range(1, 2), range(2, 3)]  # too long: alone
    assert rules.paginate([], 8, 1000) == [range(0, 0)]
    assert rules.page_of(rules.paginate([10] * 20, 8, 1000), 9) == 1
    with pytest.raises(ValueError):
        rules.paginate([1], 0, 10)


def test_release_diff_sends_only_new_and_changed() -> None:
    sent = {(1, "plan"): "a", (2, "plan"): "b", (9, "plan"): "z"}  # 9 left the event: not written to
    now = {(1, "plan"): "a", (2, "plan"): "B", (3, "plan"): "c", (7, "moderator"): "m"}
    diff = rules.release_diff(sent, now)
    assert diff.new == [(3, "plan"), (7, "moderator")] and diff.changed == [(2, "plan")]
    assert diff.unchanged == [(1, "plan")] and diff.to_send == [(3, "plan"), (7, "moderator"), (2, "plan")]
    assert rules.release_diff(now, now).to_send == []
    assert rules.digest("Gruppe 1") == rules.digest("Gruppe 1") != rules.digest("Gruppe 2")


GROUPS = [Slot(1, 100, 200, 0, 1, 0.9), Slot(2, 100, 201, 0, 1, 0.5),
          Slot(3, 101, 202, 0, 2, 0.8), Slot(4, 101, 203, 0, 2, 0.7)]


def test_breakout_swaps() -> None:
    a, b, c, _ = GROUPS
    assert rules.swap_problem(BREAKOUT, GROUPS, a, c) is None
    assert rules.swap_problem(BREAKOUT, GROUPS, a, b) == EditProblem.SAME_GROUP
    assert rules.swap_problem(BREAKOUT, GROUPS, a, c, forbidden={(100, 202)}) == EditProblem.FORBIDDEN
    assert [s.id for s in rules.swap_targets(BREAKOUT, GROUPS, a)] == [3, 4]
    # with two groups per creative, 202 may sit in both groups — but never twice in one
    both = GROUPS + [Slot(5, 100, 203, 0, 1, 0.4)]
    assert rules.swap_problem(BREAKOUT, both, a, Slot(4, 101, 203, 0, 2, 0.7)) == EditProblem.ALREADY_IN_GROUP
    # someone without a place takes over; a creative in as many groups as allowed cannot
    assert rules.replace_problem(BREAKOUT, GROUPS, a, 204) is None
    assert rules.replace_problem(BREAKOUT, GROUPS, a, 202) == EditProblem.NOT_FREE
    assert rules.replace_problem(BREAKOUT, GROUPS, a, 202, max_groups=2) is None
    assert rules.replace_problem(BREAKOUT, GROUPS, a, 201, max_groups=2) == EditProblem.ALREADY_IN_GROUP
    assert rules.free_creatives(BREAKOUT, GROUPS, a, [200, 201, 202, 204]) == [204]


ROUNDS = [Slot(1, 100, 200, 1, 1), Slot(2, 101, 201, 1, 2),
          Slot(3, 100, 201, 2, 1), Slot(4, 102, 202, 2, 3)]


def test_speed_swaps_stay_in_a_round_and_never_repeat_a_pair() -> None:
    r1a, r1b, r2a, r2c = ROUNDS
    assert rules.swap_problem(SPEED, ROUNDS, r1a, r2c) == EditProblem.OTHER_ROUND
    assert rules.swap_problem(SPEED, ROUNDS, r1a, r1b) == EditProblem.MET_IN_OTHER_ROUND  # 100–201 meet in round 2
    assert rules.swap_problem(SPEED, ROUNDS, r2a, r2c) is None
    assert [s.id for s in rules.swap_targets(SPEED, ROUNDS, r2a)] == [4]
    assert rules.replace_problem(SPEED, ROUNDS, r1a, 202) is None  # 202 is on a break in round 1
    assert rules.replace_problem(SPEED, ROUNDS, r2a, 202) == EditProblem.NOT_FREE  # 202 plays in round 2
    assert rules.replace_problem(SPEED, ROUNDS, r1b, 202) is None
    assert rules.replace_problem(SPEED, ROUNDS, r2c, 200) is None
    assert rules.replace_problem(SPEED, ROUNDS, r2c, 200, forbidden={(102, 200)}) == EditProblem.FORBIDDEN
    assert rules.free_creatives(SPEED, ROUNDS, r1a, [200, 201, 202, 203]) == [202, 203]


def test_breaks_agenda_and_unplaced() -> None:
    people = [100, 101, 102, 200, 201, 202]
    assert rules.on_break(people, ROUNDS, 1) == [102, 202] and rules.on_break(people, ROUNDS, 2) == [101, 200]
    assert [s.id if s else None for s in rules.agenda(202, ROUNDS, 3)] == [None, 4, None]
    assert rules.unplaced(people + [203], ROUNDS, {203: "all_pairs_forbidden"}) == [(203, "all_pairs_forbidden")]
    assert rules.unplaced([100, 104], GROUPS, {}) == [(104, "edited")]
    assert [(n, c, [s.creative for s in m]) for n, c, m in rules.groups(reversed(GROUPS))] == [
        (1, 100, [200, 201]), (2, 101, [202, 203])]


# --- the command's arguments ------------------------------------------------------------------------

def test_options() -> None:
    assert plans.parse_options([]) == plans.Options()
    assert plans.parse_options(["speed", "4"]) == plans.Options(SPEED, 4, None)
    assert plans.parse_options(["Breakout", "3", "2"]) == plans.Options(BREAKOUT, 3, 2)
    assert plans.parse_options(["3"]) == plans.Options(None, 3, None)
    assert plans.parse_options(["speed", "3", "2"]) is None  # a second number only for groups
    assert plans.parse_options(["gruppen", "x"]) is None and plans.parse_options(["1", "2", "3"]) is None
    stored = plans.Params(SPEED, 2, 1, 5)
    assert stored.with_options(plans.Options()) == stored
    assert stored.with_options(plans.Options(BREAKOUT)) == plans.Params(BREAKOUT, 2, 1, 5)
    assert plans.DEFAULTS.with_options(plans.Options(SPEED)) == plans.Params(SPEED, 2, 1, 6)
    assert plans.Params(SPEED, 2, 1, 31).problem() is not None and plans.Params(BREAKOUT, 7, 1, 6).problem()
    assert plans.Params(BREAKOUT, 3, 2, 6).problem() is None


def test_event_and_options_from_the_arguments() -> None:
    events = [Event(id=1, name="Lab", slug="evlab"), Event(id=2, name="Lab 2027", slug="evlab27")]
    found, options = plans.split_arguments(events, "Lab 2027")
    assert [e.id for e in found] == [2] and options == plans.Options()  # the longest name wins
    found, options = plans.split_arguments(events, "lab 2027 speed 4")
    assert [e.id for e in found] == [2] and options == plans.Options(SPEED, 4)
    found, options = plans.split_arguments(events, "evlab 2")
    assert [e.id for e in found] == [1] and options == plans.Options(None, 2)
    assert plans.split_arguments(events, "evlab nonsense")[1] is None
    assert plans.split_arguments(events, "Gibt es nicht")[0] == []


# --- pages and texts ----------------------------------------------------------------------------

def _view(fmt: str, slots: list[Slot], companies: int, creatives: int, **plan: object) -> texts.View:
    people: dict[int, tuple[Person, Profile]] = {}
    for i in range(companies):
        pid = 100 + i
        people[pid] = (Person(id=pid, telegram_id=10_000 + pid, language="de", consent_at=datetime.now(timezone.utc)),
                       Profile(person_id=pid, name=f"Firma Nummer {i + 1}", side="production",
                               organisation=f"Werkstatt {i + 1}", sector="Tischlerei",
                               seeks=f"Frage {i + 1}: Wie verkaufen wir online?"))
    for j in range(creatives):
        pid = 1000 + j
        people[pid] = (Person(id=pid, telegram_id=10_000 + pid, language="en" if j % 2 else "de",
                              consent_at=datetime.now(timezone.utc)),
                       Profile(person_id=pid, name=f"Kreative {j + 1}", side="creative", organisation="Studio",
                               disciplines=["ux"], offers="Bedienkonzepte und Nutzertests."))
    row = Plan(id=7, format=fmt, group_size=plan.get("group_size", 2), max_groups=1, rounds=plan.get("rounds", 0),
               version=3, people=list(people), unplaced=plan.get("unplaced", []), removed=[], optimal=True,
               time_text=plan.get("time_text"), place_text=None, moderator_tid=None, released_at=None,
               released_version=None)
    reasons = {s.id: ("Die Herausforderung passt zur Erfahrung mit Bedienkonzepten. " * 3,
                      "The challenge fits the experience with operating concepts. " * 3) for s in slots}
    return texts.View(row, Event(id=1, name="Werkstatttag", slug="ev1"), slots, reasons, people, TZ)


def test_breakout_pages_hold_every_group_once_and_fit_a_message() -> None:
    slots = [Slot(g * 3 + i, 100 + g, 1000 + g * 3 + i, 0, g + 1, 0.5 + i / 10) for g in range(30) for i in range(3)]
    view = _view(BREAKOUT, slots, 30, 95, group_size=3, unplaced=[[1093, "not_enough_places"]])
    seen: list[int] = []
    all_pages = texts.pages(view, "de")
    count = len(all_pages)
    assert 4 <= count <= 8 and all(len(p.indexes) <= 8 for p in all_pages)  # up to 8 groups, as the text allows
    for page in range(count):
        text, items, shown, pages_ = texts.overview(view, "de", page)
        note = "✓ Plan berechnet. Noch ist nichts verschickt.\n⚠️ " + "x" * 200
        assert shown == page and pages_ == count and len(note + "\n\n" + text) <= TELEGRAM_TEXT_LIMIT
        seen += [s.id for _, s in items]
        assert f"Seite {page + 1} von {count}" in text
    assert sorted(seen) == sorted(s.id for s in slots)  # every entry on exactly one page
    text, items, *_ = texts.overview(view, "de", count - 1)
    assert "Ohne Platz (5):" in text and "alle passenden Gruppen sind voll" in text  # the footer on the last page
    assert "vom Organisationsteam herausgenommen" in text  # the others without a place: no solver's reason
    assert items[-1][0] == "30c" and texts.page_of_entry(view, "de", slots[-1].id) == count - 1
    assert texts.page_of_entry(view, "de", slots[0].id) == 0
    assert texts.overview(view, "de", 99)[2] == count - 1  # a page beyond the end: the last one


def test_speed_pages_one_round_each_and_long_rounds_split() -> None:
    slots = [Slot(r * 100 + t, 100 + t, 1000 + (t + r) % 30, r, t + 1, 0.5) for r in (1, 2, 3) for t in range(30)]
    view = _view(SPEED, slots, 30, 32, rounds=3)
    all_pages = texts.pages(view, "de")
    assert [p.round for p in all_pages] == [1, 1, 1, 2, 2, 2, 3, 3, 3]  # 12 tables a page
    text, items, *_ = texts.overview(view, "de", 2)
    assert "Runde 1 von 3" in text and [code for code, _ in items] == [f"T{n}" for n in range(25, 31)]
    assert "☕ Pause: Kreative 31, Kreative 32" in text  # the breaks under the round's last page
    assert "☕ Pause" not in texts.overview(view, "de", 0)[0]


def test_texts_for_members_agendas_and_rounds() -> None:
    groups = [Slot(1, 100, 1000, 0, 1, 0.9), Slot(2, 100, 1001, 0, 1, 0.4)]
    view = _view(BREAKOUT, groups, 1, 3, time_text="Do, 12.03., 14 Uhr")
    company = texts.member_texts(view, 100, "de")
    assert "Ihre Frage, in Ihren eigenen Worten:\n„Frage 1: Wie verkaufen wir online?“" in company
    assert "Kreative 1 – Studio · UX & Interaction Design" in company and "🕒 Do, 12.03., 14 Uhr" in company
    creative = texts.member_texts(view, 1001, "en")
    assert "Your group at “Werkstatttag” (group 1)" in creative and "Kreative 1" in creative
    assert "Why you are in it: The challenge" in creative and "📍 to be announced" in creative
    assert "keinen Platz in einer Gruppe" in texts.member_texts(view, 1002, "de")
    assert "dir leider keinen Platz" in texts.member_texts(view, 1002, "de-du")
    moderator = texts.moderator_text(view, "de")
    assert "1 Gruppe mit allen Steckbriefen" in moderator and moderator.count("Stärken:") == 2

    rota = [Slot(1, 100, 1000, 1, 1), Slot(2, 100, 1001, 2, 1)]
    view = _view(SPEED, rota, 1, 2, rounds=2)
    assert "Sie bleiben an Tisch 1" in texts.agenda_text(view, 100, "de")
    agenda = texts.agenda_text(view, 1001, "en")
    assert "Round 1: ☕ break" in agenda and "Round 2: table 1 · Firma Nummer 1" in agenda
    assert "Weiter geht es in Runde 2 an Tisch 1" in texts.round_text(view, 1001, 1, "de")
    assert "keine weiteren Gespräche" in texts.round_text(view, 1000, 2, "de")
    assert texts.round_text(view, 100, 1, "de").startswith("🔔 Runde 1 von 2 beginnt: An Tisch 1 kommt Kreative 1")
    view.profile(100).sector = "Tischlerei seit 1890."  # typed with a full stop: the ping has one, not two
    ping = texts.round_text(view, 1000, 1, "de")
    assert "Werkstatt 1 · Tischlerei seit 1890.\nWorüber" in ping and ".." not in ping


# --- buttons ----------------------------------------------------------------------------------

def test_plan_and_group_buttons_round_trip_and_fit() -> None:
    signer = CallbackSigner(b"k" * 32)
    big = PlanButton("swu", 999_999, 99_999, 999_999_999, 999_999_999)
    data = signer.sign(123456789012, big.action, big.pack(), 0)
    assert len(data.encode()) <= 64
    signed = signer.verify(123456789012, data)
    assert signed is not None and unpack(signed) == big
    assert PlanButton.unpack("pn", "nope:1:2:3:4") is None and PlanButton.unpack("pn", "pg:1:2:3") is None
    assert PlanButton.unpack("pn", "pg:1:x:3:4") is None
    group = HandoverButton("g", 345, 12)
    assert group.pack() == "g12.345" and HandoverButton.unpack("ho", "g12.345") == group
    assert HandoverButton.unpack("ho", "b12.345") == HandoverButton("b", 345, 12)
    assert HandoverButton.unpack("ho", "g12") is None and HandoverButton.unpack("ho", "c7") == HandoverButton("c", 7)
