"""suggestions, pairs (double opt-in), meetings, reminders sent

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

from db.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suggestions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("counterpart_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason_de", sa.Text(), nullable=False),
        sa.Column("reason_en", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("shown_at", UTCDateTime()),
        sa.Column("answered_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_suggestions_person_id_people"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["counterpart_id"], ["people.id"], name=op.f("fk_suggestions_counterpart_id_people"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestions")),
        sa.UniqueConstraint("person_id", "counterpart_id", name="uq_suggestions_person_counterpart"),
    )
    op.create_index(op.f("ix_suggestions_person_id"), "suggestions", ["person_id"])
    op.create_index(op.f("ix_suggestions_counterpart_id"), "suggestions", ["counterpart_id"])
    op.create_table(
        "pairs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("creative_id", sa.Integer(), nullable=False),
        sa.Column("company_answer", sa.String(16)),
        sa.Column("creative_answer", sa.String(16)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason_de", sa.Text(), nullable=False),
        sa.Column("reason_en", sa.Text(), nullable=False),
        sa.Column("introduced_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["people.id"], name=op.f("fk_pairs_company_id_people"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["creative_id"], ["people.id"], name=op.f("fk_pairs_creative_id_people"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pairs")),
        sa.UniqueConstraint("company_id", "creative_id", name="uq_pairs_company_creative"),
    )
    op.create_index(op.f("ix_pairs_company_id"), "pairs", ["company_id"])
    op.create_index(op.f("ix_pairs_creative_id"), "pairs", ["creative_id"])
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("starts_at", UTCDateTime()),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("offer_at", UTCDateTime()),
        sa.Column("offer_by", sa.Integer()),
        sa.Column("slots", sa.JSON()),
        sa.Column("rejected", sa.JSON()),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["pair_id"], ["pairs.id"], name=op.f("fk_meetings_pair_id_pairs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["offer_by"], ["people.id"], name=op.f("fk_meetings_offer_by_people"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
    )
    op.create_index(op.f("ix_meetings_pair_id"), "meetings", ["pair_id"])
    op.create_index(op.f("ix_meetings_starts_at"), "meetings", ["starts_at"])
    op.create_table(
        "reminders_sent",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], name=op.f("fk_reminders_sent_meeting_id_meetings"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("meeting_id", "kind", "starts_at", name=op.f("pk_reminders_sent")),
    )


def downgrade() -> None:
    for table in ("reminders_sent", "meetings", "pairs", "suggestions"):
        op.drop_table(table)
