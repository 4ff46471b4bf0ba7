"""`crosslab demo`: the emulator, the bot and a simulated cohort, end to end.

Every simulated participant is a Telegram user in the local Bot API emulator who
reads the bot's questions and answers them from their cohort entry, so the real
aiogram (or PTB) code, the database and the conversation run exactly as in
production. Prints a transcript summary and the stored profiles; then the
organiser releases the matches, people answer their suggestion cards (interested
where the cohort's relevance labels call a pair relevant), agree on a time, get
the .ics file, and reminders fire (with TIME_FACTOR, so no one waits a day).
"""
from __future__ import annotations

import asyncio
import json
import re
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from i18n import t

DEFAULT_COHORT = Path(__file__).with_name("data") / "demo_cohort.json"
DEMO_TOKEN = "424242:crosslab-demo-token-abcdefghijklmnop"
ORGANISER_ID = 100
DEMO_TIME_FACTOR = 100_000
DEMO_SEND_RATE = 1000.0  # messages per second in all (SEND_RATE)
DEMO_CHAT_RATE = 50.0  # messages per second and chat (SEND_CHAT_RATE)  # a day of waiting for reminders passes in under a second
FIRST_USER_ID = 1000
# Questions after meetings, in the order a participant meets them.
FOLLOWUP_KEYS = ("fb.ask", "fb.ask_arranged", "fb.rating", "fb.continue", "fb.text", "oc.ask")


class ChatWatcher:
    """Wakes a simulated participant only when the bot changed *their* chat."""

    def __init__(self, emu: Any) -> None:
        self._events: dict[int, asyncio.Event] = {}
        emu.on_event = self._on_event

    def _on_event(self, chat_id: int, _line: str) -> None:
        event = self._events.get(chat_id)
        if event is not None:
            event.set()

    async def wait(self, chat_id: int, ready: Any, timeout: float, what: str) -> None:
        event = self._events.setdefault(chat_id, asyncio.Event())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not ready():
            event.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out waiting for {what}")
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except asyncio.TimeoutError:
                pass


@lru_cache(maxsize=None)
def _prompt_prefix(lang: str, key: str) -> str:
    """The longest fixed fragment of a text's first line (placeholders vary)."""
    first_line = t(lang, key).split("\n")[0]
    return max(re.split(r"\{[^}]*\}", first_line), key=len)[:40]


@dataclass
class SimulatedParticipant:
    """A cohort entry acting as a Telegram user: answers what the bot asks."""

    emu: Any
    watcher: ChatWatcher
    user_id: int
    entry: dict[str, Any]
    event_slug: str = ""
    actions: int = 0
    steps: list[str] = field(default_factory=list)
    done: bool = False
    max_steps: ClassVar[int] = 40  # answers before giving up (a question answered again counts too)

    @property
    def lang(self) -> str:
        return "en" if self.entry.get("language") == "en" else "de"

    @property
    def first_name(self) -> str:
        return (self.entry.get("name") or "Guest").split()[0]

    def register(self) -> None:
        self.emu.add_user(self.user_id, self.first_name, username=f"demo{self.user_id}",
                          language_code=self.lang, last_name=" ".join((self.entry.get("name") or "").split()[1:]) or None)

    def _last_id(self) -> int:
        sent = self.emu.sent(self.user_id)
        return sent[-1].message_id if sent else 0

    async def _next_question(self, before: int, timeout: float = 60.0) -> None:
        """Wait until the bot's newest message is a new question (or the end)."""
        def ready() -> bool:
            return self._last_id() > before and self._recognise(self._current()) != "unknown"

        await self.watcher.wait(self.user_id, ready, timeout, f"the bot's next question to {self.entry.get('id')}")

    async def _say(self, text: str) -> None:
        before = self._last_id()
        self.emu.send_text(self.user_id, text)
        self.actions += 1
        await self._next_question(before)

    async def _tap(self, message: Any, label: str) -> None:
        before = self._last_id()
        self.emu.click(self.user_id, message, label)
        self.actions += 1
        await self._next_question(before)

    async def _toggle(self, message: Any, label: str) -> None:
        """A multi-select button: the bot edits the question in place."""
        edits = len(message.edits)
        self.emu.click(self.user_id, message, label)
        self.actions += 1
        await self.watcher.wait(self.user_id, lambda: len(message.edits) > edits, 60.0,
                                f"the bot to update its question to {self.entry.get('id')}")

    def _current(self) -> Any:
        return self.emu.sent(self.user_id)[-1]

    def _is(self, message: Any, key: str) -> bool:
        return _prompt_prefix(self.lang, key) in (message.text or "")

    async def react(self, wants: Any, quiet: float = 3.0, feedback: Any = None) -> None:
        """After onboarding: answer cards (👍 when `wants(name)`), pick the first
        offered time, accept offers; answer feedback and follow-up questions
        with `feedback(message_text, question_key)` (a button label, text to
        type, or None to leave it unanswered); stop when the bot stays quiet."""
        handled: set[tuple[int, int]] = set()
        lang = self.lang
        while True:
            todo = [m for m in self.emu.sent(self.user_id)
                    if m.buttons and not m.deleted and (m.message_id, len(m.edits)) not in handled]
            if not todo:
                mark = self.emu.seq
                try:
                    await self.watcher.wait(self.user_id, lambda: self.emu.seq != mark and any(
                        m.buttons and (m.message_id, len(m.edits)) not in handled for m in self.emu.sent(self.user_id)),
                        quiet, "more to do")
                except TimeoutError:
                    return
                continue
            msg = todo[0]
            handled.add((msg.message_id, len(msg.edits)))
            text = msg.text or ""
            labels = [label for row in msg.buttons for label, _ in row]
            if self._is(msg, "card.head") or self._is(msg, "card.head_interested"):
                name = text.split("\n")[2].split(" – ")[0] if len(text.split("\n")) > 2 else ""
                label = t(lang, "btn.interested") if wants(name) else t(lang, "btn.not_fit")
            elif self._is(msg, "sched.ask"):
                label = next(lb for lb in labels if lb.startswith("📅"))
            elif self._is(msg, "sched.none_common"):
                label = t(lang, "btn.self_arrange")
            elif self._is(msg, "sched.offer"):
                label = t(lang, "btn.slot_ok")
            elif feedback is not None and (key := next((k for k in FOLLOWUP_KEYS if self._is(msg, k)), None)):
                answer = feedback(text, key)
                if answer is None:
                    continue  # this person goes quiet: the bot will nudge
                if answer not in labels:  # free text for the optional question
                    mark = self.emu.seq
                    self.emu.send_text(self.user_id, answer)
                    self.actions += 1
                    await self.watcher.wait(self.user_id, lambda: self.emu.seq != mark and self._current().message_id
                                            != msg.message_id, 30.0, "the bot to take the note")
                    continue
                label = answer
            else:
                continue
            answers = len(self.emu.callback_answers)
            self.emu.click(self.user_id, msg, label)
            self.actions += 1
            # Taken (the question is edited) or turned down with a toast (e.g. the other side moved the meeting).
            await self.watcher.wait(self.user_id, lambda m=msg: len(m.edits) > 0 or not m.buttons or (
                len(self.emu.callback_answers) > answers and self.emu.callback_answers[-1].get("text")), 30.0,
                "the bot to take the answer")

    async def run(self) -> None:
        self.register()
        await self._say(f"/start {self.event_slug}".strip())
        for _ in range(self.max_steps):
            msg = self._current()
            step = self._recognise(msg)
            self.steps.append(step)
            if step == "done":
                self.done = True
                return
            await self._answer(step, msg)
        raise RuntimeError(f"{self.entry.get('id')} did not finish onboarding")

    def _recognise(self, msg: Any) -> str:
        if self._is(msg, "onboarding.done") or self._is(msg, "app.received") or self._is(msg, "app.waiting"):
            return "done"  # the profile is saved (where the event needs approval: the application is sent)
        if self._is(msg, "welcome"):
            return "welcome"
        if self._is(msg, "summary.head"):
            return "summary"
        for step in ("name", "side", "organisation", "role", "sector", "challenge", "disciplines", "skills",
                     "collaboration", "languages", "availability"):
            if self._is(msg, f"ask.{step}"):
                return step
        if self._is(msg, "ask.wanted") or self._is(msg, "ask.wanted_open"):  # the help the bridge suggests
            return "wanted"
        if self._is(msg, "ask.role_freelance"):  # the role question to a freelancer
            return "role"
        return "unknown"

    async def _answer(self, step: str, msg: Any) -> None:
        e = self.entry
        side = e.get("side")
        offers = (e.get("offers") or "").strip()
        seeks = (e.get("seeks") or "").strip()
        if step == "welcome":
            await self._tap(msg, t(self.lang, "btn.consent_yes"))
        elif step == "name":
            await self._say(e.get("name") or self.first_name)
        elif step == "side":
            await self._tap(msg, t(self.lang, f"side.{side}"))
        elif step == "organisation":
            if e.get("organisation"):
                await self._say(e["organisation"])
            else:
                await self._tap(msg, t(self.lang, "btn.freelance"))
        elif step == "role":
            role = e.get("role") or (offers.split(":")[0] if side == "creative" and ":" in offers[:60] else "")
            await self._say(role or ("Inhaber:in" if self.lang == "de" else "Owner"))
        elif step == "sector":
            await self._say(e.get("sector") or offers or "Handwerk")
        elif step == "challenge":
            await self._say(_at_least(seeks, offers, 40))
        elif step == "skills":
            await self._say(_at_least(offers, seeks, 40))
        elif step == "collaboration":
            wish = seeks or t(self.lang, "demo.collaboration")
            await self._say(_at_least(wish, t(self.lang, "demo.collaboration"), 15))
        elif step == "disciplines":
            for code in demo_disciplines(e):
                await self._toggle(msg, _discipline_label(code, self.lang))
            await self._tap(msg, t(self.lang, "btn.done"))
        elif step == "languages":
            wanted = e.get("languages") or [e.get("language") or "de", "en"]
            for code in dict.fromkeys(wanted):
                label = t(self.lang, f"lang.{code}")
                if f"✅ {label}" not in [b for row in msg.buttons for b, _ in row]:
                    await self._toggle(msg, label)
            await self._tap(msg, t(self.lang, "btn.done"))
        elif step == "availability":
            for label in (t(self.lang, "day.1"), t(self.lang, "day.3"), t(self.lang, "window.morning")):
                await self._toggle(msg, label)
            await self._tap(msg, t(self.lang, "btn.done"))
        elif step == "wanted":  # the bridge's suggestion, as it is
            await self._tap(msg, t(self.lang, "btn.done"))
        elif step == "summary":
            await self._tap(msg, t(self.lang, "btn.confirm"))
        else:
            raise RuntimeError(f"unexpected message for {e.get('id')}: {msg.text!r}")


def _at_least(text: str, extra: str, n: int) -> str:
    text = text.strip()
    if len(text) >= n:
        return text
    return f"{text} {extra}".strip() if extra else text


def _discipline_label(code: str, lang: str) -> str:
    from matching.taxonomy import DISCIPLINES

    return DISCIPLINES[code][lang]


def demo_disciplines(entry: dict[str, Any]) -> list[str]:
    """The cohort's `disciplines` if given, else what the matcher's taxonomy reads in the offer."""
    from matching.concepts import disciplines_in
    from matching.taxonomy import DISCIPLINES

    given = [c for c in entry.get("disciplines") or [] if c in DISCIPLINES]
    return given or disciplines_in(entry.get("offers") or "", limit=2) or ["communication_design"]


def load_cohort(path: str | Path | None) -> list[dict[str, Any]]:
    return list(_read(path)["participants"])


def load_relevance(path: str | Path | None) -> dict[str, dict[str, int]]:
    """Graded labels {company: {creative: grade}} if the file has them."""
    return dict(_read(path).get("relevance") or {})


def _read(path: str | Path | None) -> dict[str, Any]:
    return json.loads(Path(path or DEFAULT_COHORT).read_text(encoding="utf-8"))


async def create_event(emu: Any, organiser_id: int, name: str, *, fmt: str = "open", approval: bool = False,
                       timeout: float = 30.0) -> str:
    """The organiser creates an event the way one does in the chat
    (`/newevent`, question by question, in German): open networking, breakout
    rounds or a speed meetup (`fmt`), applications approved or not; its
    invitation code."""
    from datetime import date

    start = len(emu.sent(organiser_id))
    steps: list[tuple[str, str, int]] = [  # (type or press, what, new messages it brings)
        ("type", f"/newevent {name}", 1), ("type", f"12.03.{date.today().year + 1} 18:00 bis 21:00", 1),
        ("type", "Spinnerei, Halle 14, Leipzig", 1), ("press", t("de", f"event.format_{fmt}"), 1),
        ("press", t("de", "event.btn_unlimited"), 1),
        ("press", t("de", "event.btn_approval_yes" if approval else "event.btn_approval_no"), 1),
        ("press", "Anlegen", 2)]  # the link, then the QR code
    for kind, what, expected in steps:
        mark = len(emu.sent(organiser_id))
        if kind == "type":
            emu.send_text(organiser_id, what)
        else:
            emu.click(organiser_id, emu.last(organiser_id), what)
        await emu.wait_for(organiser_id, expected, timeout, since=mark)
    for sm in reversed(emu.sent(organiser_id)[start:]):
        found = re.search(r"\?start=(\w+)", sm.text or sm.caption or "")
        if found:
            return found.group(1)
    raise RuntimeError(f"no invitation link after /newevent: {emu.transcript(organiser_id)[-500:]}")


@asynccontextmanager
async def running_bot(framework: str) -> AsyncIterator[tuple[Any, Any, dict[str, Any]]]:
    """The local Bot API emulator and the bot (aiogram or PTB) on a fresh
    SQLite database, with the organiser (ORGANISER_ID) an admin; yields
    (emulator, app, clock): `clock["now"]` set moves the conversations' clock."""
    from bot.app import create_app
    from bot.settings import load_settings
    from db.models import utcnow
    from emulator import BotAPIEmulator

    with tempfile.TemporaryDirectory(prefix="crosslab-demo-") as tmp:
        async with BotAPIEmulator(bot_username="crosslab_demo_bot") as emu:
            settings = load_settings(
                _env_file=None, telegram_bot_token=DEMO_TOKEN, telegram_api_url=emu.base_url,
                database_url=f"sqlite+aiosqlite:///{tmp}/demo.sqlite3", admin_ids=str(ORGANISER_ID),
                time_factor=DEMO_TIME_FACTOR,
                webhook_url="",  # the demo polls its own emulator, whatever the environment says
                # Simulated people answer at machine speed (dozens of answers a second). At the real
                # rates (SEND_RATE 25/s, one message a second per chat) every reply to them counts
                # against the outbox's budget, and the bot's next messages (cards, introductions)
                # would wait seconds behind them while the simulated people already stopped waiting.
                send_rate=DEMO_SEND_RATE, send_chat_rate=DEMO_CHAT_RATE,
                flood_burst=0,  # simulated people are fast, not flooding (flood control off)
            )
            simulated: dict[str, Any] = {"now": None}  # the conversations' clock: real time until the demo moves it
            app = await create_app(settings, framework=framework, clock=lambda: simulated["now"] or utcnow())
            await app.start(polling_timeout=1)
            try:
                emu.add_user(ORGANISER_ID, "Orga", username="organiser", language_code="de")
                yield emu, app, simulated
            finally:
                await app.stop()


async def _demo(cohort: list[dict[str, Any]], framework: str, out: Any,
                cohort_relevance: dict[str, dict[str, int]] | None = None) -> dict[str, Any]:
    cohort_relevance = cohort_relevance or {}
    started = time.perf_counter()
    async with running_bot(framework) as (emu, app, simulated):
        slug = await create_event(emu, ORGANISER_ID, "cp/lab Demo")
        print(f"Organiser created the event: https://t.me/{emu.bot_username}?start={slug}", file=out)

        watcher = ChatWatcher(emu)
        people = [SimulatedParticipant(emu, watcher, FIRST_USER_ID + i, entry, slug)
                  for i, entry in enumerate(cohort)]
        results = await asyncio.gather(*(p.run() for p in people), return_exceptions=True)
        elapsed = time.perf_counter() - started
        _print_summary(emu, people, results, elapsed, out)
        await _print_profiles(app, out)
        await _introductions(emu, app, people, cohort_relevance, out, slug)
        await _followups(emu, app, people, cohort_relevance, out, simulated)
        await _broadcast(emu, app, people, out)
        return {"participants": len(people), "completed": sum(p.done for p in people)}


def _print_summary(emu: Any, people: list[SimulatedParticipant], results: list[Any], elapsed: float, out: Any,
                   *, sample: bool = True) -> None:
    updates = len(emu.updates())
    bot_messages = len(emu.sent())
    print(f"\n== Onboarding transcript summary ({elapsed:.1f} s) ==", file=out)
    print(f"{len(people)} participants, {updates} updates from users, {bot_messages} messages from the bot", file=out)
    for p, result in zip(people, results):
        status = "✓ profile saved" if p.done else f"✗ {result!r}"
        path = " → ".join(s for s in p.steps if s != "done")
        print(f"  {p.entry.get('id', p.user_id):>6}  {p.entry.get('name', ''):<22} {p.actions:>3} actions  {status}", file=out)
        if not p.done:
            print(f"          path: {path}", file=out)
    shown = next((p for p in people if p.done and p.entry.get("side") == "production"), None) if sample else None
    if shown is not None:
        print(f"\n-- transcript of {shown.entry.get('name')} --", file=out)
        print(emu.transcript(shown.user_id), file=out)


async def _print_profiles(app: Any, out: Any) -> None:
    async with app.core.uow() as uow:
        rows = await uow.people.completed_profiles()
        print(f"\n== Stored profiles ({len(rows)}) ==", file=out)
        for _person, profile in rows:
            what = profile.seeks if profile.side == "production" else profile.offers
            extra = ", ".join(profile.disciplines or []) if profile.side == "creative" else (profile.sector or "")
            print(f"  [{profile.side:<10}] {profile.name:<22} {profile.organisation or '':<26} "
                  f"langs={','.join(profile.languages or [])}  {extra[:40]}", file=out)
            print(f"               {(what or '')[:110]}", file=out)


async def _introductions(emu: Any, app: Any, people: list[SimulatedParticipant], relevance: dict[str, dict[str, int]],
                         out: Any, slug: str) -> None:
    """The organiser releases the event's matches; everyone answers their cards
    (interested where the cohort's labels call the pair relevant), pairs agree
    on a time, get the .ics, and reminders fire (TIME_FACTOR)."""
    by_name = {p.entry.get("name"): p for p in people}
    started = time.perf_counter()
    mark = len(emu.sent(ORGANISER_ID))
    emu.send_text(ORGANISER_ID, f"/release {slug}")
    await emu.wait_for(ORGANISER_ID, 1, timeout=600, since=mark)
    confirmation = emu.last(ORGANISER_ID)
    print(f"\n== Organiser: /release ==\n{confirmation.text}", file=out)
    edits = len(confirmation.edits)
    emu.click(ORGANISER_ID, confirmation, t("de", "admin.btn_release"))
    await emu.wait_for_edit(ORGANISER_ID, confirmation.message_id, edits + 1, timeout=600)
    print(emu.message(ORGANISER_ID, confirmation.message_id).text, file=out)

    def wants_for(p: SimulatedParticipant) -> Any:
        def wants(name: str) -> bool:
            other = by_name.get(name)
            if other is None:
                return False
            a, b = p.entry.get("id"), other.entry.get("id")
            labels = relevance.get(a, {}) or {}
            back = relevance.get(b, {}) or {}
            if not relevance:
                return True
            return labels.get(b, 0) >= 1 or back.get(a, 0) >= 1
        return wants

    await asyncio.gather(*(p.react(wants_for(p)) for p in people if p.done))
    async with app.core.uow() as uow:
        from sqlalchemy import func, select

        from db.models import Meeting, Pair, Suggestion

        count = lambda q: uow.session.execute(q)  # noqa: E731
        cards = (await count(select(Suggestion.status, func.count()).group_by(Suggestion.status))).all()
        pairs = (await count(select(Pair.status, func.count()).group_by(Pair.status))).all()
        meetings = (await count(select(Meeting.status, func.count()).group_by(Meeting.status))).all()
        times = (await count(select(Meeting.starts_at, Meeting.updated_at)
                             .where(Meeting.status == "scheduled"))).all()
    ics = sum(1 for m in emu.sent() if m.document is not None and (m.document.filename or "").endswith(".ics"))
    print("\n== Introductions ==", file=out)
    print(f"cards: {dict(cards)}; pairs: {dict(pairs)}; meetings: {dict(meetings)}; .ics files sent: {ics}", file=out)
    offsets = app.settings.reminder_offsets
    # Per person and meeting, the reminders whose time was still ahead when the
    # time was agreed (a slot tomorrow morning, agreed in the afternoon, is
    # less than 24 h away: its 24 h reminder is never planned).
    expected = 2 * sum(1 for starts_at, agreed_at in times for _kind, offset in offsets
                       if starts_at is not None and starts_at - offset > agreed_at)
    reminder_prefix = tuple(t(loc, "reminder.today", time="", name="").split(":")[0] for loc in ("de", "en"))

    def reminders() -> int:
        return sum(1 for m in emu.sent() if (m.text or "").startswith(reminder_prefix))

    try:
        await emu.wait_until(lambda: reminders() >= expected, 60.0, "reminders")
    except TimeoutError:
        pass
    print(f"reminders received: {reminders()} (expected up to {expected}: up to {len(offsets)} per person and "
          f"meeting, those still ahead when the time was agreed, "
          f"TIME_FACTOR={app.settings.time_factor:g}); took {time.perf_counter() - started:.1f} s", file=out)
    sample = next((p for p in people if p.entry.get("side") == "production"
                   and any("🤝" in (m.text or "") for m in emu.sent(p.user_id))), None)
    if sample is not None:
        lines = emu.transcript(sample.user_id).splitlines()
        start = next((i for i, line in enumerate(lines) if "💡" in line), 0)
        print(f"\n-- {sample.entry.get('name')}: from the first suggestion to the reminders --", file=out)
        print("\n".join(lines[max(0, start - 1):]), file=out)


def _grade(relevance: dict[str, dict[str, int]], a: str, b: str) -> int:
    if not relevance:
        return 2
    return max((relevance.get(a) or {}).get(b, 0), (relevance.get(b) or {}).get(a, 0))


async def _followups(emu: Any, app: Any, people: list[SimulatedParticipant], relevance: dict[str, dict[str, int]],
                     out: Any, clock: dict[str, Any]) -> None:
    """Days pass on a simulated clock: after their meetings people say how it
    went (as the cohort's labels suggest: a strong fit is rated 5 and goes on,
    a weak one 2 and does not), one in eight stays quiet and is nudged, a few
    meetings fell through or were moved; two weeks and three months later they
    say what came of it. The organiser's /stats closes the demo."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from db.models import Feedback, Meeting, utcnow
    from handlers.figures import figures

    started = time.perf_counter()
    policy = app.core.services.policy
    clock["now"] = utcnow()
    by_name = {p.entry.get("name"): p for p in people}
    quiet_ones = {p.user_id for i, p in enumerate(people) if i % 8 == 7}
    moved: set[tuple[int, str]] = set()

    def answers_for(p: SimulatedParticipant) -> Any:
        lang = p.lang

        def answer(text: str, key: str) -> str | None:
            if p.user_id in quiet_ones:
                return None
            other = next((o for name, o in by_name.items() if name and name in text), None)
            grade = _grade(relevance, p.entry.get("id"), other.entry.get("id")) if other else 1
            seed = sum(map(ord, (p.entry.get("id") or "") + (other.entry.get("id") if other else "")))
            if key in ("fb.ask", "fb.ask_arranged"):
                if seed % 7 == 3 and (p.user_id, key) not in moved and other is not None:
                    moved.add((p.user_id, key))
                    return t(lang, "fb.btn_met_moved")
                return t(lang, "fb.btn_met_no" if seed % 13 == 0 else "fb.btn_met_yes")
            if key == "fb.rating":
                return str({2: 5, 1: 4}.get(grade, 2))
            if key == "fb.continue":
                return t(lang, {2: "fb.btn_yes", 1: "fb.btn_maybe"}.get(grade, "fb.btn_no"))
            if key == "fb.text":
                if grade == 2 and p.entry.get("side") == "production":
                    return "Sehr konkret, wir machen weiter." if lang == "de" else "Very concrete, we go on."
                return t(lang, "fb.btn_skip")
            later = "90" in text or clock["now"] - clock.get("met", clock["now"]) > timedelta(days=60)
            choice = {2: "contract" if later else "project", 1: "idea"}.get(grade, "nothing")
            return t(lang, f"oc.{choice}")
        return answer

    async def sweep_and_answer(label: str) -> dict[str, int]:
        counts = await app.sweep()
        await asyncio.gather(*(p.react(lambda name: False, quiet=1.5, feedback=answers_for(p))
                               for p in people if p.done))
        print(f"  {label:<44} {', '.join(f'{k} {v}' for k, v in counts.items() if v) or 'nothing due'}", file=out)
        return counts

    async with app.core.uow() as uow:
        ends = [m.starts_at + timedelta(minutes=m.duration_min) for m in await uow.intros.scheduled_meetings()
                if m.starts_at is not None]
    if not ends:
        print("\n== After the meetings ==\nno meetings were scheduled, so there is nothing to ask about", file=out)
        return

    def at(when: Any) -> Any:
        """The next moment outside quiet hours."""
        while policy.quiet_now(when):
            when += timedelta(minutes=30)
        return when

    print("\n== After the meetings (simulated clock) ==", file=out)
    first = at(max(ends) + policy.delay + timedelta(minutes=5))
    clock["now"] = clock["met"] = first
    await sweep_and_answer(f"{first:%Y-%m-%d %H:%M} UTC: after the last meeting")
    day = timedelta(days=1)
    for offset in policy.nudges:  # the quiet ones are nudged, twice at most
        clock["now"] = at(clock["now"] + offset + timedelta(hours=1))
        await sweep_and_answer(f"+{(clock['now'] - first).days} days: nudges")
    clock["now"] = at(clock["now"] + policy.give_up_after + day)  # given up; moved meetings took place
    await sweep_and_answer(f"+{(clock['now'] - first).days} days: moved meetings, give up")
    for stage, after in policy.followups:
        clock["now"] = at(max(clock["now"], first + after) + timedelta(hours=1))
        await sweep_and_answer(f"+{(clock['now'] - first).days} days: follow-up '{stage}'")
    async with app.core.uow() as uow:
        steps = dict((await uow.session.execute(select(Feedback.step, func.count()).group_by(Feedback.step))).all())
        statuses = dict((await uow.session.execute(select(Meeting.status, func.count()).group_by(Meeting.status))).all())
        fig, fun = await figures(uow, [stage for stage, _ in policy.followups])
    print(f"feedback questions by state: {steps}; meetings: {statuses}; took {time.perf_counter() - started:.1f} s",
          file=out)
    mark = len(emu.sent(ORGANISER_ID))
    emu.send_text(ORGANISER_ID, "/stats")
    chart, text = await emu.wait_for(ORGANISER_ID, 2, timeout=60, since=mark)  # the funnel's chart, the figures
    print(f"\n== Organiser: /stats ==\n[{chart.kind}: {chart.text}]\n{text.text}", file=out)
    print("\n== Figures (JSON) ==\n" + json.dumps({"funnel": fun.to_dict(), **fig.to_dict()}, ensure_ascii=False),
          file=out)


async def _broadcast(emu: Any, app: Any, people: list[SimulatedParticipant], out: Any) -> None:
    """After the meetings the organiser announces the next date to the event's
    participants (/broadcast: audience, event, text, preview, send). One of
    them has blocked the bot (403) and Telegram asks once to slow down (429):
    the outbox pauses, goes on, and the organiser gets the delivery report."""
    started = time.perf_counter()
    reached = [p for p in people if p.done]
    if not reached:
        return
    blocked = reached[-1]
    emu.block_bot(blocked.user_id, notify=False)

    async def act(do: Any) -> None:
        """One step of the organiser's; wait for the bot's answer (a new message or an edit)."""
        mark, seq = len(emu.sent(ORGANISER_ID)), emu.seq
        last = emu.last(ORGANISER_ID) if mark else None
        edits = len(last.edits) if last is not None else 0
        do()
        await emu.wait_until(lambda: len(emu.sent(ORGANISER_ID)) > mark or emu.seq != seq and last is not None
                             and len(emu.message(ORGANISER_ID, last.message_id).edits) > edits, 30.0,
                             "the bot's answer to the organiser")
        await emu.wait_idle(quiet=0.05)

    def click(label: str) -> Any:
        msg = next(m for m in reversed(emu.sent(ORGANISER_ID))
                   if any(label in text for row in m.buttons for text, _ in row))
        return lambda: emu.click(ORGANISER_ID, msg, label)

    await act(lambda: emu.send_text(ORGANISER_ID, "/broadcast"))
    await act(click(t("de", "bc.aud_event")))
    await act(click("cp/lab Demo"))
    text = ("Hallo {vorname}, danke fürs Mitmachen bei {event}! Das nächste Treffen ist am 12. März – "
            "die Anmeldung ist offen.")
    await act(lambda: emu.send_text(ORGANISER_ID, text))
    await act(click(t("de", "bc.btn_link")))
    await act(lambda: emu.send_text(ORGANISER_ID, "Zur Anmeldung https://example.org/cplab/anmeldung"))
    await act(click(t("de", "bc.btn_preview")))
    sent = emu.sent(ORGANISER_ID)
    preview, control = sent[-2], sent[-1]
    print("\n== Organiser: /broadcast to the event's participants ==", file=out)
    print(f"preview: {preview.text}\n{control.text}", file=out)
    emu.fail_next("sendMessage", 429, retry_after=1)
    await act(click(t("de", "bc.btn_send")))
    await app.broadcasts.settle()
    await emu.wait_idle(quiet=0.05)
    print(f"(injected: {blocked.entry.get('name')} blocked the bot → 403; one send answered 429, retry after 1 s)",
          file=out)
    print(emu.message(ORGANISER_ID, control.message_id).text, file=out)
    print(emu.last(ORGANISER_ID).text, file=out)
    print(f"took {time.perf_counter() - started:.1f} s", file=out)


def read_participants(cohort: str | None, only: list[str] | None = None) -> list[dict[str, Any]] | None:
    """The cohort file's participants (only those with the ids in `only`,
    when given); None, said on stderr, if the file cannot be read."""
    import sys

    try:
        participants = load_cohort(cohort)
    except (OSError, ValueError, KeyError) as exc:
        print(f"crosslab demo: cannot read the cohort file: {exc}", file=sys.stderr)
        return None
    if only:
        participants = [p for p in participants if p.get("id") in set(only)]
    return participants


def demo_framework(framework: str | None) -> str:
    """The framework asked for, else BOT_FRAMEWORK, else aiogram."""
    from bot.settings import SettingsError, load_settings

    try:
        return framework or load_settings(_env_file=None).bot_framework
    except SettingsError:
        return "aiogram"


def run_demo(cohort: str | None = None, framework: str | None = None, limit: int | None = None,
             only: list[str] | None = None) -> int:
    """`crosslab demo` (open networking): 0 if everyone onboarded. The other
    formats: `bot.demo_formats.run_format_demo_cli`."""
    import sys

    participants = read_participants(cohort, only)
    if participants is None:
        return 2
    if limit:
        participants = participants[:limit]
    framework = demo_framework(framework)
    print(f"Crosslab demo: {len(participants)} participants, transport {framework}, local Bot API emulator")
    summary = asyncio.run(_demo(participants, framework, sys.stdout, load_relevance(cohort)))
    return 0 if summary["completed"] == summary["participants"] else 1
