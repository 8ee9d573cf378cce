"""The conversation store on real SQLite files: owners never meet, newest first, delete,
a damaged, locked or newer file is a clear HistoryError, and threads saving at once (as the
queue's workers do) lose nothing."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from advisor.errors import StoreError
from advisor.models import Answer, Level
from advisor.services.conversations import (
    FILE_NAME,
    ConversationStore,
    HistoryError,
    new_browser_key,
    owner_key,
    title_for,
    valid_browser_key,
)
from tests.conftest import make_settings
from tests.ui.render.test_chat import sample_answer

ALICE, BOB = "user:alice", "browser:" + "b" * 32


class Ticking:
    """A clock that moves one minute per reading, so order never depends on timing."""

    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def answer(question: str, level: Level = Level.ESCALATE) -> Answer:
    return sample_answer().model_copy(update={"question": question, "level": level})


def messages(*questions: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for q in questions:
        out += [
            {"role": "user", "content": q},
            {"role": "assistant", "content": f"answer to {q}"},
            {"role": "assistant", "content": "src", "metadata": {"title": "Sources (1)"}},
        ]
    return out


@pytest.fixture
def store(tmp_path: Path) -> ConversationStore:
    return ConversationStore(tmp_path / "data" / FILE_NAME, clock=Ticking())


def save(store: ConversationStore, owner: str, cid: str, *questions: str) -> None:
    records = {str(3 * i + k): f"rec-{cid}-{i}" for i in range(len(questions)) for k in (1, 2)}
    store.save(owner, cid, [answer(q) for q in questions], messages(*questions), records)


def test_a_saved_conversation_comes_back_whole(store: ConversationStore) -> None:
    assert not store.path.exists()  # a missing file is created on first use
    save(store, ALICE, "c1", "Can I ship a router to Havana?", "And a laptop?")
    assert store.path.exists()
    saved = store.open(ALICE, "c1")
    assert saved is not None
    assert saved.id == "c1" and saved.owner == ALICE
    assert saved.title == "Can I ship a router to Havana?"
    assert [a.question for a in saved.answers] == [
        "Can I ship a router to Havana?",
        "And a laptop?",
    ]
    assert saved.answers[0] == answer("Can I ship a router to Havana?")
    assert saved.messages == messages("Can I ship a router to Havana?", "And a laptop?")
    assert saved.records == {"1": "rec-c1-0", "2": "rec-c1-0", "4": "rec-c1-1", "5": "rec-c1-1"}
    assert saved.created < saved.updated or saved.created == saved.updated


def test_continuing_keeps_created_and_moves_it_to_the_top(store: ConversationStore) -> None:
    save(store, ALICE, "old", "First question about Cuba")
    save(store, ALICE, "new", "Second question about Iran")
    assert [s.id for s in store.recent(ALICE)] == ["new", "old"]
    created = store.open(ALICE, "old").created  # type: ignore[union-attr]
    save(store, ALICE, "old", "First question about Cuba", "A follow-up")
    listed = store.recent(ALICE)
    assert [(s.id, s.answers) for s in listed] == [("old", 2), ("new", 1)]
    assert listed[0].created == created and listed[0].updated > created
    assert listed[0].title == "First question about Cuba"
    assert store.recent(ALICE, limit=1)[0].id == "old"


def test_owners_never_see_or_delete_each_others_conversations(store: ConversationStore) -> None:
    save(store, ALICE, "alice-1", "Alice asks about Crimea")
    save(store, BOB, "bob-1", "Bob asks about Syria")
    assert [s.id for s in store.recent(ALICE)] == ["alice-1"]
    assert [s.id for s in store.recent(BOB)] == ["bob-1"]
    assert store.open(BOB, "alice-1") is None
    assert store.delete(BOB, "alice-1") is False
    assert store.open(ALICE, "alice-1") is not None
    # An id held by another owner is refused, never overwritten.
    with pytest.raises(HistoryError, match="already in use"):
        save(store, BOB, "alice-1", "Bob tries to take it over")
    assert store.open(ALICE, "alice-1").title == "Alice asks about Crimea"  # type: ignore[union-attr]
    assert store.recent("user:carol") == []


def test_delete_removes_only_that_conversation(store: ConversationStore) -> None:
    save(store, ALICE, "a", "One")
    save(store, ALICE, "b", "Two")
    assert store.delete(ALICE, "a") is True
    assert store.open(ALICE, "a") is None
    assert [s.id for s in store.recent(ALICE)] == ["b"]
    assert store.delete(ALICE, "a") is False


def test_a_damaged_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    path.write_bytes(b"this is not a database, just some bytes " * 200)
    store = ConversationStore(path)
    for call in (
        lambda: store.recent(ALICE),
        lambda: save(store, ALICE, "c", "Q"),
        lambda: store.open(ALICE, "c"),
        lambda: store.delete(ALICE, "c"),
    ):
        with pytest.raises(HistoryError, match="is damaged .*move the file aside") as caught:
            call()
        assert str(path) in str(caught.value) and isinstance(caught.value, StoreError)


def test_a_damaged_row_is_named_and_the_rest_still_lists(store: ConversationStore) -> None:
    save(store, ALICE, "good", "A good one")
    save(store, ALICE, "bad", "A broken one")
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE conversations SET answers = '[{\"nope\": 1}]' WHERE id = 'bad'")
    with pytest.raises(HistoryError, match='"A broken one" cannot be read'):
        store.open(ALICE, "bad")
    assert [s.id for s in store.recent(ALICE)] == ["bad", "good"]
    assert store.open(ALICE, "good") is not None
    assert store.delete(ALICE, "bad") is True


def test_a_locked_file_is_a_clear_error_and_reading_still_works(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / FILE_NAME, timeout=0.2)
    save(store, ALICE, "c1", "Before the lock")
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(
            HistoryError, match=r"is busy \(locked by another writer for over 0.2 s"
        ):
            save(store, ALICE, "c2", "During the lock")
        with pytest.raises(HistoryError, match="busy"):
            store.delete(ALICE, "c1")
        assert [s.id for s in store.recent(ALICE)] == ["c1"]  # WAL: readers do not wait
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    save(store, ALICE, "c2", "After the lock")
    assert [s.id for s in store.recent(ALICE)] == ["c2", "c1"]


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(HistoryError, match="newer version"):
        ConversationStore(path).recent(ALICE)


def test_threads_saving_at_once_lose_nothing(tmp_path: Path) -> None:
    """Eight writers (more than the queue's four) each save their own conversation turn by
    turn and all of them continue one shared conversation of the same owner."""
    store = ConversationStore(tmp_path / FILE_NAME)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        try:
            start.wait()
            for turn in range(1, 11):
                questions = [f"writer {n} question {t}" for t in range(turn)]
                save(store, ALICE, f"w{n}", *questions)
                save(store, ALICE, "shared", f"shared by {n}", *questions)
                store.recent(ALICE)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    listed = {s.id: s.answers for s in store.recent(ALICE)}
    assert listed == {**{f"w{n}": 10 for n in range(8)}, "shared": 11}
    for n in range(8):
        saved = store.open(ALICE, f"w{n}")
        assert saved is not None and len(saved.messages) == 30
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_conversation_too_long_or_empty_is_refused(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / FILE_NAME, max_bytes=5_000)
    with pytest.raises(HistoryError, match="too long to save"):
        store.save(ALICE, "c", [answer("q")], [{"role": "user", "content": "x" * 6000}], {})
    with pytest.raises(HistoryError, match="empty conversation"):
        store.save(ALICE, "c", [], [], {})
    assert store.recent(ALICE) == []


def test_from_settings_puts_it_in_the_data_dir(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert ConversationStore.from_settings(settings).path == settings.data_dir / FILE_NAME


def test_owner_keys_and_titles() -> None:
    key = new_browser_key()
    assert valid_browser_key(key) and key != new_browser_key()
    assert owner_key("alice", key) == "user:alice"  # a login wins over the browser
    assert owner_key(None, key) == f"browser:{key}"
    for bad in (None, "", "short", "Z" * 32, key + "0", 12, {"key": key}):
        assert owner_key(None, bad) is None, bad
    assert title_for("  Can I   ship\na router? ") == "Can I ship a router?"
    long = title_for("May my Iranian postdoc see this sponsor's encryption code and our notes?")
    assert long == "May my Iranian postdoc see this sponsor's encryption code…"
    assert len(long) <= 60
    assert title_for("") == "Untitled conversation"
