"""The one declared contract between the audit trail and everything that writes to or reads
from it (answering, the admin services, the pages). ``AuditLog`` satisfies it; tests may pass
a small fake."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal, Protocol, get_args, runtime_checkable

from advisor.models import Answer, Level

# Where a question was asked; stored with its answer so the office can tell a chat answer from
# one fetched by a script (api), printed at a terminal (cli) or given to an agent (mcp).
Channel = Literal["ui", "api", "cli", "mcp"]
CHANNELS: tuple[str, ...] = get_args(Channel)


@runtime_checkable
class AuditSink(Protocol):
    def record_answer(
        self,
        answer: Answer,
        *,
        conversation_id: str,
        user: str | None,
        corpus_hash: str,
        rules_hash: str,
        channel: Channel | None = None,
    ) -> str | None: ...

    def record_event(
        self, kind: str, detail: dict[str, Any], user: str | None = None
    ) -> str | None: ...

    def add_feedback(
        self,
        record_id: str,
        rating: str,
        comment: str | None = None,
        user: str | None = None,
        *,
        reason: str | None = None,
    ) -> str | None: ...

    def feedback(
        self,
        rating: str | None = None,
        since: str | date | datetime | None = None,
        level: Level | str | None = None,
        contains: str | None = None,
    ) -> list[Any]: ...


@runtime_checkable
class AuditReader(Protocol):
    """What the review pages read back beyond ``feedback``: one answer, a conversation's
    answers in order, and compliance events (``AuditLog`` returns its typed rows)."""

    def answer(self, record_id: str) -> Any: ...

    def conversation(self, conversation_id: str) -> list[Any]: ...

    def events(self, kinds: Sequence[str] | None = None) -> list[Any]: ...
