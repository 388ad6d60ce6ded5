"""test calls: a partial index of them, for the call list that leaves them out

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 16:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.create_index('ix_call_test', ['organization_id', 'status', 'direction',
                                               'agent_id', 'campaign_id', 'phone_number_id',
                                               'initiated_at', 'seq'], unique=False,
                              sqlite_where=sa.text('is_test = 1'), postgresql_where=sa.text('is_test'))


def downgrade() -> None:
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_index('ix_call_test')
