"""feedback after meetings, outcome follow-ups, results hand-over, nudges

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

from db.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("ignored_in_row", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("suggestions") as batch:
        batch.add_column(sa.Column("nudges", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("nudged_at", UTCDateTime()))
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("met", sa.String(8)),
        sa.Column("rating", sa.Integer()),
        sa.Column("wants_to_continue", sa.String(8)),
        sa.Column("text", sa.Text()),
        sa.Column("asked_at", UTCDateTime()),
        sa.Column("prompted_at", UTCDateTime()),
        sa.Column("nudges", sa.Integer(), nullable=False),
        sa.Column("answered_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], name=op.f("fk_feedback_meeting_id_meetings"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_feedback_person_id_people"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint("meeting_id", "person_id", "starts_at", name="uq_feedback_meeting_person_time"),
    )
    op.create_index(op.f("ix_feedback_meeting_id"), "feedback", ["meeting_id"])
    op.create_index(op.f("ix_feedback_person_id"), "feedback", ["person_id"])
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("answer", sa.String(16)),
        sa.Column("asked_at", UTCDateTime()),
        sa.Column("prompted_at", UTCDateTime()),
        sa.Column("nudges", sa.Integer(), nullable=False),
        sa.Column("answered_at", UTCDateTime()),
        sa.ForeignKeyConstraint(["pair_id"], ["pairs.id"], name=op.f("fk_outcomes_pair_id_pairs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_outcomes_person_id_people"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcomes")),
        sa.UniqueConstraint("pair_id", "person_id", "stage", name="uq_outcomes_pair_person_stage"),
    )
    op.create_index(op.f("ix_outcomes_pair_id"), "outcomes", ["pair_id"])
    op.create_index(op.f("ix_outcomes_person_id"), "outcomes", ["person_id"])
    op.create_index(op.f("ix_outcomes_due_at"), "outcomes", ["due_at"])
    op.create_table(
        "handover_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer()),
        sa.Column("from_person_id", sa.Integer()),
        sa.Column("from_name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text()),
        sa.Column("file_id", sa.String(300)),
        sa.Column("filename", sa.String(300)),
        sa.Column("mime_type", sa.String(100)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime()),
        sa.ForeignKeyConstraint(["company_id"], ["people.id"], name=op.f("fk_handover_items_company_id_people"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["pair_id"], ["pairs.id"], name=op.f("fk_handover_items_pair_id_pairs"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["from_person_id"], ["people.id"], name=op.f("fk_handover_items_from_person_id_people"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover_items")),
    )
    op.create_index(op.f("ix_handover_items_company_id"), "handover_items", ["company_id"])
    op.create_index(op.f("ix_handover_items_from_person_id"), "handover_items", ["from_person_id"])


def downgrade() -> None:
    for table in ("handover_items", "outcomes", "feedback"):
        op.drop_table(table)
    with op.batch_alter_table("suggestions") as batch:
        batch.drop_column("nudged_at")
        batch.drop_column("nudges")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("ignored_in_row")
