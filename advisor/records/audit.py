"""Audit trail: every answer, feedback and compliance action, in one tamper-evident log.

Export-control programmes are judged by their records, so every entry is appended to one table
whose rows carry an HMAC (keyed by ADVISOR_AUDIT_KEY, see ``advisor.records.keys``) over their
fields and the previous row's hash. Editing, deleting or reordering a row breaks the chain and
``verify()`` names the first broken row; the head is also written to an anchor outside the
database after every append (``advisor.records.anchor``), so a cut tail, an emptied table or a
deleted database is noticed too. Recording never breaks an answer: a failed write is logged and
queued in memory, then retried on the next write or ``flush()``. The store is any SQLAlchemy
URL: SQLite in the data folder by default, PostgreSQL for a team.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import re
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from sqlalchemy import (
    DDL,
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    inspect,
    or_,
    select,
)
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from advisor.errors import InputError, StoreError
from advisor.models import Answer, Level
from advisor.records.anchor import (
    ANCHOR_FILE,
    Anchor,
    anchor_lock,
    new_anchor,
    read_anchor,
    replace_anchor,
    write_anchor,
)
from advisor.records.keys import KEY_FILE, AuditKey, mac
from advisor.records.sink import CHANNELS, Channel

if TYPE_CHECKING:
    from advisor.settings import Settings

log = logging.getLogger(__name__)

GENESIS = "0" * 64  # prev_hash of the first record
RATINGS = ("up", "down")
REASONS = ("wrong level", "wrong source", "other")  # the presets the feedback form offers
EVENT_KINDS = (
    "document_published",
    "document_retired",
    "rules_changed",
    "screening_list_changed",
    "eval_run",
    "audit_chain_keyed",  # the first keyed record after plain SHA-256 ones
    "audit_anchor_reset",
    "login",
    "login_failed",
    "login_locked",
    "logout",
    "session_expired",
)
MAX_COMMENT = 10_000
BATCH = 200  # queued records written per transaction
_ID = re.compile(r"^[0-9a-f]{32}$")
_EVENT_KIND = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
_PG_LOCK_KEY = 0x61756474  # advisory lock guarding the chain head on PostgreSQL
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

metadata = MetaData()
# One table, one chain: answers, events and feedback interleave in the order they happened.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("id", String(32), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # answer | event | feedback
    Column("created_at", String(32), nullable=False, index=True),  # UTC ISO, fixed width
    Column("username", Text),
    # answer
    Column("conversation_id", Text),
    Column("channel", String(16)),  # ui | api | cli | mcp: where the question was asked
    Column("question", Text),
    Column("answer", Text),
    Column("level", String(16)),
    Column("in_scope", Boolean),
    Column("flags", Text),  # JSON list of Flag
    Column("citations", Text),  # JSON list of {n, chunk_id, doc_id, source, version, ...}
    Column("model", Text),
    Column("prompt_version", Text),
    Column("corpus_hash", Text),
    Column("rules_hash", Text),
    Column("latency_ms", Float),
    Column("fallback", Boolean),
    # event
    Column("event", String(64)),
    Column("detail", Text),  # JSON object
    # feedback
    Column("record_id", String(32), index=True),
    Column("rating", String(8)),
    Column("reason", String(32)),
    Column("comment", Text),
    # chain
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
HASHED = tuple(c.name for c in audit_log.columns if c.name != "hash")
# Columns added after the hashed format was fixed. They are hashed only when set, so a record
# written before they existed (or without them) hashes exactly as it did: old chains verify
# unchanged. A store written by an earlier version gets them on its first write here.
ADDED_LATER = ("channel",)
_BOOLEANS = ("in_scope", "fallback")
_CONTENT = tuple(n for n in HASHED if n not in ("seq", "prev_hash"))

# The database refuses edits and deletions too; the hash chain catches whoever drops these.
_APPEND_ONLY = "SELECT RAISE(ABORT, 'audit_log is append-only')"
for _stmt in (
    f"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN {_APPEND_ONLY}; END",
    f"CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN {_APPEND_ONLY}; END",
):
    event.listen(audit_log, "after_create", DDL(_stmt).execute_if(dialect="sqlite"))
for _stmt in (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE PROCEDURE audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE PROCEDURE audit_log_append_only()",
):
    event.listen(audit_log, "after_create", DDL(_stmt).execute_if(dialect="postgresql"))

EXPORT_COLUMNS = (
    "seq",
    "id",
    "kind",
    "time",
    "user",
    "conversation_id",
    "channel",
    "question",
    "answer",
    "level",
    "in_scope",
    "flags",
    "citations",
    "model",
    "prompt_version",
    "corpus_hash",
    "rules_hash",
    "latency_ms",
    "fallback",
    "event",
    "detail",
    "feedback_count",
    "feedback_rating",
    "feedback_reason",
    "feedback_comment",
    "feedback_user",
    "feedback_time",
    "hash",
)
_JSON_COLUMNS = ("flags", "citations", "detail")


# --------------------------------------------------------------------------- hashing


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def canonical(row: Mapping[Any, Any]) -> bytes:
    """The bytes a record's hash covers: its hashed fields as sorted, compact JSON.

    Latency is fixed to three decimals and yes/no columns to true/false, so a float round trip
    or a driver that returns booleans as 0/1 cannot change the hash. A column of ADDED_LATER
    that is empty is left out, as the version before it had no such field.
    """
    payload = {
        name: row.get(name)
        for name in HASHED
        if name not in ADDED_LATER or row.get(name) is not None
    }
    for name in _BOOLEANS:
        if payload[name] is not None:
            payload[name] = bool(payload[name])
    if payload["latency_ms"] is not None:
        payload["latency_ms"] = f"{float(payload['latency_ms']):.3f}"
    text = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return text.encode("utf-8", "surrogatepass")


def chain_hash(row: Mapping[Any, Any]) -> str:
    """The unkeyed hash of records written before the chain was keyed (and of nothing since)."""
    return hashlib.sha256(canonical(row)).hexdigest()


def keyed_hash(row: Mapping[Any, Any], key: bytes) -> str:
    """A record's hash: an HMAC only the key's holder can recompute after an edit."""
    return mac(key, canonical(row))


def _clean(value: str | None) -> str | None:
    """Text every database stores verbatim: PostgreSQL rejects NUL and lone surrogates."""
    if value is None:
        return None
    text = str(value).replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")


def _json(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return _clean(text) or ""


def _entry(kind: str, **values: Any) -> dict[str, Any]:
    """A record's content before the chain fields (seq, prev_hash, hash) are assigned."""
    row: dict[str, Any] = dict.fromkeys(_CONTENT)
    row.update(id=uuid.uuid4().hex, kind=kind, created_at=_now())
    for key, value in values.items():
        if key not in row:
            raise TypeError(f"audit_log has no column {key!r}")
        row[key] = _clean(value) if isinstance(value, str) else value
    return row


def parse_since(value: str | date | datetime | None) -> str | None:
    """A lower time bound in the stored format; naive dates and times are taken as UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise InputError(
                f"a --since date looks like 2025-01-31 or 2025-01-31T14:00:00Z, not {value!r}"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of recomputing the chain and comparing its head with the anchor.

    ``first_bad_id`` names the first broken record; it is None when ``ok`` and when what failed
    is the log as a whole (missing store, cut tail, anchor mismatch).
    """

    ok: bool
    records: int
    first_bad_id: str | None = None
    problem: str | None = None
    first_bad_seq: int | None = None
    head_hash: str | None = None  # keep it elsewhere to detect a rewrite or cut tail later
    kinds: dict[str, int] = field(default_factory=dict)
    head_seq: int = 0
    legacy: int = 0  # leading records with the old unkeyed SHA-256 chain
    anchor: str | None = None  # the anchor the head was compared with
    notes: tuple[str, ...] = ()

    def failed(self, problem: str, seq: int | None = None) -> VerifyResult:
        return replace(self, ok=False, problem=problem, first_bad_seq=seq)

    def summary(self) -> str:
        counts = ", ".join(f"{n} {k}" for k, n in sorted(self.kinds.items())) or "empty"
        extra = "".join(f"\n{note}" for note in self.notes)
        if self.ok:
            head = f"; head seq {self.head_seq} hash {self.head_hash}" if self.head_hash else ""
            return f"audit log intact: {self.records} records ({counts}){head}{extra}"
        if self.first_bad_id is not None:
            return (
                f"audit log TAMPERED at seq {self.first_bad_seq} (record {self.first_bad_id}): "
                f"{self.problem}. {self.records} records in the log ({counts}).{extra}"
            )
        return (
            f"audit log NOT VERIFIED: {self.problem}. "
            f"{self.records} records in the log ({counts}).{extra}"
        )


@dataclass(frozen=True)
class FeedbackRow:
    """One thumbs up/down joined with the answer it is about, for a review table."""

    id: str
    record_id: str
    time: str
    user: str | None
    rating: str
    reason: str | None
    comment: str | None
    question: str | None
    answer: str | None
    level: str | None
    sources: list[str]
    citations: list[dict[str, Any]]
    conversation_id: str | None
    record_time: str


@dataclass(frozen=True)
class AnswerRecord:
    """One recorded answer as the review reads it back: what was asked, where, and what the
    user was shown (the answer text, its level, flags and the passages it cited)."""

    id: str
    seq: int
    time: str
    user: str | None
    conversation_id: str | None
    channel: str | None  # None for records written before channels existed
    question: str | None
    answer: str | None
    level: str | None
    in_scope: bool | None
    flags: list[dict[str, Any]]
    citations: list[dict[str, Any]]  # {n, chunk_id, doc_id, source, version, effective_date}
    model: str | None
    fallback: bool | None


@dataclass(frozen=True)
class EventRow:
    """One compliance event (EVENT_KINDS) as recorded."""

    id: str
    seq: int
    time: str
    user: str | None
    event: str
    detail: dict[str, Any]


def _rehash(row: Mapping[Any, Any], key: bytes | None = None) -> str | None:
    try:
        return chain_hash(row) if key is None else keyed_hash(row, key)
    except (TypeError, ValueError):  # e.g. text written into the latency column
        return None


_NO_KEY = "it carries a keyed hash but no audit key is available"
_NO_KEY_UNKEYED = (
    "its fields do not match its hash: the record was edited (there is no audit key or anchor, "
    "so the log was taken to be an unkeyed one from an earlier version)"
)


def _hash_problem(row: Mapping[Any, Any], key: bytes | None, keyed: bool) -> str | None:
    """Why the row's hash is wrong, or None; records before the first keyed one may be legacy."""
    plain = _rehash(row)
    if not keyed and plain == row["hash"]:
        return None
    if key is None:
        return _NO_KEY
    if _rehash(row, key) == row["hash"]:
        return None
    if plain == row["hash"]:
        return (
            "its hash is a plain SHA-256 where the keyed HMAC is required: the record was "
            "edited and re-chained by someone without the audit key"
        )
    return "its fields do not match its hash: the record was edited (or the audit key changed)"


def _pin_problem(
    pin: tuple[int, str],
    stored: str | None,
    result: VerifyResult,
    missing: str | None,
    what: str,
) -> str | None:
    """Why the verified log does not contain the pinned head (seq, hash), or None."""
    seq, expected = pin
    if seq <= 0:
        return None
    if missing is not None:
        return f"{missing}, but {what} says {seq} records were written"
    if result.records == 0:
        return f"the audit log is empty, but {what} says {seq} records were written"
    if result.head_seq < seq:
        cut = seq - result.head_seq
        return (
            f"the log ends at seq {result.head_seq}, but {what} says seq {seq}: {cut} record(s) "
            "were removed from the end (or the store was restored from an older copy)"
        )
    if stored != expected:
        return (
            f"the record at seq {seq} is not the one {what} names (hash {str(stored)[:16]}... "
            f"instead of {expected[:16]}...): the log was rewritten"
        )
    return None


def check_rows(rows: Iterable[Mapping[Any, Any]], key: bytes | None = None) -> VerifyResult:
    """Recompute the chain over rows in seq order; stops judging at the first bad row.

    Records written before the chain was keyed carry plain SHA-256 hashes; they are accepted as
    ``legacy`` only before the first keyed record, whose HMAC covers their last hash.
    """
    expected, prev, count, legacy, keyed = 1, GENESIS, 0, 0, False
    answers: set[str] = set()
    kinds: Counter[str] = Counter()
    bad: tuple[str, int, str] | None = None
    for row in rows:
        count += 1
        kinds[str(row["kind"])] += 1
        if bad is not None:
            continue
        seq = row["seq"]
        problem = None
        if seq != expected:
            problem = f"seq {seq} follows seq {expected - 1}: a record is missing"
        elif row["prev_hash"] != prev:
            problem = (
                "its prev_hash is not the previous record's hash: the previous record was "
                "changed, or records were removed or reordered"
            )
        elif (problem := _hash_problem(row, key, keyed)) is not None:
            pass
        elif row["kind"] == "feedback" and row["record_id"] not in answers:
            problem = f"feedback about {row['record_id']}, which is not an earlier answer"
        if problem is not None:
            bad = (str(row["id"]), int(seq), problem)
            continue
        keyed = keyed or _rehash(row) != row["hash"]
        legacy += 0 if keyed else 1
        if row["kind"] == "answer":
            answers.add(str(row["id"]))
        expected, prev = seq + 1, str(row["hash"])
    named = {"answer": "answers", "event": "events", "feedback": "feedback"}
    tally = {named.get(k, k): n for k, n in kinds.items()}
    if bad is None:
        head = None if count == 0 else prev
        return VerifyResult(True, count, head_hash=head, kinds=tally, head_seq=count, legacy=legacy)
    return VerifyResult(False, count, bad[0], bad[2], bad[1], kinds=tally, legacy=legacy)


# --------------------------------------------------------------------------- the log

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(url: URL) -> threading.Lock:
    """One lock per database per process, so two AuditLog objects do not race each other."""
    key = url.render_as_string(hide_password=False)
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


def _sqlite_file(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return None if url.database.startswith("file:") else Path(url.database)


def _build_engine(url: URL, busy_timeout: float) -> Engine:
    try:
        if url.get_backend_name() == "sqlite":
            engine = create_engine(url, connect_args={"timeout": busy_timeout})
            _take_over_sqlite_transactions(engine)
            return engine
        connect_args: dict[str, Any] = {}
        if url.get_backend_name() == "postgresql":  # a down server must not hang an answer
            connect_args["connect_timeout"] = max(1, math.ceil(busy_timeout))
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise StoreError(f"audit store {url.render_as_string()}: cannot be used ({exc})") from exc


def _take_over_sqlite_transactions(engine: Engine) -> None:
    """Let appends start with BEGIN IMMEDIATE: the write lock is taken before the head is read.

    pysqlite would otherwise begin lazily at the INSERT, after two writers had both read the
    same last hash. WAL keeps readers (export, review) from blocking writers.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("audit_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class AuditLog:
    """Append-only, hash-chained record of answers, feedback and compliance events.

    Thread-safe. Writers (``record_answer``, ``record_event``, ``add_feedback``) never raise on
    a store failure: the record waits in a bounded in-memory queue. Readers raise StoreError.
    """

    def __init__(
        self,
        url: str,
        *,
        key: str | None = None,
        key_file: Path | None = None,
        anchor: Path | None = None,
        busy_timeout: float = 2.0,
        max_queue: int = 10_000,
        retry_after: float = 5.0,
    ) -> None:
        """``key`` (ADVISOR_AUDIT_KEY) keys the chain, else ``key_file`` (generated on the first
        write); ``anchor`` is where the head is kept. For a SQLite file both files default to
        its folder; other stores must name them (``from_settings`` does).

        ``busy_timeout``: how long a write waits for a busy store before queueing; after a
        failure, writes only queue for ``retry_after`` seconds, so an outage costs no time."""
        try:
            self._url = make_url(url)
        except ArgumentError as exc:
            raise StoreError(f"audit store URL {url!r} is not a SQLAlchemy URL") from exc
        beside = _sqlite_file(self._url)
        folder = None if beside is None else beside.expanduser().resolve().parent
        key_file = key_file or (None if folder is None else folder / KEY_FILE)
        anchor = anchor or (None if folder is None else folder / ANCHOR_FILE)
        if (key is None and key_file is None) or anchor is None:
            raise StoreError(
                f"audit store {self._url.render_as_string()}: give a key (ADVISOR_AUDIT_KEY) "
                "and an anchor path (ADVISOR_AUDIT_ANCHOR); AuditLog.from_settings does"
            )
        self._key = AuditKey(key, key_file)
        self.anchor_path = anchor
        self.busy_timeout = busy_timeout
        self.max_queue = max_queue
        self._engine = _build_engine(self._url, busy_timeout)
        self._lock = _lock_for(self._url)
        self._queue: deque[dict[str, Any]] = deque()
        self._queue_lock = threading.Lock()
        self._ready = False
        self._current_schema = False  # the store has every column (ADDED_LATER included)
        self._diverged = False  # the store no longer holds the anchored head: keep the anchor
        self.retry_after = retry_after
        self._retry_at = 0.0

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> AuditLog:
        """The store at ADVISOR_AUDIT_URL (default: SQLite in the data folder), keyed by
        ADVISOR_AUDIT_KEY (default: a key file in the data folder), anchored at
        ADVISOR_AUDIT_ANCHOR (default: a file in the data folder)."""
        data_dir = Path(settings.data_dir).expanduser().resolve()
        url = settings.audit_url or f"sqlite:///{data_dir / 'audit.sqlite3'}"
        secret = settings.audit_key.get_secret_value() if settings.audit_key else None
        anchor = settings.audit_anchor or data_dir / ANCHOR_FILE
        return cls(
            url,
            key=secret,
            key_file=data_dir / KEY_FILE,
            anchor=Path(anchor).expanduser().resolve(),
            **options,
        )

    @property
    def url(self) -> str:
        """The store's URL with any password masked, for messages."""
        return self._url.render_as_string(hide_password=True)

    @property
    def pending(self) -> int:
        """Records queued because the store failed, not yet written."""
        with self._queue_lock:
            return len(self._queue)

    # ----------------------------------------------------------------------- writing

    def record_answer(
        self,
        answer: Answer,
        *,
        conversation_id: str,
        user: str | None,
        corpus_hash: str,
        rules_hash: str,
        channel: Channel | None = None,
    ) -> str | None:
        """Record an answered question; returns its id (final even while queued). Never raises
        on a store failure; an unknown ``channel`` is a caller's bug and raises InputError.

        None only when the record could not be kept at all (queue full, or a bug): both logged.
        ``channel`` says where it was asked (CHANNELS); without one the record is as before.
        """
        if channel is not None and channel not in CHANNELS:
            raise InputError(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
        try:
            latency = float(answer.latency_ms)
            entry = _entry(
                "answer",
                username=user,
                conversation_id=conversation_id,
                channel=channel,
                question=answer.question,
                answer=answer.answer,
                level=Level(answer.level).value,
                in_scope=bool(answer.in_scope),
                flags=_json([f.model_dump(mode="json") for f in answer.flags]),
                citations=_json(
                    [
                        {
                            "n": c.n,
                            "chunk_id": c.chunk_id,
                            "doc_id": c.doc_id,
                            "source": c.source,
                            "version": c.version,
                            "effective_date": c.effective_date,
                        }
                        for c in answer.citations
                    ]
                ),
                model=answer.model,
                prompt_version=answer.prompt_version,
                corpus_hash=corpus_hash,
                rules_hash=rules_hash,
                latency_ms=round(latency, 3) if math.isfinite(latency) else None,
                fallback=bool(answer.fallback),
            )
            return self._write(entry)
        except Exception:  # the answer matters more than its record; the log says what failed
            log.exception("audit: could not record the answer")
            return None

    def record_event(
        self, kind: str, detail: dict[str, Any], user: str | None = None
    ) -> str | None:
        """Record a compliance action (see EVENT_KINDS) in the same chain as the answers."""
        if not isinstance(kind, str) or not _EVENT_KIND.match(kind):
            raise InputError(f"event kind {kind!r}: use lower-case words such as {EVENT_KINDS[0]}")
        if not isinstance(detail, dict):
            raise InputError(f"event detail must be a dict, not {type(detail).__name__}")
        return self._write(_entry("event", username=user, event=kind, detail=_json(detail)))

    def add_feedback(
        self,
        record_id: str,
        rating: str,
        comment: str | None = None,
        user: str | None = None,
        *,
        reason: str | None = None,
    ) -> str | None:
        """Append a thumbs up/down about an answer; returns the feedback's id.

        ``reason`` is one of REASONS. A comment that starts with a preset reason, as the chat
        form sends it ("wrong level; too strict"), has that reason split off.
        """
        if not isinstance(record_id, str) or not _ID.match(record_id):
            raise InputError(f"{record_id!r} is not an audit record id")
        if rating not in RATINGS:
            raise InputError(f"rating must be one of {', '.join(RATINGS)}, not {rating!r}")
        comment = (comment or "").strip() or None
        if reason is None and comment is not None:
            head, _, rest = comment.partition(";")
            if head.strip().lower() in REASONS:
                reason, comment = head.strip().lower(), rest.strip() or None
        if reason is not None and reason not in REASONS:
            raise InputError(f"reason must be one of {', '.join(REASONS)}, not {reason!r}")
        if comment is not None and len(comment) > MAX_COMMENT:
            raise InputError(f"the comment is {len(comment):,} characters; the limit is 10,000")
        if not self._known_answer(record_id):
            raise InputError(f"no answer {record_id} in the audit log")
        entry = _entry(
            "feedback",
            username=user,
            record_id=record_id,
            rating=rating,
            reason=reason,
            comment=comment,
        )
        return self._write(entry)

    def flush(self) -> int:
        """Write queued records now, backoff or not; returns how many are still queued."""
        self._drain(wait=max(self.busy_timeout, 5.0))
        return self.pending

    def close(self) -> None:
        """Flush, say loudly what could not be written, and release connections."""
        left = self.flush()
        if left:
            log.error("audit: %d record(s) could not be written to %s and are lost", left, self.url)
        self._engine.dispose()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _known_answer(self, record_id: str) -> bool:
        """True when the answer is stored or queued; also True when the store cannot say."""
        with self._queue_lock:
            if any(e["id"] == record_id and e["kind"] == "answer" for e in self._queue):
                return True
        try:
            if not self._exists():
                return False
            stmt = select(audit_log.c.seq).where(
                audit_log.c.id == record_id, audit_log.c.kind == "answer"
            )
            with self._engine.connect() as conn:
                return conn.execute(stmt).first() is not None
        except SQLAlchemyError as exc:
            log.warning("audit: cannot check record %s (%s); keeping the feedback", record_id, exc)
            return True

    def _write(self, entry: dict[str, Any]) -> str | None:
        with self._queue_lock:
            if len(self._queue) >= self.max_queue:
                log.error(
                    "audit: %d records are waiting for %s; this one is NOT kept: %s",
                    len(self._queue),
                    self.url,
                    _json(entry),
                )
                return None
            self._queue.append(entry)
            waiting = len(self._queue)
        every = max(2, self.max_queue // 10)
        if waiting % every == 0:
            log.warning("audit: %d records waiting; is %s down?", waiting, self.url)
        if time.monotonic() >= self._retry_at:
            self._drain(wait=self.busy_timeout)
        return str(entry["id"])

    def _drain(self, wait: float) -> None:
        """Write queued records in order until the queue is empty or the store fails.

        Whoever holds the lock drains everything queued, so a writer that times out waiting
        for it leaves its record to the holder (or to the next write).
        """
        if not self._lock.acquire(timeout=wait):
            return
        try:
            while True:
                with self._queue_lock:
                    batch = list(islice(self._queue, BATCH))
                if not batch:
                    return
                try:
                    self._append(batch)
                except Exception as exc:
                    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    log.warning(
                        "audit: writing to %s failed (%s); %d record(s) queued for retry",
                        self.url,
                        reason,
                        self.pending,
                    )
                    self._retry_at = time.monotonic() + self.retry_after
                    self._ready = False  # a dropped table is created again, not written past
                    return
                self._retry_at = 0.0
                with self._queue_lock:
                    for _ in batch:
                        self._queue.popleft()
        finally:
            self._lock.release()

    def _append(self, batch: list[dict[str, Any]]) -> None:
        """Chain and insert records in one transaction that holds the head until commit, then
        move the anchor to the new head (unless the store no longer holds the anchored one).

        The anchor's file lock is held throughout, so the anchor always names the head an
        honest writer committed last.
        """
        key = self._key.get(create=True)
        assert key is not None  # AuditLog refuses to exist without a key source
        path = _sqlite_file(self._url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        with anchor_lock(self.anchor_path, timeout=self.busy_timeout):
            holds, seq, head = self._insert(batch, key)
            if holds:
                try:
                    write_anchor(self.anchor_path, new_anchor(self.url, seq, head), key)
                except OSError as exc:
                    log.error("audit: the anchor %s cannot be written (%s)", self.anchor_path, exc)

    def _insert(self, batch: list[dict[str, Any]], key: bytes) -> tuple[bool, int, str]:
        """Insert the chained batch; (anchor still holds, new head seq, new head hash)."""
        t = audit_log
        with self._engine.connect() as conn:
            conn.execution_options(audit_write=True)
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    ms = max(1, int(self.busy_timeout * 1000))
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}")
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
                if not self._ready:  # under the write lock, so two processes cannot both create
                    metadata.create_all(conn)
                    self._add_later_columns(conn)
                last = (
                    conn.execute(select(t).order_by(t.c.seq.desc()).limit(1).with_for_update())
                    .mappings()
                    .first()
                )
                seq, prev = (int(last["seq"]), str(last["hash"])) if last else (0, GENESIS)
                entries = list(batch)
                legacy = last is not None and self._legacy_head(last, key)
                if legacy:
                    detail = _json({"legacy_records": seq, "legacy_head": prev})
                    entries.insert(0, _entry("event", event="audit_chain_keyed", detail=detail))
                holds = self._holds_anchor(conn, seq, key, unkeyed=last is None or legacy)
                rows = []
                for entry in entries:
                    seq += 1
                    row = {**entry, "seq": seq, "prev_hash": prev}
                    row["hash"] = prev = keyed_hash(row, key)
                    rows.append(row)
                conn.execute(insert(t), rows)
        self._ready = self._current_schema = True  # committed: the columns are there too
        return holds, seq, prev

    def _add_later_columns(self, conn: Connection) -> None:
        """Give a store an earlier version wrote the columns added since. They are nullable
        and left empty in its records, so those records and their hashes stay as they are."""
        present = {c["name"] for c in inspect(conn).get_columns(audit_log.name)}
        for name in ADDED_LATER:
            if name not in present:
                kind = audit_log.c[name].type.compile(dialect=conn.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {audit_log.name} ADD COLUMN {name} {kind}")

    def _stored_columns(self, conn: Connection) -> list[Column[Any]]:
        """The columns to read: a store an earlier version wrote lacks ADDED_LATER until the
        first write here adds them, and reading (verify, export) must not change it. Only a
        complete schema is remembered: another process may add the columns at any time."""
        if self._current_schema:
            return list(audit_log.columns)
        present = {c["name"] for c in inspect(conn).get_columns(audit_log.name)}
        columns = [c for c in audit_log.columns if c.name in present]
        self._current_schema = len(columns) == len(audit_log.columns)
        return columns

    def _legacy_head(self, last: Mapping[Any, Any], key: bytes) -> bool:
        """True when the chain's head has a plain SHA-256 hash: the log predates the key."""
        if _rehash(last, key) == last["hash"]:
            return False
        if _rehash(last) == last["hash"]:
            return True
        log.error(
            "audit: the last record (seq %s) matches neither the audit key in %s nor a plain "
            "hash: it was edited or the key changed; run `advisor audit verify`",
            last["seq"],
            self._key.source,
        )
        return False

    def _holds_anchor(self, conn: Connection, head_seq: int, key: bytes, unkeyed: bool) -> bool:
        """Whether the store still holds the anchored head, so the anchor may move on.

        When records were cut or replaced, new records are still written (an answer's record
        is never lost) but the anchor stays as it is: it is the evidence ``verify`` reports.
        """
        try:
            anchor = read_anchor(self.anchor_path)
        except StoreError as exc:
            problem: str | None = str(exc)
        else:
            problem = self._anchor_problem(conn, anchor, head_seq, key, unkeyed)
        if problem is None:
            self._diverged = False
            return True
        if not self._diverged:
            log.error(
                "audit: %s; new records are written but the anchor %s is kept as evidence. "
                "Run `advisor audit verify`.",
                problem,
                self.anchor_path,
            )
        self._diverged = True
        return False

    def _anchor_problem(
        self, conn: Connection, anchor: Anchor | None, head_seq: int, key: bytes, unkeyed: bool
    ) -> str | None:
        if anchor is None:
            if unkeyed:
                return None  # a new log, or the first keyed write after an upgrade
            return f"the anchor {self.anchor_path} is missing although the log has keyed records"
        if not anchor.valid(key):
            return f"the anchor {self.anchor_path} was not written with this audit key"
        if anchor.seq > head_seq:
            return f"the log ends at seq {head_seq} but the anchor says seq {anchor.seq}"
        stored = conn.execute(
            select(audit_log.c.hash).where(audit_log.c.seq == anchor.seq)
        ).scalar_one_or_none()
        if stored != anchor.hash:
            return f"the record at seq {anchor.seq} is not the anchored one"
        return None

    # ----------------------------------------------------------------------- reading

    def _exists(self) -> bool:
        """Whether there is a log to read, without creating an empty SQLite file."""
        if self._ready:
            return True
        path = _sqlite_file(self._url)
        if path is not None and not path.exists():
            return False
        return inspect(self._engine).has_table(audit_log.name)

    def _read_error(self, exc: SQLAlchemyError) -> StoreError:
        return StoreError(f"cannot read the audit log at {self.url}: {exc}")

    def _missing(self) -> str | None:
        """What is missing of the store (the SQLite file, the table), checked afresh."""
        path = _sqlite_file(self._url)
        if path is not None and not path.exists():
            return f"the audit database {path} does not exist"
        if not inspect(self._engine).has_table(audit_log.name):
            return f"the audit_log table is missing from {self.url}"
        return None

    def verify(self, expect: tuple[int, str] | None = None) -> VerifyResult:
        """Recompute the whole chain, then hold its head against the anchor and, when given,
        against ``expect`` (a head the office wrote down). Queued records are not in it yet.

        Fails on an edited, removed or re-chained record, a missing store or table, and a log
        that is shorter than, different from or longer than its anchor.
        """
        try:
            anchor, anchor_error = read_anchor(self.anchor_path), None
        except StoreError as exc:
            anchor, anchor_error = None, str(exc)
        key = self._key.get(create=False)
        pins = {p[0] for p in (expect, (anchor.seq, anchor.hash) if anchor else None) if p}
        try:
            missing = self._missing()
            stored: dict[int, str] = {}
            if missing is not None:
                result = VerifyResult(True, 0)
            else:
                with self._engine.connect() as conn, conn.begin():
                    stmt = select(*self._stored_columns(conn)).order_by(audit_log.c.seq)
                    rows = conn.execute(stmt.execution_options(yield_per=1000)).mappings()
                    result = check_rows(rows, key)
                    if pins:
                        picked = select(audit_log.c.seq, audit_log.c.hash)
                        for seq, hash_ in conn.execute(picked.where(audit_log.c.seq.in_(pins))):
                            stored[int(seq)] = str(hash_)
        except SQLAlchemyError as exc:
            raise self._read_error(exc) from exc
        if not result.ok and result.problem == _NO_KEY and anchor is None and not anchor_error:
            # Keyed logs always have an anchor: without key and anchor the log is unkeyed.
            result = replace(result, problem=_NO_KEY_UNKEYED)
        if not result.ok and result.problem == _NO_KEY:
            raise StoreError(
                f"the audit log has keyed records but there is no audit key ({self._key.source}):"
                " set ADVISOR_AUDIT_KEY or restore the key file, then verify again"
            )
        if not result.ok:
            return result
        result = replace(result, notes=self._legacy_notes(result))
        if anchor_error is not None:
            return result.failed(anchor_error)
        judged = self._judge_anchor(result, anchor, key, stored, missing)
        if judged.ok and expect is not None:
            problem = _pin_problem(
                expect, stored.get(expect[0]), judged, missing, "the expected head"
            )
            if problem is not None:
                return judged.failed(problem, expect[0])
        return judged

    @staticmethod
    def _legacy_notes(result: VerifyResult) -> tuple[str, ...]:
        if not result.legacy:
            return ()
        pinned = (
            "pinned by the keyed records after them"
            if result.legacy < result.records
            else "not yet pinned: the next record written keys the chain"
        )
        return (
            f"note: {result.legacy} legacy records (seq 1-{result.legacy}) carry the unkeyed "
            f"SHA-256 chain of earlier versions; {pinned}.",
        )

    def _judge_anchor(
        self,
        result: VerifyResult,
        anchor: Anchor | None,
        key: bytes | None,
        stored: dict[int, str],
        missing: str | None,
    ) -> VerifyResult:
        """The verified chain against its anchor file."""
        where = self.anchor_path
        if anchor is None:
            if result.records > result.legacy:
                return result.failed(
                    f"the anchor {where} is missing although the log has keyed records: it was "
                    "deleted, or ADVISOR_AUDIT_ANCHOR points somewhere else"
                )
            return result
        result = replace(result, anchor=anchor.line())
        if key is not None and not anchor.valid(key):
            return result.failed(
                f"the anchor {where} was not written with this audit key (edited, or the key "
                "changed)"
            )
        pin = (anchor.seq, anchor.hash)
        problem = _pin_problem(pin, stored.get(anchor.seq), result, missing, "the anchor")
        if problem is not None:
            return result.failed(problem, anchor.seq)
        if result.head_seq == anchor.seq:
            return result
        later = self._later_anchor(anchor, result.head_seq)
        if later.seq < result.head_seq:
            return result.failed(
                f"the log continues past its anchor (head seq {result.head_seq}, anchor seq "
                f"{anchor.seq}): records were added that the anchor never saw",
                anchor.seq + 1,
            )
        if later.seq == result.head_seq and later.hash != result.head_hash:
            return result.failed(
                f"the head record (seq {later.seq}) is not the one the anchor names: the log was "
                "rewritten",
                later.seq,
            )
        return replace(result, anchor=later.line())

    def _later_anchor(self, anchor: Anchor, head_seq: int) -> Anchor:
        """The anchor once it caught up with ``head_seq``: a writer updates it just after its
        commit, so a verify running beside the app may read the log first."""
        current = anchor
        for delay in (0.05, 0.1, 0.2, 0.4):
            if current.seq >= head_seq:
                break
            time.sleep(delay)
            try:
                current = read_anchor(self.anchor_path) or current
            except StoreError:
                break
        return current

    def current_anchor(self) -> Anchor | None:
        """The anchor as it is on disk (StoreError when it is unreadable)."""
        return read_anchor(self.anchor_path)

    def reset_anchor(self, user: str | None = None) -> Anchor:
        """Anchor the current head after the chain itself verified, replacing a lost or stale
        anchor; the reset and the anchor it replaced are recorded in the chain.

        For an operator who knows why the anchor no longer matches (restored from an older
        backup, for instance): the chain's own checks must pass first.
        """
        old: Anchor | None = None
        problem: str | None = None
        try:
            old = read_anchor(self.anchor_path)
        except StoreError as exc:
            problem = str(exc)
        chain = check_rows(self._all_rows(), self._key.get(create=True))
        if not chain.ok:
            raise StoreError(
                f"the chain itself is broken, so it cannot be anchored: {chain.summary()}"
            )
        detail = {
            "replaced": None if old is None else old.model_dump(exclude={"mac"}),
            "problem": problem,
            "head_seq": chain.head_seq,
        }
        self.record_event("audit_anchor_reset", detail, user)
        if self.flush():
            raise StoreError(
                f"the audit store {self.url} cannot be written; the anchor is unchanged"
            )
        key = self._key.get(create=True)
        assert key is not None
        with self._engine.connect() as conn:
            head = conn.execute(
                select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
            ).one()
        anchor = new_anchor(self.url, int(head.seq), str(head.hash))
        replace_anchor(self.anchor_path, anchor, key)
        self._diverged = False
        return anchor.signed(key)

    def _all_rows(self) -> list[Mapping[Any, Any]]:
        try:
            if self._missing() is not None:
                return []
            with self._engine.connect() as conn:
                stmt = select(*self._stored_columns(conn)).order_by(audit_log.c.seq)
                return list(conn.execute(stmt).mappings().all())
        except SQLAlchemyError as exc:
            raise self._read_error(exc) from exc

    def feedback(
        self,
        rating: str | None = None,
        since: str | date | datetime | None = None,
        level: Level | str | None = None,
        contains: str | None = None,
    ) -> list[FeedbackRow]:
        """Feedback joined with its answer, newest first, for the review table.

        ``since`` bounds the feedback's time; ``contains`` searches question, answer and comment
        case-insensitively.
        """
        if rating is not None and rating not in RATINGS:
            raise InputError(f"rating must be one of {', '.join(RATINGS)}, not {rating!r}")
        if level is not None:
            try:
                level = Level(level)
            except ValueError:
                choices = ", ".join(lv.value for lv in Level)
                raise InputError(f"level must be one of {choices}, not {level!r}") from None
        bound = parse_since(since)
        self.flush()
        stmt = _feedback_query(rating, bound, level, contains)
        try:
            if not self._exists():
                return []
            with self._engine.connect() as conn:
                rows = conn.execute(stmt).mappings().all()
        except SQLAlchemyError as exc:
            raise self._read_error(exc) from exc
        return [_feedback_row(r) for r in rows]

    def answer(self, record_id: str) -> AnswerRecord | None:
        """The recorded answer with this id, or None when there is none."""
        if not isinstance(record_id, str) or not _ID.match(record_id):
            raise InputError(f"{record_id!r} is not an audit record id")
        found = self._answers(audit_log.c.id == record_id)
        return found[0] if found else None

    def conversation(self, conversation_id: str) -> list[AnswerRecord]:
        """Every answer recorded under ``conversation_id``, in the order they were given."""
        if not conversation_id:
            return []
        return self._answers(audit_log.c.conversation_id == conversation_id)

    def _answers(self, where: Any) -> list[AnswerRecord]:
        self.flush()
        t = audit_log
        try:
            if not self._exists():
                return []
            with self._engine.connect() as conn:
                stmt = (
                    select(*self._stored_columns(conn))
                    .where(t.c.kind == "answer", where)
                    .order_by(t.c.seq)
                )
                rows = conn.execute(stmt).mappings().all()
        except SQLAlchemyError as exc:
            raise self._read_error(exc) from exc
        return [_answer_record(r) for r in rows]

    def events(self, kinds: Sequence[str] | None = None) -> list[EventRow]:
        """Compliance events in chain order, only those of ``kinds`` when given."""
        self.flush()
        t = audit_log
        stmt = (
            select(t.c.id, t.c.seq, t.c.created_at, t.c.username, t.c.event, t.c.detail)
            .where(t.c.kind == "event")
            .order_by(t.c.seq)
        )
        if kinds is not None:
            stmt = stmt.where(t.c.event.in_(list(kinds)))
        try:
            if not self._exists():
                return []
            with self._engine.connect() as conn:
                rows = conn.execute(stmt).mappings().all()
        except SQLAlchemyError as exc:
            raise self._read_error(exc) from exc
        return [
            EventRow(
                id=r["id"],
                seq=int(r["seq"]),
                time=r["created_at"],
                user=r["username"],
                event=r["event"],
                detail=_json_object(r["detail"]),
            )
            for r in rows
        ]

    def export_rows(self, since: str | date | datetime | None = None) -> Iterator[dict[str, Any]]:
        """Answers and events (EXPORT_COLUMNS) in chain order, each with its latest feedback.

        JSON columns are decoded. Feedback rows are folded into their answer: the latest
        rating, reason, comment, user and time, and how many there were.
        """
        bound = parse_since(since)  # bad input fails here, not at the first next()
        self.flush()
        return self._export_rows(bound)

    def _export_rows(self, bound: str | None) -> Iterator[dict[str, Any]]:
        t = audit_log
        try:
            if not self._exists():
                return
            with self._engine.connect() as conn, conn.begin():
                columns = self._stored_columns(conn)
                fb_stmt = select(*columns).where(t.c.kind == "feedback").order_by(t.c.seq)
                if bound is not None:
                    fb_stmt = fb_stmt.where(t.c.created_at >= bound)
                latest: dict[str, tuple[int, Mapping[Any, Any]]] = {}
                for fb in conn.execute(fb_stmt).mappings():
                    count = latest.get(fb["record_id"], (0, fb))[0]
                    latest[fb["record_id"]] = (count + 1, fb)
                stmt = select(*columns).where(t.c.kind != "feedback").order_by(t.c.seq)
                if bound is not None:
                    stmt = stmt.where(t.c.created_at >= bound)
                for row in conn.execute(stmt.execution_options(yield_per=1000)).mappings():
                    count, last = latest.get(row["id"], (0, None))
                    yield _export_row(row, count, last)
        except SQLAlchemyError as exc:
            raise self._read_error(exc) from exc

    def export(
        self,
        out: TextIO,
        fmt: Literal["csv", "jsonl"] = "csv",
        since: str | date | datetime | None = None,
    ) -> int:
        """Write export_rows() as CSV (with a header) or JSON Lines; returns the row count.

        CSV cells that a spreadsheet would run as a formula get a leading apostrophe.
        """
        if fmt not in ("csv", "jsonl"):
            raise InputError(f"export format must be csv or jsonl, not {fmt!r}")
        rows = self.export_rows(since)
        count = 0
        if fmt == "jsonl":
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
            return count
        return write_csv(out, EXPORT_COLUMNS, ([row[n] for n in EXPORT_COLUMNS] for row in rows))


def _export_row(
    row: Mapping[Any, Any], feedback_count: int, last: Mapping[Any, Any] | None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        name: row.get(name) for name in EXPORT_COLUMNS if name in audit_log.columns
    }
    out["time"] = row["created_at"]
    out["user"] = row["username"]
    for name in _JSON_COLUMNS:
        out[name] = json.loads(row[name]) if row[name] else None
    out["feedback_count"] = feedback_count
    for name, column in (
        ("rating", "rating"),
        ("reason", "reason"),
        ("comment", "comment"),
        ("user", "username"),
        ("time", "created_at"),
    ):
        out[f"feedback_{name}"] = None if last is None else last[column]
    return {name: out.get(name) for name in EXPORT_COLUMNS}


def write_csv(out: TextIO, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """The one CSV writer for files a person opens in a spreadsheet (the audit export, the
    feedback review): cells that a spreadsheet would run as a formula get a leading
    apostrophe, since questions and comments are user input. Returns the row count."""
    writer = csv.writer(out)
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
        count += 1
    return count


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _feedback_query(
    rating: str | None, bound: str | None, level: Level | None, contains: str | None
) -> Any:
    """Feedback rows joined with the answer they rate, newest first, filtered."""
    fb, rec = audit_log.alias("fb"), audit_log.alias("rec")
    stmt = (
        select(
            fb.c.id,
            fb.c.record_id,
            fb.c.created_at,
            fb.c.username,
            fb.c.rating,
            fb.c.reason,
            fb.c.comment,
            rec.c.question,
            rec.c.answer,
            rec.c.level,
            rec.c.citations,
            rec.c.conversation_id,
            rec.c.created_at.label("record_time"),
        )
        .join_from(fb, rec, rec.c.id == fb.c.record_id)
        .where(fb.c.kind == "feedback")
        .order_by(fb.c.seq.desc())
    )
    if rating is not None:
        stmt = stmt.where(fb.c.rating == rating)
    if bound is not None:
        stmt = stmt.where(fb.c.created_at >= bound)
    if level is not None:
        stmt = stmt.where(rec.c.level == Level(level).value)
    if contains:
        columns = (rec.c.question, rec.c.answer, fb.c.comment)
        stmt = stmt.where(or_(*(c.icontains(contains, autoescape=True) for c in columns)))
    return stmt


def _json_list(text: str | None) -> list[Any]:
    """A JSON list column read back; a broken value (the chain reports the edit) reads empty."""
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _json_object(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _answer_record(r: Mapping[Any, Any]) -> AnswerRecord:
    in_scope, fallback = r.get("in_scope"), r.get("fallback")
    return AnswerRecord(
        id=r["id"],
        seq=int(r["seq"]),
        time=r["created_at"],
        user=r["username"],
        conversation_id=r["conversation_id"],
        channel=r.get("channel"),
        question=r["question"],
        answer=r["answer"],
        level=r["level"],
        in_scope=None if in_scope is None else bool(in_scope),
        flags=[f for f in _json_list(r["flags"]) if isinstance(f, dict)],
        citations=[c for c in _json_list(r["citations"]) if isinstance(c, dict)],
        model=r["model"],
        fallback=None if fallback is None else bool(fallback),
    )


def _feedback_row(r: Any) -> FeedbackRow:
    citations = json.loads(r["citations"] or "[]")
    return FeedbackRow(
        id=r["id"],
        record_id=r["record_id"],
        time=r["created_at"],
        user=r["username"],
        rating=r["rating"],
        reason=r["reason"],
        comment=r["comment"],
        question=r["question"],
        answer=r["answer"],
        level=r["level"],
        sources=list(dict.fromkeys(str(c.get("source")) for c in citations)),
        citations=citations,
        conversation_id=r["conversation_id"],
        record_time=r["record_time"],
    )
