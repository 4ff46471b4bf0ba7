"""Organisers' plans for an event's format (issue 13): `/plan` computes an
event's breakout groups or speed-meetup rounds as a draft, shows it for
review (paged, with scores and a reason per pair) and lets the organiser
swap, take out, lock and recompute; *Freigeben* sends each participant
their group or agenda once (a second release sends only what changed);
`/round` announces a speed round during the event. What they read is
`handlers/plan_texts.py`.

The draft is the database's (`plans`, `plan_entries`): a restart keeps it.
Every button (`pn`, `PlanButton`) is checked on press: organisers only, and
against the plan's `version` (any change since makes it out of date). The
heavy work (scores, the solver) runs through `MatchingService.formation`
after the unit of work released its connection; the change is then written
only if the plan is still at the version it was computed from (a
conditional UPDATE, `PlanRepository.claim`). The rules of an edit, the pages
and the release's diff are `domain/plans.py`; the solvers are
`matching/formation.py`. Everything goes out through the outbox
(`turn.send`).
"""
from __future__ import annotations

import dataclasses

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from db.models import Event, Person, Plan, PlanEntry, Profile
from domain import plans as rules
from domain.admission import Admission
from domain.model import CardStatus
from domain.plans import BREAKOUT, SPEED, Slot
from handlers.account import organiser_record
from handlers.admin import find_events
from handlers.callbacks import PlanButton
from handlers.flows import Flow, FlowHandler
from handlers.plan_texts import (View, agenda_text, blocks, member_texts, moderator_text, overview, page_of_entry,
                                 round_text, score_text)
from handlers.text import describe, short
from handlers.types import Button, OutMessage
from i18n import language_of, locale_for, t

if TYPE_CHECKING:
    from handlers.turn import Turn

log = logging.getLogger(__name__)

FORMAT_WORDS = {"breakout": BREAKOUT, "gruppen": BREAKOUT, "groups": BREAKOUT,
                "speed": SPEED, "runden": SPEED, "rounds": SPEED}
DEFAULT_GROUP_SIZE, DEFAULT_MAX_GROUPS, DEFAULT_ROUNDS = 2, 1, 6
MAX_GROUP_SIZE, MAX_MAX_GROUPS, MAX_ROUNDS = 6, 5, 30
TARGETS_PER_PAGE = 20
CHOICES = 12  # events offered as buttons
TIME_LIMIT, PLACE_LIMIT = 200, 300
NEXT_WORDS = frozenset({"next", "weiter", "nächste", "naechste"})
ME_WORDS = frozenset({"ich", "me", "mich", "mir"})


class PlanProblem(Exception):
    """Something the organiser can fix, said in their words (a catalog key)."""

    def __init__(self, key: str, **fields: object) -> None:
        super().__init__(key)
        self.key, self.fields = key, fields


# --- the command's arguments ---------------------------------------------------------------------

@dataclass(frozen=True)
class Options:
    """What `/plan CODE [breakout|speed] [k or rounds] [m]` asked for (None: as stored, or the default)."""

    fmt: str | None = None
    size: int | None = None  # breakout: creatives per group; speed: rounds
    max_groups: int | None = None  # breakout: groups per creative

    @property
    def given(self) -> bool:
        return self.fmt is not None or self.size is not None or self.max_groups is not None


def parse_options(tokens: Sequence[str]) -> Options | None:
    """[format] [number] [number] -> Options; None if they do not fit (the
    second number only for breakout groups)."""
    rest = list(tokens)
    fmt = None
    if rest and rest[0].casefold() in FORMAT_WORDS:
        fmt = FORMAT_WORDS[rest.pop(0).casefold()]
    if len(rest) > 2 or not all(x.isascii() and x.isdigit() and len(x) <= 4 for x in rest):
        return None
    numbers = [int(x) for x in rest]
    if len(numbers) == 2 and fmt == SPEED:
        return None
    return Options(fmt, numbers[0] if numbers else None, numbers[1] if len(numbers) > 1 else None)


def split_arguments(events: Sequence[Event], args: str) -> tuple[list[Event], Options | None]:
    """The events named by the longest leading part of `args` (a code, link or
    name) and the options after it (None if they do not fit)."""
    tokens = args.split()
    for cut in range(len(tokens), 0, -1):
        found = find_events(events, " ".join(tokens[:cut]))
        if found:
            return found, parse_options(tokens[cut:])
    return [], Options()


@dataclass(frozen=True)
class Params:
    fmt: str
    group_size: int
    max_groups: int
    rounds: int

    @classmethod
    def of(cls, plan: Plan) -> Params:
        return cls(plan.format, plan.group_size, plan.max_groups, plan.rounds)

    def with_options(self, options: Options) -> Params:
        fmt = options.fmt or self.fmt
        if fmt == BREAKOUT:
            size = options.size if options.size is not None else (self.group_size if fmt == self.fmt else DEFAULT_GROUP_SIZE)
            most = options.max_groups if options.max_groups is not None else (
                self.max_groups if fmt == self.fmt else DEFAULT_MAX_GROUPS)
            return Params(BREAKOUT, size, most, self.rounds)
        rounds = options.size if options.size is not None else (self.rounds if fmt == self.fmt and self.rounds
                                                                else DEFAULT_ROUNDS)
        return Params(SPEED, self.group_size, self.max_groups, rounds)

    def problem(self) -> PlanProblem | None:
        if self.fmt == BREAKOUT and not (1 <= self.group_size <= MAX_GROUP_SIZE and 1 <= self.max_groups <= MAX_MAX_GROUPS):
            return PlanProblem("plan.bad_numbers", most_size=MAX_GROUP_SIZE, most_groups=MAX_MAX_GROUPS,
                               most_rounds=MAX_ROUNDS)
        if self.fmt == SPEED and not 1 <= self.rounds <= MAX_ROUNDS:
            return PlanProblem("plan.bad_numbers", most_size=MAX_GROUP_SIZE, most_groups=MAX_MAX_GROUPS,
                               most_rounds=MAX_ROUNDS)
        return None


DEFAULTS = Params(BREAKOUT, DEFAULT_GROUP_SIZE, DEFAULT_MAX_GROUPS, DEFAULT_ROUNDS)


# --- who and what the plan is computed from ----------------------------------------------------

async def cohort(turn: Turn, event: Event) -> list[tuple[Person, Profile]]:
    """The event's participants a plan is for: admitted (never an open or a
    declined application, nor anyone on the waiting list), agreed to the
    privacy notice, finished profile, not paused; companies first, each side
    by arrival."""
    admitted = (Admission.APPROVED, Admission.REGISTERED)  # registered: no admission yet (a profile unfinished)
    rows = [(p, pr) for p, pr in await turn.uow.events.people(event, statuses=admitted)
            if pr is not None and pr.completed_at is not None and p.consent_at is not None and not p.paused
            and pr.side in ("production", "creative")]
    return sorted(rows, key=lambda r: (r[1].side != "production", r[0].id))


async def constraints(turn: Turn, ids: Sequence[int],
                      removed: Sequence[Sequence[int]]) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """(forbidden, wished) unordered pairs among `ids`: declined (a pair or a
    card answered "not a fit") and introduced pairs, and the pairs the
    organiser took out, are forbidden; "möchte ich treffen" marks (cards
    answered "interested", /browse) are wishes."""
    among = set(ids)
    forbidden = {(a, b) for a, b in await turn.uow.intros.closed_pairs() if a in among and b in among}
    forbidden |= {(int(c), int(k)) for c, k in removed}
    wished: set[tuple[int, int]] = set()
    for a, b, status in await turn.uow.intros.cards_among(ids, (CardStatus.INTERESTED, CardStatus.DECLINED)):
        (wished if status == CardStatus.INTERESTED else forbidden).add((a, b))
    return forbidden, wished


def _both_ways(pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
    return pairs | {(b, a) for a, b in pairs}


@dataclass
class Computed:
    people: list[int]
    slots: list[dict[str, Any]]
    unplaced: list[list[Any]]
    optimal: bool = True
    dropped_locks: int = 0


async def compute(turn: Turn, event: Event, params: Params, locks: Sequence[PlanEntry],
                  removed: Sequence[Sequence[int]]) -> Computed:
    """The plan for the event's participants now, around `locks`, never a
    forbidden pair. Raises PlanProblem when the format cannot be planned."""
    from matching.formation import form_groups, form_rounds

    rows = await cohort(turn, event)
    companies = sum(1 for _, pr in rows if pr.side == "production")
    creatives = len(rows) - companies
    if not companies or not creatives:
        raise PlanProblem("plan.need_both_sides", companies=companies, creatives=creatives)
    if params.fmt == SPEED and params.rounds > max(companies, creatives):
        raise PlanProblem("plan.too_many_rounds", rounds=params.rounds, most=max(companies, creatives),
                          companies=companies, creatives=creatives)
    ids = [p.id for p, _ in rows]
    forbidden, wished = await constraints(turn, ids, removed)
    wanted = [(str(e.company_id), str(e.creative_id), e.round) for e in locks]
    dropped: list[int] = []

    def usable_locks(matrix) -> list[tuple[str, str, int]]:
        ci, kj = matrix.company_index(), matrix.creative_index()
        per_company: Counter[str] = Counter()
        per_creative: Counter[str] = Counter()
        busy: set[tuple[str, int]] = set()
        keep = []
        for c, k, r in wanted:
            if c not in ci or k not in kj or not matrix.allowed[ci[c], kj[k]]:
                continue
            if params.fmt == BREAKOUT:
                if per_company[c] >= params.group_size or per_creative[k] >= params.max_groups:
                    continue
                per_company[c] += 1
                per_creative[k] += 1
            elif not 1 <= r <= params.rounds or (c, r) in busy or (k, r) in busy:
                continue
            busy |= {(c, r), (k, r)}
            keep.append((c, k, r))
        dropped.append(len(wanted) - len(keep))
        return keep

    def solve(matrix):
        keep = usable_locks(matrix)
        if params.fmt == BREAKOUT:
            return form_groups(matrix, group_size=params.group_size, max_groups_per_creative=params.max_groups,
                               locked=[(c, k) for c, k, _ in keep])
        try:
            return form_rounds(matrix, params.rounds, locked=keep)
        except ValueError:  # the pairs left (after forbidden and earlier ones) run out before the last round
            raise PlanProblem("plan.rounds_exhausted", rounds=params.rounds) from None

    def explain(matrix, result) -> list[tuple[str, str]]:
        if params.fmt == BREAKOUT:
            return [(g.company, k) for g in result.groups for k in g.creatives]
        return [(mt.company, mt.creative) for r in result.rounds for mt in r]

    done = await turn.services.matching.formation(
        turn, rows, forbidden={(str(a), str(b)) for a, b in forbidden},
        wishes={(str(a), str(b)) for a, b in wished}, solve=solve, explain=explain)
    matrix, result, reasons = done.matrix, done.result, done.reasons

    def slot(c: str, k: str, r: int, table: int, score: float, locked: bool) -> dict[str, Any]:
        why = reasons.get((c, k), {})
        return dict(company_id=int(c), creative_id=int(k), round=r, table_no=table, score=float(score),
                    locked=locked, reason_de=why.get("de", ""), reason_en=why.get("en", ""))

    slots = []
    if params.fmt == BREAKOUT:
        for number, g in enumerate(result.groups, start=1):
            slots += [slot(g.company, k, 0, number, score, k in g.locked) for k, score in zip(g.creatives, g.scores)]
        optimal = bool(result.optimal)
    else:
        for r, meetings in enumerate(result.rounds, start=1):
            slots += [slot(mt.company, mt.creative, r, mt.table, mt.score, mt.locked) for mt in meetings]
        optimal = True
    return Computed(people=[int(x) for x in matrix.companies + matrix.creatives], slots=slots,
                    unplaced=[[int(u.id), str(u.reason)] for u in result.unplaced], optimal=optimal,
                    dropped_locks=sum(dropped))


async def apply(turn: Turn, plan: Plan, params: Params, computed: Computed) -> None:
    """Write a computed plan over the draft (the caller claimed its version)."""
    await turn.uow.plans.delete_entries(plan.id)
    turn.uow.plans.add_entries([PlanEntry(plan_id=plan.id, **s) for s in computed.slots])
    plan.format, plan.group_size, plan.max_groups, plan.rounds = (params.fmt, params.group_size, params.max_groups,
                                                                  params.rounds)
    plan.people, plan.unplaced, plan.optimal = computed.people, computed.unplaced, computed.optimal


# --- the view ---------------------------------------------------------------------------------

async def load_view(turn: Turn, plan: Plan, event: Event) -> View:
    entries = await turn.uow.plans.entries(plan.id)
    ids = set(plan.people) | {e.company_id for e in entries} | {e.creative_id for e in entries}
    if plan.moderator_tid is not None:
        moderator = await turn.uow.people.by_telegram_id(plan.moderator_tid)
        if moderator is not None:
            ids.add(moderator.id)
    people = await turn.uow.people.many(ids)
    slots = [Slot(e.id, e.company_id, e.creative_id, e.round, e.table_no, e.score, e.locked) for e in entries]
    view = View(plan, event, slots, {e.id: (e.reason_de, e.reason_en) for e in entries}, people,
                turn.services.settings.tz, entries={e.id: e for e in entries})
    if plan.moderator_tid is not None:
        found = next((pr.name or p.first_name for p, pr in people.values()
                      if p.telegram_id == plan.moderator_tid and pr is not None), None)
        view.moderator = found or next((p.first_name for p, _ in people.values()
                                        if p.telegram_id == plan.moderator_tid), None) or f"#{plan.moderator_tid}"
    return view


# --- buttons ---------------------------------------------------------------------------------

def _btn(turn: Turn, label: str, op: str, plan: Plan | None = None, a: int = 0, b: int = 0) -> Button:
    payload = PlanButton(op, plan.id if plan else 0, plan.version if plan else 0, a, b)
    return Button(label, turn.services.signer.sign(turn.ev.user.id, payload.action, payload.pack(), 0))


def _rows(buttons: list[Button], per_row: int) -> list[list[Button]]:
    return [buttons[i:i + per_row] for i in range(0, len(buttons), per_row)]


def overview_message(turn: Turn, view: View, page: int, note: str | None = None) -> tuple[str, list[list[Button]]]:
    locale, plan = turn.locale, view.plan
    text, items, page, count = overview(view, locale, page)
    if note:
        text = note + "\n\n" + text
    rows = _rows([_btn(turn, f"{code} {short(view.name(s.creative), 16)}", "sel", plan, s.id) for code, s in items], 3)
    if count > 1:
        rows.append([_btn(turn, "◀", "pg", plan, (page - 1) % count),
                     _btn(turn, f"{page + 1}/{count}", "pg", plan, page),
                     _btn(turn, "▶", "pg", plan, (page + 1) % count)])
    rows.append([_btn(turn, t(locale, "plan.btn_recompute"), "rc", plan, page),
                 _btn(turn, t(locale, "plan.btn_time_place"), "tp", plan)])
    last = [_btn(turn, t(locale, "plan.btn_release"), "rl", plan)]
    if plan.format == BREAKOUT:
        last.insert(0, _btn(turn, t(locale, "plan.btn_moderator"), "mod", plan))
    rows.append(last)
    return text, rows


async def show(turn: Turn, plan: Plan, event: Event, page: int = 0, *, note: str | None = None,
               edit: bool = True) -> None:
    view = await load_view(turn, plan, event)
    text, rows = overview_message(turn, view, page, note)
    if edit:
        turn.edit(turn.ev.message_id, text, rows)
    else:
        turn.send(text, rows)


# --- /plan -----------------------------------------------------------------------------------

async def cmd_plan(turn: Turn, profile: Profile | None, args: str) -> None:
    events = await turn.uow.events.all()
    if not events:
        turn.say("admin.no_events")
        return
    choices = list(events)
    if args.strip():
        found, options = split_arguments(events, args)
        if len(found) == 1:
            if options is None:
                turn.say("plan.usage", most_size=MAX_GROUP_SIZE, most_groups=MAX_MAX_GROUPS, most_rounds=MAX_ROUNDS)
                return
            await open_plan(turn, found[0], options, edit=False)
            return
        if not found:
            turn.say("plan.unknown", given=short(args, 80))
        choices = found or choices
    rows = []
    for event in list(reversed(choices))[:CHOICES]:  # newest first
        count = await turn.uow.events.participant_count(event)
        rows.append([_btn(turn, turn.tr("admin.release_event_button", event=short(event.name, 40), count=count),
                          "ev", None, event.id)])
    turn.send(turn.tr("plan.choose"), rows)


def defaults_for(event: Event) -> Params:
    """A new plan follows the event's format (/newevent): a speed meetup plans
    rounds, anything else breakout groups (an argument of /plan overrides it)."""
    if getattr(event, "format", None) == SPEED:
        return dataclasses.replace(DEFAULTS, fmt=SPEED)
    return DEFAULTS


async def open_plan(turn: Turn, event: Event, options: Options, *, edit: bool) -> None:
    """Show the event's plan; compute it first when there is none yet or
    other options were asked for."""
    plan = await turn.uow.plans.for_event(event.id)
    if plan is not None and not options.given:
        await show(turn, plan, event, edit=edit)
        return
    params = (Params.of(plan) if plan is not None else defaults_for(event)).with_options(options)
    problem = params.problem()
    if problem is not None:
        turn.say(problem.key, **problem.fields)
        return
    if plan is not None and params == Params.of(plan):
        await show(turn, plan, event, edit=edit, note=turn.tr("plan.unchanged_options"))
        return
    if plan is not None and plan.released_at is not None and params.fmt != plan.format:
        turn.say("plan.format_released", event=event.name, format=turn.tr(f"plan.format_{plan.format}"))
        return
    version = plan.version if plan is not None else None
    locks: list[PlanEntry] = []
    if plan is not None and params.fmt == plan.format:
        locks = [e for e in await turn.uow.plans.entries(plan.id) if e.locked]
    removed = list(plan.removed) if plan is not None else []
    try:
        computed = await compute(turn, event, params, locks, removed)
    except PlanProblem as problem:
        turn.say(problem.key, **problem.fields)
        return
    if plan is None:
        plan = await turn.uow.plans.add(Plan(event_id=event.id, format=params.fmt, group_size=params.group_size,
                                             max_groups=params.max_groups, rounds=params.rounds, version=1,
                                             people=[], unplaced=[], removed=[], announced={}, optimal=True,
                                             created_by=turn.ev.user.id, current_round=0))
    elif not await turn.uow.plans.claim(plan, version or 0):
        turn.say("plan.stale_now")
        return
    await apply(turn, plan, params, computed)
    await turn.uow.session.flush()
    note = turn.tr("plan.computed")
    if computed.dropped_locks:
        note += "\n" + turn.tr("plan.locks_dropped", count=computed.dropped_locks)
    await show(turn, plan, event, edit=edit, note=note)


# --- the review's buttons --------------------------------------------------------------------

async def on_plan_button(turn: Turn, payload: PlanButton) -> None:
    """Every button of /plan and /round, checked on press."""
    if not turn.is_admin:
        turn.toast("admin.only", alert=True)
        return
    if payload.op == "ev":
        event = await turn.uow.events.get(payload.a)
        if event is None:
            turn.toast("plan.stale", alert=True)
            return
        await open_plan(turn, event, Options(), edit=True)
        return
    plan = await turn.uow.plans.get(payload.plan_id)
    event = await turn.uow.events.get(plan.event_id) if plan is not None else None
    if plan is None or event is None:
        turn.toast("plan.stale", alert=True)
        return
    if payload.version != plan.version:
        turn.toast("plan.stale", alert=True)  # a change since (here or by another organiser): nothing done
        await show(turn, plan, event, 0)
        return
    handler = _OPS.get(payload.op)
    if handler is None:
        turn.toast("button.invalid", alert=True)
        return
    await handler(turn, plan, event, payload)


async def _page(turn: Turn, plan: Plan, event: Event, p: PlanButton) -> None:
    await show(turn, plan, event, p.a)


async def _entry(turn: Turn, plan: Plan, entry_id: int) -> PlanEntry | None:
    entry = next((e for e in await turn.uow.plans.entries(plan.id) if e.id == entry_id), None)
    if entry is None:
        turn.toast("plan.stale", alert=True)
    return entry


def _where(view: View, locale: str, slot: Slot) -> str:
    """"Gruppe 2 · Uta Seifert (…)" / "Runde 3 · Tisch 2 · Uta Seifert (…)"."""
    if view.plan.format == BREAKOUT:
        return t(locale, "plan.in_group", number=slot.table, company=view.who(slot.company))
    return t(locale, "plan.in_round", round=slot.round, table=slot.table, company=view.who(slot.company))


async def _select(turn: Turn, plan: Plan, event: Event, p: PlanButton) -> None:
    entry = await _entry(turn, plan, p.a)
    if entry is None:
        return
    view = await load_view(turn, plan, event)
    slot = next(s for s in view.slots if s.id == entry.id)
    locale = turn.locale
    creative = view.profile(slot.creative)
    lines = [_where(view, locale, slot),
             t(locale, "plan.selected", name=view.who(slot.creative), score=score_text(locale, slot.score),
               lock=t(locale, "plan.is_locked") if slot.locked else ""),
             t(locale, "plan.why", reason=view.reason(slot, locale) or "–")]
    if creative is not None:
        lines.append(describe(language_of(locale), creative))
        lines.append(t(locale, "card.skills") + ": " + short(creative.offers, 300))
    page = page_of_entry(view, locale, slot.id)
    rows = [[_btn(turn, t(locale, "plan.btn_unlock" if slot.locked else "plan.btn_lock"), "lk", plan, slot.id),
             _btn(turn, t(locale, "plan.btn_remove"), "rm", plan, slot.id)],
            [_btn(turn, t(locale, "plan.btn_swap"), "swl", plan, slot.id, 0)],
            [_btn(turn, t(locale, "plan.btn_back"), "pg", plan, page)]]
    turn.edit(turn.ev.message_id, "\n".join(lines), rows)


async def _after_edit(turn: Turn, plan: Plan, event: Event, entry_id: int | None, note: str) -> None:
    view = await load_view(turn, plan, event)
    page = page_of_entry(view, turn.locale, entry_id) if entry_id is not None else 0
    text, rows = overview_message(turn, view, page, note)
    turn.edit(turn.ev.message_id, text, rows)


async def _lock(turn: Turn, plan: Plan, event: Event, p: PlanButton) -> None:
    entry = await _entry(turn, plan, p.a)
    if entry is None or not await _claim(turn, plan, p.version):
        return
    entry.locked = not entry.locked
    name = await _name_of(turn, entry.creative_id)
    key = "plan.locked" if entry.locked else "plan.unlocked"
    turn.toast(key, name=name)
    await turn.uow.session.flush()
    await _after_edit(turn, plan, event, entry.id, turn.tr(key, name=name))


async def _remove(turn: Turn, plan: Plan, event: Event, p: PlanButton) -> None:
    entry = await _entry(turn, plan, p.a)
    if entry is None or not await _claim(turn, plan, p.version):
        return
    name = await _name_of(turn, entry.creative_id)
    company = await _name_of(turn, entry.company_id)
    plan.removed = [*plan.removed, [entry.company_id, entry.creative_id]]
    neighbour = next((e.id for e in await turn.uow.plans.entries(plan.id)
                      if e.id != entry.id and e.company_id == entry.company_id and e.round == entry.round), None)
    await turn.uow.plans.delete_entry(entry)
    turn.toast("plan.removed_toast", name=name, company=company)
    await _after_edit(turn, plan, event, neighbour, turn.tr("plan.removed_note", name=name, company=company))


async def _claim(turn: Turn, plan: Plan, version: int) -> bool:
    if await turn.uow.plans.claim(plan, version):
        return True
    turn.toast("plan.stale", alert=True)
    return False


async def _name_of(turn: Turn, person_id: int) -> str:
    """A name short enough for a toast (Telegram shows at most 200 characters)."""
    profile = await turn.uow.intros.profile(person_id)
    return short((profile.name if profile is not None else None) or "?", 40)


async def _cheap_forbidden(turn: Turn, view: View) -> set[tuple[int, int]]:
    forbidden, _ = await constraints(turn, view.present(), view.plan.removed)
    return _both_ways(forbidden)


async def _swap_list(turn: Turn, plan: Plan, event: Event, p: PlanButton) -> None:
    entry = await _entry(turn, plan, p.a)
    if entry is None:
        return
    view = await load_view(turn, plan, event)
    locale = turn.locale
    a = next(s for s in view.slots if s.id == entry.id)
    banned = await _cheap_forbidden(turn, view)
    codes = {s.id: code for b in blocks(view, locale) for code, s in b.items}
    targets: list[tuple[str, str, int]] = [
        ("⇄ " + f"{codes.get(b.id, '')} {short(view.name(b.creative), 24)}", "sw", b.id)
        for b in rules.swap_targets(plan.format, view.slots, a, banned)]
    free = rules.free_creatives(plan.format, view.slots, a, view.creatives(), plan.max_groups, banned)
    targets += [("➕ " + short(view.name(k), 28), "swu", k) for k in free]
    count = max(1, -(-len(targets) // TARGETS_PER_PAGE))
    page = max(0, min(p.b, count - 1))
    shown = targets[page * TARGETS_PER_PAGE:(page + 1) * TARGETS_PER_PAGE]
    text = "\n".join([_where(view, locale, a), t(locale, "plan.swap_ask", name=view.who(a.creative))
                      if targets else t(locale, "plan.swap_none", name=view.who(a.creative))])
    rows = _rows([_btn(turn, label, op, plan, a.id, arg) for label, op, arg in shown], 2)
    if count > 1:
        rows.append([_btn(turn, "◀", "swl", plan, a.id, (page - 1) % count),
                     _btn(turn, "▶", "swl", plan, a.id, (page + 1) % count)])
    rows.append([_btn(turn, t(locale, "plan.btn_back"), "sel", plan, a.id)])
    turn.edit(turn.ev.message_id, text, rows)


async def _swap(turn: Turn, plan: Plan, event: Event, p: PlanButton) -> None:
    """Two entries' creatives change places (op sw), or a creative without a
    place / on a break takes an entry's place (op swu). Both new pairs are
    locked: the organiser chose them."""
    entries = {e.id: e for e in await turn.uow.plans.entries(plan.id)}
    a = entries.get(p.a)
    b = entries.get(p.b) if p.op == "sw" else None
    if a is None or (p.op == "sw" and b is None):
        turn.toast("plan.stale", alert=True)
        return
    view = await load_view(turn, plan, event)
    slot = {s.id: s for s in view.slots}
    banned = await _cheap_forbidden(turn, view)
    if b is not None:
        problem = rules.swap_problem(plan.format, view.slots, slot[a.id], slot[b.id], banned)
        new = [(a.company_id, b.creative_id), (b.company_id, a.creative_id)]
    else:
        if p.b not in view.creatives():
            turn.toast("plan.stale", alert=True)
            return
        problem = rules.replace_problem(plan.format, view.slots, slot[a.id], p.b, plan.max_groups, banned)
        new = [(a.company_id, p.b)]
    if problem is not None:
        turn.toast(f"plan.problem_{problem}", alert=True)
        return
    version = plan.version
    rows = [view.people[i] for i in view.present() if view.people[i][1] is not None]
    done = await turn.services.matching.formation(
        turn, rows, forbidden={(str(c), str(k)) for c, k in banned},
        explain=lambda matrix, result: [(str(c), str(k)) for c, k in new])
    matrix = done.matrix
    ci, kj = matrix.company_index(), matrix.creative_index()
    scores = {}
    for c, k in new:
        if str(c) not in ci or str(k) not in kj or not matrix.allowed[ci[str(c)], kj[str(k)]]:
            turn.toast(f"plan.problem_{rules.EditProblem.FORBIDDEN}", alert=True)
            return
        scores[(c, k)] = float(matrix.relevance[ci[str(c)], kj[str(k)]])
    if not await _claim(turn, plan, version):
        return
    changed = [(a, new[0])] + ([(b, new[1])] if b is not None else [])
    names = [await _name_of(turn, a.creative_id), await _name_of(turn, b.creative_id if b else p.b)]
    for entry, (c, k) in changed:
        why = done.reasons.get((str(c), str(k)), {})
        entry.creative_id, entry.score, entry.locked = k, scores[(c, k)], True
        entry.reason_de, entry.reason_en = why.get("de", ""), why.get("en", "")
    await turn.uow.session.flush()
    key = "plan.swapped" if b is not None else "plan.replaced"
    turn.toast(key, first=names[0], second=names[1])
    await _after_edit(turn, plan, event, a.id, turn.tr(key, first=names[0], second=names[1]))


async def _recompute(turn: Turn, plan: Plan, event: Event, p: PlanButton) -> None:
    version = plan.version
    locks = [e for e in await turn.uow.plans.entries(plan.id) if e.locked]
    params = Params.of(plan)
    try:
        computed = await compute(turn, event, params, locks, list(plan.removed))
    except PlanProblem as problem:  # said in the message (a toast holds 200 characters)
        turn.edit(turn.ev.message_id, turn.tr(problem.key, **problem.fields),
                  [[_btn(turn, turn.tr("plan.btn_back"), "pg", plan, 0)]])
        return
    if not await _claim(turn, plan, version):
        return
    await apply(turn, plan, params, computed)
    await turn.uow.session.flush()
    note = turn.tr("plan.recomputed", locks=len(locks) - computed.dropped_locks)
    if computed.dropped_locks:
        note += "\n" + turn.tr("plan.locks_dropped", count=computed.dropped_locks)
    turn.toast("plan.recomputed_toast")
    await show(turn, plan, event, 0, note=note)


# --- time, place, moderator: typed by the organiser ------------------------------------------------

async def _ask(turn: Turn, plan: Plan, event: Event, step: str) -> None:
    await organiser_record(turn)  # organisers need no profile, but a place in a conversation
    assert turn.state is not None
    back = None
    if turn.flow not in (Flow.IDLE, Flow.NONE, Flow.PLAN):
        back = {"flow": turn.state.flow, "step": turn.state.step, "data": turn.state.data}
    elif turn.flow == Flow.PLAN:
        back = turn.state.data.get("back")
    turn.goto(Flow.PLAN, step, plan_id=plan.id, version=plan.version, back=back, cur_time=plan.time_text,
              cur_place=plan.place_text)
    if turn.ev.kind == "button":
        turn.edit(turn.ev.message_id, turn.tr("plan.typing_started", event=event.name))
    _prompt(turn)


def _prompt(turn: Turn) -> None:
    """The question of the step the organiser is at (with "leave as it is")."""
    assert turn.state is not None
    data = turn.state.data
    payload = PlanButton("tk", int(data.get("plan_id") or 0), int(data.get("version") or 0))
    keep = [[Button(turn.tr("plan.btn_keep"),
                    turn.services.signer.sign(turn.ev.user.id, payload.action, payload.pack(), 0))]]
    tba = turn.tr("plan.tba")
    if turn.step == "time":
        turn.send(turn.tr("plan.ask_time", current=data.get("cur_time") or tba, limit=TIME_LIMIT), keep)
    elif turn.step == "place":
        turn.send(turn.tr("plan.ask_place", current=data.get("cur_place") or tba, limit=PLACE_LIMIT), keep)
    else:
        turn.send(turn.tr("plan.ask_moderator"), keep)


async def _time_place(turn: Turn, plan: Plan, event: Event, p: PlanButton) -> None:
    await _ask(turn, plan, event, "time")


async def _moderator(turn: Turn, plan: Plan, event: Event, p: PlanButton) -> None:
    await _ask(turn, plan, event, "moderator")


async def _keep(turn: Turn, plan: Plan, event: Event, p: PlanButton) -> None:
    """"Leave as it is" at a typed question: the next question, or done."""
    if turn.flow != Flow.PLAN or turn.state is None or turn.state.data.get("plan_id") != plan.id:
        turn.toast("plan.stale", alert=True)
        return
    data = dict(turn.state.data)
    if turn.step == "time":
        data["time"] = plan.time_text
        turn.goto(Flow.PLAN, "place", **data)
        turn.edit(turn.ev.message_id, turn.tr("plan.kept"))
        _prompt(turn)
        return
    if turn.step == "place":
        data["place"] = plan.place_text
        await _save_typed(turn, plan, event, data)
        return
    _leave(turn, data)
    turn.edit(turn.ev.message_id, turn.tr("plan.kept"))
    await show(turn, plan, event, edit=False)


def _leave(turn: Turn, data: dict[str, Any]) -> None:
    back = data.get("back") or {}
    turn.goto(back.get("flow") or Flow.IDLE, back.get("step"), **(back.get("data") or {}))


async def _save_typed(turn: Turn, plan: Plan, event: Event, data: dict[str, Any]) -> None:
    _leave(turn, data)
    if data.get("version") != plan.version or not await turn.uow.plans.claim(plan, plan.version):
        turn.say("plan.stale_now")
        await show(turn, plan, event, edit=False)
        return
    if "moderator" in data:
        plan.moderator_tid = data["moderator"]
        note = turn.tr("plan.moderator_saved", moderator=data.get("moderator_name") or turn.tr("plan.moderator_releaser"))
        if data.get("moderator_unknown"):
            note += "\n" + turn.tr("plan.moderator_unknown")
    else:
        plan.time_text, plan.place_text = data.get("time"), data.get("place")
        note = turn.tr("plan.time_place_saved", when=plan.time_text or turn.tr("plan.tba"),
                       where=plan.place_text or turn.tr("plan.tba"))
    await turn.uow.session.flush()
    await show(turn, plan, event, edit=False, note=note)


class PlanFlow(FlowHandler):
    """An organiser typing a plan's time (step time), place (place) or
    moderator (moderator); the plan and where they were before are in data."""

    flow = Flow.PLAN
    prompting = True

    async def _plan(self, turn: Turn) -> tuple[Plan, Event] | None:
        assert turn.state is not None
        plan = await turn.uow.plans.get(int(turn.state.data.get("plan_id") or 0))
        event = await turn.uow.events.get(plan.event_id) if plan is not None else None
        if plan is None or event is None:
            _leave(turn, dict(turn.state.data))
            turn.say("plan.stale_now")
            return None
        return plan, event

    async def on_text(self, turn: Turn, profile: Profile) -> bool:
        assert turn.state is not None
        data = dict(turn.state.data)
        if not turn.is_admin:
            _leave(turn, data)
            turn.say("admin.only")
            return True
        found = await self._plan(turn)
        if found is None:
            return True
        plan, event = found
        text = " ".join(turn.ev.text.split())
        step = turn.step
        if step in ("time", "place"):
            limit = TIME_LIMIT if step == "time" else PLACE_LIMIT
            if not text:
                turn.say("plan.empty_text")
                return True
            if len(text) > limit:
                turn.say("plan.too_long", limit=limit, length=len(text))
                return True
            data[step] = None if text == "-" else text
            if step == "time":
                turn.goto(Flow.PLAN, "place", **data)
                _prompt(turn)
            else:
                await _save_typed(turn, plan, event, data)
            return True
        # the moderator: a Telegram id, "ich", or "-" (whoever releases)
        word = text.casefold()
        if word == "-":
            data.update(moderator=None, moderator_name=None)
        elif word in ME_WORDS:
            me = turn.person
            data.update(moderator=turn.ev.user.id,
                        moderator_name=(profile.name if profile is not None and profile.name else None)
                        or (me.first_name if me is not None else None) or turn.ev.user.first_name)
        elif text.isascii() and text.isdigit() and len(text) <= 15 and int(text) > 0:
            someone = await turn.uow.people.by_telegram_id(int(text))
            named = await turn.uow.intros.profile(someone.id) if someone is not None else None
            data.update(moderator=int(text), moderator_unknown=someone is None or someone.consent_at is None,
                        moderator_name=((named.name if named is not None else None)
                                        or (someone.first_name if someone is not None else None) or f"#{text}"))
        else:
            turn.say("plan.bad_moderator")
            return True
        await _save_typed(turn, plan, event, data)
        return True

    def resume(self, turn: Turn, profile: Profile) -> None:
        _prompt(turn)

    async def cancel(self, turn: Turn, profile: Profile) -> None:
        assert turn.state is not None
        _leave(turn, dict(turn.state.data))
        turn.say("plan.typing_cancelled")


# --- the release -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outgoing:
    """One message a release would send: to `person` (or a bare chat: a
    moderator without a record), of `kind` "plan" or "moderator"."""

    chat_id: int
    kind: str
    locale: str
    text: str
    person: Person | None = None

    @property
    def key(self) -> tuple[int, str]:
        return self.chat_id, self.kind

    @property
    def digest(self) -> str:
        return rules.digest(self.text)


def _locale_of(turn: Turn, person: Person) -> str:
    return locale_for(person.language, person.german_form or turn.services.settings.german_form)


async def outgoing(turn: Turn, view: View) -> list[Outgoing]:
    """Every message the plan means now: each participant's (group or
    agenda, or no place) and, for breakout groups, the moderator's."""
    out = []
    for person_id in view.present():
        person = view.people[person_id][0]
        locale = _locale_of(turn, person)
        text = member_texts(view, person_id, locale) if view.plan.format == BREAKOUT \
            else agenda_text(view, person_id, locale)
        out.append(Outgoing(person.telegram_id, "plan", locale, text, person))
    if view.plan.format == BREAKOUT and view.slots:
        tid = view.plan.moderator_tid or turn.ev.user.id
        moderator = await turn.uow.people.by_telegram_id(tid)
        locale = _locale_of(turn, moderator) if moderator is not None else turn.locale
        out.append(Outgoing(tid, "moderator", locale, moderator_text(view, locale), moderator))
    return out


async def _release_diff(turn: Turn, view: View) -> tuple[list[Outgoing], rules.Diff]:
    out = await outgoing(turn, view)
    sent = {key: n.digest for key, n in (await turn.uow.plans.notices(view.plan.id)).items()}
    return out, rules.release_diff(sent, {o.key: o.digest for o in out})


def _counts(turn: Turn, out: list[Outgoing], diff: rules.Diff) -> dict[str, object]:
    people = {o.key for o in out if o.kind == "plan"}
    return dict(new=len([k for k in diff.new if k in people]), changed=len([k for k in diff.changed if k in people]),
                unchanged=len([k for k in diff.unchanged if k in people]), total=len(people))


async def _release_preview(turn: Turn, plan: Plan, event: Event, p: PlanButton) -> None:
    view = await load_view(turn, plan, event)
    out, diff = await _release_diff(turn, view)
    back = [_btn(turn, turn.tr("plan.btn_back"), "pg", plan, 0)]
    counts = _counts(turn, out, diff)
    if not diff.to_send:
        turn.edit(turn.ev.message_id, turn.tr("plan.release_nothing_new", event=event.name, **counts), [back])
        return
    missing = len(rules.unplaced(view.present(), view.slots, {}))
    moderator = any(k[1] == "moderator" for k in diff.to_send)
    key = "plan.release_confirm_again" if plan.released_at is not None else "plan.release_confirm"
    text = turn.tr(key, event=event.name, unplaced=missing, **counts)
    if moderator:
        text += "\n" + turn.tr("plan.release_moderator", moderator=view.moderator or turn.tr("plan.moderator_you"))
    late = [p for p, _ in await cohort(turn, event) if p.id not in set(plan.people)]
    if late:
        text += "\n" + turn.tr("plan.release_late", count=len(late))
    turn.edit(turn.ev.message_id, text,
              [[_btn(turn, turn.tr("plan.btn_release_now"), "rlc", plan)], back])


async def _release(turn: Turn, plan: Plan, event: Event, p: PlanButton) -> None:
    """Send what the participants have not had yet, once: new texts to those
    without one, changed ones (marked as a change) to those whose group,
    time or place changed; nobody gets the same text twice."""
    view = await load_view(turn, plan, event)
    out, diff = await _release_diff(turn, view)
    counts = _counts(turn, out, diff)
    back = [_btn(turn, turn.tr("plan.btn_back"), "pg", plan, 0)]
    if not diff.to_send:
        turn.edit(turn.ev.message_id, turn.tr("plan.release_nothing_new", event=event.name, **counts), [back])
        return
    if not await _claim(turn, plan, p.version):
        return
    again = plan.released_at is not None
    now = turn.services.now()
    changed = set(diff.changed)
    for o in out:
        if o.key not in diff.to_send:
            continue
        text = (t(o.locale, "plan.changed_head") + "\n\n" + o.text) if o.key in changed else o.text
        if o.person is not None:
            turn.send(text, to=o.person)
        else:
            turn.reply.messages.append(OutMessage(o.chat_id, text))
        await turn.uow.plans.note(plan.id, o.chat_id, o.kind, o.digest, now)
    if not again:
        plan.released_at = now
    plan.released_by = turn.ev.user.id
    plan.released_version = plan.version
    await turn.uow.session.flush()
    key = "plan.released_again" if again else "plan.released"
    text = turn.tr(key, event=event.name, **counts)
    if any(k[1] == "moderator" for k in diff.to_send):
        text += "\n" + turn.tr("plan.released_moderator",
                               moderator=view.moderator or turn.tr("plan.moderator_you"))
    if plan.format == SPEED:
        text += "\n" + turn.tr("plan.released_speed_hint")
    turn.edit(turn.ev.message_id, text, [[_btn(turn, turn.tr("plan.btn_to_plan"), "pg", plan, 0)]])


# --- /round: speed rounds during the event ------------------------------------------------------

async def cmd_round(turn: Turn, profile: Profile | None, args: str) -> None:
    """`/round [CODE] next|N`: announce a round of a released speed plan."""
    tokens = args.split()
    if not tokens:
        turn.say("round.usage")
        return
    which, rest = tokens[-1].casefold(), " ".join(tokens[:-1])
    if which not in NEXT_WORDS and not (which.isascii() and which.isdigit() and len(which) <= 3):
        turn.say("round.usage")
        return
    released = await turn.uow.plans.released(SPEED)
    if rest:
        found = {e.id for e in find_events([e for _, e in released], rest)}
        released = [(p, e) for p, e in released if e.id in found]
        if not released:
            turn.say("round.unknown", given=short(rest, 80))
            return
    if not released:
        turn.say("round.no_plan")
        return
    if len(released) > 1:
        turn.say("round.which", codes=", ".join(f"{e.name} ({e.slug})" for _, e in released[:CHOICES]))
        return
    plan, event = released[0]
    if which in NEXT_WORDS:
        number = plan.current_round + 1
        if number > plan.rounds:
            turn.say("round.all_done", rounds=plan.rounds, event=event.name)
            return
    else:
        number = int(which)
        if not 1 <= number <= plan.rounds:
            turn.say("round.out_of_range", rounds=plan.rounds)
            return
    times = int((plan.announced or {}).get(str(number), 0))
    if times:
        turn.send(turn.tr("round.again_confirm", round=number, event=event.name, times=times),
                  [[_btn(turn, turn.tr("round.btn_again"), "rn", plan, number, times)]])
        return
    await announce(turn, plan, event, number)


async def _round_again(turn: Turn, plan: Plan, event: Event, p: PlanButton) -> None:
    if plan.format != SPEED or plan.released_at is None or not 1 <= p.a <= plan.rounds \
            or int((plan.announced or {}).get(str(p.a), 0)) != p.b:
        turn.toast("plan.stale", alert=True)  # announced again meanwhile (a second press)
        return
    await announce(turn, plan, event, p.a)


async def announce(turn: Turn, plan: Plan, event: Event, number: int) -> None:
    view = await load_view(turn, plan, event)
    meeting, resting = 0, 0
    for person_id in view.present():
        person = view.people[person_id][0]
        locale = _locale_of(turn, person)
        text = round_text(view, person_id, number, locale)
        if rules.agenda(person_id, view.slots, plan.rounds)[number - 1] is None:
            resting += 1
        else:
            meeting += 1
        turn.send(text, to=person)
    announced = dict(plan.announced or {})
    announced[str(number)] = int(announced.get(str(number), 0)) + 1
    plan.announced = announced
    plan.current_round = number
    text = turn.tr("round.announced", round=number, rounds=plan.rounds, event=event.name,
                   meetings=len(rules.round_slots(view.slots, number)), people=meeting, resting=resting)
    if view.changed_since_release:
        text += "\n" + turn.tr("round.unreleased_changes")
    if number < plan.rounds:
        text += "\n" + turn.tr("round.next_hint")
    if turn.ev.kind == "button":
        turn.edit(turn.ev.message_id, text)
    else:
        turn.send(text)


_OPS = {
    "pg": _page,
    "sel": _select,
    "lk": _lock,
    "rm": _remove,
    "swl": _swap_list,
    "sw": _swap,
    "swu": _swap,
    "rc": _recompute,
    "tp": _time_place,
    "mod": _moderator,
    "tk": _keep,
    "rl": _release_preview,
    "rlc": _release,
    "rn": _round_again,
}
