"""broadcasts: organisers' announcements (issue 12); people.announcements_opt_out

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

from db.models import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("attachment", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("button", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("scheduled_for", UTCDateTime(), nullable=True),
        sa.Column("progress_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=True),
        sa.Column("report", sa.JSON(none_as_null=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_broadcasts"),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name="fk_broadcasts_event_id_events",
                                ondelete="SET NULL"),
    )
    op.create_index("ix_broadcasts_status", "broadcasts", ["status"])
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("announcements_opt_out", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_column("announcements_opt_out")
    op.drop_index("ix_broadcasts_status", "broadcasts")
    op.drop_table("broadcasts")
