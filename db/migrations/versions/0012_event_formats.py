"""event formats (issue 13): an event's end, place, format, places per side and
approval; a participant's admission (status, waiting list, the organisers'
question and the answer); co-organisers per event

Participants already in an event keep what they had: a finished profile is
admitted (approved), an unfinished one is registered and is admitted when it
is finished.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

from db.models import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("ends_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("place", sa.String(500), nullable=True))
        batch.add_column(sa.Column("format", sa.String(16), nullable=False, server_default="open"))
        batch.add_column(sa.Column("capacity_production", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("capacity_creative", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("approval", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("event_participants") as batch:
        batch.add_column(sa.Column("status", sa.String(12), nullable=False, server_default="registered"))
        batch.add_column(sa.Column("queue_no", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("applied_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("decided_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("question", sa.Text(), nullable=True))
        batch.add_column(sa.Column("answer", sa.Text(), nullable=True))
    op.execute(
        "UPDATE event_participants SET status = 'approved' WHERE person_id IN "
        "(SELECT person_id FROM profiles WHERE completed_at IS NOT NULL)")
    op.create_table(
        "event_organisers",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "telegram_id", name="pk_event_organisers"),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name="fk_event_organisers_event_id_events",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_event_organisers_telegram_id", "event_organisers", ["telegram_id"])


def downgrade() -> None:
    op.drop_index("ix_event_organisers_telegram_id", "event_organisers")
    op.drop_table("event_organisers")
    with op.batch_alter_table("event_participants") as batch:
        for column in ("answer", "question", "decided_at", "applied_at", "queue_no", "status"):
            batch.drop_column(column)
    with op.batch_alter_table("events") as batch:
        for column in ("approval", "capacity_creative", "capacity_production", "format", "place", "ends_at"):
            batch.drop_column(column)
