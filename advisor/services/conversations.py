"""Saved chat conversations, so a reload (or another day) does not lose them.

Each conversation belongs to one owner: ``user:<name>`` when the app runs with logins,
``browser:<key>`` otherwise (a random key the browser keeps). Every read, write and delete
names the owner, so nobody reaches another owner's conversations. The store is one SQLite
file in the data dir, opened per call in WAL mode: the queue's workers (threads) and other
app processes on the same data dir write one after another, never over each other. A locked
or damaged file is a ``HistoryError`` naming the file; the chat goes on answering without it.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from advisor.errors import StoreError
from advisor.models import Answer
from advisor.settings import Settings

FILE_NAME = "conversations.sqlite3"
SCHEMA_VERSION = 1
TITLE_CHARS = 60
LISTED = 100  # newest conversations listed; older ones stay stored
MAX_BYTES = 10_000_000  # one conversation's JSON; a transcript this long is not a chat
_BROWSER_KEY = re.compile(r"[0-9a-f]{32}")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    answer_count INTEGER NOT NULL,
    answers TEXT NOT NULL,
    messages TEXT NOT NULL,
    records TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_owner ON conversations (owner, updated);
"""
_UPSERT = """
INSERT INTO conversations
    (id, owner, title, created, updated, answer_count, answers, messages, records)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    title = excluded.title, updated = excluded.updated, answer_count = excluded.answer_count,
    answers = excluded.answers, messages = excluded.messages, records = excluded.records
WHERE conversations.owner = excluded.owner
"""


class HistoryError(StoreError):
    """The conversation history cannot be read or written (locked, damaged, too large)."""


def new_browser_key() -> str:
    """A browser's key: 128 random bits, the only thing that ties a browser to its history."""
    return secrets.token_hex(16)


def valid_browser_key(key: object) -> bool:
    return isinstance(key, str) and _BROWSER_KEY.fullmatch(key) is not None


def owner_key(user: str | None, browser: object) -> str | None:
    """Whose history it is: the logged-in user, else the browser; None when neither is known
    (a browser whose page has not loaded its key yet)."""
    if user:
        return f"user:{user}"
    if valid_browser_key(browser):
        return f"browser:{browser}"
    return None


def title_for(question: str, limit: int = TITLE_CHARS) -> str:
    """The first question on one line, cut at a word boundary."""
    text = " ".join(question.split())
    if len(text) <= limit:
        return text or "Untitled conversation"
    head = text[: limit - 1]
    if " " in head:
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:.") + "…"


@dataclass(frozen=True)
class ConversationSummary:
    """What the history list shows of a conversation."""

    id: str
    title: str
    created: datetime
    updated: datetime
    answers: int


class Conversation(BaseModel):
    """A whole saved conversation: the answers, the chat messages that redraw it, and which
    chat position belongs to which audit record (for feedback after reopening)."""

    id: str
    owner: str
    title: str
    created: datetime
    updated: datetime
    answers: list[Answer]
    messages: list[dict[str, Any]]
    records: dict[str, str]


class ConversationStore:
    """Conversations by owner in one SQLite file (created on first use)."""

    def __init__(
        self,
        path: Path,
        *,
        timeout: float = 5.0,
        max_bytes: int = MAX_BYTES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.path = path
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> ConversationStore:
        return cls(settings.data_dir / FILE_NAME)

    # ------------------------------------------------------------------ operations

    def save(
        self,
        owner: str,
        conversation_id: str,
        answers: list[Answer],
        messages: list[dict[str, Any]],
        records: dict[str, str],
    ) -> None:
        """Create or replace the conversation; its created time and owner never change. An id
        held by another owner is refused, not overwritten."""
        if not answers:
            raise HistoryError("an empty conversation is not saved")
        try:
            blobs = [
                json.dumps([a.model_dump(mode="json") for a in answers], ensure_ascii=False),
                json.dumps(messages, ensure_ascii=False),
                json.dumps(records, ensure_ascii=False),
            ]
        except (TypeError, ValueError) as exc:
            raise HistoryError(f"the conversation cannot be saved: {exc}") from None
        size = sum(len(b.encode()) for b in blobs)
        if size > self.max_bytes:
            raise HistoryError(
                f"the conversation is too long to save ({size:,} bytes, at most "
                f"{self.max_bytes:,}); start a new conversation"
            )
        now = self._clock().isoformat()
        row = (conversation_id, owner, title_for(answers[0].question), now, now, len(answers))
        with self._connect() as conn:
            changed = conn.execute(_UPSERT, (*row, *blobs)).rowcount
        if changed != 1:
            raise HistoryError("the conversation cannot be saved: its id is already in use")

    def recent(self, owner: str, limit: int = LISTED) -> list[ConversationSummary]:
        """The owner's conversations, the most recently continued first."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, title, created, updated, answer_count FROM conversations "
                "WHERE owner = ? ORDER BY updated DESC, rowid DESC LIMIT ?",
                (owner, limit),
            ).fetchall()
        return [ConversationSummary(i, t, _time(c), _time(u), n) for i, t, c, u, n in rows]

    def open(self, owner: str, conversation_id: str) -> Conversation | None:
        """The owner's conversation, or None (not saved, deleted, or someone else's)."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT id, owner, title, created, updated, answers, messages, records "
                "FROM conversations WHERE id = ? AND owner = ?",
                (conversation_id, owner),
            ).fetchone()
        if row is None:
            return None
        try:
            return Conversation(
                id=row[0],
                owner=row[1],
                title=row[2],
                created=_time(row[3]),
                updated=_time(row[4]),
                answers=json.loads(row[5]),
                messages=json.loads(row[6]),
                records=json.loads(row[7]),
            )
        except (ValueError, ValidationError) as exc:
            summary = str(exc).splitlines()[0]
            raise HistoryError(
                f'the saved conversation "{row[2]}" cannot be read ({summary}); delete it'
            ) from None

    def delete(self, owner: str, conversation_id: str) -> bool:
        """Remove the owner's conversation; False when there was none of theirs to remove."""
        with self._connect() as conn:
            gone = conn.execute(
                "DELETE FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner)
            ).rowcount
        return bool(gone)

    # ------------------------------------------------------------------ the file

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own per call (threads never share one), autocommitting each
        statement; SQLite errors become HistoryError naming the file."""
        conn: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            self._prepare(conn)
            yield conn
        except sqlite3.OperationalError as exc:
            raise self._error(exc) from None
        except sqlite3.DatabaseError as exc:
            raise HistoryError(
                f"the conversation history {self.path} is damaged ({exc}); move the file "
                "aside to start an empty history"
            ) from None
        except OSError as exc:
            raise HistoryError(
                f"the conversation history {self.path} cannot be opened: {exc}"
            ) from None
        finally:
            if conn is not None:
                conn.close()

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """WAL (readers never wait for a writer) and the schema, made if missing."""
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"the conversation history {self.path} was written by a newer version "
                f"(schema {version}); upgrade export-advisor to read it"
            )
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        if version < SCHEMA_VERSION:
            conn.executescript(
                f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            )

    def _error(self, exc: sqlite3.OperationalError) -> HistoryError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return HistoryError(
                f"the conversation history {self.path} is busy (locked by another writer "
                f"for over {self.timeout:g} s); try again in a moment"
            )
        if "readonly" in text or "unable to open" in text:
            return HistoryError(f"the conversation history {self.path} cannot be written: {text}")
        return HistoryError(f"the conversation history {self.path} failed: {text}")


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)
