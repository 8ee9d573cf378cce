"""Answering with its record: every door a question comes in by (the chat, the API, the CLI,
later MCP) answers through here, so every answer lands in the audit trail the same way, with
the corpus and rules it was given under and the channel it was asked on."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from advisor.chain import Advisor
from advisor.models import Answer, Attachment, Turn
from advisor.records.sink import AuditSink, Channel

DIGEST_TTL = 60.0  # seconds: reading the corpus manifest on every answer would be wasted work


@dataclass(frozen=True)
class Origin:
    """Who asked, where, and in which conversation: what the record says besides the answer."""

    channel: Channel
    conversation_id: str
    user: str | None = None

    @classmethod
    def single(cls, channel: Channel, user: str | None = None) -> Origin:
        """A question asked on its own (an API call, one CLI question): its own conversation."""
        return cls(channel, f"{channel}-{uuid.uuid4().hex[:12]}", user)


@dataclass(frozen=True)
class Recorded:
    """An answer and the id of its audit record; None when no trail is kept or the record
    could not be kept (the audit log says why)."""

    answer: Answer
    record_id: str | None


class AnsweringService:
    """Answers (whole or streamed), records each answer, and takes feedback on it."""

    def __init__(
        self,
        advisor: Advisor,
        audit: AuditSink | None = None,
        *,
        digest_ttl: float = DIGEST_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.advisor = advisor
        self.audit = audit
        self.digest_ttl = digest_ttl
        self._clock = clock
        self._digest: tuple[float, str] | None = None  # (read at, value)
        self._digest_lock = threading.Lock()

    @property
    def recording(self) -> bool:
        """Whether answers and feedback are kept (an audit trail is configured)."""
        return self.audit is not None

    def ask(
        self,
        question: str,
        origin: Origin,
        history: list[Turn] | None = None,
        attachment: Attachment | None = None,
    ) -> Recorded:
        """The whole answer, recorded. AdvisorError (bad input, store trouble) propagates and
        nothing is recorded: there is no answer. An ``attachment`` (from
        ``AttachmentReader.read``) is analysed with the question and never stored; the record
        keeps the answer, whose citations name the file and its sha256."""
        answer = self.advisor.ask(question, history, attachment)
        return Recorded(answer, self.record(answer, origin))

    def stream(
        self,
        question: str,
        origin: Origin,
        history: list[Turn] | None = None,
        attachment: Attachment | None = None,
    ) -> Iterator[str | Recorded]:
        """The answer text as it grows, then the finished answer, recorded as it arrives."""
        for part in self.advisor.stream(question, history, attachment):
            if isinstance(part, Answer):
                yield Recorded(part, self.record(part, origin))
            else:
                yield part

    def record(self, answer: Answer, origin: Origin) -> str | None:
        """Keep the answer in the audit trail; the record id, or None without a trail."""
        if self.audit is None:
            return None
        return self.audit.record_answer(
            answer,
            conversation_id=origin.conversation_id,
            user=origin.user,
            corpus_hash=self.corpus_digest(),
            rules_hash=self.advisor.escalation.digest,
            channel=origin.channel,
        )

    def rate(
        self,
        record_id: str,
        rating: Literal["up", "down"],
        comment: str | None = None,
        user: str | None = None,
    ) -> bool:
        """Feedback on a recorded answer; False when no trail is kept to hold it."""
        if self.audit is None:
            return False
        self.audit.add_feedback(record_id, rating, comment, user)
        return True

    def corpus_digest(self) -> str:
        """The index's digest, re-read at most every ``digest_ttl`` seconds."""
        with self._digest_lock:
            now = self._clock()
            if self._digest is None or now - self._digest[0] > self.digest_ttl:
                self._digest = (now, self.advisor.store.digest())
            return self._digest[1]
