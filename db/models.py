"""SQLAlchemy 2 models: the database is the source of truth, including the
state of every conversation (so a restart continues a dialogue)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Person(Base):
    """Someone who accepted the privacy notice. Deleting a person erases
    everything linked to them (ON DELETE CASCADE)."""

    __tablename__ = "people"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused (migration 0015)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    username: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str] = mapped_column(String(128), default="")
    language: Mapped[str] = mapped_column(String(8), default="de")
    # "sie" | "du" when the person chose; None = the GERMAN_FORM setting.
    german_form: Mapped[str | None] = mapped_column(String(3))
    # When they accepted the privacy notice. Empty only for an organiser's
    # record (created when an organiser without a profile uses /results): not a
    # participant, never matched; /start shows them the notice like anyone.
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # Suggestion cards left unanswered one after another (reset by any answer);
    # at the limit the person is paused and told how to resume.
    ignored_in_row: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # When Telegram last said the chat cannot be reached (blocked the bot, chat
    # not found); cleared by their next message. Left out of broadcasts.
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Declined the organisers' announcements (/settings, or the button under a broadcast).
    announcements_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class Profile(Base):
    __tablename__ = "profiles"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    side: Mapped[str | None] = mapped_column(String(16))  # "production" | "creative"
    organisation: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str | None] = mapped_column(String(300))
    sector: Mapped[str | None] = mapped_column(String(600))  # companies: trade/sector and what they make
    disciplines: Mapped[list[str] | None] = mapped_column(JSON)  # creatives: taxonomy codes
    # companies: the kinds of creative help confirmed after the challenge
    # (taxonomy codes; [] = "no answer", None = not asked yet)
    wanted_disciplines: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    offers: Mapped[str | None] = mapped_column(Text)  # creative: skills and references; company: trade/capacities
    seeks: Mapped[str | None] = mapped_column(Text)  # company: current challenge; creative: wished collaboration
    languages: Mapped[list[str] | None] = mapped_column(JSON)
    availability: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"days": [0..6], "windows": [...]}
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class Event(Base):
    """An event organisers run (`/newevent`, `/event CODE`); participants join
    it by its invitation link (`?start=<slug>`). See domain/admission.py for
    places, approval and the waiting list."""

    __tablename__ = "events"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused (migration 0015)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_by: Mapped[int | None] = mapped_column(BigInteger)  # organiser's Telegram id
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # optional (a programme over several days)
    place: Mapped[str | None] = mapped_column(String(500))  # an address, or an online link (http/https)
    # open | breakout | speed (domain.admission.EventFormat)
    format: Mapped[str] = mapped_column(String(16), default="open", nullable=False)
    # Places per side; None = no limit. Beyond it people go on the waiting list.
    capacity_production: Mapped[int | None] = mapped_column(Integer)
    capacity_creative: Mapped[int | None] = mapped_column(Integer)
    # Applications need the organisers' approval (a curated pool).
    approval: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # First /release: until then its participants get no suggestions at all,
    # afterwards only among each other (handlers.suggestions.Scopes).
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    def capacity(self, side: str | None) -> int | None:
        """The places of one side (None: no limit)."""
        return {"production": self.capacity_production, "creative": self.capacity_creative}.get(side or "")


class EventParticipant(Base):
    """Someone in an event, with where they stand (domain.admission.Admission)."""

    __tablename__ = "event_participants"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    # registered | pending | approved | declined | waiting
    status: Mapped[str] = mapped_column(String(12), default="registered", nullable=False)
    queue_no: Mapped[int | None] = mapped_column(Integer)  # order on the waiting list (while waiting)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # profile complete: place, application or list
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # approved or declined
    # The organisers' last question about the application ("Rückfrage") and the answer.
    question: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)


class EventOrganiser(Base):
    """A co-organiser of one event: a Telegram id an admin added (`/event CODE`
    → "Co-Organisator hinzufügen"). They may use the organiser commands for
    this event only (handlers.organisers.may_organise)."""

    __tablename__ = "event_organisers"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    name: Mapped[str] = mapped_column(String(200), default="", nullable=False)  # as forwarded, or empty
    added_by: Mapped[int] = mapped_column(BigInteger, nullable=False)  # the admin's Telegram id
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class ConversationState(Base):
    """Where a person is in a dialogue. `version` grows with every prompt that
    carries buttons; buttons signed with an older version are stale."""

    __tablename__ = "conversation_states"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    flow: Mapped[str] = mapped_column(String(32), default="idle", nullable=False)
    step: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    version: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class ConsentRefusal(Base):
    """Only the fact of a refusal: no Telegram id, no name."""

    __tablename__ = "consent_refusals"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused (migration 0015)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    refused_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class PendingInvitation(Base):
    """An invitation (deep link) declined at the privacy notice, kept so a
    later /start still knows the event: no name, no Telegram id, only a keyed
    hash of it (`CallbackSigner.pseudonym`). Used up at consent, forgotten
    after `handlers.account.PENDING_DAYS` or on /delete."""

    __tablename__ = "pending_invitations"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False, index=True)


class ProcessedUpdate(Base):
    """Telegram may deliver an update twice; its id is recorded in the same
    transaction as its effects, so a duplicate changes nothing."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False, index=True)


class Embedding(Base):
    """Embedding cache keyed by sha256(model, text): unchanged texts are never re-embedded."""

    __tablename__ = "embeddings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(300), nullable=False)
    dim: Mapped[int] = mapped_column(Integer, nullable=False)
    vector: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class Suggestion(Base):
    """A counterpart suggested to someone, shown as a card; their answer."""

    __tablename__ = "suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True)
    counterpart_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True)
    score: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    reason_de: Mapped[str] = mapped_column(Text, default="", nullable=False)
    reason_en: Mapped[str] = mapped_column(Text, default="", nullable=False)
    # pending -> shown -> interested | not_now | declined | ignored (no answer after the nudges)
    status: Mapped[str] = mapped_column(String(16), default="pending", nullable=False)
    shown_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    nudges: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    nudged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    __table_args__ = (UniqueConstraint("person_id", "counterpart_id", name="uq_suggestions_person_counterpart"),
                      {"sqlite_autoincrement": True})  # ids never reused (migration 0015)


class Pair(Base):
    """A company and a creative on their way to meeting: both must say yes
    before either learns the other's contact."""

    __tablename__ = "pairs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True)
    creative_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True)
    company_answer: Mapped[str | None] = mapped_column(String(16))  # interested | declined
    creative_answer: Mapped[str | None] = mapped_column(String(16))
    # open -> introduced | declined
    status: Mapped[str] = mapped_column(String(16), default="open", nullable=False)
    reason_de: Mapped[str] = mapped_column(Text, default="", nullable=False)
    reason_en: Mapped[str] = mapped_column(Text, default="", nullable=False)
    introduced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    __table_args__ = (UniqueConstraint("company_id", "creative_id", name="uq_pairs_company_creative"),
                      {"sqlite_autoincrement": True})  # ids never reused (migration 0015)


class Meeting(Base):
    """A meeting of a pair. `starts_at` is set once both agreed on a time."""

    __tablename__ = "meetings"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused (migration 0015)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"), nullable=False, index=True)
    # negotiating -> scheduled | self_arranged -> held | fell_through (from feedback); or cancelled
    status: Mapped[str] = mapped_column(String(16), default="negotiating", nullable=False)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    duration_min: Mapped[int] = mapped_column(Integer, default=45, nullable=False)
    # The time on the table: offered by one side, awaiting the other.
    offer_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    offer_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    slots: Mapped[list[str] | None] = mapped_column(JSON)  # ISO datetimes proposed by the bot
    rejected: Mapped[list[str] | None] = mapped_column(JSON)  # ISO datetimes someone turned down
    sequence: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # iCalendar SEQUENCE
    # Where: onsite (place = an address) | online (place = a link) | open (asked, left open); None = not asked.
    place_kind: Mapped[str | None] = mapped_column(String(8))
    place: Mapped[str | None] = mapped_column(Text)
    # The last change and who made it (a person of the pair), so a late button can say what happened.
    changed_by: Mapped[int | None] = mapped_column(Integer)
    change: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class ReminderSent(Base):
    """One row per reminder actually sent: a reminder job that runs twice (after
    a crash, or a second process) finds its row and sends nothing."""

    __tablename__ = "reminders_sent"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # e.g. "24h", "1h"
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)  # the time reminded of
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class Feedback(Base):
    """One person's feedback on one meeting (at one time: a meeting that was
    moved is asked about again). `step` is where the questions stand, so the
    dialogue survives a restart: met -> rating -> continue -> text -> done;
    or void (the meeting moved or was cancelled) / expired (no answer).
    It is this person's own data: when the other side deletes theirs, the
    meeting goes and `meeting_id` becomes empty, the answers stay."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id", ondelete="SET NULL"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)  # the meeting time asked about
    step: Mapped[str] = mapped_column(String(16), default="met", nullable=False)
    met: Mapped[str | None] = mapped_column(String(8))  # yes | no | moved
    rating: Mapped[int | None] = mapped_column(Integer)  # 1..5
    wants_to_continue: Mapped[str | None] = mapped_column(String(8))  # yes | maybe | no
    text: Mapped[str | None] = mapped_column(Text)
    asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: due, not sent yet (pause, quiet hours)
    prompted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # last question or nudge
    nudges: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    __table_args__ = (UniqueConstraint("meeting_id", "person_id", "starts_at", name="uq_feedback_meeting_person_time"),
                      {"sqlite_autoincrement": True})  # ids never reused (migration 0015)


class Outcome(Base):
    """What came of a positive meeting, asked of each side at each follow-up
    stage (e.g. 14d, 90d after the meeting): the pair's history over time.
    Like feedback, kept for this person when the other side deletes their
    data (`pair_id` becomes empty)."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("pairs.id", ondelete="SET NULL"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True)
    stage: Mapped[str] = mapped_column(String(16), nullable=False)  # the FOLLOWUP_AFTER entry, e.g. "14d"
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    # due -> asked -> answered | expired; void if the other side deleted their data
    status: Mapped[str] = mapped_column(String(16), default="due", nullable=False)
    answer: Mapped[str | None] = mapped_column(String(16))  # nothing | idea | project | contract | funding
    asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    prompted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    nudges: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("pair_id", "person_id", "stage", name="uq_outcomes_pair_person_stage"),
                      {"sqlite_autoincrement": True})  # ids never reused (migration 0015)


class HandoverItem(Base):
    """A note, photo or file from a session, for a company. Kept until the
    sender hands the collection over (delivered_at), then part of the
    company's data (/mydata)."""

    __tablename__ = "handover_items"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused (migration 0015)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True)
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("pairs.id", ondelete="SET NULL"))
    # Collected for a breakout group of this plan (the group is the plan's company `company_id`).
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id", ondelete="SET NULL"), index=True)
    from_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    from_name: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # note | photo | document
    text: Mapped[str | None] = mapped_column(Text)  # the note, or a caption
    file_id: Mapped[str | None] = mapped_column(String(300))
    filename: Mapped[str | None] = mapped_column(String(300))
    mime_type: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """One message the bot decided to send, written in the transaction that
    decided it and sent from here (bot/outbox.py): nothing decided is lost in a
    crash between the commit and the send. See docs/outbox.md.

    status: pending (waiting, from `not_before` on) -> sending (claimed by a
    sender or by the reply being delivered right now) -> sent | unreachable
    (403 blocked, chat not found) | failed (rejected for good, or gave up).
    A row left in "sending" past the lease is sent again and counted as
    `in_doubt` (it may have arrived)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # reply (to the person's own update) | message (the bot speaks first) | broadcast
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="message")
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # 0 first; broadcasts 2
    broadcast_id: Mapped[int | None] = mapped_column(Integer, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    parts_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # Bot API calls already made
    in_doubt: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_outbox_status_priority_id", "status", "priority", "id"),
        Index("ix_outbox_chat_id_id", "chat_id", "id"),
        # SQLite: an id is never given out twice (as PostgreSQL's sequence); a
        # result recorded late must not land on a newer row (migration 0014).
        {"sqlite_autoincrement": True},
    )


class Broadcast(Base):
    """An organiser's announcement (/broadcast): to whom, what, when, and what
    became of it. The audience is expanded when it is sent (now, or when a
    scheduled one is due): one outbox row per recipient, with `broadcast_id`.

    status: scheduled -> sending -> done; scheduled -> cancelled."""

    __tablename__ = "broadcasts"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused (migration 0015)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_by: Mapped[int] = mapped_column(BigInteger, nullable=False)  # the organiser's Telegram id
    locale: Mapped[str] = mapped_column(String(8), nullable=False, default="de")  # the organiser's texts
    # {"kind": all|production|creative|event|onboarding|feedback|unscheduled, "event_id": int|None}
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text, nullable=False)  # with {vorname} / {event}
    attachment: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))  # handlers.types.Attachment
    button: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))  # {"label", "url"}
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="scheduled", index=True)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime())
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recipients: Mapped[int | None] = mapped_column(Integer)
    # When sent: who was left out; when done: sent, unreachable, failed, in_doubt.
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class Plan(Base):
    """An organiser's plan for an event's format (issue 13): breakout groups
    (`format` "breakout": groups of one company and `group_size` creatives,
    each creative in at most `max_groups` groups) or speed-meetup rounds
    ("speed": `rounds` rounds of one-to-one meetings). One per event. A draft
    until released; edits after a release make it a draft again, and the
    next release sends only what changed (`PlanNotice`).

    `version` grows with every change (computed, edited, time or place set,
    released): a button of an older version is out of date. `people` are the
    participants it was computed for (person ids, companies first);
    `unplaced` who got no place and why ([[person id, reason]]); `removed`
    the pairs the organiser took out ([[company id, creative id]]: never
    proposed again for this plan)."""

    __tablename__ = "plans"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused (migration 0015)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), nullable=False, unique=True)
    format: Mapped[str] = mapped_column(String(16), nullable=False)  # breakout | speed
    group_size: Mapped[int] = mapped_column(Integer, nullable=False, default=2)
    max_groups: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    rounds: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    people: Mapped[list[int]] = mapped_column(JSON, nullable=False, default=list)
    unplaced: Mapped[list[list[Any]]] = mapped_column(JSON, nullable=False, default=list)
    removed: Mapped[list[list[int]]] = mapped_column(JSON, nullable=False, default=list)
    # What the organiser typed before releasing (else the event's, else "to be announced").
    time_text: Mapped[str | None] = mapped_column(String(200))
    place_text: Mapped[str | None] = mapped_column(String(300))
    # Who moderates the rooms: this Telegram id, else the organiser who released.
    moderator_tid: Mapped[int | None] = mapped_column(BigInteger)
    optimal: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_by: Mapped[int] = mapped_column(BigInteger, nullable=False)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_by: Mapped[int | None] = mapped_column(BigInteger)
    released_version: Mapped[int | None] = mapped_column(Integer)  # the version last released
    current_round: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # speed: last round announced
    # speed: how often each round was announced ({"3": 1}); a repeat needs a confirmation
    announced: Mapped[dict[str, int]] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class PlanEntry(Base):
    """One pair of a plan: a creative in a company's group (`round` 0,
    `table` = the group's number) or a meeting in speed round `round`
    (1 …) at the company's `table`. No pair twice in a plan. `score` is the
    pair's relevance on [0, 1] over the event's pairs; `locked` pins it for
    recomputing; the reasons are the matcher's, for the organiser and the
    briefings."""

    __tablename__ = "plan_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), nullable=False, index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True)
    creative_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True)
    round: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    table_no: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    score: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    locked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    reason_de: Mapped[str] = mapped_column(Text, nullable=False, default="")
    reason_en: Mapped[str] = mapped_column(Text, nullable=False, default="")

    __table_args__ = (UniqueConstraint("plan_id", "company_id", "creative_id", name="uq_plan_entries_pair"),
                      {"sqlite_autoincrement": True})  # ids never reused (migration 0015)


class PlanNotice(Base):
    """What one chat was last sent at a plan's release: `kind` "plan" (their
    group or agenda, or that they have no place) or "moderator" (the
    profiles of every group). `digest` is a hash of the text: a release
    sends a chat only a text it has not had yet."""

    __tablename__ = "plan_notices"

    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    digest: Mapped[str] = mapped_column(String(32), nullable=False)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
