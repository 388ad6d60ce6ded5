"""first schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 05:28:41.009844
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import engine.store.types

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('agent',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('first_message', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('system_prompt', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('script', sa.JSON(), nullable=False),
    sa.Column('brain', sa.JSON(), nullable=False),
    sa.Column('stt', sa.JSON(), nullable=False),
    sa.Column('tts', sa.JSON(), nullable=False),
    sa.Column('tool_ids', sa.JSON(), nullable=False),
    sa.Column('analysis_template_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('idle_timeout_seconds', sa.Integer(), nullable=False),
    sa.Column('idle_max_prompts', sa.Integer(), nullable=False),
    sa.Column('max_duration_seconds', sa.Integer(), nullable=False),
    sa.Column('interruptible', sa.Boolean(), nullable=False),
    sa.Column('voicemail_message', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('end_call_message', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_organization_id'), ['organization_id'], unique=False)

    op.create_table('analysis_template',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('summary_prompt', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('structured_data_schema', sa.JSON(), nullable=False),
    sa.Column('outcomes', sa.JSON(), nullable=False),
    sa.Column('success_criteria', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sentiment_enabled', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('analysis_template', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analysis_template_organization_id'), ['organization_id'], unique=False)

    op.create_table('api_key',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('last_used_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.Column('revoked_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_key_key_hash'), ['key_hash'], unique=True)
        batch_op.create_index(batch_op.f('ix_api_key_organization_id'), ['organization_id'], unique=False)

    op.create_table('call',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('transport', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('from_number', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('to_number', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('agent_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('phone_number_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('sip_trunk_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('campaign_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('lead_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('sip_call_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('initiated_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.Column('answered_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.Column('ended_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('disconnect_reason', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('sip_status_code', sa.Integer(), nullable=True),
    sa.Column('ringing_timeout_seconds', sa.Integer(), nullable=False),
    sa.Column('recording_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('recording_path', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('recording_duration_ms', sa.Integer(), nullable=True),
    sa.Column('transcript', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sentiment', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('sentiment_score', sa.Integer(), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('success', sa.Boolean(), nullable=True),
    sa.Column('structured_data', sa.JSON(), nullable=False),
    sa.Column('analysis_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('post_call_webhook_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('cost_stt_micro_usd', sa.Integer(), nullable=False),
    sa.Column('cost_llm_micro_usd', sa.Integer(), nullable=False),
    sa.Column('cost_tts_micro_usd', sa.Integer(), nullable=False),
    sa.Column('cost_telephony_micro_usd', sa.Integer(), nullable=False),
    sa.Column('cost_total_micro_usd', sa.Integer(), nullable=False),
    sa.Column('cost_details', sa.JSON(), nullable=False),
    sa.Column('latency_p50_ms', sa.Integer(), nullable=True),
    sa.Column('latency_p95_ms', sa.Integer(), nullable=True),
    sa.Column('latency_turns', sa.JSON(), nullable=False),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('dynamic_variables', sa.JSON(), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('is_test', sa.Boolean(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('feedback', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('retry_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.create_index('ix_call_agent_initiated_at', ['organization_id', 'agent_id', 'initiated_at', 'id'], unique=False)
        batch_op.create_index('ix_call_answered_at', ['organization_id', 'answered_at', 'id'], unique=False)
        batch_op.create_index('ix_call_campaign_initiated_at', ['organization_id', 'campaign_id', 'initiated_at', 'id'], unique=False)
        batch_op.create_index('ix_call_created_at', ['organization_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_call_direction_initiated_at', ['organization_id', 'direction', 'initiated_at', 'id'], unique=False)
        batch_op.create_index('ix_call_duration_seconds', ['organization_id', 'duration_seconds', 'id'], unique=False)
        batch_op.create_index('ix_call_ended_at', ['organization_id', 'ended_at', 'id'], unique=False)
        batch_op.create_index('ix_call_initiated_at', ['organization_id', 'initiated_at', 'id'], unique=False)
        batch_op.create_index('ix_call_number_initiated_at', ['organization_id', 'phone_number_id', 'initiated_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index('ix_call_sip_call_id', ['sip_call_id'], unique=False)
        batch_op.create_index('ix_call_status_initiated_at', ['organization_id', 'status', 'initiated_at', 'id'], unique=False)

    op.create_table('call_event',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('call_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('failure_cause', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('sip_status_code', sa.Integer(), nullable=True),
    sa.Column('sip_status', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('occurred_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('call_event', schema=None) as batch_op:
        batch_op.create_index('ix_call_event_call_occurred', ['call_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_event_organization_id'), ['organization_id'], unique=False)

    op.create_table('campaign',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('agent_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('phone_number_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('calling_hours_start', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('calling_hours_end', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('calling_days', sa.JSON(), nullable=False),
    sa.Column('max_concurrent', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('retry_delay_minutes', sa.Integer(), nullable=False),
    sa.Column('retry_on', sa.JSON(), nullable=False),
    sa.Column('scheduled_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.Column('started_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.Column('completed_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_organization_id'), ['organization_id'], unique=False)

    op.create_table('lead',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('campaign_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('phone_number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('variables', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.Column('last_call_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.create_index('ix_lead_campaign_created', ['campaign_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_lead_campaign_status', ['campaign_id', 'status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lead_organization_id'), ['organization_id'], unique=False)

    op.create_table('organization',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('parent_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organization_parent_id'), ['parent_id'], unique=False)

    op.create_table('phone_number',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('agent_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('sip_trunk_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('organization_id', 'number')
    )
    with op.batch_alter_table('phone_number', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phone_number_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_phone_number_number'), ['number'], unique=False)
        batch_op.create_index(batch_op.f('ix_phone_number_organization_id'), ['organization_id'], unique=False)

    op.create_table('provider_credential',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('base_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('api_key', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('provider_credential', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provider_credential_organization_id'), ['organization_id'], unique=False)

    op.create_table('sip_trunk',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('host', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('port', sa.Integer(), nullable=False),
    sa.Column('transport', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('password', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('auth_realm', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('register_enabled', sa.Boolean(), nullable=False),
    sa.Column('register_expires_seconds', sa.Integer(), nullable=False),
    sa.Column('codecs', sa.JSON(), nullable=False),
    sa.Column('caller_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('allow_refer', sa.Boolean(), nullable=False),
    sa.Column('registration_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sip_trunk', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sip_trunk_organization_id'), ['organization_id'], unique=False)

    op.create_table('tool_template',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('function', sa.JSON(), nullable=False),
    sa.Column('transfer', sa.JSON(), nullable=False),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tool_template', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tool_template_organization_id'), ['organization_id'], unique=False)

    op.create_table('transcript_entry',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('call_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('started_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.Column('ended_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('eou_ms', sa.Integer(), nullable=True),
    sa.Column('stt_ms', sa.Integer(), nullable=True),
    sa.Column('brain_ms', sa.Integer(), nullable=True),
    sa.Column('tts_ttfb_ms', sa.Integer(), nullable=True),
    sa.Column('voice_to_voice_ms', sa.Integer(), nullable=True),
    sa.Column('interrupted', sa.Boolean(), nullable=False),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('transcript_entry', schema=None) as batch_op:
        batch_op.create_index('ix_transcript_entry_call_index', ['call_id', 'index'], unique=False)
        batch_op.create_index(batch_op.f('ix_transcript_entry_organization_id'), ['organization_id'], unique=False)

    op.create_table('transfer',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('call_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('transfer_to', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('destinations', sa.JSON(), nullable=False),
    sa.Column('consultation_room', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('participants', sa.JSON(), nullable=False),
    sa.Column('outbound_trunk_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('screening_prompt', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('failure_cause', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('sip_status_code', sa.Integer(), nullable=True),
    sa.Column('routing_attempts', sa.JSON(), nullable=False),
    sa.Column('next_transfer_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('fallback', sa.JSON(), nullable=False),
    sa.Column('ringing_timeout_seconds', sa.Integer(), nullable=False),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('completed_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('transfer', schema=None) as batch_op:
        batch_op.create_index('ix_transfer_call', ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_organization_id'), ['organization_id'], unique=False)

    op.create_table('usage_log',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('call_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('quantity', sa.Float(), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('cost_micro_usd', sa.Integer(), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('occurred_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('usage_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_log_call_id'), ['call_id'], unique=False)
        batch_op.create_index('ix_usage_log_org_occurred', ['organization_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_log_organization_id'), ['organization_id'], unique=False)

    op.create_table('user',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('presence', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('extension', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_organization_id'), ['organization_id'], unique=False)

    op.create_table('webhook',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('agent_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('timeout_seconds', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('webhook', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_organization_id'), ['organization_id'], unique=False)

    op.create_table('webhook_delivery',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('organization_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(length=27), nullable=False),
    sa.Column('webhook_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('call_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('response_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('delivered_at', engine.store.types.UTCDateTime(length=27), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_delivery_hook_created', ['webhook_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_delivery_organization_id'), ['organization_id'], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_SEARCH:
            op.execute(statement)


# Full-text search over transcripts (FTS5, words) and over call numbers (trigram: substrings).
# Both keep their own copy of the text: tables with a text primary key have no stable rowid.
SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE transcript_fts USING fts5(text, call_id UNINDEXED, entry_id UNINDEXED)",
    """CREATE TRIGGER transcript_entry_fts_insert AFTER INSERT ON transcript_entry BEGIN
        INSERT INTO transcript_fts(text, call_id, entry_id) VALUES (new.text, new.call_id, new.id);
    END""",
    """CREATE TRIGGER transcript_entry_fts_update AFTER UPDATE OF text ON transcript_entry BEGIN
        DELETE FROM transcript_fts WHERE entry_id = old.id;
        INSERT INTO transcript_fts(text, call_id, entry_id) VALUES (new.text, new.call_id, new.id);
    END""",
    """CREATE TRIGGER transcript_entry_fts_delete AFTER DELETE ON transcript_entry BEGIN
        DELETE FROM transcript_fts WHERE entry_id = old.id;
    END""",
    "CREATE VIRTUAL TABLE call_number_fts USING fts5(numbers, call_id UNINDEXED, tokenize='trigram')",
    """CREATE TRIGGER call_number_fts_insert AFTER INSERT ON call BEGIN
        INSERT INTO call_number_fts(numbers, call_id)
        VALUES (new.from_number || ' ' || new.to_number, new.id);
    END""",
    """CREATE TRIGGER call_number_fts_update AFTER UPDATE OF from_number, to_number ON call BEGIN
        DELETE FROM call_number_fts WHERE call_id = old.id;
        INSERT INTO call_number_fts(numbers, call_id)
        VALUES (new.from_number || ' ' || new.to_number, new.id);
    END""",
    """CREATE TRIGGER call_number_fts_delete AFTER DELETE ON call BEGIN
        DELETE FROM call_number_fts WHERE call_id = old.id;
    END""",
)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("transcript_fts", "call_number_fts"):
            op.execute(f"DROP TABLE IF EXISTS {name}")

    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_delivery_organization_id'))
        batch_op.drop_index('ix_webhook_delivery_hook_created')

    op.drop_table('webhook_delivery')
    with op.batch_alter_table('webhook', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_organization_id'))

    op.drop_table('webhook')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_organization_id'))
        batch_op.drop_index(batch_op.f('ix_user_email'))

    op.drop_table('user')
    with op.batch_alter_table('usage_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_log_organization_id'))
        batch_op.drop_index('ix_usage_log_org_occurred')
        batch_op.drop_index(batch_op.f('ix_usage_log_call_id'))

    op.drop_table('usage_log')
    with op.batch_alter_table('transfer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_organization_id'))
        batch_op.drop_index('ix_transfer_call')

    op.drop_table('transfer')
    with op.batch_alter_table('transcript_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transcript_entry_organization_id'))
        batch_op.drop_index('ix_transcript_entry_call_index')

    op.drop_table('transcript_entry')
    with op.batch_alter_table('tool_template', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tool_template_organization_id'))

    op.drop_table('tool_template')
    with op.batch_alter_table('sip_trunk', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sip_trunk_organization_id'))

    op.drop_table('sip_trunk')
    with op.batch_alter_table('provider_credential', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provider_credential_organization_id'))

    op.drop_table('provider_credential')
    with op.batch_alter_table('phone_number', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phone_number_organization_id'))
        batch_op.drop_index(batch_op.f('ix_phone_number_number'))
        batch_op.drop_index(batch_op.f('ix_phone_number_agent_id'))

    op.drop_table('phone_number')
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organization_parent_id'))

    op.drop_table('organization')
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lead_organization_id'))
        batch_op.drop_index('ix_lead_campaign_status')
        batch_op.drop_index('ix_lead_campaign_created')

    op.drop_table('lead')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_organization_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_agent_id'))

    op.drop_table('campaign')
    with op.batch_alter_table('call_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_event_organization_id'))
        batch_op.drop_index('ix_call_event_call_occurred')

    op.drop_table('call_event')
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_index('ix_call_status_initiated_at')
        batch_op.drop_index('ix_call_sip_call_id')
        batch_op.drop_index(batch_op.f('ix_call_organization_id'))
        batch_op.drop_index('ix_call_number_initiated_at')
        batch_op.drop_index('ix_call_initiated_at')
        batch_op.drop_index('ix_call_ended_at')
        batch_op.drop_index('ix_call_duration_seconds')
        batch_op.drop_index('ix_call_direction_initiated_at')
        batch_op.drop_index('ix_call_created_at')
        batch_op.drop_index('ix_call_campaign_initiated_at')
        batch_op.drop_index('ix_call_answered_at')
        batch_op.drop_index('ix_call_agent_initiated_at')

    op.drop_table('call')
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_key_organization_id'))
        batch_op.drop_index(batch_op.f('ix_api_key_key_hash'))

    op.drop_table('api_key')
    with op.batch_alter_table('analysis_template', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analysis_template_organization_id'))

    op.drop_table('analysis_template')
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_organization_id'))
        batch_op.drop_index(batch_op.f('ix_agent_name'))

    op.drop_table('agent')

