"""feedback and outcomes outlive the other side's /delete: feedback.meeting_id
and outcomes.pair_id become optional (ON DELETE SET NULL), so deleting one
person of a pair erases the pair and its meetings but keeps the other
person's own rating, comment and "what came of it" answers (issue 14.7)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _relink(table: str, column: str, target: str, *, nullable: bool, ondelete: str) -> None:
    name = f"fk_{table}_{column}_{target}"
    with op.batch_alter_table(table) as batch:
        batch.drop_constraint(name, type_="foreignkey")
        batch.alter_column(column, existing_type=sa.Integer(), nullable=nullable)
        batch.create_foreign_key(name, target, [column], ["id"], ondelete=ondelete)


def upgrade() -> None:
    _relink("feedback", "meeting_id", "meetings", nullable=True, ondelete="SET NULL")
    _relink("outcomes", "pair_id", "pairs", nullable=True, ondelete="SET NULL")


def downgrade() -> None:
    op.execute("DELETE FROM feedback WHERE meeting_id IS NULL")
    op.execute("DELETE FROM outcomes WHERE pair_id IS NULL")
    _relink("outcomes", "pair_id", "pairs", nullable=False, ondelete="CASCADE")
    _relink("feedback", "meeting_id", "meetings", nullable=False, ondelete="CASCADE")
