"""Hostile input, fuzzed (issue 14): a stateful property-based test of the core.

Several people talk to the core (CoreHarness, SQLite) at once, in random
order: the admin and a co-organiser of an event, an introduced pair, a
creative with a card still open, and people who never agreed to anything
(one without a Telegram username, one whose client speaks neither German nor
English). Each step is one update of one person:

* texts: empty, whitespace, 4,096 / 4,097 / 10,000 characters, RTL and
  bidi controls, zero-width characters, emoji only, HTML/Markdown specials,
  format placeholders, digits of other scripts (², ١٢, 𝟏), numbers beyond
  64 bits, dates past the year 9999, random Unicode;
* commands (every registered one and unknown ones, with a bot suffix) with
  garbage arguments; media of every kind (with and without a file, with a
  caption); edited messages; forwards; the same in group chats and channels;
* buttons: offered ones (current or stale), replayed ones, ones of another
  person, tampered signatures, random data, no data, no message, and
  *signed* garbage — payloads the bot never offered but signed with its key
  (what a leaked key or an older bot version would send): every button type
  with ids of other people's rows, numbers beyond 64 bits, non-ASCII digits;
* the same update delivered again; two updates of one person at once; time
  moving on with the follow-up sweep.

After every step: no exception escaped and none was logged (no "something
went wrong"); a private message (not a button) was answered; a redelivered
update did nothing; every message Telegram would accept (not empty, toast ≤
200 characters, callback data ≤ 64 bytes, link buttons with a link); every
stored state within its allowed set; no message to a participant carries the
contact of someone they have not both said yes to; and a step of someone who
organises nothing changed nothing the organisers own (events, co-organisers,
broadcasts, plans, other people's admission).

A modest run is part of the normal suite (about 20-40 s); FUZZ_EXAMPLES (examples, default
15) and FUZZ_STEPS (steps per example, default 40) make it run long, and
FUZZ_COLLECT=FILE explores instead of stopping at the first failure: each
kind of violation is written to FILE once (with the update and traceback) and
the run goes on; FILE.progress says how far it got. E.g.

    FUZZ_COLLECT=/tmp/fuzz.log FUZZ_EXAMPLES=100000 FUZZ_STEPS=80 timeout 1800 pytest tests/fuzz -q

The world is built once per run with the real conversations, at two moments
("negotiating": the pair about to agree on a time; "met": asked how it went),
and each example starts from a copy of one of them.
"""
from __future__ import annotations

import asyncio
import copy
import dataclasses
import itertools
import logging
import os
import re
import shutil
import tempfile
import time
import traceback
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition, rule,
                                 run_state_machine_as_test)
from sqlalchemy import String, select

from db.models import (Base, Broadcast, ConversationState, Event, EventOrganiser, EventParticipant, Feedback, Meeting,
                       Outcome, Pair, Person, Plan, PlanEntry, PlanNotice, Profile, Suggestion, utcnow)
from domain.model import CardStatus, MeetingStatus, PairStatus
from handlers.callbacks import MAX_CALLBACK_BYTES, PAYLOADS, Choice
from handlers.flows import Flow
from handlers.types import Attachment, Incoming, OutMessage, Reply, UserRef
from tests.support.config import ADMIN_ID, make_settings
from tests.support.drivers import CoreChat, Msg
from tests.support.harness import CoreHarness

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
STEPS = int(os.environ.get("FUZZ_STEPS", "40"))

CO_ID = 900002
COMPANY, CREATIVE, CARD_HOLDER = 1101, 2101, 2102
NEW_DE, NEW_EN, NEW_XX = 4101, 4102, 4103
ORGANISERS = frozenset({ADMIN_ID, CO_ID})
# telegram id -> (first name, Telegram language, username)
PEOPLE: dict[int, tuple[str, str | None, str | None]] = {
    ADMIN_ID: ("Orga", "de", f"user{ADMIN_ID}"),
    CO_ID: ("Cora", "de", f"user{CO_ID}"),
    COMPANY: ("Uta", "de", f"user{COMPANY}"),
    CREATIVE: ("Ben", "en", f"user{CREATIVE}"),
    CARD_HOLDER: ("Lea", "de", f"user{CARD_HOLDER}"),
    NEW_DE: ("Nora", "de", f"user{NEW_DE}"),
    NEW_EN: ("Sam", "en", None),  # no username: introductions link tg://user?id=
    NEW_XX: ("Ilse", "fr", f"user{NEW_XX}"),
}
USER_IDS = sorted(PEOPLE)

# --- the world, built once ------------------------------------------------------------------------


@dataclasses.dataclass
class Stage:
    """A moment of the world: its database files and each chat's history."""

    directory: Path  # the database files to copy
    messages: dict[int, list[Msg]]  # each chat's history (its buttons are pressed later)
    now: datetime  # the simulated time


@dataclasses.dataclass
class World:
    slug: str
    stages: dict[str, Stage]


async def build_world(directory: Path, matching: Any) -> World:
    """Two moments of one world. "negotiating": an event with an admin and a
    co-organiser; an introduced pair (1101 de, 2101 en) about to agree on a
    time; a creative (2102) with a card about the company, unanswered; three
    people who never agreed to anything. "met": the same after the pair met —
    both are asked how it went."""
    from tests.scenarios.feedback import _after_meeting, _meeting
    from tests.scenarios.meetings import DESIGNER, introduced_pair, onboard
    from tests.support.events import new_event

    async def stage(name: str) -> Stage:
        target = directory / name
        target.mkdir()
        await h.stop()
        for f in (directory / "db").iterdir():
            shutil.copy(f, target / f.name)
        messages = {chat.user_id: copy.deepcopy(chat.messages) for chat in h.chats}
        now = h.clock()
        await h.start()
        return Stage(target, messages, now)

    (directory / "db").mkdir()
    h = CoreHarness(make_settings(f"sqlite+aiosqlite:///{directory / 'db' / 'world.sqlite3'}"), matching=matching)
    h.set_time(utcnow())
    await h.start()
    try:
        admin = h.chat(ADMIN_ID, "Orga", "de")
        slug = await new_event(admin, "Fuzzfest")
        async with h.sessions() as s:
            event = (await s.execute(select(Event))).scalar_one()
            s.add(EventOrganiser(event_id=event.id, telegram_id=CO_ID, name="Cora", added_by=ADMIN_ID))
            await s.commit()
        company, creative = await introduced_pair(h)  # the company is asked for a time
        await onboard(h, CARD_HOLDER, lang="de", side="creative", name="Lea Licht", text=DESIGNER, days=("Di",),
                      window="vormittags", slug=slug, discipline="UX")
        stages = {"negotiating": await stage("negotiating")}
        await company.press("📅")
        await creative.press("Works")
        meeting = await _meeting(h)
        assert meeting.status == "scheduled"
        h.set_time(_after_meeting(meeting))
        await h.sweep()  # "did you meet?" to both
        stages["met"] = await stage("met")
    finally:
        await h.stop()
    return World(slug, stages)


# --- what people send -------------------------------------------------------------------------------

SPECIAL_TEXTS = [
    "", " ", "\n\n", "\t", "\u200b\u200b", "\u200b", "\u200d", "\ufeff", "\u200f", "\u202e", "\u202egnp.exe",
    "שלום עולם", "مرحبا بالعالم", "\u202bمرحبا\u202c", "🙂", "🙂🙂🙂", "👨‍👩‍👧‍👦", "🏳️‍🌈", "⭐⭐⭐⭐⭐⭐",
    "<b>fett</b>", "<script>alert(1)</script>", "*bold* _it_ `code` [link](http://x.y)", "&amp; &lt; &gt;",
    "\\", "%s %d {name} {0} {} {{", "'; DROP TABLE people; --", "null", "None", "undefined", "NaN", "-0",
    "²", "³²", "١٢", "١٢٣٤٥", "٣١.١٢.٢٠٣٠ ١٨:٠٠", "𝟏𝟐", "Ⅻ", "½", "0", "00", "-1", "1e309", "1.5",
    "9" * 20, "1" * 13, "99999999999999999999999", "2" * 100,
    "31.12.9999 23:59", "01.01.10000 10:00", "31.12.9999", "9999-12-31 23:59", "32.13.2030 25:61",
    "29.02.2031 10:00", "01.01.1970 00:00", "01.01.0001 00:00", "morgen 18 Uhr", "tomorrow 6pm", "heute",
    "in 100000 Tagen", "Di 10:00", "Tue 10:00", "24:00", "10:00-09:00", "5 10", "5/10", "unbegrenzt",
    "ja", "nein", "yes", "no", "vielleicht", "4 Sterne", "vier", "https://example.org/meet", "example.org",
    "http://", "https://" + "a" * 300 + ".de", "Werkstraße 5, 04109 Leipzig", "/", "//", "/ start", "@",
    "@crosslab_test_bot", "#hashtag", "\x00", "\x07", "a\r\nb", "\u0301\u0301\u0301",
]
LONG_TEXTS = st.builds(lambda ch, n: ch * n, st.sampled_from(["a", "ä", "9", "🙂", "\u200b", "ש", " ", "x\n"]),
                       st.sampled_from([4095, 4096, 4097, 10000]))
# typed times and numbers: any year (past 9999 too), day, hour, in the formats people use
TIMES = st.builds(
    lambda d, m, y, hh, mm, fmt: fmt.format(d=d, m=m, y=y, hh=hh, mm=mm),
    st.integers(0, 40), st.integers(0, 14), st.one_of(st.integers(0, 3000), st.integers(9998, 10**7)),
    st.integers(0, 30), st.integers(0, 70),
    st.sampled_from(["{d}.{m}.{y} {hh}:{mm:02d}", "{d}.{m}.{y}", "{y}-{m:02d}-{d:02d} {hh}:{mm:02d}",
                     "{d}.{m}. {hh}:{mm:02d}", "{hh}:{mm:02d}", "{d}.{m}.{y} {hh} Uhr", "in {y} Tagen",
                     "in {y} days", "morgen {hh}:{mm:02d}", "Di {hh}:{mm:02d}", "{d}/{m}/{y} {hh}.{mm}"]))
TEXT = st.one_of(
    st.sampled_from(SPECIAL_TEXTS),
    TIMES,
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200),
    st.lists(st.sampled_from(SPECIAL_TEXTS), min_size=2, max_size=4).map(" ".join),
    LONG_TEXTS,
)
PARTICIPANT_COMMANDS = ["start", "matches", "browse", "meetings", "results", "profile", "pause", "resume", "mydata",
                        "delete", "settings", "language", "help", "cancel", "leave"]
ORGANISER_COMMANDS = ["newevent", "events", "event", "release", "plan", "round", "stats", "export", "broadcast",
                      "broadcasts", "results", "cancel", "help"]
COMMAND_NAMES = PARTICIPANT_COMMANDS + ORGANISER_COMMANDS + ["", "unknown", "START", "stärt", "start_", "x" * 64]
ARGS = st.one_of(st.just(""), st.just(""), st.sampled_from(["{slug}", "{slug}x", "FUZZFEST", "1", "²", "-1", "9" * 30]),
                 TEXT)


def command_text(name: str, suffix: str, args: str) -> str:
    return f"/{name}{suffix}" + (f" {args}" if args else "")


MEDIA_KINDS = ["photo", "document", "sticker", "voice", "video", "video_note", "animation", "audio", "location",
               "venue", "contact", "poll", "dice", "game", "story", "invoice", "new_chat_members", "unknown"]

# ids that exist in the world (small) and numbers no row has (large, beyond 64 bits)
INTS = st.one_of(st.integers(0, 12), st.integers(0, 2**31), st.integers(2**62, 2**63 + 10),
                 st.integers(10**18, 10**40), st.sampled_from([COMPANY, CREATIVE, ADMIN_ID]))
WORDS = st.one_of(st.sampled_from(["", "y", "n", "x", "a", "d", "q", "r", "c", "p", "g", "s", "b", "e", "m", "f",
                                   "ok", "done", "back", "on", "off", "later", "met", "skip", "de", "en", "de-du",
                                   "²", "١٢", "𝟏", "-1", "9" * 25, "ä", "open", "speed", "breakout", "UX", "FOTO",
                                   "production", "creative", "p", "cancel", "keep", "resched", "other", "self",
                                   "cx", "14d", "90d", "idea", "contract"]),
                  st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",),
                                                 exclude_characters="|"), max_size=12))
RAW_VALUES = st.lists(st.one_of(WORDS, INTS.map(str)), max_size=5).flatmap(
    lambda parts: st.sampled_from([":", ".", "-", "", ","]).map(lambda sep: sep.join(parts)))


def _field_strategy(cls: type, field: dataclasses.Field) -> st.SearchStrategy[Any]:
    ops = getattr(cls, "OPS", None)
    if field.name == "op" and ops:
        return st.one_of(st.sampled_from(sorted(ops)), WORDS)
    if field.type in ("int", "int | None"):
        return INTS if field.type == "int" else st.one_of(st.none(), INTS)
    return WORDS


def _payload_value(cls: type) -> st.SearchStrategy[tuple[str, str]]:
    """(action, value) of a payload of `cls` with random fields, packed as the bot would."""
    if cls is Choice:
        return st.tuples(st.sampled_from(cls.actions), WORDS)

    def packed(values: tuple[Any, ...]) -> tuple[str, str]:
        try:
            value = cls(*values).pack()
        except Exception:
            value = ":".join(str(v) for v in values)
        return cls.actions[0], value

    return st.tuples(*(_field_strategy(cls, f) for f in dataclasses.fields(cls))).map(packed)


SIGNED_GARBAGE = st.one_of(
    st.sampled_from(sorted(set(PAYLOADS.values()), key=lambda c: c.__name__)).flatmap(_payload_value),
    st.tuples(st.sampled_from(sorted(PAYLOADS) + ["", "zz", "ä"]), RAW_VALUES),
)
FORGED_DATA = st.one_of(
    st.none(), st.just(""), st.text(max_size=80),
    st.sampled_from(["ä|ö|ü|ß", "sg|1:y|0|AAAAAAAA", "|||", "a|b|c|d|e", "sg|1:y|²|xxxxxxxx", "\udcff|x|0|y"]),
    st.text(alphabet="|:0123456789abcdefxyz-_", max_size=64),
)

COLLECT = os.environ.get("FUZZ_COLLECT", "")  # a file: record each kind of violation there and go on
_collected: set[str] = set()
_progress = {"examples": 0, "steps": 0, "started": time.monotonic()}


def expect(condition: object, message: object, kind: str = "") -> None:
    """An assertion; with FUZZ_COLLECT (exploring) each kind of violation is
    written to that file once and the run goes on, to find many at a time."""
    if condition:
        return
    if not COLLECT:
        raise AssertionError(message)
    key = kind or str(message).splitlines()[0][:120]
    if key not in _collected:
        _collected.add(key)
        with open(COLLECT, "a", encoding="utf-8") as out:
            out.write(f"=== {key}\n{message}\n\n")


def traceback_of(record: logging.LogRecord) -> str:
    return "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else ""


def signature(record: logging.LogRecord) -> str:
    """Where a logged exception came from: its type and innermost frame of ours."""
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        tb = exc.__traceback__
        where = "?"
        while tb is not None:
            name = tb.tb_frame.f_code.co_filename
            if "/handlers/" in name or "/db/" in name or "/domain/" in name:
                where = f"{Path(name).parent.name}/{Path(name).name}:{tb.tb_lineno}"
            tb = tb.tb_next
        return f"{type(exc).__name__} at {where}"
    return f"{record.name}: {record.getMessage()[:80]}"


# --- the checks -------------------------------------------------------------------------------------

FLOWS = {f.value for f in Flow}
SIZED_COLUMNS = [(table.name, cols) for table in Base.metadata.sorted_tables
                 if (cols := [c for c in table.columns if isinstance(c.type, String) and c.type.length])]
STEP = re.compile(r"[a-z_]{1,40}")
URL = re.compile(r"(https?://|tg://)\S+")


class ErrorLog(logging.Handler):
    """Every record at ERROR or above while a step runs."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def check_telegram_accepts(reply: Reply) -> None:
    """What the Bot API would refuse (400) never leaves the core."""
    if reply.callback_text is not None:
        expect(len(reply.callback_text) <= 200, f"toast too long: {reply.callback_text!r}")
    for m in reply.messages:
        expect(m.text.strip() or m.document is not None or m.media, f"an empty message: {m!r}")
        for row in m.buttons:
            for b in row:
                expect(b.text.strip(), f"a button without a label: {m!r}")
                expect((b.data is None) != (b.url is None), f"a button needs data or a link: {b!r}")
                if b.data is not None:
                    expect(1 <= len(b.data.encode()) <= MAX_CALLBACK_BYTES, f"callback data size: {b!r}")
                if b.url is not None:
                    expect(URL.fullmatch(b.url), f"not a link Telegram takes: {b.url!r}")


def contacts_in(m: OutMessage) -> str:
    parts = [m.text] + [b.url or "" for row in m.buttons for b in row]
    if m.document is not None and m.document.filename.endswith(".ics"):
        parts.append(m.document.content.decode("utf-8", "replace").replace("\r\n ", ""))
    return "\n".join(parts)


class CoreFuzz(RuleBasedStateMachine):
    """One example: a copy of the world, its people, and random updates."""

    loop: asyncio.AbstractEventLoop
    world: World
    matching: Any

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="crosslab-fuzz-"))
        self.h: CoreHarness | None = None
        self.chats: dict[int, CoreChat] = {}
        self.update_ids = itertools.count(10**6)
        self.last: dict[int, Incoming] = {}  # each person's last update (redelivered)
        self.pressed: dict[int, tuple[str | None, int | None]] = {}  # each person's last button (replayed)
        self.errors = ErrorLog()
        logging.getLogger().addHandler(self.errors)

    @initialize(stage=st.sampled_from(["negotiating", "met"]))
    def start(self, stage: str) -> None:
        """A copy of the world at one of its moments."""
        world = self.world.stages[stage]
        for f in world.directory.iterdir():
            shutil.copy(f, self.tmp / f.name)
        self.h = CoreHarness(make_settings(f"sqlite+aiosqlite:///{self.tmp / 'world.sqlite3'}"),
                             matching=self.matching)
        self.h.set_time(world.now)
        self.run(self.h.start())
        for uid, (first, lang, username) in PEOPLE.items():
            chat = CoreChat(self.h.core, uid, first, lang, username=username or "x", directory=self.h.directory)
            if username is None:
                chat.user = dataclasses.replace(chat.user, username=None)
            chat.messages = copy.deepcopy(world.messages.get(uid, []))
            chat._ids = itertools.count(max((m.message_id for m in chat.messages), default=0) + 1)
            self.h.chats.append(chat)
            self.chats[uid] = chat

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        logging.getLogger().removeHandler(self.errors)
        _progress["examples"] += 1
        if COLLECT:  # how far a long run got, for its report
            minutes = (time.monotonic() - _progress["started"]) / 60
            Path(COLLECT + ".progress").write_text(
                f"{_progress['examples']} examples, {_progress['steps']} updates, {minutes:.1f} min\n")
        try:
            if self.h is not None:
                self.run(self.h.stop())
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- sending ------------------------------------------------------------------------------------

    def incoming(self, uid: int, kind: str, **fields: Any) -> Incoming:
        return Incoming(next(self.update_ids), self.chats[uid].user, fields.pop("chat_id", uid), kind, **fields)

    def send(self, uid: int, ev: Incoming, *, redelivered: bool = False) -> Reply:
        return self.run(self._send(uid, ev, redelivered=redelivered))

    async def _send(self, uid: int, ev: Incoming, *, redelivered: bool = False, alone: bool = True) -> Reply:
        # (two at once: the other one's changes are not this one's)
        before = await self.organiser_rows(uid) if uid not in ORGANISERS and alone else None
        self.errors.records.clear()
        _progress["steps"] += 1
        reply = await self.h.core.handle(ev)
        if ev.kind == "button":
            self.pressed[uid] = (ev.callback_data, ev.message_id)
        self.last[uid] = ev
        self.chats[uid]._apply(reply)
        await self.check_step(uid, ev, reply, redelivered)
        if before is not None:
            after = await self.organiser_rows(uid)
            expect(after == before, f"{uid} organises nothing, yet {ev!r} changed what organisers own: "
                   f"{ {k: (before[k], after[k]) for k in before if before[k] != after[k]} }",
                   "non-organiser changed " + ",".join(k for k in before if before[k] != after[k]))
        return reply

    async def check_step(self, uid: int, ev: Incoming, reply: Reply, redelivered: bool) -> None:
        logged = [f"{r.name}: {r.getMessage()}\n{traceback_of(r)}" for r in self.errors.records]
        for record, text in zip(self.errors.records, logged):
            expect(False, f"logged while handling {ev!r}:\n{text}", signature(record))
        expect(not reply.error or self.errors.records, f"the generic error for {ev!r}", "generic error, nothing logged")
        if redelivered:
            expect(reply.duplicate and not reply.messages, f"a redelivered update did something: {ev!r} -> {reply!r}",
                   "redelivered update not a duplicate")
        elif ev.chat_type == "private" and ev.kind != "button":
            expect(any(m.chat_id == ev.chat_id for m in reply.messages) or reply.error, f"no answer to {ev!r}",
                   f"no answer ({ev.kind}, edited={ev.edited}, command={ev.command and ev.command[0]!r})")
        check_telegram_accepts(reply)
        await self.check_contacts(reply.messages)

    async def check_contacts(self, messages: list[OutMessage]) -> None:
        """A participant sees someone's contact only once both said yes."""
        people = await self.people()
        pairs = await self.agreed_pairs()
        for m in messages:
            if m.chat_id in ORGANISERS or m.chat_id not in people:
                continue
            text = contacts_in(m)
            for other, (_, _, username) in PEOPLE.items():
                if other == m.chat_id:
                    continue
                marks = [f"tg://user?id={other}"] + ([f"@{username}", f"t.me/{username}"] if username else [])
                if any(re.search(re.escape(mark) + r"(?![A-Za-z0-9_])", text) for mark in marks):
                    expect(other in people and frozenset({people[m.chat_id], people[other]}) in pairs,
                           f"{m.chat_id} was shown the contact of {other} without both saying yes: {m.text!r}",
                           "contact without mutual consent")

    async def people(self) -> dict[int, int]:
        async with self.h.sessions() as s:
            return {p.telegram_id: p.id for p in (await s.execute(select(Person))).scalars()}

    async def agreed_pairs(self) -> set[frozenset[int]]:
        async with self.h.sessions() as s:
            return {frozenset({p.company_id, p.creative_id}) for p in (await s.execute(select(Pair))).scalars()
                    if p.company_answer == p.creative_answer == "interested"}

    async def organiser_rows(self, uid: int) -> dict[str, Any]:
        """What only organisers may change; someone's own admission is theirs."""
        def rows(objs: Any) -> list[tuple[Any, ...]]:
            return sorted((tuple(repr(getattr(o, c.key)) for c in o.__table__.columns) for o in objs))

        async with self.h.sessions() as s:
            me = (await s.execute(select(Person.id).where(Person.telegram_id == uid))).scalar_one_or_none()
            out = {model.__tablename__: rows((await s.execute(select(model))).scalars())
                   for model in (Event, EventOrganiser, Broadcast, Plan, PlanEntry, PlanNotice)}
            out["admission"] = sorted(
                (p.event_id, p.person_id, p.status, repr(p.decided_at), p.question)
                for p in (await s.execute(select(EventParticipant))).scalars() if p.person_id != me)
        return out

    # -- the rules ----------------------------------------------------------------------------------

    @rule(uid=st.sampled_from(USER_IDS), text=TEXT)
    def say(self, uid: int, text: str) -> None:
        self.send(uid, self.incoming(uid, "text", text=text))

    @rule(uid=st.sampled_from(USER_IDS), name=st.sampled_from(COMMAND_NAMES),
          suffix=st.sampled_from(["", "", "@crosslab_test_bot", "@other_bot", "@"]),
          args=ARGS)
    def command(self, uid: int, name: str, suffix: str, args: str) -> None:
        args = args.replace("{slug}", self.world.slug)
        self.send(uid, self.incoming(uid, "text", text=command_text(name, suffix, args)))

    @rule(uid=st.sampled_from([COMPANY, CREATIVE, CARD_HOLDER, COMPANY, CREATIVE, CARD_HOLDER, NEW_DE, NEW_EN]),
          name=st.sampled_from(PARTICIPANT_COMMANDS), args=ARGS)
    def participant_command(self, uid: int, name: str, args: str) -> None:
        """A participant's own command (what opens their flows)."""
        self.command(uid, name, "", args)

    @rule(uid=st.sampled_from([ADMIN_ID, ADMIN_ID, CO_ID]), name=st.sampled_from(ORGANISER_COMMANDS), args=ARGS)
    def organiser_command(self, uid: int, name: str, args: str) -> None:
        """An organiser's command (what opens the organisers' flows)."""
        self.command(uid, name, "", args)

    @precondition(lambda self: any(self.current(uid) for uid in USER_IDS))
    @rule(data=st.data())
    def answer_current_prompt(self, data: st.DataObject) -> None:
        """A button of someone's newest message with buttons: how a conversation goes on."""
        uid = data.draw(st.sampled_from([u for u in USER_IDS if self.current(u)]), label="uid")
        callback, message_id = data.draw(st.sampled_from(self.current(uid)), label="button")
        self.press(uid, callback, message_id)

    @precondition(lambda self: any(self.current(uid) for uid in USER_IDS))
    @rule(data=st.data())
    def answer_current_prompt_again(self, data: st.DataObject) -> None:
        self.answer_current_prompt(data)

    def current(self, uid: int) -> list[tuple[str, int]]:
        for m in reversed(self.chats[uid].messages if uid in self.chats else []):
            found = [(data, m.message_id) for row in m.buttons for _, data in row if data and "://" not in data]
            if found:
                return found
        return []

    @rule(uid=st.sampled_from(USER_IDS), kind=st.sampled_from(MEDIA_KINDS), caption=st.one_of(st.just(""), TEXT),
          with_file=st.booleans(), filename=st.sampled_from([None, "", "a.pdf", "../../etc/passwd", "ä" * 255, "ä" * 400]))
    def media(self, uid: int, kind: str, caption: str, with_file: bool, filename: str | None) -> None:
        attachment = None
        if kind in ("photo", "document") and with_file:
            attachment = Attachment(kind, f"file-{next(self.update_ids)}", filename if kind == "document" else None,
                                    "image/jpeg" if kind == "photo" else "application/pdf")
        self.send(uid, self.incoming(uid, kind, text=caption if attachment else "", attachment=attachment))

    @rule(uid=st.sampled_from(USER_IDS), text=TEXT, kind=st.sampled_from(["text", "text", "photo", "sticker"]))
    def edited(self, uid: int, text: str, kind: str) -> None:
        self.send(uid, self.incoming(uid, kind, text=text, edited=True))

    @rule(uid=st.sampled_from(USER_IDS), text=TEXT, origin=st.one_of(st.sampled_from(USER_IDS), INTS, st.none()),
          hidden=st.one_of(st.none(), TEXT))
    def forward(self, uid: int, text: str, origin: int | None, hidden: str | None) -> None:
        source = UserRef(origin, "Fwd") if origin is not None and hidden is None else None
        self.send(uid, self.incoming(uid, "text", text=text, forward_from=source,
                                     forward_hidden=hidden if source is None else None))

    @rule(uid=st.sampled_from(USER_IDS), chat_type=st.sampled_from(["group", "supergroup", "channel"]),
          text=st.one_of(TEXT, st.sampled_from(["/start", "/delete", "/newevent Gruppe", "/help"])),
          button=st.booleans())
    def group_chat(self, uid: int, chat_type: str, text: str, button: bool) -> None:
        if button:
            data = self.offered(uid)[0][0] if self.offered(uid) else "x"
            ev = self.incoming(uid, "button", chat_id=-100123, chat_type=chat_type, callback_data=data,
                               callback_id="g", message_id=1)
        else:
            ev = self.incoming(uid, "text", chat_id=-100123, chat_type=chat_type, text=text)
        self.send(uid, ev)

    def offered(self, uid: int) -> list[tuple[str, int]]:
        return [(data, m.message_id) for m in self.chats[uid].messages for row in m.buttons
                for _, data in row if data and "://" not in data]

    @precondition(lambda self: any(self.offered(uid) for uid in USER_IDS))
    @rule(data=st.data())
    def press_offered(self, data: st.DataObject) -> None:
        """A button the bot sent (the newest ones more often: the current prompt)."""
        uid = data.draw(st.sampled_from([u for u in USER_IDS if self.offered(u)]), label="uid")
        offered = self.offered(uid)
        index = data.draw(st.one_of(st.integers(max(0, len(offered) - 8), len(offered) - 1),
                                    st.integers(0, len(offered) - 1)), label="button")
        callback, message_id = offered[index]
        self.press(uid, callback, message_id)

    def press(self, uid: int, callback: str | None, message_id: int | None) -> Reply:
        return self.send(uid, self.incoming(uid, "button", callback_data=callback, callback_id=str(next(self.update_ids)),
                                            message_id=message_id))

    @precondition(lambda self: bool(self.pressed))
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        """The same button again (a double tap, or a tap on an old message)."""
        uid = data.draw(st.sampled_from(sorted(self.pressed)), label="uid")
        self.press(uid, *self.pressed[uid])

    @rule(uid=st.sampled_from(USER_IDS), owner=st.sampled_from(USER_IDS), data=st.data())
    def press_someone_elses(self, uid: int, owner: int, data: st.DataObject) -> None:
        offered = self.offered(owner)
        if not offered:
            return
        callback, message_id = data.draw(st.sampled_from(offered), label="button")
        self.press(uid, callback, message_id)

    @rule(uid=st.sampled_from(USER_IDS), data=st.data(), how=st.sampled_from(["tamper", "raw"]))
    def press_forged(self, uid: int, data: st.DataObject, how: str) -> None:
        offered = self.offered(uid)
        if how == "tamper" and offered:
            callback, message_id = data.draw(st.sampled_from(offered), label="button")
            i = data.draw(st.integers(0, len(callback) - 1), label="at")
            callback = callback[:i] + data.draw(st.sampled_from(["A", "0", "|", "ä", ""]), label="by") + callback[i + 1:]
        else:
            callback = data.draw(FORGED_DATA, label="data")
            message_id = data.draw(st.one_of(st.none(), st.integers(1, 50)), label="message")
        self.press(uid, callback, message_id)

    @rule(uid=st.sampled_from(USER_IDS), payload=SIGNED_GARBAGE, current=st.booleans(),
          message_id=st.one_of(st.none(), st.integers(1, 50)))
    def press_signed_garbage(self, uid: int, payload: tuple[str, str], current: bool, message_id: int | None) -> None:
        action, value = payload
        version = self.run(self.version(uid)) if current else 0
        body = f"{action}|{value}|{version}"
        signer = self.h.core.services.signer
        self.press(uid, f"{body}|{signer._sig(uid, body)}", message_id)

    # The steps most likely to find something run more often (hypothesis has no
    # rule weights: the same step under a second name).
    @rule(uid=st.sampled_from(USER_IDS), payload=SIGNED_GARBAGE, current=st.booleans(),
          message_id=st.one_of(st.none(), st.integers(1, 50)))
    def press_signed_garbage_again(self, uid: int, payload: tuple[str, str], current: bool,
                                   message_id: int | None) -> None:
        self.press_signed_garbage(uid, payload, current, message_id)

    @precondition(lambda self: any(self.offered(uid) for uid in USER_IDS))
    @rule(data=st.data())
    def press_offered_again(self, data: st.DataObject) -> None:
        self.press_offered(data)

    @rule(uid=st.sampled_from(USER_IDS), text=st.one_of(TIMES, TEXT))
    def say_again(self, uid: int, text: str) -> None:
        self.say(uid, text)

    async def version(self, uid: int) -> int:
        state = await self.h.state(uid)
        return state.version if state is not None else 0

    @precondition(lambda self: bool(self.last))
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        """Telegram sends an update again (after a timeout): nothing happens twice."""
        uid = data.draw(st.sampled_from(sorted(self.last)), label="uid")
        self.send(uid, self.last[uid], redelivered=True)

    @precondition(lambda self: any(self.offered(uid) for uid in USER_IDS))
    @rule(data=st.data())
    def two_at_once(self, data: st.DataObject) -> None:
        """Two updates at the same moment: a double tap, or two people."""
        uid = data.draw(st.sampled_from([u for u in USER_IDS if self.offered(u)]), label="uid")
        first = data.draw(st.sampled_from(self.offered(uid)), label="first")
        other = data.draw(st.sampled_from(USER_IDS), label="other")
        second = first if other == uid else None
        ev1 = self.incoming(uid, "button", callback_data=first[0], callback_id="1", message_id=first[1])
        ev2 = (self.incoming(uid, "button", callback_data=second[0], callback_id="2", message_id=second[1])
               if second is not None else self.incoming(other, "text", text=data.draw(TEXT, label="text")))

        async def both() -> None:
            await asyncio.gather(self._send(uid, ev1, alone=False), self._send(ev2.user.id, ev2, alone=False))

        self.run(both())

    @rule(hours=st.sampled_from([1, 3, 25, 24 * 5, 24 * 15, 24 * 100]))
    def time_passes(self, hours: int) -> None:
        """Time moves on; the follow-up sweep sends what is due (feedback, nudges, follow-ups)."""
        self.h.set_time(self.h.clock() + timedelta(hours=hours))

        async def sweep() -> None:
            self.errors.records.clear()
            reply, _ = await self.h.core.tick()
            for out in reply.messages:
                chat = self.h.directory.get(out.chat_id)
                if chat is not None:
                    chat.receive(out)
            await self.h._delivered(reply)
            for record in self.errors.records:
                expect(False, f"logged in the sweep: {record.getMessage()}\n{traceback_of(record)}", signature(record))
            check_telegram_accepts(reply)
            await self.check_contacts(reply.messages)

        self.run(sweep())

    # -- the stored state ---------------------------------------------------------------------------

    @invariant()
    def states_are_allowed(self) -> None:
        self.run(self._states())

    async def _states(self) -> None:
        allowed_participation = {"registered", "pending", "approved", "declined", "waiting"}
        async with self.h.sessions() as s:
            for state in (await s.execute(select(ConversationState))).scalars():
                expect(state.flow in FLOWS, f"flow {state.flow!r}")
                expect(state.step is None or STEP.fullmatch(state.step), f"step {state.step!r}")
                expect(isinstance(state.data, dict) and state.version >= 0, 'isinstance(state.data, dict) and state.version >= 0')
            for p in (await s.execute(select(Person))).scalars():
                expect(p.language in ("de", "en") and p.german_form in (None, "sie", "du"), f"language {(p.language, p.german_form)}")
            for pr in (await s.execute(select(Profile))).scalars():
                expect(pr.side in (None, "production", "creative"), f"side {pr.side!r}")
            for pair in (await s.execute(select(Pair))).scalars():
                expect(pair.status in {x.value for x in PairStatus}, f"pair status {pair.status!r}")
                expect({pair.company_answer, pair.creative_answer} <= {None, "interested", "declined"}, '{pair.company_answer, pair.creative_answer} <= {None, "interested", "declined"}')
                if pair.status == PairStatus.INTRODUCED:
                    expect(pair.company_answer == pair.creative_answer == "interested", 'pair.company_answer == pair.creative_answer == "interested"')
            for m in (await s.execute(select(Meeting))).scalars():
                expect(m.status in {x.value for x in MeetingStatus}, f"meeting status {m.status!r}")
                expect(m.status != MeetingStatus.SCHEDULED or m.starts_at is not None, 'm.status != MeetingStatus.SCHEDULED or m.starts_at is not None')
            for c in (await s.execute(select(Suggestion))).scalars():
                expect(c.status in {x.value for x in CardStatus}, f"card status {c.status!r}")
            for ep in (await s.execute(select(EventParticipant))).scalars():
                expect(ep.status in allowed_participation, f"participation {ep.status!r}")
            for fb in (await s.execute(select(Feedback))).scalars():
                expect(fb.step in ("met", "rating", "continue", "text", "done", "expired", "void"), f"feedback step {fb.step!r}")
            for oc in (await s.execute(select(Outcome))).scalars():
                expect(oc.status in ("due", "asked", "answered", "expired", "void"), f"outcome status {oc.status!r}")
            # PostgreSQL refuses a value longer than its VARCHAR (a failed update); SQLite stores it
            for table, columns in SIZED_COLUMNS:
                for row in (await s.execute(select(*columns))).all():
                    for column, value in zip(columns, row):
                        expect(value is None or len(value) <= column.type.length,
                               f"{table}.{column.name} longer than {column.type.length}: {str(value)[:80]!r}…",
                               f"{table}.{column.name} too long for PostgreSQL")


def _fuzz_settings() -> settings:
    return settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=True)


def test_hostile_input_never_breaks_the_core(world_loop: Any) -> None:
    loop, world, matching = world_loop
    machine = type("Fuzz", (CoreFuzz,), {"loop": loop, "world": world, "matching": matching})
    run_state_machine_as_test(machine, settings=_fuzz_settings())
