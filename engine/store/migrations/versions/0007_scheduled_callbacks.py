"""scheduled callbacks: calls the dialer places later, with instructions for the agent

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import engine.store.types

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scheduled_callback',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('campaign_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('lead_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('call_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('to_number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('scheduled_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('dial_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('instructions', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status_reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('callback_call_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('scheduled_callback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scheduled_callback_organization_id'),
                              ['organization_id'], unique=False)
        batch_op.create_index('ix_scheduled_callback_due', ['status', 'dial_at'], unique=False)
        batch_op.create_index('ix_scheduled_callback_campaign', ['campaign_id', 'status'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('scheduled_callback', schema=None) as batch_op:
        batch_op.drop_index('ix_scheduled_callback_campaign')
        batch_op.drop_index('ix_scheduled_callback_due')
        batch_op.drop_index(batch_op.f('ix_scheduled_callback_organization_id'))
    op.drop_table('scheduled_callback')
