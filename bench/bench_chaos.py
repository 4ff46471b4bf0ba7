"""Chaos: SIGKILL of the bot process at the worst moments, then a restart.

The bot runs as its own process (`crosslab run`, aiogram by default) against
the Bot API emulator in this process, as in bench/bench_outbox.py and
bench/bench_updates.py. Each scenario kills it with SIGKILL (no clean stop: no
pending write, no last record) and starts it again on the same database, then
counts what people got:

* ``onboarding``: N simulated participants (the demo's, bot/demo.py) onboard
  concurrently; SIGKILL once the bot has received ``--kill-after`` updates,
  restart. A participant who gets no answer within ``--patience`` seconds
  answers the question on screen again, as a person would. Counts: updates
  that were never answered (*lost*; split by whether Telegram counted them as
  confirmed at the kill: polling's next getUpdates offset, or the webhook's
  2xx), messages that arrived twice (*duplicates*), outbox rows in flight at
  the kill (claimed, not yet recorded sent), and *stuck* conversations (a
  participant whose next message after a lost one did not bring the next
  question, or who did not finish). ``--webhook``: webhook mode instead of
  long polling.
* ``reminders``: M meetings seeded in the database with two reminders each
  (REMINDER_OFFSETS 5h,4h, TIME_FACTOR so that they fall due over ~40 s);
  SIGKILL when half the reminder messages are out, restart. Counts per person
  and reminder: lost, duplicates, in flight; reminders decided (a
  `reminders_sent` row) but never received are lost, reminders never decided
  because the meeting began during the downtime are reported apart.
* ``takeover``: two bot processes (webhook mode, each its own port) on one
  PostgreSQL database (``--database-url``, dropped and created again: never
  the test suite's database); the same seeded reminders; SIGKILL of the leader
  when half are out. Prints the seconds until the other process leads
  (its ``crosslab_leader`` gauge on METRICS_LISTEN) and until it sends, and
  lost / duplicates / in flight.
* ``outbox``: bench/bench_outbox.py's 2,000-message run with a SIGKILL half-way.

Each prints a line of figures and a JSON line. The bot runs with
OUTBOX_LEASE_SECONDS=10 (``--lease``), so rows in flight at the kill are sent
again 10 s after they were claimed (the default is 30 s); ``--code PATH``
runs another checkout's bot (before/after).

    python bench/bench_chaos.py onboarding [--users 150] [--kill-after 1200] [--webhook] [--framework aiogram|ptb]
    python bench/bench_chaos.py reminders [--meetings 200]
    python bench/bench_chaos.py takeover [--meetings 200] [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/crosslab_chaos]
    python bench/bench_chaos.py outbox [--messages 2000]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.demo import DEMO_TOKEN, ChatWatcher, SimulatedParticipant, create_event, load_cohort  # noqa: E402
from bench.bench_updates import stop_process as stop  # noqa: E402
from emulator import BotAPIEmulator  # noqa: E402
from i18n import t  # noqa: E402

ORGANISER = 99
FIRST_PARTICIPANT = 20_000
FIRST_SEEDED = 600_000  # telegram ids of the seeded people (reminders, takeover)
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/crosslab_chaos"


# --- the bot process ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CODE = ROOT  # the checkout whose bot runs (--code)
LEASE = 10.0  # OUTBOX_LEASE_SECONDS (--lease): rows in flight at the kill are sent again after this


def start_bot(emu: BotAPIEmulator, cwd: str, url: str, **extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBHOOK_")}
    env.update({"TELEGRAM_API_URL": emu.base_url, "TELEGRAM_BOT_TOKEN": DEMO_TOKEN, "DATABASE_URL": url,
                "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"), "ADMIN_IDS": str(ORGANISER),
                "SWEEP_SECONDS": "86400", "OUTBOX_LEASE_SECONDS": f"{LEASE:g}", "PYTHONPATH": str(CODE), **extra})
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=cwd, env=env)


def webhook_env(port: int) -> dict[str, str]:
    return {"WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram", "WEBHOOK_SECRET": "chaos-" + "s" * 32,
            "WEBHOOK_LISTEN": f"127.0.0.1:{port}"}


async def kill(proc: subprocess.Popen[bytes]) -> float:
    os.kill(proc.pid, signal.SIGKILL)
    at = time.monotonic()
    await asyncio.to_thread(proc.wait, 30)
    return at


async def started(emu: BotAPIEmulator, mark: int, webhook: bool, timeout: float = 120.0) -> None:
    """The bot (re)started: its first getUpdates or setWebhook after request number `mark`."""
    method = "setWebhook" if webhook else "getUpdates"
    await emu.wait_until(lambda: any(m == method for m, _ in emu.requests[mark:]), timeout, f"the bot's {method}")


async def outbox_rows(url: str) -> Counter[str]:
    from db.engine import create_engine, create_session_factory
    from db.outbox import OutboxStore

    engine = create_engine(url)
    try:
        counts = await OutboxStore(create_session_factory(engine)).counts()
    finally:
        await engine.dispose()
    out: Counter[str] = Counter(counts.by_status)
    out["in_doubt"] = counts.in_doubt
    return out


def first_sent(m: Any) -> tuple[str, str, str]:
    """A message as it was first sent (edits later change text and buttons)."""
    text, markup = m.text, m.raw.get("reply_markup")
    if m.edits:
        text, markup = m.edits[0]["old_text"], m.edits[0]["old_reply_markup"]
    name = m.document.filename if m.document is not None else ""
    return text or "", json.dumps(markup, sort_keys=True), name or ""


def duplicates_in(messages: list[Any]) -> int:
    """Messages identical to an earlier one in the same chat (onboarding never repeats itself)."""
    seen: set[tuple[str, str, str]] = set()
    dup = 0
    for m in messages:
        key = first_sent(m)
        if key in seen:
            dup += 1
        seen.add(key)
    return dup


def print_figures(label: str, figures: dict[str, Any]) -> None:
    print(f"{label}: " + "; ".join(f"{k} {v}" for k, v in figures.items()), flush=True)
    print(json.dumps({"scenario": label, **figures}), flush=True)


# --- onboarding ----------------------------------------------------------------------------------

@dataclass
class ChaosParticipant(SimulatedParticipant):
    """A demo participant who does not give up: an answer that does not come
    within `patience` seconds is noted (`unanswered`), and the person answers
    the question on screen again. A message that arrives a second time (sent
    again after the crash) is ignored, as a person would."""

    patience: float = 60.0
    sent_updates: list[int] = field(default_factory=list)
    unanswered: list[int] = field(default_factory=list)
    not_resumed: list[int] = field(default_factory=list)  # unanswered right after an unanswered one
    _last_unanswered: bool = False
    max_steps: ClassVar[int] = 60  # a question asked again after the crash takes a step too

    def _distinct(self) -> list[Any]:
        seen: set[tuple[str, str, str]] = set()
        out = []
        for m in self.emu.sent(self.user_id):
            key = first_sent(m)
            if key not in seen:
                seen.add(key)
                out.append(m)
        return out

    def _last_id(self) -> int:
        distinct = self._distinct()
        return distinct[-1].message_id if distinct else 0

    def _current(self) -> Any:
        return self._distinct()[-1]

    async def _act(self, send: Any, ready: Any, what: str) -> bool:
        """Send an update; wait until `ready(update)` (or `patience` runs out: unanswered)."""
        update = send()
        self.actions += 1
        self.sent_updates.append(update["update_id"])
        try:
            await self.watcher.wait(self.user_id, lambda: ready(update), self.patience, what)
        except TimeoutError:
            self.unanswered.append(update["update_id"])
            if self._last_unanswered:
                self.not_resumed.append(update["update_id"])
            self._last_unanswered = True
            return False
        self._last_unanswered = False
        return True

    def _answered(self, before: int) -> Any:
        """The next question came, or (a button) the bot said why not in a toast."""
        def ready(update: dict[str, Any]) -> bool:
            if self._last_id() > before and self._recognise(self._current()) != "unknown":
                return True
            query = (update.get("callback_query") or {}).get("id")
            return query is not None and any(a["callback_query_id"] == query and a.get("text")
                                             for a in self.emu.callback_answers[-50:])
        return ready

    async def _say(self, text: str) -> None:
        before = self._last_id()
        await self._act(lambda: self.emu.send_text(self.user_id, text), self._answered(before), "the next question")

    async def _tap(self, message: Any, label: str) -> None:
        before = self._last_id()
        await self._act(lambda: self.emu.click(self.user_id, message, label), self._answered(before),
                        "the next question")

    async def _toggle(self, message: Any, label: str) -> bool:
        edits = len(message.edits)
        return await self._act(lambda: self.emu.click(self.user_id, message, label),
                               lambda _update: len(message.edits) > edits, "the question updated")

    async def _answer(self, step: str, msg: Any) -> None:
        """Multi-select questions: tick only what is not ticked yet, and after a
        lost tick look at the question again (answering again after a lost update)."""
        from bot.demo import _discipline_label, demo_disciplines

        if step == "disciplines":
            wanted = [_discipline_label(code, self.lang) for code in demo_disciplines(self.entry)]
        elif step == "availability":
            wanted = [t(self.lang, "day.1"), t(self.lang, "day.3"), t(self.lang, "window.morning")]
        elif step == "languages":
            codes = self.entry.get("languages") or [self.entry.get("language") or "de", "en"]
            wanted = [t(self.lang, f"lang.{code}") for code in dict.fromkeys(codes)]
        else:
            await super()._answer(step, msg)
            return
        for label in wanted:
            if f"✅ {label}" not in [b for row in msg.buttons for b, _ in row]:
                if not await self._toggle(msg, label):
                    return
        await self._tap(msg, t(self.lang, "btn.done"))



async def onboarding(args: argparse.Namespace) -> dict[str, Any]:
    cohort = load_cohort(None)
    mode = "webhook" if args.webhook else "polling"
    with tempfile.TemporaryDirectory(prefix="crosslab-chaos-onboarding-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        async with BotAPIEmulator(bot_username="crosslab_bench_bot") as emu:
            extra = {"BOT_FRAMEWORK": args.framework}
            if args.webhook:
                extra.update(webhook_env(free_port()))
            proc = start_bot(emu, tmp, url, **extra)
            try:
                await started(emu, 0, args.webhook)
                emu.add_user(ORGANISER, "Orga", language_code="de")
                slug = await create_event(emu, ORGANISER, "Chaos")
                watcher = ChatWatcher(emu)
                people = [ChaosParticipant(emu, watcher, FIRST_PARTICIPANT + i, cohort[i % len(cohort)], slug,
                                           patience=args.patience) for i in range(args.users)]
                first_update = len(emu.updates())
                run = asyncio.gather(*(p.run() for p in people), return_exceptions=True)
                await emu.wait_until(lambda: len(emu.updates()) - first_update >= args.kill_after or run.done(),
                                     1800, "updates before the kill")
                killed_at = await kill(proc)
                at_kill = len(emu.updates()) - first_update
                created = {u["update_id"] for u in emu.updates()}
                unconfirmed = set(emu.unconfirmed_updates)
                in_flight = (await outbox_rows(url))["sending"]
                await asyncio.sleep(args.down)
                mark = len(emu.requests)
                proc = start_bot(emu, tmp, url, **extra)
                await started(emu, mark, args.webhook)
                restart_s = time.monotonic() - killed_at
                results = await run
            finally:
                await stop(proc)
            if args.transcripts:
                with open(args.transcripts, "w", encoding="utf-8") as out:
                    for p in people:
                        if p.unanswered or not p.done:
                            print(f"== {p.user_id} unanswered {p.unanswered} not resumed {p.not_resumed} "
                                  f"steps {p.steps}\n{emu.transcript(p.user_id)}\n", file=out)
            after = await outbox_rows(url)
            ours = [m for p in people for m in emu.sent(p.user_id)]
            duplicates = sum(duplicates_in(emu.sent(p.user_id)) for p in people)
    unanswered = [u for p in people for u in p.unanswered]
    confirmed_lost = [u for u in unanswered if u in created and u not in unconfirmed]
    stuck = [p for p in people if not p.done or p.not_resumed]
    failures = [r for r in results if isinstance(r, BaseException)]
    figures: dict[str, Any] = {
        "framework": args.framework, "mode": mode, "users": args.users,
        "updates": sum(len(p.sent_updates) for p in people), "killed_after_updates": at_kill,
        "restart_s": round(restart_s, 1), "lease_s": LEASE, "lost": len(unanswered), "lost_confirmed_at_kill": len(confirmed_lost),
        "duplicates": duplicates, "in_flight": in_flight, "in_doubt_resent": after["in_doubt"],
        "duplicates_le_in_flight": duplicates <= in_flight, "stuck": len(stuck),
        "completed": sum(p.done for p in people), "messages": len(ours),
    }
    if failures:
        figures["first_failure"] = repr(failures[0])[:200]
    if unanswered:
        figures["lost_update_ids"] = sorted(unanswered)[:20]
    print_figures(f"onboarding ({mode})", figures)
    return figures


# --- reminders -----------------------------------------------------------------------------------

REMINDER_OFFSETS = "5h,4h"  # both "in N hours" (closer than 6 h): two different texts per person


async def seed_meetings(url: str, meetings: int, time_factor: float, lead_in: float, spread: float,
                        fresh_postgres: bool = False) -> None:
    """`meetings` pairs of English-speaking people with a meeting each, starting so
    that (at TIME_FACTOR `time_factor`, planned right after the seed) the 5h
    reminders fall due from `lead_in` seconds on, spread over `spread` seconds,
    and the 4h ones `time_factor`-scaled hour later."""
    from db.engine import create_engine, create_session_factory
    from db.migrate import upgrade
    from db.models import Meeting, Pair, Person, Profile, utcnow

    engine = create_engine(url)
    if fresh_postgres:
        from db.migrate import downgrade

        await downgrade(engine, "base")
    await upgrade(engine)
    sessions = create_session_factory(engine)
    now = utcnow()
    first_offset = 5 * 3600 / time_factor  # real seconds between the 5h reminder and the start
    async with sessions() as s:
        people = [Person(telegram_id=FIRST_SEEDED + i, first_name=f"P{i}", language="en", consent_at=now)
                  for i in range(2 * meetings)]
        s.add_all(people)
        await s.flush()
        for i, p in enumerate(people):
            s.add(Profile(person_id=p.id, name=f"Person {i}", side="production" if i % 2 == 0 else "creative",
                          organisation=f"Org {i}", completed_at=now, seeks="Wir suchen Hilfe.", offers="Design.",
                          disciplines=["design"]))
        pairs = [Pair(company_id=people[2 * i].id, creative_id=people[2 * i + 1].id, status="introduced",
                      company_answer="interested", creative_answer="interested") for i in range(meetings)]
        s.add_all(pairs)
        await s.flush()
        for i, pair in enumerate(pairs):
            real = lead_in + first_offset + spread * i / max(1, meetings - 1)  # the start, in real seconds from now
            s.add(Meeting(pair_id=pair.id, status="scheduled", starts_at=now + timedelta(seconds=real * time_factor),
                          duration_min=45))
        await s.commit()
    await engine.dispose()


def reminder_counts(emu: BotAPIEmulator, meetings: int) -> Counter[tuple[int, str]]:
    """(chat, text) of every reminder the seeded people got."""
    return Counter((m.chat_id, m.text or "") for m in emu.sent()
                   if FIRST_SEEDED <= m.chat_id < FIRST_SEEDED + 2 * meetings and (m.text or "").startswith("⏰"))


async def decided(url: str) -> int:
    from sqlalchemy import func, select

    from db.engine import create_engine, create_session_factory
    from db.models import ReminderSent

    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as s:
            return int((await s.execute(select(func.count()).select_from(ReminderSent))).scalar_one())
    finally:
        await engine.dispose()


def reminder_figures(emu: BotAPIEmulator, meetings: int, kinds: int, decided_rows: int) -> dict[str, Any]:
    got = reminder_counts(emu, meetings)
    per_chat = Counter(chat for chat, _ in got)  # distinct reminders per person
    expected = 2 * meetings * kinds
    received = sum(1 for _ in got)  # distinct (person, reminder)
    return {
        "expected": expected, "received_distinct": received,
        "lost": sum(max(0, kinds - per_chat[FIRST_SEEDED + i]) for i in range(2 * meetings)),
        "duplicates": sum(c - 1 for c in got.values() if c > 1),
        "decided_not_received": max(0, 2 * decided_rows - received),
        "never_decided": expected - 2 * decided_rows,
    }


async def reminders(args: argparse.Namespace) -> dict[str, Any]:
    kinds = 2
    with tempfile.TemporaryDirectory(prefix="crosslab-chaos-reminders-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        async with BotAPIEmulator(bot_username="crosslab_bench_bot") as emu:
            for i in range(2 * args.meetings):
                emu.add_user(FIRST_SEEDED + i, f"P{i}", language_code="en")
            await seed_meetings(url, args.meetings, args.time_factor, args.lead_in, args.spread)
            env = {"REMINDER_OFFSETS": REMINDER_OFFSETS, "TIME_FACTOR": f"{args.time_factor:g}",
                   "SEND_RATE": f"{args.rate:g}"}
            expected = 2 * args.meetings * kinds
            proc = start_bot(emu, tmp, url, **env)
            try:
                await emu.wait_until(lambda: sum(reminder_counts(emu, args.meetings).values()) >= expected // 2,
                                     300, "half the reminders")
                killed_at = await kill(proc)
                at_kill = sum(reminder_counts(emu, args.meetings).values())
                in_flight = (await outbox_rows(url))["sending"]
                decided_at_kill = await decided(url)
                await asyncio.sleep(args.down)
                mark = len(emu.requests)
                proc = start_bot(emu, tmp, url, **env)
                await started(emu, mark, False)
                restart_s = time.monotonic() - killed_at
                latest = args.lead_in + 5 * 3600 / args.time_factor + args.spread  # the last meeting starts
                try:
                    await emu.wait_until(lambda: len(reminder_counts(emu, args.meetings)) >= expected,
                                         max(60.0, latest + 30), "every reminder")
                except TimeoutError:
                    pass
                await asyncio.sleep(3.0)  # a reminder sent twice would arrive now
            finally:
                await stop(proc)
            after = await outbox_rows(url)
            figures = {"meetings": args.meetings, "reminders_per_person": kinds,
                       "killed_after": at_kill, "decided_at_kill": 2 * decided_at_kill,
                       "restart_s": round(restart_s, 1), "lease_s": LEASE, "in_flight": in_flight,
                       **reminder_figures(emu, args.meetings, kinds, await decided(url)),
                       "in_doubt_resent": after["in_doubt"]}
    figures["duplicates_le_in_flight"] = figures["duplicates"] <= in_flight
    print_figures("reminders", figures)
    return figures


# --- leader takeover ------------------------------------------------------------------------------

def leads(metrics_port: int) -> bool | None:
    """The process's crosslab_leader gauge; None while it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=1) as resp:
            body = resp.read().decode()
    except OSError:
        return None
    for line in body.splitlines():
        if line.startswith("crosslab_leader "):
            return float(line.split()[1]) == 1.0
    return None


async def wait_leads(port: int, want: bool | None, timeout: float, what: str) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = await asyncio.to_thread(leads, port)
        if (state is not None and want is None) or (want is not None and state is want):
            return time.monotonic()
        await asyncio.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


async def fresh_database(url: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    target = make_url(url)
    name = target.database
    if not name or name == "test":
        raise SystemExit("takeover: give a database of its own (it is dropped and created again), not 'test'")
    conn = await asyncpg.connect(host=target.host or "127.0.0.1", port=target.port or 5432,
                                 user=target.username or "postgres", password=target.password, database="postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def takeover(args: argparse.Namespace) -> dict[str, Any]:
    kinds = 2
    url = args.database_url
    await fresh_database(url)
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="crosslab-chaos-takeover-") as tmp:
        async with BotAPIEmulator(bot_username="crosslab_bench_bot") as emu:
            sends: list[float] = []  # when each reminder reached the emulator
            emu.on_event = lambda chat, line: sends.append(time.monotonic()) if (
                FIRST_SEEDED <= chat < FIRST_SEEDED + 2 * args.meetings and "⏰" in line) else None
            for i in range(2 * args.meetings):
                emu.add_user(FIRST_SEEDED + i, f"P{i}", language_code="en")
            await seed_meetings(url, args.meetings, args.time_factor, args.lead_in, args.spread)
            env = {"REMINDER_OFFSETS": REMINDER_OFFSETS, "TIME_FACTOR": f"{args.time_factor:g}",
                   "SEND_RATE": f"{args.rate:g}", "SCHEDULER": "auto",
                   "LEADER_RETRY_SECONDS": f"{args.leader_retry:g}"}
            metrics = [free_port(), free_port()]
            expected = 2 * args.meetings * kinds
            try:
                procs.append(start_bot(emu, tmp, url, METRICS_LISTEN=f"127.0.0.1:{metrics[0]}",
                                       **webhook_env(free_port()), **env))
                await wait_leads(metrics[0], True, 120, "the first process to lead")
                procs.append(start_bot(emu, tmp, url, METRICS_LISTEN=f"127.0.0.1:{metrics[1]}",
                                       **webhook_env(free_port()), **env))
                await wait_leads(metrics[1], False, 120, "the second process to follow")
                await emu.wait_until(lambda: sum(reminder_counts(emu, args.meetings).values()) >= expected // 2,
                                     300, "half the reminders")
                killed_at = await kill(procs[0])
                at_kill = sum(reminder_counts(emu, args.meetings).values())
                in_flight = (await outbox_rows(url))["sending"]
                led_at = await wait_leads(metrics[1], True, 60, "the second process to lead")
                latest = args.lead_in + 5 * 3600 / args.time_factor + args.spread
                try:
                    await emu.wait_until(lambda: len(reminder_counts(emu, args.meetings)) >= expected,
                                         max(60.0, latest + 30), "every reminder")
                except TimeoutError:
                    pass
                await asyncio.sleep(3.0)
            finally:
                for proc in procs:
                    await stop(proc)
            first_send = next((s for s in sends if s > led_at), None)  # by the new leader
            after = await outbox_rows(url)
            figures = {"meetings": args.meetings, "reminders_per_person": kinds,
                       "leader_retry_s": args.leader_retry, "killed_after": at_kill,
                       "takeover_s": round(led_at - killed_at, 2),
                       "first_send_after_kill_s": round(first_send - killed_at, 2) if first_send else None,
                       "lease_s": LEASE, "in_flight": in_flight, **reminder_figures(emu, args.meetings, kinds, await decided(url)),
                       "in_doubt_resent": after["in_doubt"]}
    figures["duplicates_le_in_flight"] = figures["duplicates"] <= in_flight
    print_figures("takeover", figures)
    return figures


# --- the outbox run (bench_outbox.py) ---------------------------------------------------------------

async def outbox(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_outbox

    async with BotAPIEmulator(bot_username="crosslab_bench_bot") as emu:
        result = await bench_outbox.chaos(emu, args.messages, args.rate)
    figures = {"messages": args.messages, **result, "duplicates_le_in_flight": result["duplicates"] <= result["in_flight"]}
    print(json.dumps({"scenario": "outbox", **figures}), flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="scenario", required=True)
    p = sub.add_parser("onboarding", help="SIGKILL while N people onboard")
    p.add_argument("--users", type=int, default=150)
    p.add_argument("--kill-after", type=int, default=1200, help="updates received before the kill")
    p.add_argument("--framework", choices=["aiogram", "ptb"], default="aiogram")
    p.add_argument("--webhook", action="store_true", help="webhook mode instead of long polling")
    p.add_argument("--patience", type=float, default=60.0, help="seconds a participant waits for an answer")
    p.add_argument("--down", type=float, default=1.0, help="seconds between the kill and the restart")
    p.add_argument("--transcripts", default=None, metavar="FILE",
                   help="write the chats of the participants with a lost update to FILE")
    for name, default_meetings in (("reminders", 200), ("takeover", 200)):
        p = sub.add_parser(name, help="SIGKILL while reminders are due" if name == "reminders"
                           else "SIGKILL of the leader of two processes on PostgreSQL")
        p.add_argument("--meetings", type=int, default=default_meetings)
        p.add_argument("--time-factor", type=float, default=300.0)
        p.add_argument("--lead-in", type=float, default=10.0 if name == "reminders" else 30.0,
                       help="seconds until the first reminder is due")
        p.add_argument("--spread", type=float, default=30.0, help="seconds over which the 5h reminders fall due")
        p.add_argument("--rate", type=float, default=25.0, help="SEND_RATE")
        if name == "reminders":
            p.add_argument("--down", type=float, default=1.0, help="seconds between the kill and the restart")
        else:
            p.add_argument("--database-url", default=DEFAULT_PG,
                           help="PostgreSQL database of its own: dropped and created again")
            p.add_argument("--leader-retry", type=float, default=2.0, help="LEADER_RETRY_SECONDS")
    p = sub.add_parser("outbox", help="bench_outbox.py's SIGKILL half-way through N messages")
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--code", type=Path, default=ROOT,
                        help="the checkout whose bot runs (default: this one), for a before/after comparison")
    parser.add_argument("--lease", type=float, default=10.0,
                        help="OUTBOX_LEASE_SECONDS of the bot: a row in flight at the kill is sent again after "
                             "this; shorter ones also take back rows a live but busy bot is still sending")
    args = parser.parse_args()
    global CODE, LEASE
    CODE, LEASE = args.code.resolve(), args.lease
    print(f"bot code: {CODE}", flush=True)
    scenario = {"onboarding": onboarding, "reminders": reminders, "takeover": takeover, "outbox": outbox}
    asyncio.run(scenario[args.scenario](args))


if __name__ == "__main__":
    main()
