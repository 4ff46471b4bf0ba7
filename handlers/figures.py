"""Figures for organisers (`/stats [CODE]`, the demo): meetings proposed,
scheduled, held and rated, the average rating, who wants to continue, and
what came of it at each follow-up stage. Computed from the database, for all
meetings or for the pairs within one event."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from domain.durations import parse_offsets
from domain.model import OUTCOMES, MeetingStatus
from handlers.organisers import may_organise
from i18n import duration, t

if TYPE_CHECKING:
    from db.models import Feedback, Meeting, Outcome, Profile
    from db.uow import SqlAlchemyUnitOfWork
    from handlers.turn import Turn

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
    fig.comments = sum(1 for f in feedback if f.text)
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


async def figures(uow: SqlAlchemyUnitOfWork, stages: Iterable[str], person_ids: set[int] | None = None) -> Figures:
    """Figures over all pairs, or over pairs whose both people are in `person_ids`."""
    meetings, pairs, feedback, outcomes = await uow.followups.all_for_figures()
    pair_ids = None
    if person_ids is not None:
        pair_ids = {p.id for p in pairs if p.company_id in person_ids and p.creative_id in person_ids}
    return compute(meetings, feedback, outcomes, stages, pair_ids)


def _stage(locale: str, label: str) -> str:
    """A follow-up stage's label ("14d") as words: "2 Wochen", "2 weeks"."""
    try:
        return duration(locale, parse_offsets(label)[0][1])
    except (ValueError, IndexError):
        return label


def render(lang: str, fig: Figures, scope: str = "") -> str:
    none = t(lang, "admin.stats_none")
    share = (lambda n: f"{round(100 * n / fig.continue_answers)} %" if fig.continue_answers else none)
    head = t(lang, "admin.stats", scope=scope, proposed=fig.proposed, scheduled=fig.scheduled,
             cancelled=fig.cancelled, comments=fig.comments, held=fig.held,
               rated=fig.rated, avg=f"{fig.average_rating:.1f}".replace(".", "." if lang == "en" else ",")
               if fig.average_rating is not None else none,
               share_yes=share(fig.continue_yes), share_maybe=share(fig.continue_maybe), continue_n=fig.continue_answers)
    stages = [t(lang, "admin.stats_outcome", stage=_stage(lang, s.stage), answered=s.answered, pairs=s.pairs,
                summary=", ".join(f"{t(lang, 'oc.' + a)} {n}" for a, n in s.answers.items() if n) or none)
              for s in fig.stages]
    return head + ("\n\n" + "\n".join(stages) if stages else "")


async def cmd_stats(turn: Turn, profile: Profile | None, args: str) -> None:
    slug = args.strip().rsplit("=", 1)[-1]
    scope, person_ids = "", None
    if slug:
        event = await turn.uow.events.by_slug(slug[:64])
        if event is None:
            turn.say("admin.stats_usage")
            return
        if not await may_organise(turn, event):
            turn.say("event.not_yours", event=event.name)
            return
        person_ids = {p.id for p, _ in await turn.uow.events.people(event)}
        scope = turn.tr("admin.stats_scope", event=event.name)
    elif not await may_organise(turn, None):  # all events: admins only
        turn.say("admin.stats_own")
        return
    fig = await figures(turn.uow, turn.services.policy.stages, person_ids)
    turn.send(render(turn.locale, fig, scope))


__all__ = ["Figures", "compute", "figures", "render", "cmd_stats"]
