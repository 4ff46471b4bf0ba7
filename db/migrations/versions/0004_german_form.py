"""a person's form of address in German (sie/du; empty = the setting)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("german_form", sa.String(3)))


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_column("german_form")
