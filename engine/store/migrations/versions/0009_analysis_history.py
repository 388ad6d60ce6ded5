"""analysis history and bulk re-analysis jobs; provider credentials' last check

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-07 22:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import engine.store.types

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def _common() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
        sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    ]


def upgrade() -> None:
    op.create_table('analysis_run', *_common(),
    sa.Column('call_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('template_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('replaced_by', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('analysed_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('analysis_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analysis_run_organization_id'), ['organization_id'],
                              unique=False)
        batch_op.create_index('ix_analysis_run_call', ['call_id', 'created_at'], unique=False)
    op.create_table('analysis_job', *_common(),
    sa.Column('template_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('resend_webhook', sa.Boolean(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('started_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.Column('finished_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('analysis_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analysis_job_organization_id'), ['organization_id'],
                              unique=False)
    with op.batch_alter_table('provider_credential', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checked_at', engine.store.types.UTCDateTime(length=27),
                                      nullable=True))
        batch_op.add_column(sa.Column('check_ok', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('check_message',
                                      sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('provider_credential', schema=None) as batch_op:
        batch_op.drop_column('check_message')
        batch_op.drop_column('check_ok')
        batch_op.drop_column('checked_at')
    with op.batch_alter_table('analysis_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analysis_job_organization_id'))
    op.drop_table('analysis_job')
    with op.batch_alter_table('analysis_run', schema=None) as batch_op:
        batch_op.drop_index('ix_analysis_run_call')
        batch_op.drop_index(batch_op.f('ix_analysis_run_organization_id'))
    op.drop_table('analysis_run')
