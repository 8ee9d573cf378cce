"""The audit trail: records for every answer, a hash chain that exposes tampering, feedback,
exports for the export control office, and a store failure that never costs the user an answer.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy.exc import DBAPIError

import advisor.records.audit as audit_mod
from advisor.cli import main
from advisor.errors import InputError, StoreError
from advisor.models import Answer, Citation, Flag, Level
from advisor.records.audit import EXPORT_COLUMNS, AuditLog
from advisor.records.keys import mac
from tests.conftest import make_settings
from tests.pg_server import PgServer, postgres_server

APPEND_ONLY_TRIGGERS = ("audit_log_no_update", "audit_log_no_delete")


def make_answer(question: str = "Can I ship a router to Havana?", **overrides: object) -> Answer:
    values: dict[str, object] = {
        "question": question,
        "answer": "No: Cuba is under a comprehensive embargo [1].",
        "level": Level.PROHIBITED,
        "flags": [
            Flag(
                id="embargo:CU",
                level=Level.PROHIBITED,
                reason="Cuba is embargoed.",
                citation="15 CFR 746.2",
            )
        ],
        "citations": [
            Citation(
                n=1,
                doc_id="doc-embargo",
                chunk_id="doc-embargo:3",
                title="Embargoed destinations",
                section="746.2",
                source="corpus/guidance/embargoes.md",
                text="Cuba ...",
                score=0.81,
                version="2.1",
                effective_date="2024-06-01",
            )
        ],
        "model": "extractive",
        "latency_ms": 12.34567,
        "prompt_version": "answer-v3",
    }
    values.update(overrides)
    return Answer(**values)  # type: ignore[arg-type]


def record(log: AuditLog, question: str = "Can I ship a router to Havana?", **kw: object) -> str:
    user = kw.pop("user", "alice")
    record_id = log.record_answer(
        make_answer(question, **kw),
        conversation_id="conv-1",
        user=user,  # type: ignore[arg-type]
        corpus_hash="corpus-abc",
        rules_hash="rules-def",
    )
    assert record_id is not None
    return record_id


@dataclass
class Backend:
    """One audit store the same tests run against: a SQLite file or a real PostgreSQL database."""

    name: str
    url: str
    folder: Path  # where the key file and the anchor live

    def open(self, **options: object) -> AuditLog:
        return AuditLog(
            self.url,
            key_file=self.folder / "audit.key",
            anchor=self.folder / "audit-anchor.json",
            **options,  # type: ignore[arg-type]
        )

    def engine(self) -> Engine:
        return create_engine(self.url)

    def tamper(self, *statements: str) -> None:
        """What someone with write access to the store could do: drop the guards, then edit."""
        engine = self.engine()
        with engine.begin() as conn:
            if self.name == "sqlite":
                for trigger in APPEND_ONLY_TRIGGERS:
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
            else:
                for trigger in ("audit_log_no_change", "audit_log_no_truncate"):
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger} ON audit_log")
            for statement in statements:
                conn.exec_driver_sql(statement)
        engine.dispose()

    def rows(self) -> list[dict]:
        engine = self.engine()
        with engine.connect() as conn:
            result = conn.exec_driver_sql("SELECT * FROM audit_log ORDER BY seq")
            rows = [dict(r) for r in result.mappings()]
        engine.dispose()
        return rows


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    with postgres_server() as server:
        yield server


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return Backend("sqlite", f"sqlite:///{tmp_path / 'audit.sqlite3'}", tmp_path)
    server: PgServer = request.getfixturevalue("pg_server")
    return Backend("postgresql", server.create_database(), tmp_path)


@pytest.fixture
def log(backend: Backend) -> Iterator[AuditLog]:
    audit = backend.open()
    yield audit
    audit.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "audit.sqlite3"


def tamper(db: Path, *statements: str) -> None:
    Backend("sqlite", f"sqlite:///{db}", db.parent).tamper(*statements)


def stored(db: Path) -> list[dict]:
    return Backend("sqlite", f"sqlite:///{db}", db.parent).rows()


# --------------------------------------------------------------------------- records


def test_every_answer_is_recorded_with_what_an_auditor_needs(
    log: AuditLog, backend: Backend
) -> None:
    first = record(log)
    second = record(log, "What is fundamental research?", level=Level.NONE, user=None)
    rows = backend.rows()
    assert [r["id"] for r in rows] == [first, second]
    assert [r["seq"] for r in rows] == [1, 2]
    row = rows[0]
    assert datetime.fromisoformat(row["created_at"]).utcoffset() == UTC.utcoffset(None)
    assert (row["username"], row["conversation_id"]) == ("alice", "conv-1")
    assert row["question"] == "Can I ship a router to Havana?"
    assert row["answer"].startswith("No: Cuba") and row["level"] == "prohibited"
    assert json.loads(row["flags"])[0]["id"] == "embargo:CU"
    assert json.loads(row["citations"]) == [
        {
            "n": 1,
            "chunk_id": "doc-embargo:3",
            "doc_id": "doc-embargo",
            "source": "corpus/guidance/embargoes.md",
            "version": "2.1",
            "effective_date": "2024-06-01",
        }
    ]
    assert (row["model"], row["prompt_version"]) == ("extractive", "answer-v3")
    assert (row["corpus_hash"], row["rules_hash"]) == ("corpus-abc", "rules-def")
    assert row["latency_ms"] == pytest.approx(12.346) and not row["fallback"]
    assert rows[1]["username"] is None and rows[1]["level"] == "none"
    assert rows[0]["prev_hash"] == audit_mod.GENESIS and rows[1]["prev_hash"] == rows[0]["hash"]
    key = (backend.folder / "audit.key").read_bytes().strip()
    assert rows[1]["hash"] == audit_mod.keyed_hash(rows[1], key) != audit_mod.chain_hash(rows[1])

    result = log.verify()
    assert result.ok and result.records == 2 and result.head_hash == rows[1]["hash"]
    assert result.legacy == 0 and result.anchor == f"seq 2 hash {rows[1]['hash']}"
    assert "intact: 2 records" in result.summary()


def test_from_settings_uses_the_data_dir_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path)
    default = AuditLog.from_settings(settings)
    assert default.url == f"sqlite:///{settings.data_dir / 'audit.sqlite3'}"
    assert default.anchor_path == settings.data_dir / "audit-anchor.json"
    record(default)
    assert (settings.data_dir / "audit.sqlite3").exists()
    assert (settings.data_dir / "audit-anchor.json").exists()
    default.close()

    monkeypatch.setenv("ADVISOR_AUDIT_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    monkeypatch.setenv("ADVISOR_AUDIT_ANCHOR", str(tmp_path / "office" / "anchor.json"))
    monkeypatch.setenv("ADVISOR_AUDIT_KEY", "k" * 32)
    team = AuditLog.from_settings(make_settings(tmp_path))
    assert team.url.endswith("env.sqlite3")
    assert team.anchor_path == tmp_path / "office" / "anchor.json"
    with pytest.raises(StoreError, match="not a SQLAlchemy URL"):
        AuditLog("audit.sqlite3")
    with pytest.raises(StoreError) as exc:
        AuditLog("nosuchdb://u:secret@db/audit", key="k" * 32, anchor=tmp_path / "a.json")
    assert "secret" not in str(exc.value)
    with pytest.raises(StoreError, match="give a key"):
        AuditLog("postgresql+psycopg://u:secret@db/audit")


def test_events_share_the_answers_chain(log: AuditLog) -> None:
    record(log)
    event_id = log.record_event(
        "document_published", {"doc_id": "doc-embargo", "version": "2.1"}, user="officer"
    )
    log.record_event("rules_changed", {"rules_hash": "rules-xyz"})
    record(log)
    assert event_id is not None
    result = log.verify()
    assert result.ok and result.records == 4 and result.kinds == {"answers": 2, "events": 2}
    rows = list(log.export_rows())
    assert rows[1]["kind"] == "event" and rows[1]["event"] == "document_published"
    assert rows[1]["detail"] == {"doc_id": "doc-embargo", "version": "2.1"}
    assert rows[1]["user"] == "officer"
    with pytest.raises(InputError):
        log.record_event("Document Published!", {})
    with pytest.raises(InputError):
        log.record_event("eval_run", "not a dict")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- tampering


def test_the_database_refuses_edits_and_deletions(log: AuditLog, backend: Backend) -> None:
    record(log)
    engine = backend.engine()
    statements = ["UPDATE audit_log SET level = 'none'", "DELETE FROM audit_log"]
    if backend.name == "postgresql":
        statements.append("TRUNCATE audit_log")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql(statement)
    engine.dispose()
    assert log.verify().ok


@pytest.mark.parametrize(
    ("statements", "bad_index", "words"),
    [
        (["UPDATE audit_log SET level = 'none' WHERE seq = 2"], 1, "edited"),
        (["UPDATE audit_log SET flags = '[]' WHERE seq = 3"], 2, "edited"),
        (["UPDATE audit_log SET latency_ms = 'fast' WHERE seq = 4"], 3, "edited"),
        (["DELETE FROM audit_log WHERE seq = 2"], 2, "missing"),
        (["DELETE FROM audit_log WHERE seq = 1"], 1, "missing"),
        (
            # swap the whole content of rows 2 and 3, hashes included
            [
                "UPDATE audit_log SET seq = -2 WHERE seq = 2",
                "UPDATE audit_log SET seq = 2 WHERE seq = 3",
                "UPDATE audit_log SET seq = 3 WHERE seq = -2",
            ],
            2,
            "reordered",
        ),
    ],
    ids=["edit-level", "edit-flags", "edit-type", "delete-middle", "delete-first", "swap"],
)
def test_tampering_is_detected(
    log: AuditLog, backend: Backend, statements: list[str], bad_index: int, words: str
) -> None:
    if backend.name == "postgresql" and "'fast'" in statements[0]:
        statements = ["UPDATE audit_log SET latency_ms = latency_ms + 0.5 WHERE seq = 4"]
    ids = [record(log, f"question {i}") for i in range(4)]
    assert log.verify().ok
    backend.tamper(*statements)
    result = log.verify()
    assert not result.ok
    assert result.first_bad_id == ids[bad_index]
    assert words in (result.problem or "")
    assert "TAMPERED" in result.summary()


def test_rewriting_a_hash_breaks_the_next_link(log: AuditLog, backend: Backend) -> None:
    ids = [record(log, f"question {i}") for i in range(3)]
    row = backend.rows()[0]
    row["question"] = "something harmless"
    key = (backend.folder / "audit.key").read_bytes().strip()
    new_hash = audit_mod.keyed_hash(row, key)  # even with the key, the next link breaks
    backend.tamper(
        f"UPDATE audit_log SET question = 'something harmless', hash = '{new_hash}' WHERE seq = 1",
    )
    result = log.verify()
    assert not result.ok and result.first_bad_id == ids[1] and result.first_bad_seq == 2


# --------------------------------------------------------------------------- feedback


def test_feedback_round_trip_and_filters(log: AuditLog, backend: Backend) -> None:
    havana = record(log, "Can I ship a router to Havana?")
    laptop = record(log, "Can I take my laptop to Germany?", level=Level.REVIEW)
    quiet = record(log, "What is fundamental research?", level=Level.NONE)
    log.add_feedback(havana, "up", None, "alice")
    log.add_feedback(laptop, "down", "wrong level; far too strict for 100% travel", "bob")
    log.add_feedback(quiet, "down", "the cited FAQ is old", "carol", reason="wrong source")

    rows = log.feedback()
    assert [r.record_id for r in rows] == [quiet, laptop, havana]  # newest first
    bob = rows[1]
    assert (bob.rating, bob.reason, bob.comment) == (
        "down",
        "wrong level",
        "far too strict for 100% travel",
    )
    assert (bob.user, bob.question, bob.level) == (
        "bob",
        "Can I take my laptop to Germany?",
        "review",
    )
    assert bob.sources == ["corpus/guidance/embargoes.md"]
    assert bob.citations[0]["version"] == "2.1"
    assert bob.time >= bob.record_time and bob.conversation_id == "conv-1"

    assert {r.user for r in log.feedback(rating="down")} == {"bob", "carol"}
    assert [r.user for r in log.feedback(level="none")] == ["carol"]
    assert [r.user for r in log.feedback(level=Level.PROHIBITED)] == ["alice"]
    assert [r.user for r in log.feedback(contains="LAPTOP")] == ["bob"]
    assert [r.user for r in log.feedback(contains="cited faq")] == ["carol"]
    assert [r.user for r in log.feedback(contains="100%")] == ["bob"]  # % is literal
    assert log.feedback(since="2999-01-01") == []
    assert len(log.feedback(since="2000-01-01")) == 3

    result = log.verify()
    assert result.ok and result.kinds == {"answers": 3, "feedback": 3}
    backend.tamper("UPDATE audit_log SET comment = 'great answer' WHERE kind = 'feedback'")
    assert not log.verify().ok


def test_feedback_input_is_checked(log: AuditLog) -> None:
    answer = record(log)
    event = log.record_event("eval_run", {"cases": 3})
    with pytest.raises(InputError, match="rating"):
        log.add_feedback(answer, "meh")
    with pytest.raises(InputError, match="reason"):
        log.add_feedback(answer, "down", reason="too long")
    with pytest.raises(InputError, match="no answer"):
        log.add_feedback("0" * 32, "up")
    with pytest.raises(InputError, match="no answer"):
        log.add_feedback(str(event), "up")
    with pytest.raises(InputError, match="not an audit record id"):
        log.add_feedback("'; DROP TABLE audit_log; --", "up")
    with pytest.raises(InputError, match="rating"):
        log.feedback(rating="sideways")
    with pytest.raises(InputError, match="level"):
        log.feedback(level="urgent")


# --------------------------------------------------------------------------- export


@pytest.fixture
def timed_log(log: AuditLog, monkeypatch: pytest.MonkeyPatch) -> AuditLog:
    """Three answers on three days, the second with two pieces of feedback."""
    clock = iter(
        f"2025-03-0{day}T10:00:00.00000{n}+00:00" for day, n in [(1, 0), (2, 0), (2, 1), (2, 2)]
    )
    monkeypatch.setattr(audit_mod, "_now", lambda: next(clock))
    record(log, '=HYPERLINK("http://evil")')
    second = record(log, "Can I take my laptop to Germany?", level=Level.REVIEW)
    log.add_feedback(second, "up", None, "alice")
    log.add_feedback(second, "down", "wrong source", "bob")
    monkeypatch.setattr(audit_mod, "_now", lambda: "2025-03-03T09:00:00.000000+00:00")
    record(log, "What is fundamental research?", level=Level.NONE)
    log.record_event("eval_run", {"passed": 41, "failed": 1})
    return log


def test_csv_export_has_a_header_and_feedback_columns(timed_log: AuditLog) -> None:
    out = io.StringIO()
    assert timed_log.export(out, "csv") == 4
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert [r["kind"] for r in rows] == ["answer", "answer", "answer", "event"]
    assert rows[0]["question"] == '\'=HYPERLINK("http://evil")'  # not a live formula
    laptop = rows[1]
    assert laptop["feedback_count"] == "2"
    assert (laptop["feedback_rating"], laptop["feedback_reason"]) == ("down", "wrong source")
    assert laptop["feedback_user"] == "bob" and laptop["fallback"] == "false"
    assert json.loads(laptop["citations"])[0]["chunk_id"] == "doc-embargo:3"
    assert rows[0]["feedback_count"] == "0" and rows[0]["feedback_rating"] == ""


def test_jsonl_export_parses_and_since_filters(timed_log: AuditLog) -> None:
    out = io.StringIO()
    assert timed_log.export(out, "jsonl") == 4
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert rows[0]["question"] == '=HYPERLINK("http://evil")'  # JSON keeps the exact text
    assert rows[1]["flags"][0]["level"] == "prohibited" and rows[1]["fallback"] is False
    assert rows[3]["detail"] == {"passed": 41, "failed": 1}

    out = io.StringIO()
    assert timed_log.export(out, "jsonl", since="2025-03-02") == 3
    assert json.loads(out.getvalue().splitlines()[0])["feedback_count"] == 2
    assert [r["seq"] for r in timed_log.export_rows(since="2025-03-03T08:00:00Z")] == [5, 6]
    assert list(timed_log.export_rows(since=datetime(2025, 3, 4))) == []
    with pytest.raises(InputError, match="--since"):
        timed_log.export_rows(since="last tuesday")


# --------------------------------------------------------------------------- failure


def test_a_broken_store_never_breaks_answering(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    audit = AuditLog(f"sqlite:///{blocker / 'audit.sqlite3'}")
    with caplog.at_level(logging.WARNING, logger="advisor.records.audit"):
        first = record(audit)
        second = record(audit, "Second question")
    assert audit.pending == 2
    assert any("queued for retry" in r.getMessage() for r in caplog.records)
    feedback = audit.add_feedback(first, "down", "wrong level", "bob")  # about a queued answer
    assert feedback is not None and audit.pending == 3
    assert audit.flush() == 3  # still down

    blocker.unlink()  # the store recovers
    assert audit.flush() == 0
    result = audit.verify()
    assert result.ok and result.records == 3
    assert [r["id"] for r in audit.export_rows()] == [first, second]  # ids were final all along
    (row,) = audit.feedback()
    assert (row.record_id, row.reason, row.user) == (first, "wrong level", "bob")
    audit.close()


def test_a_locked_database_queues_then_the_next_write_flushes(db: Path) -> None:
    log = AuditLog(f"sqlite:///{db}", busy_timeout=0.05, retry_after=0.2)
    record(log, "before the lock")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    queued = record(log, "while locked")
    assert log.pending == 1
    record(log, "during the backoff")  # no second wait for the store
    assert time.monotonic() - started < 0.2 and log.pending == 2
    holder.execute("ROLLBACK")
    holder.close()
    time.sleep(0.2)
    after = record(log, "after the lock")
    assert log.pending == 0
    rows = list(log.export_rows())
    assert [r["question"] for r in rows] == [
        "before the lock",
        "while locked",
        "during the backoff",
        "after the lock",
    ]
    assert rows[1]["id"] == queued and rows[3]["id"] == after
    assert log.verify().ok
    log.close()


def test_the_queue_is_bounded_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    audit = AuditLog(f"sqlite:///{blocker / 'audit.sqlite3'}", max_queue=4)
    with caplog.at_level(logging.WARNING, logger="advisor.records.audit"):
        ids = [record(audit, f"q{i}") for i in range(4)]
        dropped = audit.record_answer(
            make_answer("one too many"),
            conversation_id="c",
            user=None,
            corpus_hash="x",
            rules_hash="y",
        )
    assert len(set(ids)) == 4 and dropped is None and audit.pending == 4
    assert any("records waiting" in r.getMessage() for r in caplog.records)
    assert any(
        "NOT kept" in r.getMessage() and "one too many" in r.getMessage() for r in caplog.records
    )


def test_record_answer_swallows_even_its_own_bugs(
    log: AuditLog, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="advisor.records.audit"):
        result = log.record_answer(
            object(),  # type: ignore[arg-type]
            conversation_id="c",
            user=None,
            corpus_hash="x",
            rules_hash="y",
        )
    assert result is None and "could not record" in caplog.text


# --------------------------------------------------------------------------- concurrency


def test_concurrent_writers_keep_one_chain(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    """Two logs with separate in-process locks: only the database transaction (BEGIN IMMEDIATE,
    or PostgreSQL's advisory lock) keeps them from forking the chain."""
    logs = [backend.open(busy_timeout=10) for _ in range(2)]
    logs[1]._lock = threading.Lock()
    record(logs[0], "the first record makes the key file")
    caplog.clear()

    def write(audit: AuditLog, n: int) -> None:
        for i in range(25):
            record(audit, f"writer {n} question {i}")

    threads = [threading.Thread(target=write, args=(logs[n % 2], n)) for n in range(6)]
    with caplog.at_level(logging.WARNING, logger="advisor.records.audit"):
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert [a.flush() for a in logs] == [0, 0]
    assert not caplog.records  # nothing had to be queued
    result = logs[0].verify()
    assert result.ok and result.records == 151 and result.anchor is not None
    assert result.anchor.startswith("seq 151 ")
    for audit in logs:
        audit.close()


WRITER = """
import sys, time
from pathlib import Path
from advisor.records.audit import AuditLog

url, folder, go, tag, count = sys.argv[1:6]
audit = AuditLog(url, key_file=Path(folder) / "audit.key",
                 anchor=Path(folder) / "audit-anchor.json", busy_timeout=30)
while not Path(go).exists():
    time.sleep(0.01)
for i in range(int(count)):
    assert audit.record_event("eval_run", {"writer": tag, "i": i}, user=tag) is not None
    assert audit.pending == 0, "a record had to be queued"
audit.close()
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_two_processes_appending_at_once_keep_one_chain(backend: Backend, tmp_path: Path) -> None:
    """Two OS processes (as two app servers would) append 200 records each at the same time."""
    first = backend.open()
    first.record_event("eval_run", {"writer": "setup"})  # key file and table exist beforehand
    first.close()
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, backend.url, str(backend.folder), str(go), tag, "200"],
            cwd=Path(__file__).resolve().parent.parent.parent,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    time.sleep(1.0)  # both are imported and waiting
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    audit = backend.open()
    result = audit.verify()
    assert result.ok, result.summary()
    assert result.records == 401 and result.anchor == f"seq 401 hash {result.head_hash}"
    writers = [r["detail"]["writer"] for r in audit.export_rows()][1:]
    assert sorted(writers) == ["a"] * 200 + ["b"] * 200
    for tag in ("a", "b"):  # each writer's records in its own order, no gaps in seq
        mine = [r["detail"]["i"] for r in audit.export_rows() if r["detail"]["writer"] == tag]
        assert mine == list(range(200))
    switches = sum(1 for x, y in zip(writers, writers[1:], strict=False) if x != y)
    assert switches >= 2, "the two writers did not overlap, so the test proved nothing"
    audit.close()


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ADVISOR_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data" / "audit.sqlite3"


def test_cli_verify(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify"]) == 0
    assert "0 records" in capsys.readouterr().out
    assert not env.exists()  # verifying creates nothing

    audit = AuditLog(f"sqlite:///{env}")
    ids = [record(audit, f"q{i}") for i in range(3)]
    audit.close()
    assert main(["audit", "verify"]) == 0
    assert "intact: 3 records (3 answers)" in capsys.readouterr().out

    assert main(["audit", "anchor"]) == 0
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(r"3:[0-9a-f]{64}", line)
    assert main(["audit", "verify", "--expect", line]) == 0
    capsys.readouterr()

    tamper(env, "UPDATE audit_log SET answer = 'Yes, ship it.' WHERE seq = 2")
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "TAMPERED at seq 2" in out and ids[1] in out


def test_cli_export(env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    audit = AuditLog(f"sqlite:///{env}")
    answer = record(audit)
    audit.add_feedback(answer, "down", "wrong level", None)
    audit.close()

    assert main(["audit", "export", "--format", "jsonl"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["feedback_reason"] == "wrong level"

    assert main(["audit", "export", "--since", "2000-01-01"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 1 and rows[0]["id"] == answer

    out = tmp_path / "office.csv"
    assert main(["audit", "export", "--since", "2999-01-01", "--out", str(out)]) == 0
    assert "wrote 0 records" in capsys.readouterr().err
    assert out.read_text().strip().split(",") == list(EXPORT_COLUMNS)


def test_cli_export_bad_date_and_env_url(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "export", "--since", "31/01/2025"]) == 2
    err = capsys.readouterr().err
    assert "advisor: error:" in err and "2025-01-31" in err and "Traceback" not in err

    elsewhere = tmp_path / "team.sqlite3"
    monkeypatch.setenv("ADVISOR_AUDIT_URL", f"sqlite:///{elsewhere}")
    audit = AuditLog.from_settings(make_settings(tmp_path))
    record(audit)
    audit.close()
    assert main(["audit", "verify"]) == 0
    assert "1 records" in capsys.readouterr().out
    assert elsewhere.exists() and not env.exists()


# --------------------------------------------------------------------------- channels

# The fields a record's hash covered before the channel column existed.
HASHED_BEFORE_CHANNELS = tuple(n for n in audit_mod.HASHED if n != "channel")


def hashed_before_channels(row: dict, key: bytes) -> str:
    """A record's hash exactly as the version before channels computed it."""
    payload = {name: row.get(name) for name in HASHED_BEFORE_CHANNELS}
    for name in ("in_scope", "fallback"):
        if payload[name] is not None:
            payload[name] = bool(payload[name])
    if payload["latency_ms"] is not None:
        payload["latency_ms"] = f"{float(payload['latency_ms']):.3f}"
    text = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return mac(key, text.encode("utf-8", "surrogatepass"))


def columns(backend: Backend) -> set[str]:
    engine = backend.engine()
    names = {c["name"] for c in inspect(engine).get_columns("audit_log")}
    engine.dispose()
    return names


def test_the_channel_is_stored_read_back_and_covered_by_the_hash(
    log: AuditLog, backend: Backend
) -> None:
    asked = [
        log.record_answer(
            make_answer(),
            conversation_id="c",
            user=None,
            corpus_hash="x",
            rules_hash="y",
            channel=channel,
        )
        for channel in ("ui", "api", "cli", "mcp")
    ]
    plain = record(log)  # the old call, without a channel
    rows = backend.rows()
    assert [r["id"] for r in rows] == [*asked, plain]
    assert [r["channel"] for r in rows] == ["ui", "api", "cli", "mcp", None]
    key = (backend.folder / "audit.key").read_bytes().strip()
    assert rows[4]["hash"] == hashed_before_channels(rows[4], key)  # no channel: old format
    assert rows[0]["hash"] != hashed_before_channels(rows[0], key)  # the channel is hashed
    assert log.verify().ok

    backend.tamper("UPDATE audit_log SET channel = 'ui' WHERE seq = 3")
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 3 and result.first_bad_id == asked[2]
    backend.tamper("UPDATE audit_log SET channel = 'cli' WHERE seq = 3")
    assert log.verify().ok
    backend.tamper("UPDATE audit_log SET channel = 'api' WHERE seq = 5")  # one added later
    assert log.verify().first_bad_seq == 5


def test_an_unknown_channel_is_a_callers_bug(log: AuditLog) -> None:
    with pytest.raises(InputError, match="channel must be one of ui, api, cli, mcp"):
        log.record_answer(
            make_answer(),
            conversation_id="c",
            user=None,
            corpus_hash="x",
            rules_hash="y",
            channel="email",  # type: ignore[arg-type]
        )


def test_a_log_written_before_channels_still_opens_verifies_and_takes_them(
    backend: Backend,
) -> None:
    """A store of the version before channels: no channel column, each hash over the old
    fields. Reading leaves it as it is; the first write adds the column, nothing else."""
    old = backend.open()
    first = [record(old, f"q{i}") for i in range(2)]
    old.record_event("eval_run", {"run": 1})
    feedback = old.add_feedback(first[0], "down", "wrong level", None)
    old.close()
    engine = backend.engine()
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE audit_log DROP COLUMN channel")
    engine.dispose()
    assert "channel" not in columns(backend)
    key = (backend.folder / "audit.key").read_bytes().strip()
    before = backend.rows()
    assert all(r["hash"] == hashed_before_channels(r, key) for r in before)

    log = backend.open()
    result = log.verify()
    assert result.ok and result.records == 4, result.summary()
    assert len(list(log.export_rows())) == 3 and log.feedback()[0].id == feedback
    old_answer = log.answer(first[0])
    assert old_answer is not None and old_answer.channel is None
    assert [a.id for a in log.conversation("conv-1")] == first
    assert [e.event for e in log.events()] == ["eval_run"]
    assert "channel" not in columns(backend)  # verify, export and review changed nothing

    new = log.record_answer(
        make_answer("q2"),
        conversation_id="c",
        user=None,
        corpus_hash="x",
        rules_hash="y",
        channel="cli",
    )
    log.close()
    after = backend.rows()
    assert "channel" in columns(backend)
    assert [{k: v for k, v in r.items() if k != "channel"} for r in after[:4]] == before
    assert [r["channel"] for r in after] == [None, None, None, None, "cli"]
    assert after[4]["id"] == new
    with backend.open() as again:
        result = again.verify()
    assert result.ok and result.records == 5 and result.head_hash == after[4]["hash"]


# --------------------------------------------------------------------------- reading back


def test_answers_conversations_and_events_read_back(log: AuditLog, backend: Backend) -> None:
    """What the feedback review opens: one answer, its conversation in order, and events."""
    assert log.answer("0" * 32) is None and log.conversation("c-a") == [] and log.events() == []

    def ask(question: str, conversation: str, channel: str) -> str:
        record_id = log.record_answer(
            make_answer(question),
            conversation_id=conversation,
            user="dora",
            corpus_hash="x",
            rules_hash="y",
            channel=channel,  # type: ignore[arg-type]
        )
        assert record_id is not None
        return record_id

    a1 = ask("Can I ship a router to Havana?", "c-a", "ui")
    b1 = ask("Unrelated question", "c-b", "mcp")
    log.record_event("document_published", {"source": "corpus/uploads/x.md"}, "alice")
    a2 = ask("And what about a laptop?", "c-a", "ui")
    log.add_feedback(a2, "down", "wrong level", "dora")
    log.record_event("rules_changed", {"file": "rules.yaml"}, "bob")

    got = log.answer(a2)
    assert got is not None
    assert (got.id, got.seq, got.conversation_id, got.channel, got.user) == (
        a2,
        4,
        "c-a",
        "ui",
        "dora",
    )
    assert got.question == "And what about a laptop?" and got.answer.startswith("No: Cuba")
    assert (got.level, got.in_scope, got.model, got.fallback) == (
        "prohibited",
        True,
        "extractive",
        False,
    )
    assert got.flags[0]["citation"] == "15 CFR 746.2"
    assert got.citations[0]["chunk_id"] == "doc-embargo:3"
    assert datetime.fromisoformat(got.time).utcoffset() == UTC.utcoffset(None)
    assert [a.id for a in log.conversation("c-a")] == [a1, a2]  # in order, answers only
    assert [a.id for a in log.conversation("c-b")] == [b1]
    assert log.conversation("") == [] and log.conversation("nobody") == []
    assert log.answer(b1) is not None and log.answer(b1).channel == "mcp"  # type: ignore[union-attr]
    feedback_id = log.feedback()[0].id
    assert log.answer(feedback_id) is None  # a feedback record is not an answer
    with pytest.raises(InputError, match="not an audit record id"):
        log.answer("'; DROP TABLE audit_log; --")

    events = log.events()
    assert [(e.event, e.user, e.seq) for e in events] == [
        ("document_published", "alice", 3),
        ("rules_changed", "bob", 6),
    ]
    assert events[0].detail == {"source": "corpus/uploads/x.md"}
    assert [e.event for e in log.events(["rules_changed"])] == ["rules_changed"]
    assert log.events([]) == []
    assert log.verify().ok  # reading changed nothing


def test_reading_an_absent_store_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "never-written.sqlite3"
    with AuditLog(f"sqlite:///{db}") as log:
        assert log.answer("a" * 32) is None
        assert log.conversation("c") == [] and log.events() == []
    assert not db.exists()


def test_the_csv_export_has_the_channel(log: AuditLog) -> None:
    """The known gap: answers were recorded with their channel, but the export dropped it."""
    for channel in ("ui", "mcp", None):
        log.record_answer(
            make_answer(),
            conversation_id="c",
            user=None,
            corpus_hash="x",
            rules_hash="y",
            channel=channel,  # type: ignore[arg-type]
        )
    log.record_event("eval_run", {"passed": 1})
    assert EXPORT_COLUMNS.index("channel") == EXPORT_COLUMNS.index("conversation_id") + 1
    out = io.StringIO()
    assert log.export(out, "csv") == 4
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["channel"] for r in rows] == ["ui", "mcp", "", ""]
    lines = [json.loads(line) for line in _jsonl(log).splitlines()]
    assert [r["channel"] for r in lines] == ["ui", "mcp", None, None]


def _jsonl(log: AuditLog) -> str:
    out = io.StringIO()
    log.export(out, "jsonl")
    return out.getvalue()
