"""Signed, typed button payloads.

On the wire: ``action|value|version|sig`` where sig is an HMAC over the
addressee's Telegram id and the rest. A forged or someone else's payload fails
the check; a payload signed for an older conversation version is stale.

In the code every button is a small dataclass (one per action prefix) that
packs itself into `value` and unpacks from it; `unpack` returns None for a
value that does not fit (a forged or outdated button). `versioned` payloads
belong to one prompt of the conversation and go stale with the next one; the
others (cards, meetings, feedback, hand-over, release) are validated against their row
in the database instead, so they stay answerable while the person does
something else.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

MAX_CALLBACK_BYTES = 64
# Every id, page, count and version in a payload fits a database BIGINT (63 bits)
# with 18 digits; a longer number names no row and is refused like any bad value.
MAX_NUMBER_DIGITS = 18


def number(text: str, digits: int = MAX_NUMBER_DIGITS) -> int | None:
    """A whole number ≥ 0 written in ASCII digits, at most `digits` of them;
    None for anything else. Payload values go through this, never through a
    bare `int()`: `str.isdigit` also accepts "²" (which `int` refuses) and
    "١٢" (which `int` reads as 12), and a number beyond 63 bits makes the
    database driver raise instead of finding no row."""
    if 0 < len(text) <= digits and text.isascii() and text.isdigit():
        return int(text)
    return None


@dataclass(frozen=True)
class Signed:
    """A verified button: its action prefix, packed value and version."""

    action: str
    value: str
    version: int


class CallbackSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, user_id: int, body: str) -> bytes:
        # surrogatepass: callback data from a modified client may hold lone surrogates
        mac = hmac.new(self._secret, f"{user_id}|{body}".encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:6])

    def _sig(self, user_id: int, body: str) -> str:
        return self._mac(user_id, body).decode()

    def sign(self, user_id: int, action: str, value: str, version: int) -> str:
        if "|" in action or "|" in value:
            raise ValueError("'|' is reserved in callback payloads")
        body = f"{action}|{value}|{version}"
        data = f"{body}|{self._sig(user_id, body)}"
        if len(data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data too long ({len(data.encode())} bytes): {data!r}")
        return data

    def pseudonym(self, user_id: int) -> str:
        """A keyed hash of a Telegram id: the same person gives the same key,
        but without the secret the key tells nobody who it is (used where
        nothing about a person may be stored yet, before consent)."""
        return hmac.new(self._secret, f"pseudonym|{user_id}".encode(), hashlib.sha256).hexdigest()[:40]

    def verify(self, user_id: int, data: str | None) -> Signed | None:
        """The payload if it is genuine for this user, else None (also for any
        text a modified client may send: non-ASCII, lone surrogates, too long)."""
        if not data or len(data) > 4 * MAX_CALLBACK_BYTES:
            return None
        parts = data.split("|")
        if len(parts) != 4:
            return None
        action, value, version, sig = parts
        body = f"{action}|{value}|{version}"
        # Compared as bytes: compare_digest refuses str with non-ASCII characters.
        if not hmac.compare_digest(sig.encode("utf-8", "surrogatepass"), self._mac(user_id, body)):
            return None
        number_version = number(version)
        if number_version is None:
            return None
        return Signed(action, value, number_version)


# --- typed payloads -----------------------------------------------------------------------------

P = TypeVar("P", bound="Payload")
PAYLOADS: dict[str, type[Payload]] = {}


class Payload:
    """Base of every button payload; subclasses register their action prefix(es)."""

    actions: ClassVar[tuple[str, ...]] = ()
    versioned: ClassVar[bool] = True

    def __init_subclass__(cls, actions: tuple[str, ...] = (), versioned: bool = True, **kw: object) -> None:
        super().__init_subclass__(**kw)
        cls.actions, cls.versioned = actions, versioned
        for action in actions:
            if action in PAYLOADS:
                raise ValueError(f"button action {action!r} registered twice")
            PAYLOADS[action] = cls

    @property
    def action(self) -> str:
        return self.actions[0]

    def pack(self) -> str:
        raise NotImplementedError

    @classmethod
    def unpack(cls: type[P], action: str, value: str) -> P | None:
        raise NotImplementedError


def _row(value: str, least: int, most: int) -> tuple[Any, ...] | None:
    """"<row id>:<part>[:<part>]" -> (id, part, ...) padded with "" to `most` items."""
    parts = value.split(":")
    row_id = number(parts[0])
    if not least <= len(parts) <= most or row_id is None:
        return None
    return (row_id, *parts[1:], *[""] * (most - len(parts)))


def _event_ref(value: str) -> bool:
    """The invitation's event carried by the privacy notice's buttons: none, or an id
    (offered again on the next notice, so nothing else may pass)."""
    return value == "" or number(value, 12) is not None


@dataclass(frozen=True)
class Choice(Payload, actions=("lang", "name", "side", "org", "dis", "wnt", "lng", "av", "sum", "edit", "back",
                               "del", "when")):
    """One answer to the current prompt of onboarding, the profile, /delete or
    a typed meeting time to confirm: a code, "ok"/"done" for a multi-select or
    menu, "back" (leave an edit unchanged), or a time (minutes since the
    epoch) for "when"."""

    kind: str
    value: str

    @property
    def action(self) -> str:
        return self.kind

    def pack(self) -> str:
        return self.value

    @classmethod
    def unpack(cls, action: str, value: str) -> Choice:
        return cls(action, value)


@dataclass(frozen=True)
class Consent(Payload, actions=("consent",)):
    """The privacy notice's yes/no, carrying the language and the invitation's event."""

    choice: str  # "y" | "n"
    lang: str
    event_id: str = ""

    def pack(self) -> str:
        return f"{self.choice}-{self.lang}-{self.event_id}"

    @classmethod
    def unpack(cls, action: str, value: str) -> Consent | None:
        choice, lang, event_id = (value.split("-") + ["", "", ""])[:3]
        return cls(choice, lang, event_id) if _event_ref(event_id) else None


@dataclass(frozen=True)
class WelcomeLanguage(Payload, actions=("plang",)):
    """Switch the language of the privacy notice (nothing stored yet)."""

    lang: str
    event_id: str = ""

    def pack(self) -> str:
        return f"{self.lang}-{self.event_id}"

    @classmethod
    def unpack(cls, action: str, value: str) -> WelcomeLanguage | None:
        lang, _, event_id = value.partition("-")
        return cls(lang, event_id) if _event_ref(event_id) else None


@dataclass(frozen=True)
class CardButton(Payload, actions=("sg",), versioned=False):
    card_id: int
    answer: str  # "y" | "later" | "n"

    def pack(self) -> str:
        return f"{self.card_id}:{self.answer}"

    @classmethod
    def unpack(cls, action: str, value: str) -> CardButton | None:
        row = _row(value, 2, 2)
        return cls(*row) if row else None


@dataclass(frozen=True)
class MeetingButton(Payload, actions=("mt",), versioned=False):
    meeting_id: int
    op: str  # p(ick) a(ccept) r(eject) other self cancel keep cx resched
    arg: str = ""  # a time as minutes since the epoch, for p/a/r

    def pack(self) -> str:
        return f"{self.meeting_id}:{self.op}" + (f":{self.arg}" if self.arg else "")

    @classmethod
    def unpack(cls, action: str, value: str) -> MeetingButton | None:
        row = _row(value, 2, 3)
        return cls(*row) if row else None


@dataclass(frozen=True)
class FeedbackButton(Payload, actions=("fb",), versioned=False):
    feedback_id: int
    op: str  # met | r | c | skip
    value: str = ""

    def pack(self) -> str:
        return f"{self.feedback_id}:{self.op}:{self.value}"

    @classmethod
    def unpack(cls, action: str, value: str) -> FeedbackButton | None:
        row = _row(value, 2, 3)
        return cls(*row) if row else None


@dataclass(frozen=True)
class OutcomeButton(Payload, actions=("oc",), versioned=False):
    outcome_id: int
    answer: str

    def pack(self) -> str:
        return f"{self.outcome_id}:{self.answer}"

    @classmethod
    def unpack(cls, action: str, value: str) -> OutcomeButton | None:
        row = _row(value, 2, 2)
        return cls(*row) if row else None


@dataclass(frozen=True)
class HandoverButton(Payload, actions=("ho",), versioned=False):
    """p<pair id> / c<company id>: whom to collect for; g<plan>.<company>: a
    breakout group of a released plan; s<company id>: send; b<plan>.<company>:
    an organiser sends a group's company everything collected for it, in one
    message; x: later."""

    op: str  # "p" | "c" | "g" | "s" | "b" | "x"
    target: int | None = None
    plan_id: int | None = None  # for "g" and "b"

    def pack(self) -> str:
        if self.plan_id is not None:
            return f"{self.op}{self.plan_id}.{self.target}"
        return self.op + (str(self.target) if self.target is not None else "")

    @classmethod
    def unpack(cls, action: str, value: str) -> HandoverButton | None:
        if value == "x":
            return cls("x")
        if len(value) > 1 and value[0] in "pcs" and (target := number(value[1:])) is not None:
            return cls(value[0], target)
        if len(value) > 3 and value[0] in "gb":
            plan, _, company = value[1:].partition(".")
            plan_id, company_id = number(plan), number(company)
            if plan_id is not None and company_id is not None:
                return cls(value[0], company_id, plan_id)
        return None


@dataclass(frozen=True)
class ReleaseButton(Payload, actions=("rl",), versioned=False):
    """An organiser's /release: e<event> chooses the event; c<event>:<stamp>
    confirms (the stamp is what the confirmation was computed from: any change
    since makes it stale); x<event> cancels. Checked on press: organisers only."""

    op: str  # "e" | "c" | "x"
    event_id: int
    stamp: str = ""

    def pack(self) -> str:
        return f"{self.op}{self.event_id}" + (f":{self.stamp}" if self.stamp else "")

    @classmethod
    def unpack(cls, action: str, value: str) -> ReleaseButton | None:
        head, _, stamp = value.partition(":")
        event_id = number(head[1:])
        if len(head) < 2 or head[0] not in "ecx" or event_id is None or (stamp and not stamp.isalnum()):
            return None
        if (head[0] == "c") != bool(stamp):
            return None
        return cls(head[0], event_id, stamp)


@dataclass(frozen=True)
class PlanButton(Payload, actions=("pn",), versioned=False):
    """An organiser's plan review (/plan, /round): `op` on plan `plan_id` as
    it was at `version` (any change since makes the button out of date),
    with up to two numbers (a page, an entry id, a person id, a round).
    Checked on press: organisers only."""

    OPS: ClassVar[frozenset[str]] = frozenset({
        "ev",  # /plan without a code: the event chosen (a: its id)
        "pg",  # a page of the plan (a: the page)
        "sel",  # an entry chosen (a: its id): what to do with it
        "lk",  # lock or unlock an entry (a)
        "rm",  # take an entry out (a)
        "swl",  # whom entry a may swap with (b: the page of that list)
        "sw",  # swap entries a and b
        "swu",  # person b (no place / on a break) takes entry a's place
        "rc",  # recompute around the locked entries
        "tp",  # type a time and a place
        "mod",  # name the moderator
        "tk",  # at a typed question: leave the value as it is
        "rl",  # release: what would be sent
        "rlc",  # release: confirmed
        "rn",  # announce round a again (b: how often it was announced when asked)
    })

    op: str
    plan_id: int = 0
    version: int = 0
    a: int = 0
    b: int = 0

    def pack(self) -> str:
        return f"{self.op}:{self.plan_id}:{self.version}:{self.a}:{self.b}"

    @classmethod
    def unpack(cls, action: str, value: str) -> PlanButton | None:
        parts = value.split(":")
        if len(parts) != 5 or parts[0] not in cls.OPS:
            return None
        numbers = [number(n, 12) for n in parts[1:]]
        if any(n is None for n in numbers):
            return None
        return cls(parts[0], *numbers)  # type: ignore[arg-type]


@dataclass(frozen=True)
class BrowseButton(Payload, actions=("bw",), versioned=False):
    """/browse, one message edited in place: p(age) to `index`, f(ilter menu),
    d(iscipline filter chosen: `filter`, "" = all), m(ark or unmark `target`).
    Checked on press against the person's current list (scope, pauses,
    declined pairs, deletions)."""

    op: str  # "p" | "f" | "d" | "m"
    index: int = 0
    filter: str = ""  # a discipline code, "" = all
    target: int = 0  # a person id, for "m"

    def pack(self) -> str:
        return f"{self.op}:{self.index}:{self.filter}:{self.target}"

    @classmethod
    def unpack(cls, action: str, value: str) -> BrowseButton | None:
        from matching.taxonomy import DISCIPLINES

        parts = value.split(":")
        if len(parts) != 4:
            return None
        op, index, code, target = parts
        at, whom = number(index), number(target)
        if op not in ("p", "f", "d", "m") or at is None or whom is None:
            return None
        if code and code not in DISCIPLINES:
            return None
        return cls(op, at, code, whom)


@dataclass(frozen=True)
class BroadcastButton(Payload, actions=("bc",), versioned=False):
    """An organiser's /broadcast and /broadcasts: `op` with its argument (an
    audience, an event id, a time in minutes since the epoch, a broadcast id,
    a page) and the conversation version it was offered at (0 for the list's
    buttons, which are checked against their row). Checked on press:
    organisers only."""

    OPS: ClassVar[frozenset[str]] = frozenset({
        "aud",  # audience kind chosen (arg: the kind)
        "ev",  # event chosen (arg: its id; 0 = no event)
        "txt", "lnk", "rma", "rml", "chg", "pv",  # compose: text, link button, remove attachment/link, audience, preview
        "go", "pl", "ed", "no",  # preview: send, schedule, edit, cancel
        "at",  # a reading of a typed time confirmed (arg: minutes since the epoch)
        "x",  # /broadcasts: cancel a scheduled one (arg: its id)
        "pg",  # /broadcasts: page (arg: the page)
    })

    op: str
    arg: str = ""
    version: int = 0

    def pack(self) -> str:
        return f"{self.op}:{self.arg}:{self.version}"

    @classmethod
    def unpack(cls, action: str, value: str) -> BroadcastButton | None:
        parts = value.split(":")
        if len(parts) != 3:
            return None
        op, arg, version = parts
        at_version = number(version)
        if op not in cls.OPS or at_version is None or (arg and not (arg.isascii() and arg.isalnum())) or len(arg) > 16:
            return None
        return cls(op, arg, at_version)


@dataclass(frozen=True)
class OptOutButton(Payload, actions=("oo",), versioned=False):
    """"No more announcements" under a broadcast (0: the organiser's preview)."""

    broadcast_id: int

    def pack(self) -> str:
        return str(self.broadcast_id)

    @classmethod
    def unpack(cls, action: str, value: str) -> OptOutButton | None:
        broadcast_id = number(value, 12)
        return cls(broadcast_id) if broadcast_id is not None else None


@dataclass(frozen=True)
class SettingsButton(Payload, actions=("set",), versioned=False):
    """/settings: announcements "on" or "off" (idempotent: the button says which)."""

    announcements: str  # "on" | "off"

    def pack(self) -> str:
        return self.announcements

    @classmethod
    def unpack(cls, action: str, value: str) -> SettingsButton | None:
        return cls(value) if value in ("on", "off") else None


@dataclass(frozen=True)
class EventButton(Payload, actions=("ev",), versioned=False):
    """An organiser's `/newevent` conversation and `/event` card: `op` on
    `event_id` (0: the draft of a new event) with its argument, and the
    conversation version it was offered at (0 for the card's buttons, which
    are checked against the event's row). Checked on press: organisers of
    that event (creating events and adding co-organisers: admins only)."""

    OPS: ClassVar[frozenset[str]] = frozenset({
        # the conversation (versioned)
        "fmt",  # a format chosen (arg: open | breakout | speed)
        "cap",  # "unlimited" places
        "apr",  # approval (arg: y | n)
        "plc",  # place left open
        "ok", "chg", "no", "bk",  # summary: create, change (menu), cancel; back to the summary / card
        "fld",  # a field to change (arg: its name)
        # the card (row-checked)
        "show", "edit", "qr", "apps", "co", "rmco",
    })

    op: str
    event_id: int = 0
    arg: str = ""
    version: int = 0

    def pack(self) -> str:
        return f"{self.op}:{self.event_id}:{self.arg}:{self.version}"

    @classmethod
    def unpack(cls, action: str, value: str) -> EventButton | None:
        parts = value.split(":")
        if len(parts) != 4:
            return None
        op, event, arg, version = parts
        event_id, at_version = number(event, 12), number(version)
        if op not in cls.OPS or event_id is None or at_version is None:
            return None
        if (arg and not (arg.isascii() and arg.isalnum())) or len(arg) > 16:
            return None
        return cls(op, event_id, arg, at_version)


@dataclass(frozen=True)
class ApplicationButton(Payload, actions=("ap",), versioned=False):
    """An application to an event: the organisers' a(ccept) · d(ecline) ·
    q(uestion) under it, and the applicant's r(eply) to a question. Checked
    on press against the participant's row (still open?) and, for the
    organisers' ops, `may_organise`."""

    event_id: int
    person_id: int
    op: str  # "a" | "d" | "q" | "r"

    def pack(self) -> str:
        return f"{self.event_id}:{self.person_id}:{self.op}"

    @classmethod
    def unpack(cls, action: str, value: str) -> ApplicationButton | None:
        parts = value.split(":")
        if len(parts) != 3 or parts[2] not in ("a", "d", "q", "r"):
            return None
        event_id, person_id = number(parts[0]), number(parts[1])
        if event_id is None or person_id is None:
            return None
        return cls(event_id, person_id, parts[2])


@dataclass(frozen=True)
class LeaveButton(Payload, actions=("lv",), versioned=False):
    """A participant's `/leave`: c(hoose) the event, y(es) leave it, n(o)."""

    event_id: int
    op: str  # "c" | "y" | "n"

    def pack(self) -> str:
        return f"{self.event_id}:{self.op}"

    @classmethod
    def unpack(cls, action: str, value: str) -> LeaveButton | None:
        row = _row(value, 2, 2)
        return cls(*row) if row and row[1] in ("c", "y", "n") else None


def unpack(signed: Signed) -> Payload | None:
    """The typed payload of a verified button; None for an unknown action or a
    value that does not fit its type."""
    cls = PAYLOADS.get(signed.action)
    return cls.unpack(signed.action, signed.value) if cls is not None else None
