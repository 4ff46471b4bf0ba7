"""Repositories and the unit of work (Architecture Patterns with Python, async).

The unit of work rolls back unless `commit()` was called; repositories never
commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Collection, Sequence

from sqlalchemy import BigInteger, and_, bindparam, case, delete, func, insert, or_, select, true, update
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.engine import truncate_wal
from db.models import (
    Broadcast,
    ConsentRefusal,
    Feedback,
    HandoverItem,
    Outcome,
    OutboxMessage,
    Meeting,
    Pair,
    ReminderSent,
    Suggestion,
    ConversationState,
    Embedding,
    Event,
    EventOrganiser,
    EventParticipant,
    Person,
    PendingInvitation,
    Plan,
    PlanEntry,
    PlanNotice,
    ProcessedUpdate,
    Profile,
    utcnow,
)


@dataclass
class Context:
    """Who sent an update, read in one query: their person (None: not known),
    conversation state and profile, whether they co-organise an event, and
    whether an invitation they declined is still kept for them."""

    person: Person | None
    state: ConversationState | None
    profile: Profile | None
    co_organiser: bool
    invited: bool


_WHO = select(bindparam("tid", type_=BigInteger).label("tid")).subquery("who")
# Built once (not per update): the statement and its cache key are reused.
_LOAD_CONTEXT = (
    select(Person, ConversationState, Profile,
           select(EventOrganiser.telegram_id).where(EventOrganiser.telegram_id == _WHO.c.tid).exists().label("co"),
           select(PendingInvitation.key).where(
               PendingInvitation.key == bindparam("key"),
               PendingInvitation.created_at >= bindparam("since", type_=PendingInvitation.created_at.type),
           ).exists().label("invited"))
    .select_from(_WHO)
    .outerjoin(Person, Person.telegram_id == _WHO.c.tid)
    .outerjoin(ConversationState, ConversationState.person_id == Person.id)
    .outerjoin(Profile, Profile.person_id == Person.id)
)


_RECORD_UPDATE = insert(ProcessedUpdate.__table__)
_OUTBOX = OutboxMessage.__table__
_STAGE_OUTBOX = insert(_OUTBOX).returning(_OUTBOX.c.id, sort_by_parameter_order=True)


class PeopleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_telegram_id(self, telegram_id: int) -> Person | None:
        return (await self.session.execute(select(Person).where(Person.telegram_id == telegram_id))).scalar_one_or_none()

    async def add(self, person: Person) -> Person:
        self.session.add(person)
        await self.session.flush()
        return person

    async def delete(self, person: Person) -> None:
        await self.session.execute(delete(Person).where(Person.id == person.id))
        self.session.expunge(person)

    async def load_context(self, telegram_id: int, invitation_key: str = "",
                           invited_since: datetime | None = None) -> Context:
        """Everything the handling of an update starts from, in one query (see
        `Context`); `invitation_key`: the person's pseudonym for declined
        invitations kept since `invited_since`."""
        row = (await self.session.execute(_LOAD_CONTEXT, {
            "tid": telegram_id, "key": invitation_key, "since": invited_since or utcnow()})).one()
        return Context(row[0], row[1], row[2], bool(row[3]), bool(row[4]))

    async def profile(self, person: Person) -> Profile:
        profile = await self.session.get(Profile, person.id)
        if profile is None:
            profile = Profile(person_id=person.id)
            self.session.add(profile)
            await self.session.flush()
        return profile

    async def completed_profiles(self) -> Sequence[tuple[Person, Profile]]:
        rows = await self.session.execute(
            select(Person, Profile).join(Profile, Profile.person_id == Person.id).where(Profile.completed_at.is_not(None))
        )
        return [(p, pr) for p, pr in rows.all()]

    async def companies(self) -> Sequence[tuple[Person, Profile]]:
        """Companies with a finished profile, most recently joined first."""
        rows = await self.session.execute(
            select(Person, Profile).join(Profile, Profile.person_id == Person.id)
            .where(Profile.completed_at.is_not(None), Profile.side == "production").order_by(Person.id.desc()))
        return [(p, pr) for p, pr in rows.all()]

    async def many(self, person_ids: Collection[int]) -> dict[int, tuple[Person, Profile | None]]:
        """People by id with their profiles, in bulk (the gone are missing)."""
        ids, out = sorted(set(person_ids)), {}
        for i in range(0, len(ids), 500):
            rows = await self.session.execute(
                select(Person, Profile).outerjoin(Profile, Profile.person_id == Person.id)
                .where(Person.id.in_(ids[i:i + 500])))
            out.update({p.id: (p, pr) for p, pr in rows.all()})
        return out

    async def count(self) -> int:
        from sqlalchemy import func

        return int((await self.session.execute(select(func.count()).select_from(Person))).scalar_one())


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, person: Person) -> ConversationState:
        state = await self.session.get(ConversationState, person.id)
        if state is None:
            state = ConversationState(person_id=person.id, flow="idle", step=None, data={}, version=0)
            self.session.add(state)
            await self.session.flush()
        return state

    async def leave_rows(self, person_id: int, flows: Collection[str], keys: dict[str, Collection[int]]) -> None:
        """Someone in one of `flows` whose state data refers to one of these
        rows (e.g. {"meeting_id": {4, 5}}) goes back to idle: the rows are
        about to be deleted (the other side's /delete), and the state would
        keep what they said about them (a name)."""
        state = await self.session.get(ConversationState, person_id)
        if state is None or state.flow not in flows:
            return
        if any(state.data.get(key) in ids for key, ids in keys.items()):
            state.flow, state.step, state.data = "idle", None, {}

    async def put_at_question(self, person_id: int, flow: str, step: str, data: dict[str, Any],
                              replaceable: Collection[tuple[str, str]]) -> None:
        """Move someone who is idle or at one of the `replaceable` (flow, step)
        questions to a new question, in one conditional UPDATE: a person busy
        with something else, even since this transaction began, is left there."""
        at_question = [and_(ConversationState.flow == f, ConversationState.step == s) for f, s in replaceable]
        await self.session.execute(
            update(ConversationState)
            .where(ConversationState.person_id == person_id, or_(ConversationState.flow == "idle", *at_question))
            .values(flow=flow, step=step, data=data)
            .execution_options(synchronize_session="fetch"))


@dataclass
class SideCounts:
    """One side of an event: everyone who joined, those with a finished
    profile, and where the finished ones stand."""

    registered: int = 0
    onboarded: int = 0
    pending: int = 0
    approved: int = 0
    waiting: int = 0
    declined: int = 0

    @property
    def holding(self) -> int:
        """Places taken (applications and admitted)."""
        return self.pending + self.approved


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_slug(self, slug: str) -> Event | None:
        return (await self.session.execute(select(Event).where(Event.slug == slug))).scalar_one_or_none()

    async def get(self, event_id: int, *, lock: bool = False) -> Event | None:
        """`lock`: for this transaction (PostgreSQL), so two admissions to the
        same event at once cannot both take its last place."""
        return await self.session.get(Event, event_id, with_for_update=lock)

    async def add(self, event: Event) -> Event:
        self.session.add(event)
        await self.session.flush()
        return event

    async def all(self) -> Sequence[Event]:
        return (await self.session.execute(select(Event).order_by(Event.id))).scalars().all()

    async def join(self, event: Event, person: Person) -> bool:
        """Add a participant; False if they were already in."""
        existing = await self.session.get(EventParticipant, (event.id, person.id))
        if existing is not None:
            return False
        self.session.add(EventParticipant(event_id=event.id, person_id=person.id, status="registered"))
        await self.session.flush()
        return True

    async def participant(self, event_id: int, person_id: int, *, lock: bool = False) -> EventParticipant | None:
        return await self.session.get(EventParticipant, (event_id, person_id), with_for_update=lock)

    async def leave(self, event_id: int, person_id: int) -> None:
        await self.session.execute(delete(EventParticipant).where(
            EventParticipant.event_id == event_id, EventParticipant.person_id == person_id))

    async def of_person(self, person: Person) -> Sequence[tuple[Event, EventParticipant]]:
        rows = await self.session.execute(
            select(Event, EventParticipant)
            .join(EventParticipant, EventParticipant.event_id == Event.id)
            .where(EventParticipant.person_id == person.id)
            .order_by(Event.id)
        )
        return [(e, ep) for e, ep in rows.all()]

    async def people(self, event: Event, statuses: Collection[str] | None = None
                     ) -> Sequence[tuple[Person, Profile | None]]:
        """The event's participants (with one of `statuses`, when given)."""
        q = (select(Person, Profile)
             .join(EventParticipant, EventParticipant.person_id == Person.id)
             .outerjoin(Profile, Profile.person_id == Person.id)
             .where(EventParticipant.event_id == event.id))
        if statuses is not None:
            q = q.where(EventParticipant.status.in_(list(statuses)))
        rows = await self.session.execute(q.order_by(Person.id))
        return [(p, pr) for p, pr in rows.all()]

    async def applications(self, event_id: int) -> Sequence[tuple[Person, Profile, EventParticipant]]:
        """Open applications (status pending), oldest first."""
        rows = await self.session.execute(
            select(Person, Profile, EventParticipant)
            .join(EventParticipant, EventParticipant.person_id == Person.id)
            .join(Profile, Profile.person_id == Person.id)
            .where(EventParticipant.event_id == event_id, EventParticipant.status == "pending")
            .order_by(EventParticipant.applied_at, Person.id))
        return [(p, pr, ep) for p, pr, ep in rows.all()]

    async def memberships(self) -> dict[int, list[tuple[int, bool, bool]]]:
        """person id -> [(event id, released?, admitted?)] for everyone in any event."""
        rows = await self.session.execute(
            select(EventParticipant.person_id, Event.id, Event.released_at, EventParticipant.status)
            .join(Event, Event.id == EventParticipant.event_id))
        out: dict[int, list[tuple[int, bool, bool]]] = {}
        for person_id, event_id, released_at, status in rows.all():
            out.setdefault(person_id, []).append((event_id, released_at is not None, status == "approved"))
        return out

    async def participant_count(self, event: Event) -> int:
        q = select(func.count()).select_from(EventParticipant).where(EventParticipant.event_id == event.id)
        return int((await self.session.execute(q)).scalar_one())

    async def counts(self, event_ids: Collection[int]) -> dict[int, dict[str | None, SideCounts]]:
        """event id -> side ("production", "creative", None: not chosen yet) ->
        counts, for many events in one query."""
        ids = sorted(set(event_ids))
        out: dict[int, dict[str | None, SideCounts]] = {i: {} for i in ids}
        if not ids:
            return out
        completed = Profile.completed_at.is_not(None)
        q = (select(EventParticipant.event_id, Profile.side, EventParticipant.status, completed, func.count())
             .select_from(EventParticipant)
             .outerjoin(Profile, Profile.person_id == EventParticipant.person_id)
             .where(EventParticipant.event_id.in_(ids))
             .group_by(EventParticipant.event_id, Profile.side, EventParticipant.status, completed))
        for event_id, side, status, done, n in (await self.session.execute(q)).all():
            c = out[event_id].setdefault(side, SideCounts())
            c.registered += n
            if done:
                c.onboarded += n
            if status in ("pending", "approved", "waiting", "declined"):
                setattr(c, status, getattr(c, status) + n)
        return out

    async def holding(self, event_id: int, side: str | None) -> int:
        """Places taken on one side: open applications and admitted participants."""
        q = (select(func.count()).select_from(EventParticipant)
             .join(Profile, Profile.person_id == EventParticipant.person_id)
             .where(EventParticipant.event_id == event_id, Profile.side == side,
                    EventParticipant.status.in_(("pending", "approved"))))
        return int((await self.session.execute(q)).scalar_one())

    def _waiting(self, event_id: int, side: str | None) -> Any:
        return (select(EventParticipant)
                .join(Profile, Profile.person_id == EventParticipant.person_id)
                .where(EventParticipant.event_id == event_id, Profile.side == side,
                       EventParticipant.status == "waiting"))

    async def first_waiting(self, event_id: int, side: str | None) -> EventParticipant | None:
        """The next on one side's waiting list: who came first."""
        q = self._waiting(event_id, side).order_by(EventParticipant.queue_no, EventParticipant.person_id).limit(1)
        return (await self.session.execute(q)).scalars().first()

    async def waiting_position(self, row: EventParticipant, side: str | None) -> int:
        """1 for the first on the waiting list of their side."""
        ahead = self._waiting(row.event_id, side).where(or_(
            EventParticipant.queue_no < row.queue_no,
            and_(EventParticipant.queue_no == row.queue_no, EventParticipant.person_id < row.person_id)))
        n = (await self.session.execute(select(func.count()).select_from(ahead.subquery()))).scalar_one()
        return int(n) + 1

    async def next_queue_no(self, event_id: int) -> int:
        q = select(func.max(EventParticipant.queue_no)).where(EventParticipant.event_id == event_id)
        return int((await self.session.execute(q)).scalar_one() or 0) + 1

    # -- co-organisers ----------------------------------------------------------------
    async def co_organisers(self, event_id: int) -> Sequence[EventOrganiser]:
        q = select(EventOrganiser).where(EventOrganiser.event_id == event_id).order_by(EventOrganiser.added_at,
                                                                                       EventOrganiser.telegram_id)
        return (await self.session.execute(q)).scalars().all()

    async def add_co_organiser(self, row: EventOrganiser) -> bool:
        """False if they co-organise this event already (the name is updated)."""
        existing = await self.session.get(EventOrganiser, (row.event_id, row.telegram_id))
        if existing is not None:
            if row.name:
                existing.name = row.name
            return False
        self.session.add(row)
        await self.session.flush()
        return True

    async def remove_co_organiser(self, event_id: int, telegram_id: int) -> bool:
        result = await self.session.execute(delete(EventOrganiser).where(
            EventOrganiser.event_id == event_id, EventOrganiser.telegram_id == telegram_id))
        return bool(result.rowcount)

    async def co_organised(self, telegram_id: int) -> Sequence[Event]:
        """The events this Telegram id co-organises."""
        q = (select(Event).join(EventOrganiser, EventOrganiser.event_id == Event.id)
             .where(EventOrganiser.telegram_id == telegram_id).order_by(Event.id))
        return (await self.session.execute(q)).scalars().all()

    async def forget_co_organiser(self, telegram_id: int) -> None:
        """They deleted their data: they co-organise nothing any more."""
        await self.session.execute(delete(EventOrganiser).where(EventOrganiser.telegram_id == telegram_id))


class InvitationRepository:
    """Declined invitations, keyed by a pseudonym (see `PendingInvitation`)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key: str, since: datetime) -> tuple[PendingInvitation, Event] | None:
        row = (await self.session.execute(
            select(PendingInvitation, Event).join(Event, Event.id == PendingInvitation.event_id)
            .where(PendingInvitation.key == key, PendingInvitation.created_at >= since))).first()
        return (row[0], row[1]) if row else None

    async def put(self, key: str, event_id: int, now: datetime, forget_before: datetime) -> None:
        """Keep (or renew) the invitation; forget everyone's that expired."""
        await self.session.execute(delete(PendingInvitation).where(
            (PendingInvitation.key == key) | (PendingInvitation.created_at < forget_before)))
        self.session.add(PendingInvitation(key=key, event_id=event_id, created_at=now))

    async def forget(self, key: str) -> None:
        await self.session.execute(delete(PendingInvitation).where(PendingInvitation.key == key))


class IntroductionRepository:
    """Suggestions shown as cards, pairs (double opt-in) and their meetings."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def person(self, person_id: int) -> Person | None:
        return await self.session.get(Person, person_id)

    async def profile(self, person_id: int) -> Profile | None:
        return await self.session.get(Profile, person_id)

    async def suggestion(self, suggestion_id: int) -> Suggestion | None:
        return await self.session.get(Suggestion, suggestion_id)

    async def suggestions_of(self, person_id: int) -> Sequence[Suggestion]:
        q = select(Suggestion).where(Suggestion.person_id == person_id).order_by(Suggestion.id)
        return (await self.session.execute(q)).scalars().all()

    async def suggestion_count(self, person_ids: Sequence[int]) -> int:
        """How many suggestions these people have (any status)."""
        ids, total = sorted(set(person_ids)), 0
        for i in range(0, len(ids), 500):
            q = select(func.count()).select_from(Suggestion).where(Suggestion.person_id.in_(ids[i:i + 500]))
            total += int((await self.session.execute(q)).scalar_one())
        return total

    async def suggestions_about(self, person_id: int) -> Sequence[Suggestion]:
        """Everyone's cards about this person (any status), in one query."""
        q = select(Suggestion).where(Suggestion.counterpart_id == person_id)
        return (await self.session.execute(q)).scalars().all()

    async def marked_by_others(self, person_id: int) -> Sequence[Suggestion]:
        """Others' cards about this person that they answered "interested"
        (or marked while browsing): a strong signal for this person's cards."""
        q = select(Suggestion).where(Suggestion.counterpart_id == person_id, Suggestion.status == "interested")
        return (await self.session.execute(q)).scalars().all()

    async def pairs_of(self, person_id: int) -> Sequence[Pair]:
        q = select(Pair).where((Pair.company_id == person_id) | (Pair.creative_id == person_id))
        return (await self.session.execute(q)).scalars().all()

    async def suggestion_between(self, person_id: int, counterpart_id: int) -> Suggestion | None:
        q = select(Suggestion).where(Suggestion.person_id == person_id, Suggestion.counterpart_id == counterpart_id)
        return (await self.session.execute(q)).scalar_one_or_none()

    async def add_suggestion(self, suggestion: Suggestion) -> Suggestion:
        self.session.add(suggestion)
        await self.session.flush()
        return suggestion

    async def pair(self, company_id: int, creative_id: int) -> Pair | None:
        """Locked for this transaction (PostgreSQL): both sides may answer at once."""
        q = select(Pair).where(Pair.company_id == company_id, Pair.creative_id == creative_id).with_for_update()
        return (await self.session.execute(q)).scalar_one_or_none()

    async def pair_by_id(self, pair_id: int) -> Pair | None:
        return await self.session.get(Pair, pair_id, with_for_update=True)

    async def add_pair(self, pair: Pair) -> Pair:
        self.session.add(pair)
        await self.session.flush()
        return pair

    async def introduced_pairs_of(self, person_id: int) -> Sequence[Pair]:
        q = (select(Pair).where((Pair.company_id == person_id) | (Pair.creative_id == person_id),
                                Pair.status == "introduced").order_by(Pair.id.desc()))
        return (await self.session.execute(q)).scalars().all()

    async def cards_among(self, person_ids: Collection[int], statuses: Collection[str]) -> list[tuple[int, int, str]]:
        """(person, counterpart, status) of the cards between these people with
        one of `statuses` (e.g. "interested": a "möchte ich treffen" mark)."""
        ids, out = sorted(set(person_ids)), []
        among = set(ids)
        for i in range(0, len(ids), 500):
            q = select(Suggestion.person_id, Suggestion.counterpart_id, Suggestion.status).where(
                Suggestion.person_id.in_(ids[i:i + 500]), Suggestion.status.in_(list(statuses)))
            out += [(a, b, st) for a, b, st in (await self.session.execute(q)).all() if b in among]
        return out

    async def closed_pairs(self) -> list[tuple[int, int]]:
        """(person, person) ids never to suggest again: declined or already introduced."""
        q = select(Pair.company_id, Pair.creative_id).where(Pair.status.in_(("declined", "introduced")))
        return [(a, b) for a, b in (await self.session.execute(q)).all()]

    async def meeting(self, meeting_id: int) -> Meeting | None:
        """Locked for this transaction (PostgreSQL): both sides may act at once."""
        return await self.session.get(Meeting, meeting_id, with_for_update=True)

    async def add_meeting(self, meeting: Meeting) -> Meeting:
        self.session.add(meeting)
        await self.session.flush()
        return meeting

    async def meetings_of(self, person_id: int, statuses: Sequence[str]) -> Sequence[tuple[Meeting, Pair]]:
        q = (select(Meeting, Pair).join(Pair, Pair.id == Meeting.pair_id)
             .where((Pair.company_id == person_id) | (Pair.creative_id == person_id), Meeting.status.in_(statuses))
             .order_by(Meeting.starts_at.is_(None), Meeting.starts_at, Meeting.id))
        return [(m, p) for m, p in (await self.session.execute(q)).all()]

    async def meetings_changed_since(self, since: datetime) -> Sequence[Meeting]:
        return (await self.session.execute(select(Meeting).where(Meeting.updated_at >= since))).scalars().all()

    async def scheduled_meetings(self) -> Sequence[Meeting]:
        q = select(Meeting).where(Meeting.status == "scheduled", Meeting.starts_at.is_not(None))
        return (await self.session.execute(q)).scalars().all()

    async def mark_reminder_sent(self, meeting_id: int, kind: str, starts_at: datetime) -> bool:
        """False if this reminder was sent before (a job that ran twice)."""
        if await self.session.get(ReminderSent, (meeting_id, kind, starts_at)) is not None:
            return False
        self.session.add(ReminderSent(meeting_id=meeting_id, kind=kind, starts_at=starts_at))
        try:
            await self.session.flush()
        except IntegrityError:
            return False
        return True



class FollowupRepository:
    """Feedback after meetings, outcome follow-ups, suggestion-card nudges and
    the results hand-over. Rows the sweeper changes are locked with SKIP
    LOCKED (PostgreSQL): a row a person is answering right now is left for
    the next sweep."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- feedback -------------------------------------------------------------
    async def feedback(self, feedback_id: int) -> Feedback | None:
        return await self.session.get(Feedback, feedback_id, with_for_update=True)

    async def feedback_of_meeting(self, meeting_id: int, starts_at: datetime) -> Sequence[Feedback]:
        q = select(Feedback).where(Feedback.meeting_id == meeting_id, Feedback.starts_at == starts_at)
        return (await self.session.execute(q.with_for_update())).scalars().all()

    async def feedback_of_person(self, person_id: int) -> Sequence[Feedback]:
        q = select(Feedback).where(Feedback.person_id == person_id).order_by(Feedback.id)
        return (await self.session.execute(q)).scalars().all()

    async def load_many(self, model: Any, key: Any, ids: set[int]) -> list[Any]:
        """Rows by id, in bulk: afterwards per-row lookups (session.get) during
        a sweep are answered from the session without a query."""
        ordered, out = sorted(ids), []
        for i in range(0, len(ordered), 500):
            out += (await self.session.execute(select(model).where(key.in_(ordered[i:i + 500])))).scalars().all()
        return out

    async def feedback_of_pair(self, pair_id: int) -> Sequence[Feedback]:
        q = select(Feedback).join(Meeting, Meeting.id == Feedback.meeting_id).where(Meeting.pair_id == pair_id)
        return (await self.session.execute(q)).scalars().all()

    async def meetings_due_for_feedback(self, scheduled_before: datetime, arranged_before: datetime,
                                        limit: int) -> Sequence[tuple[Meeting, Pair]]:
        """Scheduled meetings that ended (plus the delay) and meetings the pair
        arranged themselves a while ago, not yet asked about at this time."""
        anchor = Meeting.starts_at
        scheduled = (select(Meeting, Pair).join(Pair, Pair.id == Meeting.pair_id)
                     .outerjoin(Feedback, (Feedback.meeting_id == Meeting.id) & (Feedback.starts_at == anchor))
                     .where(Meeting.status == "scheduled", Meeting.starts_at.is_not(None),
                            Meeting.starts_at <= scheduled_before, Feedback.id.is_(None)))
        arranged = (select(Meeting, Pair).join(Pair, Pair.id == Meeting.pair_id)
                    .outerjoin(Feedback, (Feedback.meeting_id == Meeting.id) & (Feedback.starts_at == Meeting.updated_at))
                    .where(Meeting.status == "self_arranged", Meeting.updated_at <= arranged_before, Feedback.id.is_(None)))
        out = [(m, p) for m, p in (await self.session.execute(scheduled.limit(limit))).all()]
        out += [(m, p) for m, p in (await self.session.execute(arranged.limit(limit))).all()]
        return out

    async def open_feedback(self, prompted_before: datetime, limit: int) -> Sequence[tuple[Feedback, Person]]:
        """Feedback not finished: not asked yet, or last prompted before
        `prompted_before` (so it may be due for a nudge); paused people's wait."""
        q = (select(Feedback, Person).join(Person, Person.id == Feedback.person_id)
             .where(Feedback.step.in_(("met", "rating", "continue", "text")), Person.paused.is_(False),
                    Feedback.asked_at.is_(None) | (Feedback.prompted_at <= prompted_before))
             .order_by(Feedback.id).limit(limit))
        return [(f, p) for f, p in (await self.session.execute(q.with_for_update(skip_locked=True, of=Feedback))).all()]

    def add_feedback(self, feedback: Feedback) -> Feedback:
        self.session.add(feedback)
        return feedback

    async def answered_feedback(self) -> Sequence[tuple[Feedback, Pair]]:
        """Every answered rating/continue, with its pair (for learning and figures)."""
        q = (select(Feedback, Pair).join(Meeting, Meeting.id == Feedback.meeting_id).join(Pair, Pair.id == Meeting.pair_id)
             .where((Feedback.rating.is_not(None)) | (Feedback.wants_to_continue.is_not(None))))
        return [(f, p) for f, p in (await self.session.execute(q)).all()]

    # -- outcomes ---------------------------------------------------------------
    async def outcome(self, outcome_id: int) -> Outcome | None:
        return await self.session.get(Outcome, outcome_id, with_for_update=True)

    async def outcomes_of_pair(self, pair_id: int) -> Sequence[Outcome]:
        q = select(Outcome).where(Outcome.pair_id == pair_id).order_by(Outcome.due_at, Outcome.id)
        return (await self.session.execute(q)).scalars().all()

    async def outcomes_of_person(self, person_id: int) -> Sequence[Outcome]:
        q = select(Outcome).where(Outcome.person_id == person_id).order_by(Outcome.due_at, Outcome.id)
        return (await self.session.execute(q)).scalars().all()

    def add_outcome(self, outcome: Outcome) -> Outcome:
        self.session.add(outcome)
        return outcome

    async def open_outcomes(self, now: datetime, prompted_before: datetime, limit: int) -> Sequence[tuple[Outcome, Person]]:
        q = (select(Outcome, Person).join(Person, Person.id == Outcome.person_id)
             .where(Outcome.due_at <= now, Person.paused.is_(False), (Outcome.status == "due")
                    | ((Outcome.status == "asked") & (Outcome.prompted_at <= prompted_before)))
             .order_by(Outcome.due_at, Outcome.id).limit(limit))
        return [(o, p) for o, p in (await self.session.execute(q.with_for_update(skip_locked=True, of=Outcome))).all()]

    # -- suggestion cards ----------------------------------------------------------
    async def shown_cards(self, prompted_before: datetime, limit: int) -> Sequence[tuple[Suggestion, Person]]:
        """Cards waiting for an answer, last shown or nudged before `prompted_before`."""
        q = (select(Suggestion, Person).join(Person, Person.id == Suggestion.person_id)
             .where(Suggestion.status == "shown", Person.paused.is_(False),
                    func.coalesce(Suggestion.nudged_at, Suggestion.shown_at) <= prompted_before)
             .order_by(Suggestion.id).limit(limit))
        return [(s, p) for s, p in (await self.session.execute(q.with_for_update(skip_locked=True, of=Suggestion))).all()]

    # -- results hand-over -----------------------------------------------------------
    def add_item(self, item: HandoverItem) -> HandoverItem:
        self.session.add(item)
        return item

    async def undelivered_items(self, from_person_id: int, company_id: int) -> Sequence[HandoverItem]:
        q = (select(HandoverItem).where(HandoverItem.from_person_id == from_person_id,
                                        HandoverItem.company_id == company_id, HandoverItem.delivered_at.is_(None))
             .order_by(HandoverItem.id))
        return (await self.session.execute(q)).scalars().all()

    async def undelivered_for_group(self, plan_id: int, company_id: int) -> Sequence[HandoverItem]:
        """Everyone's items not handed over yet for one breakout group (a plan's company)."""
        q = (select(HandoverItem).where(HandoverItem.plan_id == plan_id, HandoverItem.company_id == company_id,
                                        HandoverItem.delivered_at.is_(None))
             .order_by(HandoverItem.from_person_id, HandoverItem.id))
        return (await self.session.execute(q)).scalars().all()

    async def undelivered_group_counts(self) -> dict[tuple[int, int], tuple[int, int]]:
        """(plan, company) -> (items, senders) of the groups with items not handed over yet."""
        q = (select(HandoverItem.plan_id, HandoverItem.company_id, func.count(),
                    func.count(func.distinct(HandoverItem.from_person_id)))
             .where(HandoverItem.plan_id.is_not(None), HandoverItem.delivered_at.is_(None))
             .group_by(HandoverItem.plan_id, HandoverItem.company_id))
        return {(p, c): (int(n), int(k)) for p, c, n, k in (await self.session.execute(q)).all()}

    async def items_for_company(self, company_id: int) -> Sequence[HandoverItem]:
        q = (select(HandoverItem).where(HandoverItem.company_id == company_id, HandoverItem.delivered_at.is_not(None))
             .order_by(HandoverItem.id))
        return (await self.session.execute(q)).scalars().all()

    async def items_from(self, person_id: int) -> Sequence[HandoverItem]:
        q = select(HandoverItem).where(HandoverItem.from_person_id == person_id).order_by(HandoverItem.id)
        return (await self.session.execute(q)).scalars().all()

    async def forget_sender(self, person_id: int) -> None:
        """The sender deletes their data: items never handed over go; those a
        company received stay the company's, without the sender's name."""
        await self.session.execute(delete(HandoverItem).where(
            HandoverItem.from_person_id == person_id, HandoverItem.delivered_at.is_(None)))
        await self.session.execute(update(HandoverItem).where(HandoverItem.from_person_id == person_id)
                                   .values(from_name="").execution_options(synchronize_session="fetch"))

    # -- figures and exports ---------------------------------------------------------------
    async def report_rows(self, event_id: int | None = None) -> ReportRows:
        """What the figures (`/stats`) and the exports (`/export`) read: one
        event's participants and what happened among them (suggestions, pairs
        and their meetings, feedback and outcomes where both people are in
        the event), or, without `event_id`, everyone who signed up and
        everything. An organiser's own record (no consent) is nobody's row.

        Read-only rows of the columns used (no ORM objects: tens of thousands
        of cards stay cheap, and nothing lands in the session). Membership is
        checked row by row (EXISTS on the participants' key): `IN
        (participants)` on both columns made SQLite probe every combination
        of two participants."""
        s = self.session

        def member(column: Any) -> Any:
            if event_id is None:
                return true()
            return select(EventParticipant.person_id).where(
                EventParticipant.event_id == event_id, EventParticipant.person_id == column).exists()

        async def rows(*columns: Any, where: Any = None, join: Any = None) -> list[Any]:
            q = select(*columns)
            for target, on in join or ():
                q = q.join(target, on)
            if where is not None:
                q = q.where(where)
            return list((await s.execute(q.order_by(columns[0]))).all())

        in_scope = and_(member(Pair.company_id), member(Pair.creative_id))
        people = await rows(Person.id, Person.consent_at, where=and_(Person.consent_at.is_not(None), member(Person.id)))
        profiles = {r.person_id: r for r in await rows(
            Profile.person_id, Profile.name, Profile.side, Profile.organisation, Profile.sector, Profile.disciplines,
            Profile.completed_at, where=member(Profile.person_id))}
        members = select(EventParticipant)
        if event_id is not None:
            members = members.where(EventParticipant.event_id == event_id)
        return ReportRows(
            event_id=event_id,
            people=[(p, profiles.get(p.id)) for p in people],
            memberships=list((await s.execute(members.order_by(EventParticipant.event_id,
                                                               EventParticipant.person_id))).scalars()),
            events=list((await s.execute(select(Event).order_by(Event.id))).scalars()),
            suggestions=await rows(Suggestion.id, Suggestion.person_id, Suggestion.counterpart_id, Suggestion.score,
                                   Suggestion.status, Suggestion.created_at, Suggestion.shown_at,
                                   Suggestion.answered_at,
                                   where=and_(member(Suggestion.person_id), member(Suggestion.counterpart_id))),
            pairs=await rows(Pair.id, Pair.company_id, Pair.creative_id, Pair.company_answer, Pair.creative_answer,
                             Pair.status, Pair.created_at, Pair.introduced_at, where=in_scope),
            meetings=await rows(Meeting.id, Meeting.pair_id, Meeting.status, Meeting.starts_at, Meeting.duration_min,
                                Meeting.place_kind, Meeting.created_at, where=in_scope,
                                join=[(Pair, Pair.id == Meeting.pair_id)]),
            # `has_text`: whether a comment was written (the comment itself is not read).
            feedback=await rows(Feedback.id, Feedback.meeting_id, Feedback.person_id, Feedback.step, Feedback.met,
                                Feedback.rating, Feedback.wants_to_continue,
                                (func.coalesce(func.length(Feedback.text), 0) > 0).label("has_text"),
                                Feedback.asked_at, Feedback.answered_at, where=in_scope,
                                join=[(Meeting, Meeting.id == Feedback.meeting_id), (Pair, Pair.id == Meeting.pair_id)]),
            outcomes=await rows(Outcome.id, Outcome.pair_id, Outcome.person_id, Outcome.stage, Outcome.status,
                                Outcome.answer, Outcome.due_at, Outcome.answered_at, where=in_scope,
                                join=[(Pair, Pair.id == Outcome.pair_id)]),
        )


@dataclass
class ReportRows:
    """One scope's rows for figures and exports (`FollowupRepository.report_rows`):
    read-only rows with the models' column names (only those selected there)."""

    event_id: int | None  # the event, or None: everyone
    people: list[tuple[Any, Any | None]]  # (person: id, consent_at; profile or None: name, side, organisation, …)
    memberships: list[EventParticipant]  # the event's rows, or all (with no event)
    events: list[Event]  # every event (for names)
    suggestions: list[Any]
    pairs: list[Any]
    meetings: list[Any]
    feedback: list[Any]  # with `has_text` instead of the comment
    outcomes: list[Any]


class PlanRepository:
    """Organisers' plans (breakout groups, speed rounds), their entries and
    what was sent about them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, plan_id: int) -> Plan | None:
        return await self.session.get(Plan, plan_id)

    async def for_event(self, event_id: int) -> Plan | None:
        return (await self.session.execute(select(Plan).where(Plan.event_id == event_id))).scalar_one_or_none()

    async def add(self, plan: Plan) -> Plan:
        self.session.add(plan)
        await self.session.flush()
        return plan

    async def released(self, fmt: str | None = None) -> Sequence[tuple[Plan, Event]]:
        """Released plans with their events, newest first."""
        q = select(Plan, Event).join(Event, Event.id == Plan.event_id).where(Plan.released_at.is_not(None))
        if fmt is not None:
            q = q.where(Plan.format == fmt)
        return [(p, e) for p, e in (await self.session.execute(q.order_by(Plan.released_at.desc(), Plan.id.desc()))).all()]

    async def entries(self, plan_id: int) -> list[PlanEntry]:
        q = (select(PlanEntry).where(PlanEntry.plan_id == plan_id)
             .order_by(PlanEntry.round, PlanEntry.table_no, PlanEntry.id))
        return list((await self.session.execute(q)).scalars().all())

    async def delete_entries(self, plan_id: int) -> None:
        await self.session.execute(delete(PlanEntry).where(PlanEntry.plan_id == plan_id)
                                   .execution_options(synchronize_session="fetch"))

    async def delete_entry(self, entry: PlanEntry) -> None:
        await self.session.delete(entry)
        await self.session.flush()

    def add_entries(self, entries: Sequence[PlanEntry]) -> None:
        self.session.add_all(list(entries))

    async def claim(self, plan: Plan, version: int) -> bool:
        """Move the plan from `version` to the next in one conditional UPDATE:
        False if someone (another organiser, a second press) changed it first."""
        result = await self.session.execute(
            update(Plan).where(Plan.id == plan.id, Plan.version == version)
            .values(version=version + 1, updated_at=utcnow()).execution_options(synchronize_session="fetch"))
        if not result.rowcount:
            return False
        plan.version = version + 1
        return True

    async def groups_of(self, person_id: int) -> Sequence[tuple[Plan, Event, PlanEntry]]:
        """The released breakout groups this creative is in (one entry each)."""
        q = (select(Plan, Event, PlanEntry).join(Event, Event.id == Plan.event_id)
             .join(PlanEntry, PlanEntry.plan_id == Plan.id)
             .where(Plan.format == "breakout", Plan.released_at.is_not(None), PlanEntry.creative_id == person_id)
             .order_by(Plan.released_at.desc(), PlanEntry.table_no))
        return [(p, e, pe) for p, e, pe in (await self.session.execute(q)).all()]

    async def group_companies(self, plan_ids: Collection[int]) -> list[tuple[int, int, int]]:
        """(plan, company, group number) of these plans' breakout groups."""
        if not plan_ids:
            return []
        q = (select(PlanEntry.plan_id, PlanEntry.company_id, func.min(PlanEntry.table_no))
             .where(PlanEntry.plan_id.in_(list(plan_ids)), PlanEntry.round == 0)
             .group_by(PlanEntry.plan_id, PlanEntry.company_id))
        return [(p, c, n) for p, c, n in (await self.session.execute(q)).all()]

    async def of_person(self, person_id: int) -> Sequence[tuple[Plan, Event, PlanEntry]]:
        """Every entry of any plan with this person (for /mydata)."""
        q = (select(Plan, Event, PlanEntry).join(Event, Event.id == Plan.event_id)
             .join(PlanEntry, PlanEntry.plan_id == Plan.id)
             .where((PlanEntry.company_id == person_id) | (PlanEntry.creative_id == person_id))
             .order_by(Plan.id, PlanEntry.round, PlanEntry.table_no))
        return [(p, e, pe) for p, e, pe in (await self.session.execute(q)).all()]

    async def notices(self, plan_id: int, kind: str | None = None) -> dict[tuple[int, str], PlanNotice]:
        q = select(PlanNotice).where(PlanNotice.plan_id == plan_id)
        if kind is not None:
            q = q.where(PlanNotice.kind == kind)
        return {(n.chat_id, n.kind): n for n in (await self.session.execute(q)).scalars().all()}

    async def note(self, plan_id: int, chat_id: int, kind: str, digest: str, now: datetime) -> None:
        """Remember what this chat was sent (replacing what it had before)."""
        row = await self.session.get(PlanNotice, (plan_id, chat_id, kind))
        if row is None:
            self.session.add(PlanNotice(plan_id=plan_id, chat_id=chat_id, kind=kind, digest=digest, sent_at=now))
        else:
            row.digest, row.sent_at = digest, now

    async def forget_chat(self, chat_id: int) -> None:
        """A person deleted their data: what they were sent about plans goes too."""
        await self.session.execute(delete(PlanNotice).where(PlanNotice.chat_id == chat_id))


class UpdateLog:
    """Idempotency: remembers which Telegram update ids were handled."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def seen(self, update_id: int) -> bool:
        return await self.session.get(ProcessedUpdate, update_id) is not None

    async def record(self, update_id: int) -> None:
        """Record an update as handled, in the transaction of the update's other
        effects (a plain INSERT, not through the ORM's unit of work). A
        duplicate fails with IntegrityError (primary key): at once if the
        other was committed; on PostgreSQL, one still being handled by another
        process makes this wait for its end."""
        await self.session.execute(_RECORD_UPDATE, {"update_id": update_id})

    async def prune(self, older_than: timedelta = timedelta(days=7), now: datetime | None = None) -> int:
        """Forget the ids of updates handled more than `older_than` ago (an
        indexed range delete); how many were forgotten."""
        cutoff: datetime = (now or utcnow()) - older_than
        result = await self.session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)


class EmbeddingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_many(self, keys: Sequence[str]) -> dict[str, Embedding]:
        out: dict[str, Embedding] = {}
        keys = list(dict.fromkeys(keys))
        for i in range(0, len(keys), 500):
            rows = await self.session.execute(select(Embedding).where(Embedding.key.in_(keys[i : i + 500])))
            out.update({row.key: row for row in rows.scalars()})
        return out

    async def put(self, key: str, model: str, dim: int, vector: bytes) -> None:
        if await self.session.get(Embedding, key) is None:
            self.session.add(Embedding(key=key, model=model, dim=dim, vector=vector))

    async def models(self) -> list[str]:
        """Every model string (encoder namespace) with cached rows."""
        rows = await self.session.execute(select(Embedding.model).distinct())
        return sorted(rows.scalars())

    async def delete_keys(self, keys: Sequence[str]) -> None:
        if keys:
            await self.session.execute(delete(Embedding).where(Embedding.key.in_(list(keys))))


class OutboxRepository:
    """Messages the bot decided to send, written with the decision (see
    db/models.OutboxMessage; bot/outbox.py sends them)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def stage(self, messages: Sequence[Any], *, own_chat: int | None, now: datetime,
                    priority: int = 0) -> int:
        """Write `messages` (handlers.types.OutMessage) as rows and give each its
        `outbox_id`. Those to `own_chat` (the reply to the person's own update)
        are claimed already ("sending"): the transport delivers them right after
        the commit. Every other row waits for the sender. Returns how many wait."""
        if not messages:
            return 0
        rows = []
        for msg in messages:
            mine = own_chat is not None and msg.chat_id == own_chat
            rows.append({"chat_id": msg.chat_id, "kind": "reply" if mine else "message", "priority": priority,
                         "broadcast_id": None, "payload": msg.to_payload(),
                         "status": "sending" if mine else "pending", "attempts": 0, "parts_done": 0,
                         "in_doubt": False, "not_before": None, "claimed_at": now if mine else None,
                         "created_at": now, "sent_at": None, "error": None})
        # A plain INSERT … RETURNING (ids in the order of the messages), not the
        # ORM's unit of work: this runs for every handled update.
        ids = (await self.session.execute(_STAGE_OUTBOX, rows)).scalars().all()
        for msg, row_id in zip(messages, ids, strict=True):
            msg.outbox_id = row_id
        return sum(1 for row in rows if row["status"] == "pending")

    def add(self, chat_id: int, payload: dict[str, Any], *, kind: str, priority: int, now: datetime,
            broadcast_id: int | None = None, not_before: datetime | None = None) -> OutboxMessage:
        """One row for the sender (e.g. a broadcast's message to one person)."""
        row = OutboxMessage(chat_id=chat_id, kind=kind, priority=priority, payload=payload, status="pending",
                            broadcast_id=broadcast_id, not_before=not_before, created_at=now, attempts=0,
                            parts_done=0, in_doubt=False)
        self.session.add(row)
        return row

    async def add_many(self, messages: Sequence[tuple[int, dict[str, Any]]], *, kind: str, priority: int,
                       now: datetime, broadcast_id: int | None = None) -> int:
        """Many rows for the sender in bulk INSERTs (a broadcast's message to
        each recipient: `add` for thousands of rows spends seconds in the ORM)."""
        rows = [dict(chat_id=chat_id, kind=kind, priority=priority, payload=payload, status="pending",
                     broadcast_id=broadcast_id, not_before=None, created_at=now, attempts=0, parts_done=0,
                     in_doubt=False) for chat_id, payload in messages]
        for i in range(0, len(rows), 1000):
            await self.session.execute(insert(OutboxMessage), rows[i:i + 1000])
        return len(rows)

    async def forget_chat(self, chat_id: int) -> None:
        """Erase every message to this chat (a person deleted their data)."""
        await self.session.execute(delete(OutboxMessage).where(OutboxMessage.chat_id == chat_id))


AUDIENCES = ("all", "production", "creative", "event", "onboarding", "feedback", "unscheduled")
# Feedback asked and not answered: the questions still open, or given up on (a late answer is still taken).
OPEN_FEEDBACK_STEPS = ("met", "rating", "continue", "expired")
# A pair "has scheduled" once one of its meetings got a time or was arranged by the pair (or took place).
SCHEDULED_MEETINGS = ("scheduled", "self_arranged", "held")


@dataclass(frozen=True)
class Recipient:
    person_id: int
    telegram_id: int
    first_name: str
    language: str
    german_form: str | None
    name: str | None  # the profile's name
    opted_out: bool
    unreachable: bool


@dataclass
class Audience:
    """Who an audience means now: the recipients and who was left out."""

    recipients: list[Recipient]
    opted_out: int = 0
    unreachable: int = 0


class BroadcastRepository:
    """Organisers' announcements and the audiences they go to."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def audience(self, kind: str, event_id: int | None = None) -> Audience:
        """Everyone who agreed to the privacy notice and fits `kind` (see
        AUDIENCES), within `event_id`'s participants if given (not those the
        organisers declined; people waiting for a place are in); people who opted
        out of announcements and people Telegram says cannot be reached are
        counted, not included (someone both counts as opted out)."""
        if kind not in AUDIENCES or (kind == "event" and event_id is None):
            raise ValueError(f"unknown audience {kind!r} (event {event_id})")
        p, pr = Person, Profile
        q = (select(p.id, p.telegram_id, p.first_name, p.language, p.german_form, pr.name,
                    p.announcements_opt_out, p.unreachable_at)
             .outerjoin(pr, pr.person_id == p.id).where(p.consent_at.is_not(None)))
        if kind in ("production", "creative"):
            q = q.where(pr.side == kind)
        elif kind == "onboarding":
            q = q.where(pr.completed_at.is_(None))  # no profile row at all: the outer join gives NULL too
        elif kind == "feedback":
            q = q.where(select(Feedback.id).where(Feedback.person_id == p.id, Feedback.asked_at.is_not(None),
                                                  Feedback.step.in_(OPEN_FEEDBACK_STEPS)).exists())
        elif kind == "unscheduled":
            met = select(Meeting.id).where(Meeting.pair_id == Pair.id, Meeting.status.in_(SCHEDULED_MEETINGS)).exists()
            q = q.where(select(Pair.id).where((Pair.company_id == p.id) | (Pair.creative_id == p.id),
                                              Pair.status == "introduced", ~met).exists())
        if event_id is not None:
            # Everyone still in the event (joined, applying, admitted, waiting); not those it declined.
            q = q.where(select(EventParticipant.person_id).where(EventParticipant.event_id == event_id,
                                                                 EventParticipant.person_id == p.id,
                                                                 EventParticipant.status != "declined").exists())
        out = Audience([])
        for row in (await self.session.execute(q.order_by(p.id))).all():
            r = Recipient(row[0], row[1], row[2] or "", row[3] or "de", row[4], row[5], bool(row[6]),
                          row[7] is not None)
            if r.opted_out:
                out.opted_out += 1
            elif r.unreachable:
                out.unreachable += 1
            else:
                out.recipients.append(r)
        return out

    async def add(self, broadcast: Broadcast) -> Broadcast:
        self.session.add(broadcast)
        await self.session.flush()
        return broadcast

    async def get(self, broadcast_id: int) -> Broadcast | None:
        return await self.session.get(Broadcast, broadcast_id)

    async def claim(self, broadcast_id: int, from_status: str, to_status: str, **values: Any) -> bool:
        """Move a broadcast from one status to the next in one conditional
        UPDATE; False if someone (another sweep, a second process, a second
        press) moved it first."""
        result = await self.session.execute(
            update(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.status == from_status)
            .values(status=to_status, **values).execution_options(synchronize_session="fetch"))
        return bool(result.rowcount)

    async def due(self, now: datetime) -> Sequence[Broadcast]:
        q = (select(Broadcast).where(Broadcast.status == "scheduled", Broadcast.scheduled_for <= now)
             .order_by(Broadcast.scheduled_for, Broadcast.id))
        return (await self.session.execute(q)).scalars().all()

    async def with_status(self, status: str) -> Sequence[Broadcast]:
        q = select(Broadcast).where(Broadcast.status == status).order_by(Broadcast.id)
        return (await self.session.execute(q)).scalars().all()

    async def page(self, offset: int, limit: int) -> tuple[Sequence[Broadcast], int]:
        """Scheduled ones first (soonest first), then the rest, newest first; and how many there are."""
        total = int((await self.session.execute(select(func.count()).select_from(Broadcast))).scalar_one())
        scheduled = Broadcast.status == "scheduled"
        q = (select(Broadcast)
             .order_by(case((scheduled, 0), else_=1), case((scheduled, Broadcast.scheduled_for), else_=None),
                       Broadcast.id.desc())
             .offset(offset).limit(limit))
        return (await self.session.execute(q)).scalars().all(), total


def is_transient_db_error(exc: BaseException) -> bool:
    """The database is briefly unavailable — connection refused or dropped,
    server restarting, SQLite locked — rather than the statement being wrong:
    worth running the whole unit of work again."""
    if isinstance(exc, ConnectionError):  # refused, reset, aborted
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError)):
            return True
        text = str(exc.orig).lower() if exc.orig is not None else ""
        return any(s in text for s in ("database is locked", "connection", "cannot connect", "terminating"))
    name = exc.__class__.__name__
    return name in ("ConnectionDoesNotExistError", "CannotConnectNowError", "ConnectionFailureError",
                    "InterfaceError", "InternalClientError") and exc.__class__.__module__.startswith("asyncpg")


class DuplicateUpdate(Exception):
    """The update being handled was already handled (seen at an early commit)."""


class SqlAlchemyUnitOfWork:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = session_factory
        self._committed = False
        self._erased = False

    async def __aenter__(self) -> SqlAlchemyUnitOfWork:
        self.session = self._factory()
        self.people = PeopleRepository(self.session)
        self.conversations = ConversationRepository(self.session)
        self.events = EventRepository(self.session)
        self.invitations = InvitationRepository(self.session)
        self.updates = UpdateLog(self.session)
        self.embeddings = EmbeddingRepository(self.session)
        self.intros = IntroductionRepository(self.session)
        self.followups = FollowupRepository(self.session)
        self.outbox = OutboxRepository(self.session)
        self.broadcasts = BroadcastRepository(self.session)
        self.plans = PlanRepository(self.session)
        self._committed = False
        self._erased = False
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if not self._committed:
                await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()
        self._committed = True
        if self._erased:
            self._erased = False
            await truncate_wal(self.session)

    def erased(self) -> None:
        """Personal data was deleted in this unit of work: after the commit,
        SQLite's write-ahead log gives up its copies (`truncate_wal`)."""
        self._erased = True

    async def checkpoint(self) -> None:
        """Commit what is done so far and release the connection; the unit of
        work goes on in a new transaction (used before long computations)."""
        try:
            await self.session.commit()
        except IntegrityError:
            await self.session.rollback()
            raise DuplicateUpdate() from None

    async def rollback(self) -> None:
        await self.session.rollback()

    def add_refusal(self, language: str) -> None:
        self.session.add(ConsentRefusal(language=language))


__all__ = ["SqlAlchemyUnitOfWork", "ReportRows", "IntegrityError", "Any"]
