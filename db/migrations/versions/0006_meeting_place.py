"""meetings: where (place_kind onsite/online/open, place = address or link) and
the last change (who did what), so a late button can say what happened

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("place_kind", sa.String(8)))
        batch.add_column(sa.Column("place", sa.Text()))
        batch.add_column(sa.Column("changed_by", sa.Integer()))
        batch.add_column(sa.Column("change", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.drop_column("change")
        batch.drop_column("changed_by")
        batch.drop_column("place")
        batch.drop_column("place_kind")
