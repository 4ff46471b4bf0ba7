"""Figures for organisers (`/stats [CODE]`, the demo): how far the people
got (the funnel: registered → onboarded → approved → matched → introduced →
met → continued, with a chart), meetings proposed, scheduled, cancelled, held
and rated, the average rating, who wants to continue, and what came of it at
each follow-up stage. Computed from the database, for everyone or for one
event (its participants and what happened among them)."""
from __future__ import annotations

import asyncio
import io
import logging
import math
import textwrap
import threading
import warnings
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from babel.dates import format_date

from domain.durations import parse_offsets
from domain.model import OUTCOMES, CardStatus, MeetingStatus, PairStatus
from handlers.admin import find_events
from handlers.organisers import may_organise
from handlers.text import short
from handlers.types import Document
from i18n import duration, language_of, t

if TYPE_CHECKING:
    from db.models import Event, EventParticipant, Feedback, Meeting, Outcome, Profile
    from db.uow import ReportRows, SqlAlchemyUnitOfWork
    from handlers.turn import Turn

log = logging.getLogger(__name__)

# How far a collaboration got; a pair counts with its furthest answer.
OUTCOME_RANK = {"nothing": 0, "idea": 1, "funding": 2, "project": 3, "contract": 4}


@dataclass
class StageFigures:
    stage: str
    pairs: int = 0  # pairs asked (or due) at this stage
    answered: int = 0  # pairs where at least one side answered
    answers: dict[str, int] = field(default_factory=dict)  # furthest answer per pair


@dataclass
class Figures:
    proposed: int = 0
    scheduled: int = 0  # agreed on a time or to arrange it themselves, and not cancelled
    cancelled: int = 0
    held: int = 0
    rated: int = 0
    ratings: int = 0
    average_rating: float | None = None
    continue_answers: int = 0
    continue_yes: int = 0
    continue_maybe: int = 0
    continue_no: int = 0
    comments: int = 0  # feedback with a written comment
    stages: list[StageFigures] = field(default_factory=list)

    @property
    def share_continue(self) -> float | None:
        return self.continue_yes / self.continue_answers if self.continue_answers else None

    def to_dict(self) -> dict[str, object]:
        return {
            "meetings_proposed": self.proposed, "meetings_scheduled": self.scheduled,
            "meetings_cancelled": self.cancelled, "meetings_held": self.held,
            "meetings_rated": self.rated, "ratings": self.ratings,
            "average_rating": round(self.average_rating, 2) if self.average_rating is not None else None,
            "continue": {"yes": self.continue_yes, "maybe": self.continue_maybe, "no": self.continue_no},
            "share_wanting_to_continue": round(self.share_continue, 3) if self.share_continue is not None else None,
            "comments": self.comments,
            "outcomes": {s.stage: {"pairs": s.pairs, "answered": s.answered, **s.answers} for s in self.stages},
        }


def has_comment(f: object) -> bool:
    """Whether someone wrote a comment with their feedback (report rows
    carry only `has_text`, model rows the `text`)."""
    return bool(f.has_text) if hasattr(f, "has_text") else bool(getattr(f, "text", None))


def compute(meetings: Iterable[Meeting], feedback: Iterable[Feedback], outcomes: Iterable[Outcome],
            stages: Iterable[str], pair_ids: set[int] | None = None) -> Figures:
    """Pure: figures from rows (restricted to `pair_ids` when given)."""
    meetings = [m for m in meetings if pair_ids is None or m.pair_id in pair_ids]
    ids = {m.id for m in meetings}
    feedback = [f for f in feedback if f.meeting_id in ids]
    # Rows whose pair is gone (one side deleted their data) count no more.
    outcomes = [o for o in outcomes if o.pair_id is not None and (pair_ids is None or o.pair_id in pair_ids)]
    fig = Figures(proposed=len(meetings))
    asked_about = {f.meeting_id for f in feedback}
    agreed = (MeetingStatus.SELF_ARRANGED, MeetingStatus.HELD, MeetingStatus.FELL_THROUGH)
    fig.cancelled = sum(1 for m in meetings if m.status == MeetingStatus.CANCELLED)
    fig.scheduled = sum(1 for m in meetings if m.status != MeetingStatus.CANCELLED
                        and (m.starts_at is not None or m.status in agreed or m.id in asked_about))
    fig.comments = sum(1 for f in feedback if has_comment(f))
    fig.held = len({f.meeting_id for f in feedback if f.met == "yes"})
    ratings = [f.rating for f in feedback if f.rating is not None]
    fig.rated = len({f.meeting_id for f in feedback if f.rating is not None})
    fig.ratings = len(ratings)
    fig.average_rating = sum(ratings) / len(ratings) if ratings else None
    cont = Counter(f.wants_to_continue for f in feedback if f.wants_to_continue)
    fig.continue_yes, fig.continue_maybe, fig.continue_no = cont["yes"], cont["maybe"], cont["no"]
    fig.continue_answers = sum(cont.values())
    for stage in stages:
        rows = [o for o in outcomes if o.stage == stage]
        best: dict[int, str] = {}
        for o in rows:
            if o.answer in OUTCOME_RANK and (o.pair_id not in best or OUTCOME_RANK[o.answer] > OUTCOME_RANK[best[o.pair_id]]):
                best[o.pair_id] = o.answer
        counts = Counter(best.values())
        fig.stages.append(StageFigures(stage=stage, pairs=len({o.pair_id for o in rows}), answered=len(best),
                                       answers={a: counts[a] for a in OUTCOMES}))
    return fig


# -- the funnel ----------------------------------------------------------------------------

FUNNEL = ("registered", "onboarded", "approved", "matched", "introduced", "met", "continued")
SIDES = ("production", "creative", "")  # "": no side chosen yet (the profile was not begun)


def approved(profile: Profile | None, memberships: Collection[EventParticipant]) -> bool:
    """The funnel's "approved" step, decided here and nowhere else.

    Today there is no approval of applications: whoever completed their
    profile takes part in the matching, so approved = onboarded. When
    applications need approval, point this at the participant's status:
    approved in one of `memberships` (the person's `EventParticipant` rows
    of the event(s) in scope, loaded whole by `report_rows`, so a new column
    is there; none for someone in the open pool, which needs no approval).
    The participants export's "approved" column follows."""
    if profile is None or profile.completed_at is None:
        return False
    # In an event: admitted (applications approved, or no approval needed);
    # in the open pool (no membership): nothing to approve.
    return not memberships or any(m.status == "approved" for m in memberships)


@dataclass(frozen=True)
class FunnelStep:
    step: str  # one of FUNNEL
    people: int
    sides: dict[str, int]  # people per side (SIDES)


@dataclass(frozen=True)
class Funnel:
    steps: list[FunnelStep]

    @property
    def registered(self) -> int:
        return self.steps[0].people if self.steps else 0

    def share(self, step: FunnelStep) -> float | None:
        """Of the people registered, the share that reached `step`."""
        return step.people / self.registered if self.registered else None

    def count(self, step: str) -> int:
        return next(s.people for s in self.steps if s.step == step)

    def to_dict(self) -> dict[str, object]:
        return {s.step: {"people": s.people, **{side or "no_side": n for side, n in s.sides.items()}}
                for s in self.steps}


def reached(rows: ReportRows) -> dict[str, set[int]]:
    """Pure: for each step of the funnel, the people (ids) in scope who got
    that far. A person counts at a step only with every step before it, so
    the funnel never widens:

    - registered: joined the event (without an event: signed up at all);
    - onboarded: completed their profile;
    - approved: `approved()`;
    - matched: a suggestion (a card) reached them;
    - introduced: both sides of one of their pairs said yes;
    - met: a meeting of theirs took place (held, or someone's feedback says they met);
    - continued: they said in their feedback that they want to continue."""
    profiles = {p.id: pr for p, pr in rows.people}
    memberships: dict[int, list[EventParticipant]] = {}
    for m in rows.memberships:
        memberships.setdefault(m.person_id, []).append(m)
    pair_of = {p.id: p for p in rows.pairs}
    held = ({m.id for m in rows.meetings if m.status == MeetingStatus.HELD}
            | {f.meeting_id for f in rows.feedback if f.met == "yes"})
    met: set[int] = set()
    for meeting in rows.meetings:
        pair = pair_of.get(meeting.pair_id)
        if meeting.id in held and pair is not None:
            met |= {pair.company_id, pair.creative_id}
    sets = {
        "registered": set(profiles),
        "onboarded": {i for i, pr in profiles.items() if pr is not None and pr.completed_at is not None},
        "approved": {i for i, pr in profiles.items() if approved(pr, memberships.get(i, []))},
        "matched": {s.person_id for s in rows.suggestions if s.shown_at is not None or s.status != CardStatus.PENDING},
        "introduced": {i for p in rows.pairs if p.status == PairStatus.INTRODUCED for i in (p.company_id, p.creative_id)},
        "met": met,
        "continued": {f.person_id for f in rows.feedback if f.wants_to_continue == "yes" and f.meeting_id in held},
    }
    out: dict[str, set[int]] = {}
    before: set[int] | None = None
    for step in FUNNEL:
        before = sets[step] if before is None else before & sets[step]
        out[step] = before
    return out


def funnel(rows: ReportRows) -> Funnel:
    """Pure: the funnel's counts, in all and per side."""
    side = {p.id: (pr.side if pr is not None and pr.side in SIDES else "") for p, pr in rows.people}
    steps = []
    for step, people in reached(rows).items():
        by_side = Counter(side[i] for i in people)
        steps.append(FunnelStep(step, len(people), {s: by_side[s] for s in SIDES}))
    return Funnel(steps)


# -- texts ---------------------------------------------------------------------------------

def _stage(locale: str, label: str) -> str:
    """A follow-up stage's label ("14d") as words: "2 Wochen", "2 weeks"."""
    try:
        return duration(locale, parse_offsets(label)[0][1])
    except (ValueError, IndexError):
        return label


def _percent(share: float | None, none: str) -> str:
    """A share as whole percent, halves rounded up (5 of 8: 63 %)."""
    return f"{math.floor(100 * share + 0.5)} %" if share is not None else none


def render_funnel(lang: str, fun: Funnel) -> str:
    none = t(lang, "admin.stats_none")
    lines = [t(lang, "fig.line", step=t(lang, f"fig.step.{s.step}"), count=s.people, share=_percent(fun.share(s), none),
               companies=s.sides["production"], creatives=s.sides["creative"]) for s in fun.steps]
    return t(lang, "fig.funnel", lines="\n".join(lines))


def render(lang: str, fig: Figures, scope: str = "", fun: Funnel | None = None) -> str:
    none = t(lang, "admin.stats_none")
    share = (lambda n: f"{round(100 * n / fig.continue_answers)} %" if fig.continue_answers else none)
    head = t(lang, "admin.stats", proposed=fig.proposed, scheduled=fig.scheduled,
             cancelled=fig.cancelled, comments=fig.comments, held=fig.held,
             rated=fig.rated, avg=f"{fig.average_rating:.1f}".replace(".", "." if lang == "en" else ",")
             if fig.average_rating is not None else none,
             share_yes=share(fig.continue_yes), share_maybe=share(fig.continue_maybe), continue_n=fig.continue_answers)
    stages = [t(lang, "admin.stats_outcome", stage=_stage(lang, s.stage), answered=s.answered, pairs=s.pairs,
                summary=", ".join(f"{t(lang, 'oc.' + a)} {n}" for a, n in s.answers.items() if n) or none)
              for s in fig.stages]
    parts = [t(lang, "admin.stats_title", scope=scope)]
    if fun is not None:
        parts.append(render_funnel(lang, fun))
    parts.append(head)
    if stages:
        parts.append("\n".join(stages))
    return "\n\n".join(parts)


# -- the chart -----------------------------------------------------------------------------

# Companies, creatives, no side yet: distinguishable in colour and in grey.
COLOURS = {"production": "#1d5d8c", "creative": "#e4843c", "": "#c4c7cc"}
_chart_lock = threading.Lock()  # one chart at a time (matplotlib's font cache and text layout are shared)


@dataclass(frozen=True)
class ChartTexts:
    """What the chart says, in the organiser's language."""

    title: str
    subtitle: str
    steps: dict[str, str]  # step -> label
    sides: dict[str, str]  # side -> legend label


def chart_texts(lang: str, scope_name: str, as_of: str) -> ChartTexts:
    return ChartTexts(title=scope_name, subtitle=t(lang, "fig.chart_subtitle", date=as_of),
                      steps={s: t(lang, f"fig.step.{s}") for s in FUNNEL},
                      sides={"production": t(lang, "fig.companies"), "creative": t(lang, "fig.creatives"),
                             "": t(lang, "fig.no_side")})


def chart_png(fun: Funnel, texts: ChartTexts, lang: str = "de") -> bytes:
    """The funnel as a PNG: one horizontal bar per step (top to bottom),
    centred like a funnel, split into companies, creatives and people without
    a side yet, with the count and the share of the registered beside it.
    1280 × 880 px with large type: readable on a phone, Telegram's photo
    size. matplotlib (Agg, no display) is imported here, on first use, so the
    bot does not carry it from the start."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with _chart_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. a glyph (an emoji in an event's name) missing from the font
        fig = Figure(figsize=(8, 5.5), dpi=160, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        steps = fun.steps
        widest = max((s.people for s in steps), default=0) or 1
        y = list(range(len(steps)))[::-1]  # the first step on top
        shown = [side for side in SIDES if any(s.sides[side] for s in steps)]
        for side in shown:
            lefts = [-s.people / 2 + sum(s.sides[o] for o in SIDES[:SIDES.index(side)]) for s in steps]
            ax.barh(y, [s.sides[side] for s in steps], left=lefts, height=0.72, color=COLOURS[side],
                    label=texts.sides[side], edgecolor="white", linewidth=1)
        none = "–"
        for yi, s in zip(y, steps):
            label = f"{s.people:,}".replace(",", "." if lang != "en" else ",")
            ax.text(s.people / 2 + widest * 0.03, yi, f"{label} ({_percent(fun.share(s), none)})", va="center",
                    ha="left", fontsize=14, fontweight="bold", color="#222222")
        ax.set_yticks(y, [texts.steps[s.step] for s in steps], fontsize=14)
        ax.set_xlim(-widest / 2 - widest * 0.02, widest / 2 + widest * 0.55)
        ax.set_ylim(-0.6, len(steps) - 0.4)
        ax.set_xticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.tick_params(axis="y", length=0, pad=8)
        title = "\n".join(textwrap.wrap(texts.title, 42)[:2])
        fig.suptitle(title, fontsize=18, fontweight="bold", parse_math=False)
        ax.set_title(texts.subtitle, fontsize=12, color="#555555", parse_math=False)
        if shown:
            fig.legend(loc="outside lower center", ncols=len(shown), frameon=False, fontsize=12)
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=160)
    return out.getvalue()


# -- the command ---------------------------------------------------------------------------

async def figures(uow: SqlAlchemyUnitOfWork, stages: Iterable[str], event_id: int | None = None) -> tuple[Figures, Funnel]:
    """The figures and the funnel for everyone, or for one event."""
    rows = await uow.followups.report_rows(event_id)
    return compute(rows.meetings, rows.feedback, rows.outcomes, stages), funnel(rows)


async def cmd_stats(turn: Turn, profile: Profile | None, args: str) -> None:
    """/stats [CODE or NAME]: the funnel as a chart, then the figures in words."""
    allowed, event = await event_in_scope(turn, args, "admin.stats_usage", "admin.stats_own")
    if not allowed:
        return
    fig, fun = await figures(turn.uow, turn.services.policy.stages, event.id if event is not None else None)
    scope = turn.tr("admin.stats_scope", event=event.name) if event is not None else ""
    if fun.registered:
        name = event.name if event is not None else turn.tr("fig.everyone")
        as_of = format_date(turn.services.now().astimezone(turn.services.settings.tz).date(), "medium",
                            locale=language_of(turn.locale))
        try:
            png = await asyncio.to_thread(chart_png, fun, chart_texts(turn.locale, name, as_of),
                                          language_of(turn.locale))
        except Exception:  # the figures in words matter more than the picture
            log.exception("the funnel chart could not be drawn; the figures go without it")
        else:
            turn.send(turn.tr("fig.chart_caption", scope=name),
                      document=Document(f"crosslab-{event.slug if event else 'all'}-funnel.png", png, "image/png",
                                        as_photo=True))
    turn.send(render(turn.locale, fig, scope, fun))


async def event_in_scope(turn: Turn, args: str, usage: str, own: str) -> tuple[bool, Event | None]:
    """The event an organiser's /stats or /export names (None: all events),
    and whether they may see it; if not, they were told why (an unknown code,
    not their event, or all events for admins only: the catalog key `own`)."""
    if not args.strip():
        if await may_organise(turn, None):
            return True, None
        turn.say(own)
        return False, None
    found = find_events(await turn.uow.events.all(), args)
    if len(found) != 1:
        await unknown_event(turn, usage, args)
        return False, None
    event = found[0]
    if not await may_organise(turn, event):
        turn.say("event.not_yours", event=event.name)
        return False, None
    return True, event


async def unknown_event(turn: Turn, usage: str, given: str) -> None:
    """A code or name that names no single event: say so, with the events."""
    events = await turn.uow.events.all()
    if not events:
        turn.say("admin.no_events")
        return
    lines = [turn.tr("fig.event_choice", event=e.name, code=e.slug) for e in list(reversed(events))[:30]]
    turn.send("\n".join([turn.tr("fig.unknown_event", given=short(given, 80)), *lines, "", turn.tr(usage)]))


__all__ = ["Figures", "Funnel", "FunnelStep", "approved", "chart_png", "compute", "figures", "funnel", "reached",
           "render", "cmd_stats"]
