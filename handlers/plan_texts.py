"""What organisers and participants read about a plan (issue 13): the
review's pages, each participant's group or agenda, the moderator's
profiles and the round pings. Pure: a `View` (plain objects, no database)
and a locale in, text out; `handlers/plans.py` loads the view and sends.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import tzinfo

from babel.numbers import format_decimal

from db.models import Event, Person, Plan, PlanEntry, Profile
from domain import plans as rules
from domain.plans import BREAKOUT, SPEED, Slot
from handlers.scheduling import format_slot
from handlers.text import describe, first_sentence, short
from i18n import language_of, t

GROUPS_PER_PAGE = 8
MEETINGS_PER_PAGE = 12
MESSAGE_LIMIT = 4096  # characters of a Telegram message
NOTE_ROOM = 600  # kept free on every page for a note above it ("✓ Plan berechnet …")
BREAKS_SHOWN = 40  # names in a round's break line
REASON_CHARS = 110  # of a reason in the review list
UNPLACED_SHOWN = 15


# --- the view ---------------------------------------------------------

@dataclass
class View:
    """A plan with everything its texts need (plain objects: the renderers
    below are pure)."""

    plan: Plan
    event: Event
    slots: list[Slot]
    reasons: dict[int, tuple[str, str]]  # entry id -> (de, en)
    people: dict[int, tuple[Person, Profile | None]]
    tz: tzinfo
    moderator: str | None = None  # the named moderator's name (None: whoever releases)
    entries: dict[int, PlanEntry] = field(default_factory=dict)

    @property
    def released(self) -> bool:
        return self.plan.released_at is not None

    @property
    def changed_since_release(self) -> bool:
        return self.released and self.plan.version != self.plan.released_version

    def profile(self, person_id: int) -> Profile | None:
        return self.people.get(person_id, (None, None))[1]

    def name(self, person_id: int) -> str:
        pr = self.profile(person_id)
        return (pr.name if pr is not None else None) or "?"

    def who(self, person_id: int) -> str:
        """Name (organisation) — how organisers tell people apart."""
        pr = self.profile(person_id)
        if pr is None:
            return "?"
        org = (pr.organisation or "").strip()
        return f"{pr.name or '?'} ({org})" if org and org != pr.name else pr.name or "?"

    def reason(self, slot: Slot, locale: str) -> str:
        de, en = self.reasons.get(slot.id, ("", ""))
        return (de if language_of(locale) == "de" else en) or de or en

    def side(self, person_id: int) -> str:
        pr = self.profile(person_id)
        return (pr.side if pr is not None else None) or "creative"

    def present(self) -> list[int]:
        """The plan's people who are still here (in the order they were planned)."""
        return [p for p in self.plan.people if p in self.people and self.people[p][0].consent_at is not None]

    def creatives(self) -> list[int]:
        return [p for p in self.present() if self.side(p) == "creative"]


def score_text(locale: str, value: float) -> str:
    return format_decimal(value, format="0.00", locale=language_of(locale))


def when_text(view: View, locale: str) -> str:
    if view.plan.time_text:
        return view.plan.time_text
    if view.event.starts_at is not None:
        return format_slot(view.event.starts_at, locale, view.tz)  # type: ignore[arg-type]
    return t(locale, "plan.tba")


def where_text(view: View, locale: str) -> str:
    return view.plan.place_text or t(locale, "plan.tba")


def _code(group: int, index: int) -> str:
    return f"{group}{chr(ord('a') + index)}" if index < 26 else f"{group}.{index + 1}"


@dataclass(frozen=True)
class Block:
    """One group, or one table of a round, as a piece of a page."""

    text: str
    items: tuple[tuple[str, Slot], ...]  # (code, slot) the organiser can pick
    round: int = 0


def blocks(view: View, locale: str) -> list[Block]:
    """The plan's pieces in order: groups, or every round's tables."""
    out = []
    if view.plan.format == BREAKOUT:
        for number, company, members in rules.groups(view.slots):
            total = sum(s.score for s in members)
            lines = [t(locale, "plan.group_line", number=number, company=view.who(company),
                       score=score_text(locale, total))]
            items = []
            for i, s in enumerate(members):
                code = _code(number, i)
                items.append((code, s))
                lines.append(t(locale, "plan.member_line", code=code, lock="🔒 " if s.locked else "",
                               name=view.who(s.creative), score=score_text(locale, s.score),
                               reason=short(view.reason(s, locale), REASON_CHARS)))
            free = view.plan.group_size - len(members)
            if free > 0:
                lines.append(t(locale, "plan.places_free", count=free))
            out.append(Block("\n".join(lines), tuple(items)))
        return out
    for r in range(1, view.plan.rounds + 1):
        for s in rules.round_slots(view.slots, r):
            code = f"T{s.table}"
            text = t(locale, "plan.meeting_line", code=code, lock="🔒 " if s.locked else "",
                     company=view.who(s.company), creative=view.who(s.creative), score=score_text(locale, s.score),
                     reason=short(view.reason(s, locale), REASON_CHARS))
            out.append(Block(text, ((code, s),), r))
    return out


@dataclass(frozen=True)
class Page:
    round: int  # speed: the round shown (0 for breakout)
    indexes: range  # into `blocks`
    last_of_round: bool = True


def pages(view: View, locale: str, pieces: list[Block] | None = None) -> list[Page]:
    """Breakout: up to 8 groups a page; speed: one round a page (a long round
    on several); never more text than a message holds with the header, the
    footer, the hint and a note."""
    pieces = blocks(view, locale) if pieces is None else pieces
    sizes = [len(b.text) + 1 for b in pieces]
    room = (MESSAGE_LIMIT - NOTE_ROOM - len(header(view, locale)) - len(footer(view, locale))
            - len(t(locale, "plan.hint")) - 200)  # 200: the round's and the page's lines, breaks
    if view.plan.format == BREAKOUT:
        return [Page(0, rng) for rng in rules.paginate(sizes, GROUPS_PER_PAGE, room)]
    out = []
    for r in range(1, view.plan.rounds + 1):
        idx = [i for i, b in enumerate(pieces) if b.round == r]
        if not idx:
            out.append(Page(r, range(0, 0)))
            continue
        chunks = rules.paginate([sizes[i] for i in idx], MEETINGS_PER_PAGE, room - _breaks_length(view, locale, r))
        for n, chunk in enumerate(chunks):
            out.append(Page(r, range(idx[chunk.start], idx[chunk.start] + len(chunk)), n == len(chunks) - 1))
    return out


def break_line(view: View, locale: str, number: int) -> str:
    sitting = rules.on_break(view.present(), view.slots, number)
    if not sitting:
        return ""
    names = ", ".join(view.name(p) for p in sitting[:BREAKS_SHOWN])
    if len(sitting) > BREAKS_SHOWN:
        names += " " + t(locale, "plan.and_more", count=len(sitting) - BREAKS_SHOWN)
    return t(locale, "plan.break_line", names=names)


def _breaks_length(view: View, locale: str, number: int) -> int:
    return len(break_line(view, locale, number))


def page_of_entry(view: View, locale: str, entry_id: int) -> int:
    pieces = blocks(view, locale)
    index = next((i for i, b in enumerate(pieces) if any(s.id == entry_id for _, s in b.items)), 0)
    return rules.page_of([p.indexes for p in pages(view, locale, pieces)], index)


def _status(view: View, locale: str) -> str:
    if not view.released:
        return t(locale, "plan.status_draft", version=view.plan.version)
    if view.changed_since_release:
        return t(locale, "plan.status_changed", version=view.plan.version)
    return t(locale, "plan.status_released", version=view.plan.version)


def header(view: View, locale: str) -> str:
    plan = view.plan
    if plan.format == BREAKOUT:
        title = t(locale, "plan.title_breakout", event=view.event.name, size=plan.group_size,
                  most=plan.max_groups)
    else:
        title = t(locale, "plan.title_speed", event=view.event.name, rounds=plan.rounds)
    total = sum(s.score for s in view.slots)
    lines = [title, _status(view, locale) + " · " + t(locale, "plan.total", score=score_text(locale, total))]
    moderator = view.moderator or t(locale, "plan.moderator_releaser")
    lines.append(t(locale, "plan.when_where", when=when_text(view, locale), where=where_text(view, locale)))
    if plan.format == BREAKOUT:
        lines.append(t(locale, "plan.moderator_line", moderator=moderator))
    if not plan.optimal:
        lines.append(t(locale, "plan.not_proven"))
    return "\n".join(lines)


def footer(view: View, locale: str) -> str:
    lines = []
    reasons = {int(p): str(r) for p, r in view.plan.unplaced}
    if view.plan.format == BREAKOUT:
        missing = rules.unplaced(view.present(), view.slots, reasons)
        if missing:
            lines.append(t(locale, "plan.unplaced_head", count=len(missing)))
            for person, why in missing[:UNPLACED_SHOWN]:
                lines.append(t(locale, "plan.unplaced_line", name=view.who(person),
                               side=t(locale, f"plan.side_{view.side(person)}"), why=t(locale, f"plan.why_{why}")))
            if len(missing) > UNPLACED_SHOWN:
                lines.append(t(locale, "plan.and_more", count=len(missing) - UNPLACED_SHOWN))
    if view.plan.removed:
        lines.append(t(locale, "plan.removed_count", count=len(view.plan.removed)))
    return "\n".join(lines)


def overview(view: View, locale: str, page: int) -> tuple[str, list[tuple[str, Slot]], int, int]:
    """The text of one page, the entries on it (code, slot), the page shown
    (clamped) and the number of pages."""
    pieces = blocks(view, locale)
    all_pages = pages(view, locale, pieces)
    page = max(0, min(page, len(all_pages) - 1))
    shown = all_pages[page]
    parts = [header(view, locale)]
    if view.plan.format == SPEED:
        r = shown.round
        total = sum(s.score for s in view.slots if s.round == r)
        parts.append(t(locale, "plan.round_head", round=r, rounds=view.plan.rounds, score=score_text(locale, total)))
    parts.append(t(locale, "plan.page", page=page + 1, pages=len(all_pages)))
    body = [pieces[i].text for i in shown.indexes]
    if not view.slots:
        body.append(t(locale, "plan.empty"))
    elif view.plan.format == SPEED and shown.last_of_round:
        line = break_line(view, locale, shown.round)
        if line:
            body.append(line)
    text = "\n".join(parts) + "\n\n" + "\n".join(body)
    if page == len(all_pages) - 1:
        foot = footer(view, locale)
        if foot:
            text += "\n\n" + foot
    if view.slots:
        text += "\n\n" + t(locale, "plan.hint")
    items = [item for i in shown.indexes for item in pieces[i].items]
    return text, items, page, len(all_pages)


# --- what participants and moderators are sent ----------------------------------------------

def _reason_for(locale: str, entry: Slot, view: View) -> str:
    return view.reason(entry, locale) or t(locale, "plan.reason_none")


def _person_lines(view: View, locale: str, company: int, members: Sequence[Slot], skip: int | None) -> list[str]:
    lang = language_of(locale)
    out = []
    for s in members:
        if s.creative == skip:
            continue
        pr = view.profile(s.creative)
        who = describe(lang, pr) if pr is not None else "?"
        out.append(t(locale, "plan.member_brief", who=who, reason=_reason_for(locale, s, view)))
    return out


def member_texts(view: View, person_id: int, locale: str) -> str:
    """Breakout: the person's group(s), time, place and briefing; or that
    they got no place."""
    event = view.event.name
    when, where = when_text(view, locale), where_text(view, locale)
    lang = language_of(locale)
    parts = []
    for number, company, members in rules.groups(view.slots):
        cp = view.profile(company)
        if cp is None:
            continue
        question = short(cp.seeks, 600) or "–"
        if person_id == company:
            parts.append(t(locale, "plan.group_company", event=event, number=number, when=when, where=where,
                           question=question, members="\n".join(_person_lines(view, locale, company, members, None))))
        elif any(s.creative == person_id for s in members):
            mine = next(s for s in members if s.creative == person_id)
            others = _person_lines(view, locale, company, members, person_id)
            parts.append(t(locale, "plan.group_creative", event=event, number=number, when=when, where=where,
                           company=view.who(company), question=question, why=_reason_for(locale, mine, view),
                           others="\n".join(others) if others else t(locale, "plan.group_no_others")))
    if parts:
        return "\n\n".join(parts)
    return t(locale, "plan.unplaced_breakout", event=event)


def agenda_text(view: View, person_id: int, locale: str) -> str:
    """Speed: the person's agenda over all rounds (partner and table, or a break)."""
    event, plan = view.event.name, view.plan
    lang = language_of(locale)
    mine = rules.agenda(person_id, view.slots, plan.rounds)
    if not any(mine):
        return t(locale, "plan.unplaced_speed", event=event)
    company = view.side(person_id) == "production"
    lines = []
    for r, s in enumerate(mine, start=1):
        if s is None:
            lines.append(t(locale, "plan.agenda_break", round=r))
            continue
        other = view.profile(s.creative if company else s.company)
        who = describe(lang, other) if other is not None else "?"
        key = "plan.agenda_meet_company" if company else "plan.agenda_meet_creative"
        lines.append(t(locale, key, round=r, table=s.table, who=who))
    table = next(s.table for s in mine if s is not None)
    key = "plan.agenda_company" if company else "plan.agenda_creative"
    return t(locale, key, event=event, when=when_text(view, locale), where=where_text(view, locale), table=table,
             rounds=plan.rounds, lines="\n".join(lines))


def moderator_text(view: View, locale: str) -> str:
    """Breakout: every group with all its members' profiles and why they fit."""
    lang = language_of(locale)
    groups = rules.groups(view.slots)
    parts = [t(locale, "plan.moderator_head", event=view.event.name, when=when_text(view, locale),
               where=where_text(view, locale), count=len(groups))]
    for number, company, members in groups:
        cp = view.profile(company)
        lines = [t(locale, "plan.moderator_group", number=number)]
        if cp is not None:
            lines.append(describe(lang, cp))
            lines.append("   " + t(locale, "card.challenge") + ": " + (short(cp.seeks, 600) or "–"))
        for s in members:
            pr = view.profile(s.creative)
            if pr is None:
                continue
            lines.append("• " + describe(lang, pr))
            lines.append("   " + t(locale, "card.skills") + ": " + (short(pr.offers, 400) or "–"))
            lines.append("   " + t(locale, "plan.why", reason=_reason_for(locale, s, view)))
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def round_text(view: View, person_id: int, number: int, locale: str) -> str:
    """The ping of round `number` for one person: partner, table and a line
    on why; or their break (with where they are next)."""
    plan = view.plan
    lang = language_of(locale)
    mine = rules.agenda(person_id, view.slots, plan.rounds)
    s = mine[number - 1]
    company = view.side(person_id) == "production"
    if s is None:
        later = next((x for x in mine[number:] if x is not None), None)
        if later is None:
            return t(locale, "round.ping_break_last", round=number, rounds=plan.rounds)
        return t(locale, "round.ping_break", round=number, rounds=plan.rounds, next=later.round, table=later.table)
    other = view.profile(s.creative if company else s.company)
    # the template ends the sentence after {who}: a sector typed with a full stop would give two
    who = describe(lang, other).rstrip(" .") if other is not None else "?"
    why = first_sentence(view.reason(s, locale), 200) or t(locale, "plan.reason_none")
    key = "round.ping_company" if company else "round.ping_creative"
    return t(locale, key, round=number, rounds=plan.rounds, table=s.table, who=who, why=why)
