"""row ids are never reused on SQLite (AUTOINCREMENT) in every table whose ids
reach people's phones (in buttons) or other rows, as 0014 did for the outbox
and PostgreSQL's sequences already guarantee

Without AUTOINCREMENT SQLite gives a new row the largest id + 1: after the
newest row was deleted (a /delete, a withdrawn card), the next row got the
same id. A button still on someone's phone then acted on the new row, e.g.
"Interessiert" on an old card expressed interest in somebody else.

Each table is rebuilt (Alembic's batch "move and copy"). Other tables refer
to people, events, suggestions, pairs, meetings and plans, so this needs
foreign keys off while it runs (dropping the old table would otherwise
cascade to their rows): db/migrate.py turns them off around the upgrade on
SQLite and checks every reference afterwards.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TABLES = ("people", "events", "consent_refusals", "suggestions", "pairs", "meetings", "feedback", "outcomes",
          "handover_items", "broadcasts", "plans", "plan_entries")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # a sequence never hands out an id twice
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
