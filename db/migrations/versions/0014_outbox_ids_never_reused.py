"""outbox ids are never reused on SQLite (AUTOINCREMENT), as PostgreSQL's
sequence already guarantees

A reply's result is recorded a moment after it went out (bot/outbox.py records
them in batches). When the person deleted their data in between, their rows
went, and SQLite gave the next row (a message to someone else) the freed id:
the late record marked that message sent and it never went out.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # a sequence never hands out an id twice
    with op.batch_alter_table("outbox", recreate="always", table_kwargs={"sqlite_autoincrement": True}):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("outbox", recreate="always", table_kwargs={"sqlite_autoincrement": False}):
        pass
