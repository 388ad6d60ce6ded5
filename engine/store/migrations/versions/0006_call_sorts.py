"""call sorts: covering sort indexes for status, direction, from number, agent and cost

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 19:10:00.000000

The calls list sorts by these columns too; each gets an index like the other sort indexes
(migration 0002): ``(organization_id, <sort>, id)`` carrying ``initiated_at``, ``status``,
``direction`` and ``seq``, so a sorted walk, filtered or not, reads the index alone.
"""

from __future__ import annotations

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

SORTS = ("status", "direction", "from_number", "agent_id", "cost_total_micro_usd")
COVER = ("initiated_at", "status", "direction", "seq")  # engine.store.calls.SORT_INDEX_COVER


def upgrade() -> None:
    for col in SORTS:
        op.create_index(f"ix_call_{col}", "call",
                        ["organization_id", col, "id", *(c for c in COVER if c != col)])
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        analyzed = bind.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first()
        if analyzed:  # statistics for the new indexes, or SQLite plans them blind
            op.execute("ANALYZE call")


def downgrade() -> None:
    for col in SORTS:
        op.drop_index(f"ix_call_{col}", table_name="call")
