"""call tags and list filters: ``call.tags``, the ``call_tag`` table, filter indexes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 22:00:00.000000

- ``call.tags``: a JSON list of a person's labels (``[]`` by default).
- ``call_tag``: one row per (organization, tag, call), so the calls list's ``tag`` filter reads
  a tag's call ids from a primary key instead of every call's JSON. SQLite keeps it from
  ``call.tags`` by triggers and fills it from the rows already there.
- The list's other equality filters (transport and type, outcome, sentiment, disconnect reason)
  get an index each, ``(organization_id, <column>, initiated_at, id, seq)`` like the filter
  indexes of migration 0002, so a filtered page on the default sort and its total read the
  index alone; ``has_recording`` a partial index of the calls with a recording.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

FILTER_INDEXES = {  # engine.store.calls.FILTER_INDEXES
    "ix_call_transport_type_initiated_at": ("transport", "type"),
    "ix_call_outcome_initiated_at": ("outcome",),
    "ix_call_sentiment_initiated_at": ("sentiment",),
    "ix_call_disconnect_reason_initiated_at": ("disconnect_reason",),
}
RECORDED = "ix_call_recorded"  # engine.store.calls.RECORDED_INDEX


def _tags_of(row: str) -> str:
    """The distinct text tags of ``row`` as ``call_tag`` rows."""
    return (f"SELECT DISTINCT {row}.organization_id, value, {row}.id FROM json_each({row}.tags) "
            "WHERE type = 'text'")


SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER call_tag_insert AFTER INSERT ON call
        WHEN json_valid(new.tags) AND json_array_length(new.tags) > 0 BEGIN
        INSERT OR IGNORE INTO call_tag {_tags_of('new')};
    END""",
    f"""CREATE TRIGGER call_tag_update AFTER UPDATE OF tags, organization_id ON call BEGIN
        DELETE FROM call_tag WHERE organization_id = old.organization_id AND call_id = old.id
            AND tag IN (SELECT value FROM json_each(CASE WHEN json_valid(old.tags)
                                                    THEN old.tags ELSE '[]' END));
        INSERT OR IGNORE INTO call_tag SELECT * FROM ({_tags_of('new')})
            WHERE json_valid(new.tags);
    END""",
    """CREATE TRIGGER call_tag_delete AFTER DELETE ON call BEGIN
        DELETE FROM call_tag WHERE organization_id = old.organization_id AND call_id = old.id
            AND tag IN (SELECT value FROM json_each(CASE WHEN json_valid(old.tags)
                                                    THEN old.tags ELSE '[]' END));
    END""",
)
TRIGGERS = ("call_tag_insert", "call_tag_update", "call_tag_delete")


def upgrade() -> None:
    # plain ALTER TABLE (no batch rebuild, which would drop the triggers of migration 0002)
    op.add_column('call', sa.Column('tags', sa.JSON(), nullable=False,
                                    server_default=sa.text("'[]'")))
    op.create_table(
        'call_tag',
        sa.Column('organization_id', sa.String(length=36), nullable=False),
        sa.Column('tag', sa.String(length=50), nullable=False),
        sa.Column('call_id', sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint('organization_id', 'tag', 'call_id'),
        sqlite_with_rowid=False,
    )
    for name, cols in FILTER_INDEXES.items():
        op.create_index(name, "call", ["organization_id", *cols, "initiated_at", "id", "seq"])
    op.create_index(RECORDED, "call", ["organization_id", "initiated_at", "id", "seq"],
                    sqlite_where=sa.text("recording_path IS NOT NULL"),
                    postgresql_where=sa.text("recording_path IS NOT NULL"))
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
        op.execute("INSERT OR IGNORE INTO call_tag SELECT DISTINCT call.organization_id, "
                   "j.value, call.id FROM call, json_each(call.tags) AS j "
                   "WHERE json_valid(call.tags) AND j.type = 'text'")
        analyzed = bind.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first()
        if analyzed:  # statistics for the new indexes, or SQLite plans them blind
            op.execute("ANALYZE call")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for name in (*FILTER_INDEXES, RECORDED):
        op.drop_index(name, table_name="call")
    op.drop_table('call_tag')
    op.drop_column('call', 'tags')  # SQLite >= 3.35: ALTER TABLE DROP COLUMN, triggers kept
