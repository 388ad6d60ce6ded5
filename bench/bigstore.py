"""A big store for benchmarks: an engine data dir with N calls, built fast and cached.

    store = big_store(1_000_000)          # built once, then reused from the cache
    running = start_engine(store.data_dir, api_key=store.api_key)

The data dir holds a migrated SQLite database with the root organization, a known admin API key
(``BENCH_API_KEY``), the demo agents, numbers, trunk and campaigns (engine.demo with no past
calls), then N calls over the last year with short transcripts (4 entries per answered call),
written by this module. It is cached under ``$TMPDIR/switchboard-bench/`` by N, the schema's
migration head and a hash of the migration files and of this module's format version, so a
schema change builds a fresh one.

Build speed: rows are built as tuples already in their stored form (fixed-width UTC stamps, JSON
text) and written with the Core-compiled INSERT of each table through ``exec_driver_sql``
``executemany``, with the journal off, the secondary indexes and the full-text triggers dropped
during the load; the indexes are rebuilt and the FTS tables filled with one ``INSERT ... SELECT``
each at the end. Measured on the reference machine (2 cores, shared): 1,000,000 calls and 3.7 M
transcript entries in about 2 minutes (rows 68 s, indexes 33 s, full text 20 s), 4.4 GB on disk.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, insert, text

from engine.demo.catalog import CALLEES_HOST
from engine.store import Call, TranscriptEntry, make_engine, migrate
from engine.store.db import MIGRATIONS_DIR

FORMAT_VERSION = 2  # bump when the generated data changes shape
BENCH_API_KEY = "sb_bench_admin_key_0123456789abcdefghijklmnop"
CACHE_ROOT = Path(tempfile.gettempdir()) / "switchboard-bench"
DB_NAME = "switchboard.db"
CHUNK = 20_000  # calls generated and inserted per batch
HISTORY_DAYS = 365
ENTRIES_PER_CALL = 4

STATUS_WEIGHTS = (("completed", 200, 88), ("no_answer", 480, 4), ("busy", 486, 3),
                  ("failed", 503, 2), ("canceled", 487, 3))
CALLER_LINES = (
    "I want to check the status of my order {n}",
    "I was charged twice and I would like a refund",
    "When is my bill due this month",
    "I need to book a cleaning for next {day}",
    "Can I move my appointment to {day}",
    "My package was supposed to arrive yesterday, order {n}",
    "How do I update my credit card",
    "Can I talk to a person please",
)
AGENT_LINES = (
    "Order {n} shipped on {day} and should arrive soon.",
    "I'm sorry about that. Duplicate charges drop off within three business days.",
    "Bills are due on the 15th of each month.",
    "You're booked for {day} at 10 AM.",
    "Done, your appointment is now on {day}.",
    "Order {n} is out for delivery today.",
    "You can update your card under Account, then Payment methods.",
    "Let me connect you with someone from our team.",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
GREETING = "Hi, thanks for calling. How can I help?"
THANKS = ("Thanks, bye.", "Great, thank you.", "Okay, that's all.")
SENTIMENTS = ("positive", "neutral", "negative")
AREA_CODES = ("212", "312", "415", "617", "646", "702")
# The insert triggers of call and transcript_entry (migration 0002), dropped while loading; what
# they would have written is filled at the end by FILL_SEARCH (the migration's own back-fill).
DEFERRED_TRIGGERS = ("transcript_entry_text_insert", "call_seq_insert")
FILL_SEARCH = (
    "INSERT INTO call_numbers_fts(rowid, numbers) SELECT seq, from_number || ' ' || to_number "
    "FROM call ORDER BY seq",
    """INSERT INTO call_text_fts(rowid, text)
       SELECT c.seq, (SELECT group_concat(text, char(10)) FROM (
           SELECT e.text FROM transcript_entry AS e WHERE e.call_id = c.id
           ORDER BY e."index", e.rowid))
       FROM call AS c WHERE EXISTS (SELECT 1 FROM transcript_entry AS e WHERE e.call_id = c.id)
       ORDER BY c.seq""",
    "INSERT INTO call_count SELECT organization_id, status, direction, coalesce(agent_id, ''), "
    "coalesce(campaign_id, ''), coalesce(phone_number_id, ''), count(*) FROM call GROUP BY "
    "organization_id, status, direction, coalesce(agent_id, ''), coalesce(campaign_id, ''), "
    "coalesce(phone_number_id, '')",
    "INSERT INTO call_count_day SELECT organization_id, coalesce(substr(initiated_at, 1, 10), ''), "
    "status, direction, count(*) FROM call GROUP BY organization_id, "
    "coalesce(substr(initiated_at, 1, 10), ''), status, direction",
)


@dataclass
class BigStore:
    """A built store: where it is, what is in it, how long it took to build."""

    data_dir: Path
    calls: int
    organization_id: str
    api_key: str
    agent_ids: list[str]
    campaign_ids: list[str]
    phone_number_ids: list[str]
    build_seconds: float
    phases: dict[str, float] = field(default_factory=dict)
    cached: bool = False

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_NAME

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.data_dir.glob(DB_NAME + "*"))


def schema_fingerprint() -> str:
    """The migration head plus a hash of the migration files and the data format."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(cfg).get_current_head() or "none"
    digest = hashlib.sha256(f"format {FORMAT_VERSION}".encode())
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        digest.update(path.read_bytes())
    return f"{head}-{digest.hexdigest()[:10]}"


def big_store(calls: int, *, rebuild: bool = False, log: Callable[[str], None] = print) -> BigStore:
    """The cached store with ``calls`` calls, building it first when missing (or asked to)."""
    target = CACHE_ROOT / f"calls-{calls}-rev{schema_fingerprint()}"
    info = target / "bigstore.json"
    if info.exists() and not rebuild:
        return _cached(target)
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    with _build_lock(CACHE_ROOT / f"calls-{calls}.lock"):
        if info.exists() and not rebuild:  # another process built it while we waited
            return _cached(target)
        building = Path(tempfile.mkdtemp(prefix=f"calls-{calls}-", dir=CACHE_ROOT))
        try:
            store = _build(building, calls, log)
            if target.exists():
                shutil.rmtree(target)
            building.rename(target)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
    store.data_dir = target
    record = asdict(store)
    record.pop("data_dir")
    record.pop("cached")
    (target / "bigstore.json").write_text(json.dumps(record, indent=2))
    return store


def _cached(target: Path) -> BigStore:
    data = json.loads((target / "bigstore.json").read_text())
    data["data_dir"] = target
    data["cached"] = True
    return BigStore(**data)


@contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    """One builder per store size at a time, across processes."""
    import fcntl

    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# -- building ------------------------------------------------------------------------------------


def _build(data_dir: Path, calls: int, log: Callable[[str], None]) -> BigStore:
    from engine.bootstrap import ensure_root
    from engine.demo.seed import seed

    phases: dict[str, float] = {}
    started = time.perf_counter()
    url = f"sqlite:///{data_dir / DB_NAME}"
    db = make_engine(url)
    migrate(db)
    organization_id, _ = ensure_root(db, BENCH_API_KEY)
    seed(db, organization_id, calls=0)  # agents, numbers, trunk, campaigns, leads
    catalog = _catalog(db, organization_id)
    db.dispose()
    phases["schema and records"] = time.perf_counter() - started

    loader = create_engine(url)  # no WAL while loading: journal off, one writer, rebuilt on failure
    with loader.connect() as conn:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=MEMORY",
                       "cache_size=-524288", "locking_mode=EXCLUSIVE"):
            conn.exec_driver_sql(f"PRAGMA {pragma}")
        t = time.perf_counter()
        dropped = _drop_secondary(conn)
        phases["drop indexes and triggers"] = time.perf_counter() - t
        t = time.perf_counter()
        writer = _Writer(conn)
        generator = _CallGenerator(organization_id, catalog, random.Random(calls))
        done = 0
        for call_rows, entry_rows in generator.chunks(calls):
            writer.write(Call, call_rows)
            writer.write(TranscriptEntry, entry_rows)
            conn.commit()
            done += len(call_rows)
            if done % 200_000 < CHUNK:
                log(f"  {done:,} calls written ({time.perf_counter() - t:.0f} s)")
        phases["insert rows"] = time.perf_counter() - t
        t = time.perf_counter()
        for name, sql in dropped:
            if name not in DEFERRED_TRIGGERS:
                conn.exec_driver_sql(sql)
        conn.commit()
        phases["rebuild indexes"] = time.perf_counter() - t
        t = time.perf_counter()
        for sql in FILL_SEARCH:
            conn.exec_driver_sql(sql)
        for name, sql in dropped:
            if name in DEFERRED_TRIGGERS:
                conn.exec_driver_sql(sql)
        conn.commit()
        phases["fill full-text indexes"] = time.perf_counter() - t
        t = time.perf_counter()
        conn.exec_driver_sql("ANALYZE")
        conn.exec_driver_sql("PRAGMA locking_mode=NORMAL")
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        conn.commit()
        phases["analyze"] = time.perf_counter() - t
    loader.dispose()
    return BigStore(data_dir, calls, organization_id, BENCH_API_KEY, catalog["agents"],
                    catalog["campaigns"], catalog["numbers"], time.perf_counter() - started, phases)


def _catalog(db: Engine, organization_id: str) -> dict[str, Any]:
    with db.connect() as conn:
        agents = conn.execute(text("SELECT id FROM agent WHERE organization_id = :o ORDER BY name"),
                              {"o": organization_id}).scalars().all()
        numbers = conn.execute(text("SELECT id, number, agent_id FROM phone_number WHERE "
                                    "organization_id = :o ORDER BY number"),
                               {"o": organization_id}).all()
        campaigns = conn.execute(text("SELECT id FROM campaign WHERE organization_id = :o "
                                      "ORDER BY name"), {"o": organization_id}).scalars().all()
        trunk = conn.execute(text("SELECT id FROM sip_trunk WHERE organization_id = :o AND "
                                  "host != :callees"),  # the carrier, not the simulated people
                             {"o": organization_id, "callees": CALLEES_HOST}).scalar_one()
    return {"agents": list(agents), "numbers": [n.id for n in numbers],
            "number_rows": [(n.id, n.number, n.agent_id) for n in numbers],
            "campaigns": list(campaigns), "trunk": trunk}


def _drop_secondary(conn: Connection) -> list[tuple[str, str]]:
    """Drop the indexes of call and transcript_entry and the FTS insert triggers; returns their
    SQL to recreate them."""
    rows = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND ("
        "(type = 'index' AND tbl_name IN ('call', 'transcript_entry')) OR "
        f"(type = 'trigger' AND name IN {DEFERRED_TRIGGERS}))"
    ).all()
    for name, sql in rows:
        kind = "TRIGGER" if sql.upper().startswith("CREATE TRIGGER") else "INDEX"
        conn.exec_driver_sql(f'DROP {kind} "{name}"')
    conn.commit()
    return [(name, sql) for name, sql in rows]


class _Writer:
    """Executemany of a table's Core-compiled INSERT with rows in stored form."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._sql: dict[str, tuple[str, list[str]]] = {}

    def columns(self, model: Any) -> list[str]:
        table: Table = model.__table__
        return [c.key for c in table.columns]

    def write(self, model: Any, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        table: Table = model.__table__
        if table.name not in self._sql:
            compiled = insert(table).compile(dialect=self.conn.dialect)
            names = list(compiled.positiontup or [])
            self._sql[table.name] = (str(compiled), names)
        sql, names = self._sql[table.name]
        if names != self.columns(model):
            raise RuntimeError(f"unexpected parameter order for {table.name}: {names}")
        self.conn.exec_driver_sql(sql, rows)


def _stamp(value: datetime) -> str:
    """The store's fixed-width UTC text form (engine.store.types.UTCDateTime)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Stamps:
    """Fast fixed-width UTC stamps from epoch microseconds (one date string per day, cached)."""

    def __init__(self) -> None:
        self._days: dict[int, str] = {}

    def __call__(self, epoch_us: int) -> str:
        day, us = divmod(epoch_us, 86_400_000_000)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)).strftime("%Y-%m-%dT")
            self._days[day] = prefix
        seconds, micro = divmod(us, 1_000_000)
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        return f"{prefix}{hours:02d}:{minutes:02d}:{secs:02d}.{micro:06d}Z"


# The demo history's share of test calls (a console user's "Test call"): ~4 %
TEST_SHARE = 0.04


class _CallGenerator:
    """Calls oldest first, spread over the last year, with 4-entry transcripts when answered."""

    def __init__(self, organization_id: str, catalog: dict[str, Any], rng: random.Random) -> None:
        self.org = organization_id
        self.catalog = catalog
        self.rng = rng
        self.stamp = _Stamps()
        self.entry_serial = 0
        self.call_serial = 0  # call.seq, which the dropped call_seq_insert trigger would give
        call_columns = [c.key for c in Call.__table__.columns]  # type: ignore[attr-defined]
        entry_columns = [c.key for c in TranscriptEntry.__table__.columns]  # type: ignore[attr-defined]
        self.c = {name: i for i, name in enumerate(call_columns)}
        self.e = {name: i for i, name in enumerate(entry_columns)}
        defaults = _stored_defaults(Call)
        self.call_base = [defaults[name] for name in call_columns]
        entry_defaults = _stored_defaults(TranscriptEntry)
        self.entry_base = [entry_defaults[name] for name in entry_columns]
        for base, index in ((self.call_base, self.c), (self.entry_base, self.e)):
            base[index["organization_id"]] = organization_id
        self.call_base[self.c["sip_trunk_id"]] = catalog["trunk"]
        self.call_base[self.c["analysis_status"]] = "heuristic"
        self.statuses = [(status, code) for status, code, _ in STATUS_WEIGHTS]
        self.status_cum = list(itertools.accumulate(w for *_, w in STATUS_WEIGHTS))

    def chunks(self, total: int) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
        now_us = int(datetime.now(UTC).timestamp()) * 1_000_000
        start_us = now_us - HISTORY_DAYS * 86_400_000_000
        step = (now_us - start_us) // max(total, 1)
        made = 0
        while made < total:
            count = min(CHUNK, total - made)
            calls: list[tuple[Any, ...]] = []
            entries: list[tuple[Any, ...]] = []
            for i in range(made, made + count):
                self._call(start_us + i * step + int(self.rng.random() * step), calls, entries)
            made += count
            yield calls, entries

    def _call(self, at: int, calls: list[tuple[Any, ...]], entries: list[tuple[Any, ...]]) -> None:
        rng, c, stamp = self.rng, self.c, self.stamp
        number_id, number, agent_id = rng.choice(self.catalog["number_rows"])
        outbound = rng.random() < 0.2
        campaign_id = rng.choice(self.catalog["campaigns"]) if outbound and rng.random() < 0.5 else None
        status, code = rng.choices(self.statuses, cum_weights=self.status_cum)[0]
        if not outbound and status in ("busy", "no_answer"):
            status, code = "completed", 200
        customer = f"+1{rng.choice(AREA_CODES)}5550{rng.randint(100, 199)}"
        call_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        initiated = stamp(at)
        row = self.call_base.copy()
        row[c["id"]] = call_id
        self.call_serial += 1
        row[c["seq"]] = self.call_serial
        row[c["created_at"]] = row[c["initiated_at"]] = initiated
        row[c["direction"]] = "outbound" if outbound else "inbound"
        row[c["from_number"]] = number if outbound else customer
        row[c["to_number"]] = customer if outbound else number
        row[c["agent_id"]] = agent_id
        row[c["phone_number_id"]] = number_id
        row[c["campaign_id"]] = campaign_id
        row[c["status"]] = status
        row[c["sip_status_code"]] = code
        row[c["disconnect_reason"]] = None if status == "completed" else status
        if rng.random() < TEST_SHARE:  # a console user's test call, left out of the default list
            row[c["is_test"]], row[c["type"]] = True, "test_call"
        row[c["duration_seconds"]] = 0
        if status == "completed":
            answered = at + rng.randint(500_000, 8_000_000)
            n = str(rng.randint(10000, 9999999))
            day = rng.choice(DAYS)
            topic = rng.randrange(len(CALLER_LINES))
            lines = (("agent", GREETING),
                     ("user", CALLER_LINES[topic].format(n=n, day=day)),
                     ("agent", AGENT_LINES[topic].format(n=n, day=day)),
                     ("user", rng.choice(THANKS)))
            t = answered + 400_000
            v2v = []
            e = self.e
            for index, (source, said) in enumerate(lines):
                began = stamp(t)
                t += len(said) * 71_000  # ~14 characters per second
                entry = self.entry_base.copy()
                self.entry_serial += 1
                entry[e["id"]] = f"00000000-0000-4000-8000-{self.entry_serial:012x}"
                entry[e["created_at"]] = entry[e["updated_at"]] = entry[e["started_at"]] = began
                entry[e["ended_at"]] = stamp(t)
                entry[e["call_id"]] = call_id
                entry[e["index"]] = index
                entry[e["source"]] = source
                entry[e["text"]] = said
                if source == "user":
                    entry[e["provider"]] = "whisper"
                    entry[e["confidence"]] = round(0.8 + rng.random() * 0.17, 3)
                else:
                    entry[e["provider"]] = "espeak-ng"
                    if index:
                        latency = 230 + int(rng.random() * 190)
                        entry[e["voice_to_voice_ms"]] = latency
                        v2v.append(latency)
                entries.append(tuple(entry))
                t += 300_000 + int(rng.random() * 900_000)
            duration = (t - answered) // 1_000_000
            cost = duration * 140 + 900
            row[c["answered_at"]] = stamp(answered)
            row[c["ended_at"]] = row[c["updated_at"]] = stamp(t)
            row[c["duration_seconds"]] = duration
            row[c["transcript"]] = "\n".join(
                f"{'Agent' if s == 'agent' else 'Caller'}: {x}" for s, x in lines)
            row[c["summary"]] = f"The caller said: {lines[1][1]}."
            row[c["sentiment"]] = rng.choice(SENTIMENTS)
            row[c["sentiment_score"]] = rng.randint(0, 10)
            row[c["outcome"]] = "resolved"
            row[c["success"]] = 1
            row[c["cost_stt_micro_usd"]] = row[c["cost_tts_micro_usd"]] = cost // 3
            row[c["cost_telephony_micro_usd"]] = cost - 2 * (cost // 3)
            row[c["cost_total_micro_usd"]] = cost
            row[c["latency_p50_ms"]] = sorted(v2v)[0]
            row[c["latency_p95_ms"]] = max(v2v)
        else:
            row[c["ended_at"]] = row[c["updated_at"]] = stamp(at + rng.randint(1_000_000, 30_000_000))
            row[c["summary"]] = "The call was not connected."
            row[c["outcome"]] = "not_connected"
            row[c["success"]] = 0
        calls.append(tuple(row))


def _stored_defaults(model: Any) -> dict[str, Any]:
    """Each column's default in stored form: JSON as text, booleans as 0/1."""
    from pydantic_core import PydanticUndefined
    from sqlalchemy import inspect as sa_inspect

    out: dict[str, Any] = {}
    for attr in sa_inspect(model).mapper.column_attrs:
        column = attr.columns[0]
        info = model.model_fields[attr.key]
        value = info.default_factory() if info.default_factory is not None else (
            None if info.default is PydanticUndefined else info.default)
        if isinstance(value, dict | list):
            value = json.dumps(value)
        elif isinstance(value, bool):
            value = int(value)
        elif isinstance(value, datetime):
            value = _stamp(value)
        out[column.key] = value
    return out


def database_summary(store: BigStore) -> dict[str, int]:
    """Row counts of the big tables (read straight from SQLite)."""
    with sqlite3.connect(store.db_path) as conn:
        return {table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                for table in ("call", "transcript_entry", "call_text_fts", "call_numbers_fts")}


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Build (or find) the cached big store.")
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    store = big_store(args.calls, rebuild=args.rebuild)
    print(f"{store.data_dir}: {store.calls:,} calls, {store.size_bytes / 1e6:,.0f} MB, "
          f"built in {store.build_seconds:.1f} s{' (cached)' if store.cached else ''}")
    for phase, seconds in store.phases.items():
        print(f"  {phase:<28} {seconds:8.1f} s")
    print(database_summary(store))
    return 0


__all__ = ["BENCH_API_KEY", "BigStore", "big_store", "database_summary", "schema_fingerprint"]


if __name__ == "__main__":
    raise SystemExit(main())
