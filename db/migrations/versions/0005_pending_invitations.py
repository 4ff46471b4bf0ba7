"""declined invitations kept for a later /start (no name, no Telegram id)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

from db.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_invitations",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name=op.f("fk_pending_invitations_event_id_events"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_pending_invitations")),
    )
    op.create_index(op.f("ix_pending_invitations_created_at"), "pending_invitations", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_pending_invitations_created_at"), table_name="pending_invitations")
    op.drop_table("pending_invitations")
