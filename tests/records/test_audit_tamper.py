"""Every way the issue found to make `advisor audit verify` say "intact" after records were
removed or rewritten, done for real to SQLite files, plus the legacy migration, the key file
and the anchor. Each case must make `verify` exit 1 with a message that says what happened."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert

import advisor.records.audit as audit_mod
from advisor.cli import main
from advisor.errors import StoreError
from advisor.records.audit import AuditLog
from advisor.records.keys import AuditKey
from tests.conftest import make_settings
from tests.records.test_audit import record, tamper

COUNT = 20


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("ADVISOR_DATA_DIR", str(folder))
    return folder


def db_of(data: Path) -> Path:
    return data / "audit.sqlite3"


def write(data: Path, n: int, prefix: str = "q") -> list[str]:
    with AuditLog(f"sqlite:///{db_of(data)}") as audit:
        return [record(audit, f"{prefix}{i}") for i in range(n)]


def verify_cli(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["audit", "verify", *extra])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out + captured.err


def rows_of(db: Path) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute("SELECT * FROM audit_log ORDER BY seq")]
    conn.close()
    return rows


def rechain_plain(
    db: Path,
    from_seq: int,
    edit: dict[str, object],
    to_seq: int | None = None,
    hasher: Callable[[dict], str] = audit_mod.chain_hash,
) -> None:
    """An edit re-chained with the public, unkeyed chain_hash (what the old version allowed),
    or with ``hasher``."""
    rows = rows_of(db)
    prev = audit_mod.GENESIS if from_seq == 1 else rows[from_seq - 2]["hash"]
    updates = []
    for row in rows[from_seq - 1 : to_seq]:
        if row["seq"] == from_seq:
            row.update(edit)
        row["prev_hash"] = prev
        row["hash"] = prev = hasher(row)
        updates.append(row)
    statements = [
        "UPDATE audit_log SET "
        + ", ".join(
            f"{k} = {_sql(row[k])}" for k in ("question", "level", "detail", "prev_hash", "hash")
        )
        + f" WHERE seq = {row['seq']}"
        for row in updates
    ]
    tamper(db, *statements)


def _sql(value: object) -> str:
    return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"


def remove_db(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)


# --------------------------------------------------------------------------- the cases


def delete_file(data: Path) -> None:
    remove_db(db_of(data))


def drop_table(data: Path) -> None:
    tamper(db_of(data), "DROP TABLE audit_log")


def delete_all(data: Path) -> None:
    tamper(db_of(data), "DELETE FROM audit_log")


def delete_last(data: Path) -> None:
    tamper(db_of(data), f"DELETE FROM audit_log WHERE seq = {COUNT}")


def delete_last_ten(data: Path) -> None:
    tamper(db_of(data), f"DELETE FROM audit_log WHERE seq > {COUNT - 10}")


def delete_middle(data: Path) -> None:
    tamper(db_of(data), "DELETE FROM audit_log WHERE seq BETWEEN 5 AND 7")


def edit_row(data: Path) -> None:
    tamper(db_of(data), "UPDATE audit_log SET level = 'none' WHERE seq = 8")


def rechain_without_key(data: Path) -> None:
    rechain_plain(db_of(data), 8, {"level": "none", "question": "harmless"})


def rechain_everything_without_key(data: Path) -> None:
    rechain_plain(db_of(data), 1, {"level": "none"})


def replace_with_other_log(data: Path) -> None:
    """A complete, valid chain made with the same key but other content swapped in."""
    other = data / "other.sqlite3"
    with AuditLog(
        f"sqlite:///{other}", key_file=data / "audit.key", anchor=data / "other-anchor.json"
    ) as audit:
        for i in range(COUNT):
            record(audit, f"something else {i}")
    remove_db(db_of(data))
    shutil.move(other, db_of(data))


def restore_old_backup(data: Path) -> None:
    backup = data / "backup.sqlite3"
    remove_db(db_of(data))
    shutil.copy(backup, db_of(data))


def restore_old_anchor(data: Path) -> None:
    shutil.copy(data / "backup-anchor.json", data / "audit-anchor.json")


def edit_anchor(data: Path) -> None:
    anchor = json.loads((data / "audit-anchor.json").read_text())
    rows = rows_of(db_of(data))
    anchor.update(seq=10, hash=rows[9]["hash"])  # claims a shorter log, without the key
    (data / "audit-anchor.json").write_text(json.dumps(anchor))
    tamper(db_of(data), "DELETE FROM audit_log WHERE seq > 10")


def delete_anchor(data: Path) -> None:
    (data / "audit-anchor.json").unlink()


def change_key(data: Path) -> None:
    (data / "audit.key").write_text("another key of enough length\n")


CASES: list[tuple[str, Callable[[Path], None], str]] = [
    ("delete-file", delete_file, "does not exist, but the anchor says 20 records"),
    ("drop-table", drop_table, "audit_log table is missing"),
    ("delete-all", delete_all, "the audit log is empty, but the anchor says 20 records"),
    ("delete-last", delete_last, "1 record(s) were removed from the end"),
    ("delete-last-ten", delete_last_ten, "10 record(s) were removed from the end"),
    ("delete-middle", delete_middle, "a record is missing"),
    ("edit", edit_row, "the record was edited"),
    ("rechain-without-key", rechain_without_key, "re-chained by someone without the audit key"),
    ("rechain-all-without-key", rechain_everything_without_key, "the log was rewritten"),
    ("other-log-same-key", replace_with_other_log, "the log was rewritten"),
    ("old-backup", restore_old_backup, "10 record(s) were removed from the end"),
    ("old-anchor", restore_old_anchor, "continues past its anchor"),
    ("edited-anchor", edit_anchor, "not written with this audit key"),
    ("deleted-anchor", delete_anchor, "anchor"),
    ("other-key", change_key, "edited (or the audit key changed)"),
]


@pytest.mark.parametrize(("how", "words"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_verify_fails_on_every_tampering(
    data: Path, how: Callable[[Path], None], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write(data, COUNT // 2)
    shutil.copy(db_of(data), data / "backup.sqlite3")  # WAL is checkpointed on close
    shutil.copy(data / "audit-anchor.json", data / "backup-anchor.json")
    write(data, COUNT - COUNT // 2, prefix="later ")
    code, out = verify_cli(capsys)
    assert code == 0 and f"intact: {COUNT} records" in out

    how(data)
    code, out = verify_cli(capsys)
    assert code == 1, out
    assert words in out
    assert "TAMPERED" in out or "NOT VERIFIED" in out


def test_deleted_anchor_is_named(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(data, 3)
    (data / "audit-anchor.json").unlink()
    code, out = verify_cli(capsys)
    assert code == 1 and "audit-anchor.json is missing although the log has keyed records" in out


def test_the_office_copy_of_the_head_catches_what_the_anchor_cannot(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Deleting the database and its anchor together looks like a new install; the head the
    office wrote down (`advisor audit anchor`) is what still says records existed."""
    write(data, 5)
    assert main(["audit", "anchor"]) == 0
    office = capsys.readouterr().out.strip()
    delete_file(data)
    delete_anchor(data)
    assert verify_cli(capsys)[0] == 0  # nothing on this server contradicts it
    code, out = verify_cli(capsys, "--expect", office)
    assert code == 1 and "but the expected head says 5 records" in out
    assert main(["audit", "verify", "--expect", "5:nothex"]) == 2
    assert "SEQ:HASH" in capsys.readouterr().err


def test_a_rewrite_by_a_key_holder_is_caught_by_the_office_copy(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(data, 5)
    main(["audit", "anchor"])
    office = capsys.readouterr().out.strip()
    write(data, 5, prefix="after ")
    assert verify_cli(capsys, "--expect", office)[0] == 0  # the log grew since: fine
    # Someone who also has the key (it sits in the data folder) re-chains and re-anchors.
    key = (data / "audit.key").read_bytes().strip()
    rechain_plain(db_of(data), 3, {"level": "none"}, hasher=lambda r: audit_mod.keyed_hash(r, key))
    delete_anchor(data)
    assert main(["audit", "anchor", "--reset"]) == 0
    assert verify_cli(capsys)[0] == 0  # consistent with itself and with the new anchor
    code, out = verify_cli(capsys, "--expect", office)
    assert code == 1 and "the record at seq 5 is not the one the expected head names" in out


# --------------------------------------------------------------------------- legacy records


def legacy_log(db: Path, n: int) -> list[str]:
    """A log as the previous version wrote it: the same table, plain SHA-256 hashes."""
    engine = create_engine(f"sqlite:///{db}")
    audit_mod.metadata.create_all(engine)
    prev, rows = audit_mod.GENESIS, []
    for seq in range(1, n + 1):
        entry = audit_mod._entry("event", event="eval_run", detail=json.dumps({"run": seq}))
        row = {**entry, "seq": seq, "prev_hash": prev}
        row["hash"] = prev = audit_mod.chain_hash(row)
        rows.append(row)
    with engine.begin() as conn:
        conn.execute(insert(audit_mod.audit_log), rows)
    engine.dispose()
    return [r["id"] for r in rows]


def test_legacy_records_verify_and_are_pinned_by_the_first_keyed_write(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data.mkdir()
    legacy_log(db_of(data), 5)
    code, out = verify_cli(capsys)
    assert code == 0 and "intact: 5 records" in out
    assert "5 legacy records (seq 1-5)" in out and "not yet pinned" in out
    assert not (data / "audit-anchor.json").exists()

    new = write(data, 2)
    rows = rows_of(db_of(data))
    assert [r["seq"] for r in rows] == list(range(1, 9))
    marker = rows[5]
    assert (marker["kind"], marker["event"]) == ("event", "audit_chain_keyed")
    assert json.loads(marker["detail"]) == {"legacy_records": 5, "legacy_head": rows[4]["hash"]}
    assert [r["id"] for r in rows[6:]] == new
    with AuditLog(f"sqlite:///{db_of(data)}") as audit:
        result = audit.verify()
        assert result.ok and result.legacy == 5 and result.records == 8
        assert audit.current_anchor() is not None and audit.current_anchor().seq == 8  # type: ignore[union-attr]
    code, out = verify_cli(capsys)
    assert code == 0 and "pinned by the keyed records after them" in out

    # Re-chaining a legacy record with the public hash breaks the link the keyed record holds.
    rechain_plain(db_of(data), 2, {"detail": "{}"}, to_seq=5)
    code, out = verify_cli(capsys)
    assert code == 1 and "TAMPERED at seq 6" in out and "prev_hash" in out


def test_an_edited_legacy_record_is_caught_before_any_keyed_write(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data.mkdir()
    ids = legacy_log(db_of(data), 4)
    tamper(db_of(data), "UPDATE audit_log SET detail = '{}' WHERE seq = 3")
    code, out = verify_cli(capsys)
    assert code == 1 and f"TAMPERED at seq 3 (record {ids[2]})" in out


# --------------------------------------------------------------------------- the key


def test_a_generated_key_is_private_and_made_once(
    data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="advisor.records.audit"):
        write(data, 1)
        write(data, 1)
    key_file = data / "audit.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) == 64
    warnings = [r.getMessage() for r in caplog.records if "ADVISOR_AUDIT_KEY" in r.getMessage()]
    assert len(warnings) == 1 and str(key_file) in warnings[0]
    assert "should set its own ADVISOR_AUDIT_KEY" in warnings[0]


def test_racing_processes_end_up_with_one_key(tmp_path: Path) -> None:
    keys: list[bytes | None] = []
    barrier = threading.Barrier(8)

    def make() -> None:
        source = AuditKey(None, tmp_path / "audit.key")  # one per "process": no shared lock
        barrier.wait()
        keys.append(source.get(create=True))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1 and keys[0] is not None
    assert [p.name for p in tmp_path.iterdir()] == ["audit.key"]  # no temporary files left


def test_the_key_setting_is_used_and_checked(
    data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ADVISOR_AUDIT_KEY", "our office's own audit secret")
    with AuditLog.from_settings(make_settings(data.parent)) as audit:
        record(audit)
    assert not (data / "audit.key").exists()
    assert verify_cli(capsys)[0] == 0
    monkeypatch.setenv("ADVISOR_AUDIT_KEY", "a different secret, long enough")
    code, out = verify_cli(capsys)
    assert code == 1 and "audit key changed" in out
    monkeypatch.setenv("ADVISOR_AUDIT_KEY", "short")
    assert main(["audit", "verify"]) == 2
    assert "at least 16 characters" in capsys.readouterr().err


def test_without_the_key_a_keyed_log_cannot_be_verified(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(data, 2)
    (data / "audit.key").unlink()
    assert main(["audit", "verify"]) == 2
    err = capsys.readouterr().err
    assert "no audit key" in err and "ADVISOR_AUDIT_KEY" in err


# --------------------------------------------------------------------------- the anchor


def test_the_anchor_follows_every_append(data: Path) -> None:
    with AuditLog(f"sqlite:///{db_of(data)}") as audit:
        for n in range(1, 6):
            record(audit, f"q{n}")
            anchor = audit.current_anchor()
            assert anchor is not None and anchor.seq == n
            assert anchor.hash == rows_of(db_of(data))[-1]["hash"]
            assert anchor.valid((data / "audit.key").read_bytes().strip())
    stored = json.loads((data / "audit-anchor.json").read_text())
    assert set(stored) == {"version", "store", "seq", "hash", "written_at", "mac"}
    assert not [p for p in data.iterdir() if p.name.startswith(".")]  # no temporary files


def test_writes_after_a_cut_keep_the_anchor_as_evidence(
    data: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    write(data, 10)
    before = (data / "audit-anchor.json").read_text()
    tamper(db_of(data), "DELETE FROM audit_log WHERE seq > 7")
    with caplog.at_level(logging.ERROR, logger="advisor.records.audit"):
        kept = write(data, 4, prefix="after the cut ")
    assert (data / "audit-anchor.json").read_text() == before
    assert [r["id"] for r in rows_of(db_of(data))[7:]] == kept  # the new answers are not lost
    assert sum("kept as evidence" in r.getMessage() for r in caplog.records) == 1
    code, out = verify_cli(capsys)
    assert code == 1 and "the record at seq 10 is not the one the anchor names" in out


def test_a_dropped_table_is_created_again_and_nothing_new_is_lost(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = AuditLog(f"sqlite:///{db_of(data)}")
    for i in range(10):
        record(audit, f"q{i}")
    drop_table(data)
    after = record(audit, "asked after the drop")
    assert audit.flush() == 0
    assert [r["id"] for r in rows_of(db_of(data))] == [after]
    assert audit.current_anchor().seq == 10  # type: ignore[union-attr]
    audit.close()
    code, out = verify_cli(capsys)
    assert code == 1 and "the log ends at seq 1, but the anchor says seq 10" in out


def test_anchor_reset_after_an_explained_restore(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(data, 4)
    shutil.copy(db_of(data), data / "backup.sqlite3")
    write(data, 3)
    restore_old_backup(data)
    assert verify_cli(capsys)[0] == 1

    assert main(["audit", "anchor", "--reset"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("5:")  # the four restored records and the reset event
    code, out = verify_cli(capsys)
    assert code == 0 and "intact: 5 records" in out
    with AuditLog(f"sqlite:///{db_of(data)}") as audit:
        (event,) = [r for r in audit.export_rows() if r["event"] == "audit_anchor_reset"]
    assert event["detail"]["replaced"]["seq"] == 7 and event["detail"]["head_seq"] == 4

    rechain_plain(db_of(data), 2, {"level": "none"})
    assert main(["audit", "anchor", "--reset"]) == 2  # a broken chain is never re-anchored
    assert "the chain itself is broken" in capsys.readouterr().err


def test_anchor_command_output(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "anchor"]) == 1
    assert "no anchor" in capsys.readouterr().out
    write(data, 2)
    assert main(["audit", "anchor", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["seq"] == 2 and shown["hash"] == rows_of(db_of(data))[-1]["hash"]
    (data / "audit-anchor.json").write_text("{not json")
    assert main(["audit", "anchor"]) == 2
    assert "not an anchor file" in capsys.readouterr().err
    code, out = verify_cli(capsys)
    assert code == 1 and "not an anchor file" in out


def test_an_unreadable_store_is_an_error_not_a_verdict(tmp_path: Path) -> None:
    audit = AuditLog(
        "postgresql+psycopg://nobody@127.0.0.1:1/none",
        key="k" * 20,
        anchor=tmp_path / "a.json",
        busy_timeout=0.5,
    )
    with pytest.raises(StoreError, match="cannot read the audit log"):
        audit.verify()
