"""`crosslab demo --format breakout|speed`: an organiser runs an event's format in the chat.

The organiser (an admin of the demo's settings) creates the event with
`/newevent` (breakout rounds or a speed meetup, applications need approval);
the cohort's participants join by the invitation link and onboard (the
simulated people of `bot.demo`); the organiser approves their applications
with the buttons they get (and declines one), reviews the plan with `/plan`
(locks, swaps, recomputes, types time and place) and releases it. Breakout:
every member gets their group and briefing, the moderator every profile, and
the groups hand their results to their company (one member on their own, one
group bundled by the organiser). Speed: everyone gets their agenda, and
`/round next` announces every round (partner, table and why; or a break).

Every step is checked against what the emulator delivered to each chat (and
the plan the database holds), never assumed; the demo ends with a summary and
succeeds only if every check passed.
"""
from __future__ import annotations

import asyncio
import contextlib
import string
import time
from dataclasses import dataclass, field
from collections.abc import Iterator
from typing import Any, Callable

from bot.demo import (FIRST_USER_ID, ORGANISER_ID, ChatWatcher, SimulatedParticipant, _print_summary, create_event,
                      demo_framework, read_participants, running_bot)
from i18n import number, t

FORMATS = ("breakout", "speed")
EVENT_NAMES = {"breakout": "cp/lab Breakout-Runde", "speed": "cp/lab Speed-Meetup"}
ROUNDS = 6  # what /plan plans for a speed meetup unless told otherwise (handlers.plans.DEFAULT_ROUNDS)
WHEN = "Do, 12.03., 14:00–15:30 Uhr"
WHERE = "Spinnerei, Halle 14, Leipzig"
NOTES = {  # what two groups hand to their company afterwards
    "de": ("Idee: Produktfotos im Tageslicht, ein Shop mit drei Kategorien",
           "Nächster Schritt: Testlauf bis Ende März"),
    "en": ("Idea: daylight product photos, a shop with three categories", "Next step: a trial run by the end of March"),
}
TIMEOUT = 60.0  # seconds for one answer of the bot (a plan's computation included)
_GAP = "\x00"


def pick(cohort: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """The first `limit` people of the cohort, a third of them companies (at
    least one on each side), in the cohort's order; everyone without a limit."""
    if not limit or limit >= len(cohort):
        return list(cohort)
    companies = [p for p in cohort if p.get("side") == "production"]
    creatives = [p for p in cohort if p.get("side") != "production"]
    n_companies = min(len(companies), max(1, round(limit / 3)))
    n_creatives = min(len(creatives), limit - n_companies)
    chosen = {id(p) for p in companies[:n_companies] + creatives[:n_creatives]}
    return [p for p in cohort if id(p) in chosen]


def fits(text: str | None, locale: str, key: str, **known: Any) -> bool:
    """Whether `text` is the bot's text `key` (in `locale`) with the `known`
    fields; fields not given may be anything."""
    text = text or ""
    parts: list[str] = []
    for literal, name, _spec, _conv in string.Formatter().parse(t(locale, key)):
        parts.append(literal)
        if name is not None:
            value = known.get(name, _GAP)
            parts.append(number(locale, value) if isinstance(value, int) and not isinstance(value, bool)
                         else str(value))
    at = 0
    for chunk in "".join(parts).split(_GAP):
        found = text.find(chunk, at)
        if found < 0:
            return False
        at = found + len(chunk)
    return True


def _n(count: int, noun: str) -> str:
    """"1 group", "3 groups" (the summary's English)."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def first_line(locale: str, key: str) -> str:
    """The fixed start of a text, up to its first field (or line break)."""
    return t(locale, key).split("\n")[0].split("{")[0]


class Chat:
    """A private chat with the bot, driven the way a person does it: type or
    press a button, then wait until the bot answered and everything it sent
    to other chats meanwhile was delivered."""

    def __init__(self, emu: Any, app: Any, user_id: int, locale: str = "de") -> None:
        self.emu, self.app, self.user_id, self.locale = emu, app, user_id, locale
        self.actions = 0
        self.toast: str | None = None

    def newest(self) -> Any:
        """The newest message with buttons (what the person has in front of them)."""
        return next((m for m in reversed(self.emu.sent(self.user_id)) if m.buttons and not m.deleted), None)

    def button(self, label: str, *, prefix: bool = False, message: Any = None) -> tuple[Any, str]:
        """(message, callback data) of the button `label` (exact, else a unique
        part of it; with `prefix` the first label starting with it) on
        `message`, by default the newest message with buttons."""
        msg = message or self.newest()
        if msg is not None and not msg.deleted and msg.buttons:
            if prefix:
                hit = next((data for row in msg.buttons for text, data in row if text.startswith(label)), None)
                if hit is not None:
                    return msg, hit
            else:
                with contextlib.suppress(KeyError):
                    return msg, msg.callback_data(label)
        raise LookupError(f"no button {label!r} in chat {self.user_id}; last: {self.last_text()[:300]!r}")

    def has_button(self, label: str, *, prefix: bool = False) -> bool:
        try:
            self.button(label, prefix=prefix)
        except LookupError:
            return False
        return True

    def last_text(self) -> str:
        sent = [m for m in self.emu.sent(self.user_id) if not m.deleted]
        return (sent[-1].text or sent[-1].caption or "") if sent else ""

    def changed(self, seq: int) -> list[Any]:
        return self.emu.changed_since(self.user_id, seq)

    def _has(self, seq: int, expect: str) -> bool:
        return any(expect in (m.text or m.caption or "") for m in self.changed(seq))

    async def settle(self) -> None:
        """Until the sender delivered what is due and the emulator is quiet."""
        await self.app.outbox.drain(timeout=TIMEOUT)
        await self.emu.wait_idle(timeout=TIMEOUT, quiet=0.05)

    async def say(self, text: str, *, expect: str | None = None) -> list[Any]:
        seq = self.emu.seq
        self.emu.send_text(self.user_id, text)
        self.actions += 1
        await self._answered(seq, lambda: True, expect, f"the bot's answer to {text!r}")
        return self.changed(seq)

    def labels(self, prefix: str) -> list[str]:
        """The labels starting with `prefix` in the newest message with buttons."""
        msg = self.newest()
        return [text for row in (msg.buttons if msg else []) for text, _ in row if text.startswith(prefix)]

    async def press(self, label: str, *, prefix: bool = False, message: Any = None,
                    expect: str | None = None, toast: bool = False) -> list[Any]:
        """Press a button; wait for the bot's answer (`expect` in a message it
        sent or edited; with `toast` a toast alone will do)."""
        msg, data = self.button(label, prefix=prefix, message=message)
        seq = self.emu.seq
        update = self.emu.press_button(self.user_id, msg.message_id, data)
        self.actions += 1
        query = update["callback_query"]["id"]

        def answer() -> dict[str, Any] | None:
            return next((a for a in self.emu.callback_answers if a["callback_query_id"] == query), None)

        def answered() -> bool:
            return answer() is not None

        def toasted() -> bool:
            return bool((answer() or {}).get("text"))

        self.toast = None
        try:
            await self._answered(seq, answered, expect, f"the bot's answer to [{label}]", toasted if toast else None)
        finally:
            self.toast = (answer() or {}).get("text")
        return self.changed(seq)

    async def _answered(self, seq: int, answered: Callable[[], bool], expect: str | None, what: str,
                        enough: Callable[[], bool] | None = None) -> None:
        def ready() -> bool:
            if not answered():
                return False
            if enough is not None and enough():
                return True
            return self._has(seq, expect) if expect is not None else bool(self.changed(seq))

        try:
            await self.emu.wait_until(ready, TIMEOUT, what)
        except TimeoutError:
            got = " | ".join((m.text or "")[:160] for m in self.changed(seq)) or "nothing"
            raise TimeoutError(f"{what}: expected {expect!r}, got {got!r}") from None
        await self.settle()


@dataclass
class Report:
    """The demo's checks (each printed as it is made) and its figures."""

    out: Any
    checks: list[tuple[bool, str]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def check(self, ok: bool, what: str) -> bool:
        self.checks.append((ok, what))
        print(f"  {'✓' if ok else '✗'} {what}", file=self.out)
        return ok

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(ok for ok, _ in self.checks)


@dataclass
class PlanState:
    """The released plan as the database holds it, in plain values."""

    plan_id: int
    fmt: str
    rounds: int
    people: list[int]
    entries: list[tuple[int, int, int, int, bool]]  # (company, creative, round, table or group, locked)
    telegram: dict[int, int]  # person id -> Telegram id
    names: dict[int, str]  # person id -> profile name
    sides: dict[int, str]

    def groups(self) -> dict[int, tuple[int, list[int]]]:
        """Group number -> (company, creatives)."""
        out: dict[int, tuple[int, list[int]]] = {}
        for company, creative, _r, number_, _locked in sorted(self.entries, key=lambda e: (e[3], e[1])):
            out.setdefault(number_, (company, []))[1].append(creative)
        return out

    def slot(self, person: int, rnd: int) -> tuple[int, int, int, int, bool] | None:
        return next((e for e in self.entries if e[2] == rnd and person in (e[0], e[1])), None)


async def _plan_state(app: Any, slug: str) -> PlanState:
    async with app.core.uow() as uow:
        event = await uow.events.by_slug(slug)
        plan = await uow.plans.for_event(event.id)
        entries = await uow.plans.entries(plan.id)
        ids = set(plan.people) | {e.company_id for e in entries} | {e.creative_id for e in entries}
        people = await uow.people.many(ids)
        return PlanState(plan.id, plan.format, plan.rounds or 0, list(plan.people),
                         [(e.company_id, e.creative_id, e.round, e.table_no, bool(e.locked)) for e in entries],
                         {i: p.telegram_id for i, (p, _) in people.items()},
                         {i: (pr.name if pr is not None else None) or p.first_name or "?"
                          for i, (p, pr) in people.items()},
                         {i: (pr.side if pr is not None else "") or "" for i, (p, pr) in people.items()})


async def _statuses(app: Any, slug: str) -> dict[int, str]:
    """Telegram id -> status in the event."""
    from sqlalchemy import select

    from db.models import Event, EventParticipant, Person

    async with app.core.uow() as uow:
        rows = await uow.session.execute(
            select(Person.telegram_id, EventParticipant.status)
            .join(EventParticipant, EventParticipant.person_id == Person.id)
            .join(Event, Event.id == EventParticipant.event_id).where(Event.slug == slug))
        return dict(rows.all())


class FormatDemo:
    """One run: the organiser, the cohort, the checks."""

    def __init__(self, emu: Any, app: Any, fmt: str, people: list[SimulatedParticipant], slug: str, out: Any) -> None:
        self.emu, self.app, self.fmt, self.people, self.slug, self.out = emu, app, fmt, people, slug, out
        self.event = EVENT_NAMES[fmt]
        self.org = Chat(emu, app, ORGANISER_ID, "de")
        self.report = Report(out)
        self.by_tid = {p.user_id: p for p in people}
        self.chats = {p.user_id: Chat(emu, app, p.user_id, p.lang) for p in people}
        self.approved: list[SimulatedParticipant] = []
        self.declined: SimulatedParticipant | None = None
        self.release_marks: dict[int, int] = {}
        self.review_marks: dict[int, int] = {}

    def section(self, title: str) -> None:
        print(f"\n== {title} ==", file=self.out)

    def marks(self) -> dict[int, int]:
        return {tid: len(self.emu.sent(tid)) for tid in [*self.by_tid, ORGANISER_ID]}

    def since(self, marks: dict[int, int], tid: int) -> list[Any]:
        return [m for m in self.emu.sent(tid)[marks.get(tid, 0):] if not m.deleted]

    def simulated(self, plan: PlanState) -> Iterator[tuple[int, SimulatedParticipant]]:
        """The planned people this demo plays (plan id, participant); others are skipped."""
        for pid in plan.people:
            p = self.by_tid.get(plan.telegram.get(pid, 0))
            if p is not None:
                yield pid, p

    def text_since(self, marks: dict[int, int], tid: int) -> str:
        return "\n".join(m.text or m.caption or "" for m in self.since(marks, tid))

    # --- applications ------------------------------------------------------------------------

    async def applications(self) -> None:
        """Every application reaches the organiser with the profile and the
        buttons; they approve everyone but one creative (declined)."""
        self.section("Organiser: applications")
        onboarded = [p for p in self.people if p.done]
        head = first_line("de", "app.new")
        name_line = t("de", "field.name") + ": "

        def inbox() -> dict[str, Any]:
            found = {}
            for m in self.emu.sent(ORGANISER_ID):
                if (m.text or "").startswith(head):
                    name = next((ln[len(name_line):] for ln in m.text.split("\n") if ln.startswith(name_line)), "")
                    found[name] = m
            return found

        try:
            await self.emu.wait_until(lambda: len(inbox()) >= len(onboarded), TIMEOUT, "every application")
        except TimeoutError:
            pass
        apps = inbox()
        self.report.check(len(apps) == len(onboarded) > 0,
                          f"{len(apps)} applications reached the organiser, each with the profile and "
                          f"[{t('de', 'app.btn_approve')}] [{t('de', 'app.btn_decline')}] [{t('de', 'app.btn_ask')}]")
        creatives = [p for p in onboarded if p.entry.get("side") == "creative"]
        declined = self.declined = creatives[-1] if len(creatives) >= 3 else None
        for p in onboarded:
            msg = apps.get(p.entry.get("name") or "")
            if msg is None:
                continue
            approve = p is not declined
            outcome = t("de", "app.status_approved" if approve else "app.status_declined")
            await self.org.press(t("de", "app.btn_approve" if approve else "app.btn_decline"), message=msg,
                                 expect=t("de", "app.decided", outcome=outcome, name=p.entry.get("name"),
                                          event=self.event))
        statuses = await _statuses(self.app, self.slug)
        self.approved = [p for p in onboarded if statuses.get(p.user_id) == "approved"]
        told = sum(1 for p in onboarded if any(
            fits(m.text, p.lang, "app.declined" if p is declined else "app.approved", event=self.event)
            for m in self.emu.sent(p.user_id)))
        declined_now = sum(1 for s in statuses.values() if s == "declined")
        self.report.figures.update(applications=len(apps), approved=len(self.approved), declined=declined_now)
        self.report.check(len(self.approved) == len(onboarded) - (declined is not None)
                          and declined_now == (declined is not None) and told == len(onboarded),
                          f"{len(self.approved)} approved" + (f", 1 declined ({declined.entry.get('name')})"
                                                                if declined else "")
                          + f" by pressing the buttons; {told}/{len(onboarded)} applicants were told the decision")
        decided = [m for m in self.emu.sent(ORGANISER_ID) if (m.text or "").startswith(t("de", "app.status_declined"))]
        for m in (decided or list(apps.values()))[:1]:
            print("\n".join("    " + line for line in (m.text or "").split("\n")[:4]), file=self.out)

    # --- the review ---------------------------------------------------------------------------

    async def review(self) -> None:
        """/plan, then lock, swap, recompute, time and place, as an organiser would."""
        org = self.org
        self.review_marks = self.marks()
        if self.fmt == "breakout":
            command = f"/plan {self.slug}"
            self.section(f"Organiser: {command}")
            shown = await org.say(command, expect=first_line("de", "plan.title_breakout"))
        else:
            companies = sum(1 for p in self.approved if p.entry.get("side") == "production")
            # One round fewer than the larger side could fill (at most the default): a pair left over to swap in.
            most = max(companies, len(self.approved) - companies)
            rounds = min(ROUNDS, most - 1 if most > 2 else most)
            while True:  # fewer rounds where the pairs run out before: the bot says so, the organiser takes fewer
                command = f"/plan {self.slug}" if rounds == ROUNDS else f"/plan {self.slug} speed {rounds}"
                self.section(f"Organiser: {command}")
                shown = await org.say(command)
                if any(first_line("de", "plan.title_speed") in (m.text or "") for m in shown) or rounds <= 1:
                    break
                print(shown[-1].text, file=self.out)
                rounds -= 1
        view = next((m for m in shown if m.buttons), shown[-1])
        print(view.text, file=self.out)
        plan = await _plan_state(self.app, self.slug)
        if self.fmt == "breakout":
            self.report.check(bool(plan.entries), f"plan computed: {_n(len(plan.groups()), 'group')} of 1 company and "
                              f"creatives, {len({e[1] for e in plan.entries})} creatives placed")
        else:
            once = len({(e[0], e[1]) for e in plan.entries}) == len(plan.entries)
            self.report.check(plan.rounds > 0 and bool(plan.entries) and once,
                              f"plan computed: {_n(plan.rounds, 'round')}, "
                              f"{_n(len(plan.entries), 'one-to-one meeting')}, "
                              "no pair twice")

        # Lock one, swap one (the bot locks both new pairs), recompute around them.
        print("\n-- review: lock, swap, recompute --", file=self.out)
        if self.fmt == "breakout":
            lock_codes, swap_codes, targets = ("1b ", "1a "), ("2a ", "3a ", "1a "), ("⇄ ",)
        else:
            if org.has_button("▶"):
                await org.press("▶", expect="Runde 2 von")
                print("  [▶] round 2", file=self.out)
            lock_codes, swap_codes, targets = ("T2 ", "T1 "), ("T1 ", "T3 ", "T4 "), ("➕ ", "⇄ ")
        edits: list[str] = []

        def did(kind: str, line: str) -> None:
            edits.append(kind)
            print(f"  {line}", file=self.out)

        lock_code = next((code for code in lock_codes if org.has_button(code, prefix=True)), None)
        if lock_code is not None:
            await org.press(lock_code, prefix=True, expect=first_line("de", "plan.why"))
            await org.press(t("de", "plan.btn_lock"), expect=first_line("de", "plan.locked"))
            did("lock", f"[{lock_code.strip()}] [{t('de', 'plan.btn_lock')}] → {org.toast}")
        for swap_code in swap_codes:  # the first member a swap is possible for
            if "swap" in edits or not org.has_button(swap_code, prefix=True):
                continue
            await org.press(swap_code, prefix=True, expect=first_line("de", "plan.why"))
            await org.press(t("de", "plan.btn_swap"))
            choices = [label for prefix in targets for label in org.labels(prefix)]
            for label in choices[:4]:  # a pair the bot turns down (a toast says why): the next one
                await org.press(label, toast=True)
                if org.toast and (fits(org.toast, "de", "plan.swapped") or fits(org.toast, "de", "plan.replaced")):
                    did("swap", f"[{swap_code.strip()}] [{t('de', 'plan.btn_swap')}] [{label}] → {org.toast}")
                    break
                print(f"  [{label}] → {org.toast}", file=self.out)
            else:  # no swap possible: back to the member, back to the plan
                print(f"  [{swap_code.strip()}] [{t('de', 'plan.btn_swap')}] → "
                      f"{org.last_text().split(chr(10))[-1]}", file=self.out)
                await org.press(t("de", "plan.btn_back"))
                await org.press(t("de", "plan.btn_back"))
        locked = {(e[0], e[1], e[2]) for e in (await _plan_state(self.app, self.slug)).entries if e[4]}
        await org.press(t("de", "plan.btn_recompute"), expect=first_line("de", "plan.recomputed"))
        print(f"  [{t('de', 'plan.btn_recompute')}] → {org.last_text().split(chr(10))[0]}", file=self.out)
        kept = {(e[0], e[1], e[2]) for e in (await _plan_state(self.app, self.slug)).entries if e[4]}
        self.report.figures.update(edits=len(edits), locked=len(locked))
        self.report.check(bool(edits) and bool(locked) and locked <= kept,
                          f"review: {' and '.join(edits)} done, {len(locked)} pair(s) locked, all of them still in "
                          f"place after [{t('de', 'plan.btn_recompute')}]")

        # Time and place, typed.
        await org.press(t("de", "plan.btn_time_place"), expect=first_line("de", "plan.ask_time"))
        await org.say(WHEN, expect=first_line("de", "plan.ask_place"))
        await org.say(WHERE, expect=first_line("de", "plan.time_place_saved"))
        print(f"  [{t('de', 'plan.btn_time_place')}] → {WHEN} · {WHERE}", file=self.out)

    async def release(self) -> PlanState:
        org = self.org
        self.section("Organiser: release")
        await org.press(t("de", "plan.btn_release"), expect=first_line("de", "plan.release_confirm"))
        print(org.last_text(), file=self.out)
        self.release_marks = self.marks()
        early = [p for p in self.people if self.since(self.review_marks, p.user_id)]
        self.report.check(not early, "nothing reached the participants during the review" if not early else
                          f"{len(early)} participants got messages before the release")
        before = len(self.emu.sent())
        started = time.perf_counter()
        released = t("de", "plan.released", new=2, event=self.event).split(":")[0]
        shown = await org.press(t("de", "plan.btn_release_now"), expect=released)
        self.report.figures["release_seconds"] = time.perf_counter() - started
        self.report.figures["release_messages"] = len(self.emu.sent()) - before
        print(f"[{t('de', 'plan.btn_release_now')}] → " + "\n".join(
            m.text or "" for m in shown if (m.text or "").startswith(released)), file=self.out)
        return await _plan_state(self.app, self.slug)

    def check_declined(self, plan: PlanState) -> None:
        """Who was declined is in no plan and hears nothing of it."""
        p = self.declined
        if p is None:
            return
        got = self.since(self.release_marks, p.user_id)
        self.report.check(p.user_id not in {plan.telegram.get(i) for i in plan.people} and not got,
                          f"{p.entry.get('name')} (declined) is not in the plan and got nothing at the release")

    # --- breakout -------------------------------------------------------------------------------

    def check_groups(self, plan: PlanState) -> None:
        """Each member their group (number, time, place, briefing), the
        unplaced a kind word, the moderator every group's profiles."""
        marks = self.release_marks
        groups = plan.groups()
        company_of = {c: n for n, (c, _ks) in groups.items()}
        member_of = {k: (n, c) for n, (c, ks) in groups.items() for k in ks}
        told = placed = unplaced = 0
        wrong = []
        for pid, p in self.simulated(plan):
            got = self.text_since(marks, p.user_id)
            if pid in company_of:
                n = company_of[pid]
                right = fits(got, p.lang, "plan.group_company", event=self.event, number=n, when=WHEN, where=WHERE) \
                    and all(plan.names[k] in got for k in groups[n][1])
            elif pid in member_of:
                n, c = member_of[pid]
                right = fits(got, p.lang, "plan.group_creative", event=self.event, number=n, when=WHEN, where=WHERE) \
                    and plan.names[c] in got
            else:
                right = fits(got, p.lang, "plan.unplaced_breakout", event=self.event)
                unplaced += right
            placed += right and (pid in company_of or pid in member_of)
            told += right
            if not right:
                wrong.append(f"{plan.names.get(pid)}: {got[:100]!r}")
        self.report.figures.update(groups=len(groups), group_messages=placed, unplaced_told=unplaced)
        self.report.check(told == len(plan.people) > 0,
                          f"{placed} members got their group ({_n(len(groups), 'group')}) with time, place and briefing"
                          + (f"; {unplaced} without a place were told kindly" if unplaced else "")
                          + (f"; wrong: {wrong[:3]}" if wrong else ""))
        mod = self.text_since(marks, ORGANISER_ID)
        profiles = sum(1 for c, ks in groups.values() if plan.names[c] in mod and all(plan.names[k] in mod for k in ks))
        self.report.figures["moderator_groups"] = profiles
        self.report.check(first_line("de", "plan.moderator_head") in mod and profiles == len(groups),
                          f"the moderator (the organiser who released) got the profiles of {profiles}/{len(groups)} "
                          "groups")
        first = groups[min(groups)][1][0] if groups else None
        if first is not None:
            print(f"\n-- what {plan.names[first]} received --", file=self.out)
            print(self.text_since(marks, plan.telegram[first]), file=self.out)

    async def results(self, plan: PlanState) -> None:
        """A member of the first group hands a note to their company; a member
        of the second leaves one, and the organiser sends that group's
        results bundled."""
        self.section("Results after the breakout round: /results")
        groups = plan.groups()
        handed = 0
        for i, (n, (company, creatives)) in enumerate(list(groups.items())[:2]):
            member = self.chats[plan.telegram[creatives[0]]]
            loc = member.locale
            note = NOTES[loc][i]
            company_tid = plan.telegram[company]
            mark = len(self.emu.sent(company_tid))
            await member.say("/results", expect=first_line(loc, "ho.choose"))
            await member.press(t(loc, "ho.group_button", event=self.event, number=n, company=""), prefix=True,
                               expect=first_line(loc, "ho.collecting_group"))
            await member.say(note, expect=first_line(loc, "ho.saved"))
            who = f"{plan.names[creatives[0]]} (group {n})"
            if i == 0:
                shown = await member.press(t(loc, "ho.btn_send"), expect=first_line(loc, "ho.sent"))
                sent = next((m.text for m in shown if (m.text or "").startswith(first_line(loc, "ho.sent"))), "")
                print(f"  {who}: /results → group {n} → {note!r} → [{t(loc, 'ho.btn_send')}] → {sent}",
                      file=self.out)
                head = t(self.by_tid[company_tid].lang, "ho.delivery_group", event=self.event)
            else:
                await member.press(t(loc, "ho.btn_later"))
                await self.org.say("/results", expect=first_line("de", "ho.choose"))
                label = first_line("de", "ho.bundle_button") + plan.names[company][:15]
                shown = await self.org.press(label, prefix=True, expect=first_line("de", "ho.bundle_sent"))
                bundled = first_line("de", "ho.bundle_sent")
                sent = next((m.text for m in shown if (m.text or "").startswith(bundled)), "")
                print(f"  {who}: /results → group {n} → {note!r}, [{t(loc, 'ho.btn_later')}]; the organiser: "
                      f"/results → [{label} …] → {sent}", file=self.out)
                head = first_line(self.by_tid[company_tid].lang, "ho.bundle_head")
            got = "\n".join(m.text or "" for m in self.emu.sent(company_tid)[mark:])
            arrived = head in got and note in got
            handed += arrived
            if not arrived:
                print(f"  {plan.names[company]} got: {got[:300]!r}", file=self.out)
        self.report.figures["results_delivered"] = handed
        self.report.check(handed == min(2, len(groups)) > 0,
                          f"the results of {handed} group(s) reached their company"
                          + (" (one sent by a member, one bundled by the organiser)" if handed > 1 else ""))

    # --- speed -----------------------------------------------------------------------------------

    def check_agendas(self, plan: PlanState) -> None:
        """Everyone their agenda: per round the partner and table, or a break."""
        marks = self.release_marks
        told = agendas = unplaced = 0
        wrong = []
        for pid, p in self.simulated(plan):
            got = self.text_since(marks, p.user_id)
            mine = [plan.slot(pid, r) for r in range(1, plan.rounds + 1)]
            company = plan.sides.get(pid) == "production"
            if not any(mine):
                right = fits(got, p.lang, "plan.unplaced_speed", event=self.event)
                unplaced += right
            else:
                right = fits(got, p.lang, "plan.agenda_company" if company else "plan.agenda_creative",
                             event=self.event, when=WHEN, where=WHERE)
                for r, s in enumerate(mine, start=1):
                    if s is None:
                        right = right and fits(got, p.lang, "plan.agenda_break", round=r)
                    elif company:
                        right = right and fits(got, p.lang, "plan.agenda_meet_company", round=r) \
                            and plan.names[s[1]] in got
                    else:
                        right = right and fits(got, p.lang, "plan.agenda_meet_creative", round=r, table=s[3]) \
                            and plan.names[s[0]] in got
                agendas += right
            told += right
            if not right:
                wrong.append(f"{plan.names.get(pid)}: {got[:100]!r}")
        self.report.figures.update(agendas=agendas, unplaced_told=unplaced)
        self.report.check(told == len(plan.people) > 0,
                          f"{agendas} people got their agenda (for each of {_n(plan.rounds, 'round')}: "
                          "partner and table, "
                          "or a break)" + (f"; {unplaced} without a conversation were told" if unplaced else "")
                          + (f"; wrong: {wrong[:3]}" if wrong else ""))
        creative = next((pid for pid in plan.people if plan.sides.get(pid) == "creative"), None)
        if creative is not None:
            print(f"\n-- {plan.names[creative]}'s agenda --", file=self.out)
            print(self.text_since(marks, plan.telegram[creative]), file=self.out)

    async def rounds(self, plan: PlanState) -> None:
        """/round next for every round: each person exactly one ping, the
        right one (partner, table and why; or the break)."""
        self.section("Organiser: /round next, round after round")
        tables = moves = breaks = expected = 0
        examples: dict[str, str] = {}
        for r in range(1, plan.rounds + 1):
            marks = self.marks()
            announced = t("de", "round.announced", round=r, rounds=plan.rounds, event=self.event, meetings=2,
                          people=0, resting=0).split(":")[0]
            await self.org.say("/round next", expect=announced)
            print(f"  /round next → {self.org.last_text().split(chr(10))[0]}", file=self.out)
            for pid, p in self.simulated(plan):
                expected += 1
                new = self.since(marks, p.user_id)
                text = (new[0].text or "") if len(new) == 1 else ""
                s = plan.slot(pid, r)
                if s is None:
                    later = next((x for x in (plan.slot(pid, q) for q in range(r + 1, plan.rounds + 1)) if x), None)
                    kind = "break"
                    right = fits(text, p.lang, "round.ping_break_last", round=r, rounds=plan.rounds) if later is None \
                        else fits(text, p.lang, "round.ping_break", round=r, rounds=plan.rounds, next=later[2],
                                  table=later[3])
                    breaks += right
                elif plan.sides.get(pid) == "production":
                    kind = "company"
                    right = fits(text, p.lang, "round.ping_company", round=r, rounds=plan.rounds, table=s[3]) \
                        and plan.names[s[1]] in text
                    tables += right
                else:
                    kind = "creative"
                    right = fits(text, p.lang, "round.ping_creative", round=r, rounds=plan.rounds, table=s[3]) \
                        and plan.names[s[0]] in text
                    moves += right
                if right:
                    examples.setdefault(kind, f"{plan.names[pid]}: {text.split(chr(10))[0]}")
                else:
                    print(f"  ✗ round {r}, {plan.names.get(pid)}: {[m.text for m in new]!r}", file=self.out)
        for kind in ("company", "creative", "break"):
            if kind in examples:
                print(f"    e.g. {examples[kind]}", file=self.out)
        await self.org.say("/round next", expect=t("de", "round.all_done", rounds=plan.rounds, event=self.event)
                           .split(".")[0])
        print(f"  /round next → {self.org.last_text()}", file=self.out)
        delivered = tables + moves + breaks
        self.report.figures.update(rounds=plan.rounds, pings=delivered, breaks=breaks)
        self.report.check(delivered == expected > 0,
                          f"{_n(plan.rounds, 'round')} announced: {delivered}/{expected} pings delivered, "
                          "one per person and "
                          f"round ({tables} to companies at their table, {moves} to creatives where to go, "
                          f"{breaks} breaks)")


async def run_format_demo(cohort: list[dict[str, Any]], framework: str, fmt: str, out: Any) -> dict[str, Any]:
    """The organiser runs `fmt` ("breakout" or "speed") with `cohort`; the checks' outcome."""
    started = time.perf_counter()
    async with running_bot(framework) as (emu, app, _clock):
        slug = await create_event(emu, ORGANISER_ID, EVENT_NAMES[fmt], fmt=fmt, approval=True)
        print(f"Organiser created „{EVENT_NAMES[fmt]}“ ({t('de', f'event.format_{fmt}')}, applications approved): "
              f"https://t.me/{emu.bot_username}?start={slug}", file=out)
        watcher = ChatWatcher(emu)
        people = [SimulatedParticipant(emu, watcher, FIRST_USER_ID + i, entry, slug) for i, entry in enumerate(cohort)]
        results = await asyncio.gather(*(p.run() for p in people), return_exceptions=True)
        _print_summary(emu, people, results, time.perf_counter() - started, out, sample=False)
        demo = FormatDemo(emu, app, fmt, people, slug, out)
        report = demo.report
        print("", file=out)
        report.check(all(p.done for p in people), f"{sum(p.done for p in people)}/{len(people)} participants joined "
                     "by the invitation link and finished their profile")
        user_updates = len(emu.updates())
        try:
            await demo.applications()
            await demo.review()
            plan = await demo.release()
            demo.check_declined(plan)
            if fmt == "breakout":
                demo.check_groups(plan)
                await demo.results(plan)
            else:
                demo.check_agendas(plan)
                await demo.rounds(plan)
        except Exception as exc:  # noqa: BLE001 - a step that did not work: said, and the demo fails
            report.check(False, f"stopped: {exc.__class__.__name__}: {exc}")
        figures = report.figures
        elapsed = time.perf_counter() - started
        print(f"\n== Summary: {t('de', f'event.format_{fmt}')} ==", file=out)
        lines = [f"participants onboarded: {sum(p.done for p in people)}/{len(people)}",
                 f"applications: {figures.get('applications', 0)}, approved {figures.get('approved', 0)}, "
                 f"declined {figures.get('declined', 0)}",
                 f"organiser actions (typed or pressed): {demo.org.actions}"]
        if fmt == "breakout":
            lines += [f"groups released: {figures.get('groups', 0)}, members told their group: "
                      f"{figures.get('group_messages', 0)}, without a place told: {figures.get('unplaced_told', 0)}",
                      f"moderator: profiles of {figures.get('moderator_groups', 0)} groups",
                      f"group results handed to companies: {figures.get('results_delivered', 0)}"]
        else:
            lines += [f"rounds: {figures.get('rounds', 0)}, per-person agendas sent: {figures.get('agendas', 0)}",
                      f"round pings delivered: {figures.get('pings', 0)} (breaks told: {figures.get('breaks', 0)})"]
        lines += [f"pairs locked in review: {figures.get('locked', 0)}; release sent "
                  f"{figures.get('release_messages', 0)} messages in {figures.get('release_seconds', 0):.2f} s",
                  f"updates from users: {len(emu.updates())} ({len(emu.updates()) - user_updates} after onboarding), "
                  f"messages from the bot: {len(emu.sent())}",
                  f"checks: {sum(ok for ok, _ in report.checks)}/{len(report.checks)} passed; took {elapsed:.1f} s"]
        for line in lines:
            print(f"  {line}", file=out)
        print("RESULT: " + ("OK" if report.ok else "FAILED"), file=out)
        return {"participants": len(people), "completed": sum(p.done for p in people), "ok": report.ok,
                "figures": figures}


def run_format_demo_cli(fmt: str, cohort: str | None = None, framework: str | None = None, limit: int | None = None,
                        only: list[str] | None = None) -> int:
    """`crosslab demo --format breakout|speed`: 0 only if every step was
    delivered as it should be; 1 if one was not; 2 for a bad cohort or format."""
    import sys

    if fmt not in FORMATS:
        print(f"crosslab demo: unknown format {fmt!r} (open, breakout, speed)", file=sys.stderr)
        return 2
    participants = read_participants(cohort, only)
    if participants is None:
        return 2
    participants = pick(participants, limit)
    if not {"production", "creative"} <= {p.get("side") for p in participants}:
        print(f"crosslab demo: --format {fmt} needs companies and creatives (give --limit 3 or more)", file=sys.stderr)
        return 2
    framework = demo_framework(framework)
    companies = sum(1 for p in participants if p.get("side") == "production")
    print(f"Crosslab demo ({fmt}): {len(participants)} participants ({companies} companies, "
          f"{len(participants) - companies} creatives), transport {framework}, local Bot API emulator")
    outcome = asyncio.run(run_format_demo(participants, framework, fmt, sys.stdout))
    return 0 if outcome["ok"] else 1
