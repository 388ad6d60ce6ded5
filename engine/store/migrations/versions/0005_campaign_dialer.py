"""campaign dialer: pacing, retry waits per outcome, answering-machine settings, lead time zones,
the do-not-call list

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 19:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import engine.store.types

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calls_per_minute', sa.Integer(), nullable=False,
                                      server_default='10'))
        batch_op.add_column(sa.Column('retry_busy_minutes', sa.Integer(), nullable=False,
                                      server_default='15'))
        batch_op.add_column(sa.Column('retry_no_answer_minutes', sa.Integer(), nullable=False,
                                      server_default='60'))
        batch_op.add_column(sa.Column('amd', sqlmodel.sql.sqltypes.AutoString(length=30),
                                      nullable=False, server_default='detect'))
        batch_op.add_column(sa.Column('voicemail_message', sqlmodel.sql.sqltypes.AutoString(),
                                      nullable=False, server_default=''))
    # a campaign's one retry wait so far becomes its wait after a busy line and after no answer
    op.execute('UPDATE campaign SET retry_busy_minutes = retry_delay_minutes, '
               'retry_no_answer_minutes = retry_delay_minutes')
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
    op.create_table('do_not_call',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('organization_id', 'number', name='uq_do_not_call_number')
    )
    with op.batch_alter_table('do_not_call', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_do_not_call_organization_id'), ['organization_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('do_not_call', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_do_not_call_organization_id'))
    op.drop_table('do_not_call')
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.drop_column('timezone')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('voicemail_message')
        batch_op.drop_column('amd')
        batch_op.drop_column('retry_no_answer_minutes')
        batch_op.drop_column('retry_busy_minutes')
        batch_op.drop_column('calls_per_minute')
