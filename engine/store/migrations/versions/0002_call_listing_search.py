"""call listing: seq, covering sort indexes, per-call search tables, call counts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 06:40:00.000000

- ``call.seq``: a unique integer per call, given on insert (max + 1) and never changed; the
  SQLite search tables use it as their rowid, so a full-text match yields integers without
  reading any stored content.
- The sort indexes ``ix_call_<sort>`` also carry ``initiated_at``, ``status``, ``direction`` and
  ``seq``, so a sorted walk filtered by a time range, a status, a direction or a search match reads
  the index alone.
- SQLite only: ``call_text_fts`` holds one row per call (its transcript entries in order, kept
  current by triggers on ``transcript_entry``) in place of one row per entry;
  ``call_numbers_fts`` (trigram, contentless) holds each call's from and to numbers;
  ``call_count`` holds how many calls each organization has per status, direction, agent,
  campaign and phone number, and ``call_count_day`` per day (of initiated_at), status and
  direction, both kept by triggers on ``call``. All four are filled from the rows already there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

SORTS = ("initiated_at", "answered_at", "ended_at", "duration_seconds", "created_at")
COVER = ("initiated_at", "status", "direction", "seq")

# The key of call_count; NULL ids are stored as '' (a primary key of a WITHOUT ROWID table).
_KEY = "organization_id, status, direction, agent_id, campaign_id, phone_number_id"


def _key(row: str) -> str:
    return (f"{row}.organization_id, {row}.status, {row}.direction, coalesce({row}.agent_id, ''), "
            f"coalesce({row}.campaign_id, ''), coalesce({row}.phone_number_id, '')")


def _key_match(row: str) -> str:
    return (f"organization_id = {row}.organization_id AND status = {row}.status AND "
            f"direction = {row}.direction AND agent_id = coalesce({row}.agent_id, '') AND "
            f"campaign_id = coalesce({row}.campaign_id, '') AND "
            f"phone_number_id = coalesce({row}.phone_number_id, '')")


_DAY_KEY = "organization_id, day, status, direction"


def _day_key(row: str) -> str:
    return (f"{row}.organization_id, coalesce(substr({row}.initiated_at, 1, 10), ''), "
            f"{row}.status, {row}.direction")


def _day_match(row: str) -> str:
    return (f"organization_id = {row}.organization_id AND "
            f"day = coalesce(substr({row}.initiated_at, 1, 10), '') AND status = {row}.status AND "
            f"direction = {row}.direction")


def _rebuild_text(call_id: str) -> str:
    """Statements that rewrite one call's call_text_fts row from its transcript entries."""
    return f"""
        DELETE FROM call_text_fts WHERE rowid = (SELECT seq FROM call WHERE id = {call_id});
        INSERT INTO call_text_fts(rowid, text)
        SELECT c.seq, t.text FROM call AS c, (
            SELECT group_concat(text, char(10)) AS text FROM (
                SELECT text FROM transcript_entry WHERE call_id = {call_id} ORDER BY "index", rowid)
        ) AS t
        WHERE c.id = {call_id} AND c.seq IS NOT NULL AND t.text IS NOT NULL;"""


SQLITE_TABLES = (
    "CREATE VIRTUAL TABLE call_text_fts USING fts5(text)",
    "CREATE VIRTUAL TABLE call_numbers_fts USING fts5(numbers, content='', tokenize='trigram')",
    f"""CREATE TABLE call_count (
        organization_id VARCHAR(36) NOT NULL, status VARCHAR(20) NOT NULL,
        direction VARCHAR(10) NOT NULL, agent_id VARCHAR(36) NOT NULL,
        campaign_id VARCHAR(36) NOT NULL, phone_number_id VARCHAR(36) NOT NULL,
        calls INTEGER NOT NULL, PRIMARY KEY ({_KEY})) WITHOUT ROWID""",
    f"""CREATE TABLE call_count_day (
        organization_id VARCHAR(36) NOT NULL, day VARCHAR(10) NOT NULL,
        status VARCHAR(20) NOT NULL, direction VARCHAR(10) NOT NULL,
        calls INTEGER NOT NULL, PRIMARY KEY ({_DAY_KEY})) WITHOUT ROWID""",
)

# What the triggers below would have written for the rows that exist already, in ascending rowid
# order: FTS5 flushes its pending terms to a new segment whenever a rowid is lower than the last
# (measured on 18,686 calls: 2.5 s in call_id order, 0.8 s in seq order).
SQLITE_FILL = (
    "INSERT INTO call_numbers_fts(rowid, numbers) SELECT seq, from_number || ' ' || to_number "
    "FROM call ORDER BY seq",
    """INSERT INTO call_text_fts(rowid, text)
       SELECT c.seq, (SELECT group_concat(text, char(10)) FROM (
           SELECT e.text FROM transcript_entry AS e WHERE e.call_id = c.id
           ORDER BY e."index", e.rowid))
       FROM call AS c WHERE EXISTS (SELECT 1 FROM transcript_entry AS e WHERE e.call_id = c.id)
       ORDER BY c.seq""",
    f"INSERT INTO call_count SELECT {_key('call')}, count(*) FROM call GROUP BY {_key('call')}",
    f"INSERT INTO call_count_day SELECT {_day_key('call')}, count(*) FROM call "
    f"GROUP BY {_day_key('call')}",
)

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER call_seq_insert AFTER INSERT ON call BEGIN
        UPDATE call SET seq = (SELECT coalesce(max(seq), 0) + 1 FROM call)
        WHERE rowid = new.rowid AND new.seq IS NULL;
        INSERT INTO call_numbers_fts(rowid, numbers)
        SELECT seq, new.from_number || ' ' || new.to_number FROM call WHERE rowid = new.rowid;
        INSERT INTO call_count VALUES ({_key('new')}, 1)
        ON CONFLICT ({_KEY}) DO UPDATE SET calls = calls + 1;
        INSERT INTO call_count_day VALUES ({_day_key('new')}, 1)
        ON CONFLICT ({_DAY_KEY}) DO UPDATE SET calls = calls + 1;
    END""",
    f"""CREATE TRIGGER call_count_day_update
        AFTER UPDATE OF organization_id, initiated_at, status, direction
        ON call WHEN ({_day_key('old')}) IS NOT ({_day_key('new')}) BEGIN
        UPDATE call_count_day SET calls = calls - 1 WHERE {_day_match('old')};
        INSERT INTO call_count_day VALUES ({_day_key('new')}, 1)
        ON CONFLICT ({_DAY_KEY}) DO UPDATE SET calls = calls + 1;
    END""",
    f"""CREATE TRIGGER call_count_update
        AFTER UPDATE OF organization_id, status, direction, agent_id, campaign_id, phone_number_id
        ON call WHEN ({_key('old')}) IS NOT ({_key('new')}) BEGIN
        UPDATE call_count SET calls = calls - 1 WHERE {_key_match('old')};
        INSERT INTO call_count VALUES ({_key('new')}, 1)
        ON CONFLICT ({_KEY}) DO UPDATE SET calls = calls + 1;
    END""",
    """CREATE TRIGGER call_numbers_update AFTER UPDATE OF from_number, to_number ON call
        WHEN old.seq IS NOT NULL BEGIN
        INSERT INTO call_numbers_fts(call_numbers_fts, rowid, numbers)
        VALUES ('delete', old.seq, old.from_number || ' ' || old.to_number);
        INSERT INTO call_numbers_fts(rowid, numbers)
        VALUES (new.seq, new.from_number || ' ' || new.to_number);
    END""",
    f"""CREATE TRIGGER call_search_delete AFTER DELETE ON call BEGIN
        UPDATE call_count SET calls = calls - 1 WHERE {_key_match('old')};
        UPDATE call_count_day SET calls = calls - 1 WHERE {_day_match('old')};
        INSERT INTO call_numbers_fts(call_numbers_fts, rowid, numbers)
        SELECT 'delete', old.seq, old.from_number || ' ' || old.to_number WHERE old.seq IS NOT NULL;
        DELETE FROM call_text_fts WHERE rowid = old.seq;
    END""",
    """CREATE TRIGGER transcript_entry_text_insert AFTER INSERT ON transcript_entry BEGIN
        INSERT OR REPLACE INTO call_text_fts(rowid, text)
        SELECT c.seq, coalesce((SELECT f.text FROM call_text_fts AS f WHERE f.rowid = c.seq)
                               || char(10), '') || new.text
        FROM call AS c WHERE c.id = new.call_id AND c.seq IS NOT NULL;
    END""",
    f"""CREATE TRIGGER transcript_entry_text_update
        AFTER UPDATE OF text, call_id, "index" ON transcript_entry BEGIN
        {_rebuild_text('old.call_id')}
        {_rebuild_text('new.call_id')}
    END""",
    f"""CREATE TRIGGER transcript_entry_text_delete AFTER DELETE ON transcript_entry BEGIN
        {_rebuild_text('old.call_id')}
    END""",
)

OLD_TRIGGERS = ("transcript_entry_fts_insert", "transcript_entry_fts_update",
                "transcript_entry_fts_delete", "call_number_fts_insert", "call_number_fts_update",
                "call_number_fts_delete")
NEW_TRIGGERS = ("call_seq_insert", "call_count_update", "call_count_day_update",
                "call_numbers_update", "call_search_delete", "transcript_entry_text_insert",
                "transcript_entry_text_update", "transcript_entry_text_delete")


def _sort_index(col: str, cover: bool) -> None:
    op.drop_index(f"ix_call_{col}", table_name="call")
    extra = [c for c in COVER if c != col] if cover else []
    op.create_index(f"ix_call_{col}", "call", ["organization_id", col, "id", *extra])


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column("call", sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                    nullable=True))
    if sqlite:
        op.execute("UPDATE call SET seq = rowid")
    else:
        op.execute("CREATE SEQUENCE IF NOT EXISTS call_seq_seq OWNED BY call.seq")
        op.execute("UPDATE call SET seq = n.seq FROM (SELECT id, nextval('call_seq_seq') AS seq "
                   "FROM (SELECT id FROM call ORDER BY created_at, id) AS o) AS n "
                   "WHERE call.id = n.id")
        op.execute("ALTER TABLE call ALTER COLUMN seq SET DEFAULT nextval('call_seq_seq')")
    op.create_index("ix_call_seq", "call", ["seq"], unique=True)
    for col in SORTS:
        _sort_index(col, cover=True)

    if sqlite:
        for name in OLD_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for name in ("transcript_fts", "call_number_fts"):
            op.execute(f"DROP TABLE IF EXISTS {name}")
        for statement in (*SQLITE_TABLES, *SQLITE_FILL, *SQLITE_TRIGGERS):
            op.execute(statement)
        analyzed = op.get_bind().exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first()
        if analyzed:  # the rebuilt indexes lost their statistics: without them SQLite plans blind
            op.execute("ANALYZE call")


# The first migration's search tables, rebuilt by ``downgrade``.
OLD_SEARCH = (
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
    "INSERT INTO transcript_fts(text, call_id, entry_id) SELECT text, call_id, id FROM transcript_entry",
    "INSERT INTO call_number_fts(numbers, call_id) SELECT from_number || ' ' || to_number, id FROM call",
)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for name in NEW_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for name in ("call_text_fts", "call_numbers_fts", "call_count", "call_count_day"):
            op.execute(f"DROP TABLE IF EXISTS {name}")
    for col in SORTS:
        _sort_index(col, cover=False)
    op.drop_index("ix_call_seq", table_name="call")
    with op.batch_alter_table("call") as batch_op:
        batch_op.drop_column("seq")
    if sqlite:  # after the column: a batch rebuild of ``call`` drops the triggers on it
        for statement in OLD_SEARCH:
            op.execute(statement)
    else:
        op.execute("DROP SEQUENCE IF EXISTS call_seq_seq")
