"""plans: an organiser's breakout groups / speed rounds for an event, their
entries, what was sent about them; handover_items.plan_id (issue 13)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

from db.models import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("group_size", sa.Integer(), nullable=False),
        sa.Column("max_groups", sa.Integer(), nullable=False),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("people", sa.JSON(), nullable=False),
        sa.Column("unplaced", sa.JSON(), nullable=False),
        sa.Column("removed", sa.JSON(), nullable=False),
        sa.Column("time_text", sa.String(200), nullable=True),
        sa.Column("place_text", sa.String(300), nullable=True),
        sa.Column("moderator_tid", sa.BigInteger(), nullable=True),
        sa.Column("optimal", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.Column("released_by", sa.BigInteger(), nullable=True),
        sa.Column("released_version", sa.Integer(), nullable=True),
        sa.Column("current_round", sa.Integer(), nullable=False),
        sa.Column("announced", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_plans"),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name="fk_plans_event_id_events", ondelete="CASCADE"),
        sa.UniqueConstraint("event_id", name="uq_plans_event_id"),
    )
    op.create_table(
        "plan_entries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("creative_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("table_no", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("reason_de", sa.Text(), nullable=False),
        sa.Column("reason_en", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_plan_entries"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name="fk_plan_entries_plan_id_plans", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["company_id"], ["people.id"], name="fk_plan_entries_company_id_people",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["creative_id"], ["people.id"], name="fk_plan_entries_creative_id_people",
                                ondelete="CASCADE"),
        sa.UniqueConstraint("plan_id", "company_id", "creative_id", name="uq_plan_entries_pair"),
    )
    for column in ("plan_id", "company_id", "creative_id"):
        op.create_index(f"ix_plan_entries_{column}", "plan_entries", [column])
    op.create_table(
        "plan_notices",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(32), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", "chat_id", "kind", name="pk_plan_notices"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name="fk_plan_notices_plan_id_plans", ondelete="CASCADE"),
    )
    with op.batch_alter_table("handover_items") as batch:
        batch.add_column(sa.Column("plan_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_handover_items_plan_id_plans", "plans", ["plan_id"], ["id"], ondelete="SET NULL")
        batch.create_index("ix_handover_items_plan_id", ["plan_id"])


def downgrade() -> None:
    with op.batch_alter_table("handover_items") as batch:
        batch.drop_index("ix_handover_items_plan_id")
        batch.drop_constraint("fk_handover_items_plan_id_plans", type_="foreignkey")
        batch.drop_column("plan_id")
    op.drop_table("plan_notices")
    for column in ("plan_id", "company_id", "creative_id"):
        op.drop_index(f"ix_plan_entries_{column}", "plan_entries")
    op.drop_table("plan_entries")
    op.drop_table("plans")
