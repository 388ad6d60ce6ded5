"""rehearsals: personas run against an agent as test calls, with their report

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 16:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import engine.store.types

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rehearsal',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('agent_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('personas', sa.JSON(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('previous_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('started_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.Column('ended_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rehearsal', schema=None) as batch_op:
        batch_op.create_index('ix_rehearsal_agent_created', ['agent_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_rehearsal_organization_id'), ['organization_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rehearsal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rehearsal_organization_id'))
        batch_op.drop_index('ix_rehearsal_agent_created')
    op.drop_table('rehearsal')
