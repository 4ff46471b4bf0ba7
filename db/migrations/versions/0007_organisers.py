"""organisers: when an event was released; organisers' records without a
participant's consent (consent_at empty)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

from db.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("released_at", UTCDateTime()))
    with op.batch_alter_table("people") as batch:
        batch.alter_column("consent_at", existing_type=UTCDateTime(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM people WHERE consent_at IS NULL")
    with op.batch_alter_table("people") as batch:
        batch.alter_column("consent_at", existing_type=UTCDateTime(), nullable=False)
    with op.batch_alter_table("events") as batch:
        batch.drop_column("released_at")
