"""Reviewing thumbs-down answers: filter them, open one with its sources and its whole
conversation, and export them for a spreadsheet.

The audit trail keeps each answer's text and a reference to each passage it cited (chunk id,
source, version). A chunk id hashes the passage's text, so the passage found in the index under
that id is exactly the one cited; one that is no longer there (its document changed or was
retired) is shown by its source and version only.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from advisor.errors import InputError
from advisor.models import Chunk, Level
from advisor.records.audit import AnswerRecord, write_csv
from advisor.records.sink import AuditReader, AuditSink

FEEDBACK_HEADERS = ["Time (UTC)", "Level", "Question", "Sources", "Comment", "User", "Record"]
DETERMINATION = "determination:"  # a curated determination's chunk id (not in the index)
ATTACHMENT = "attachment:"  # the source of a clause from a file the user attached (not kept)
# The first block of every in-scope answer (advisor.writing.answer.lead_block).
_BOTTOM_LINE = re.compile(
    r"\A\s*\*\*Bottom line(?: \([^)]*\))?:\*\*\s*(.+?)\s*(?:\n\s*\n|\Z)", re.S
)

Passages = Callable[[list[str]], Mapping[str, Chunk]]


def parse_since(text: str | None) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"since {text!r}: write the date as YYYY-MM-DD") from exc


def bottom_line_of(answer: str | None) -> str | None:
    """The bottom line the user read first, from the recorded answer text."""
    match = _BOTTOM_LINE.match(answer or "")
    return match.group(1) if match else None


@dataclass(frozen=True)
class FeedbackItem:
    """One thumbs-down answer; ``cells`` are the columns of FEEDBACK_HEADERS (the CSV)."""

    time: str
    level: str
    question: str
    sources: str
    comment: str
    user: str
    record_id: str
    feedback_id: str = ""
    conversation_id: str | None = None

    def cells(self) -> list[str]:
        return [
            self.time,
            self.level,
            self.question,
            self.sources,
            self.comment,
            self.user,
            self.record_id,
        ]


@dataclass(frozen=True)
class CitedPassage:
    """One ``[n]`` of the answer: what the record says, and the passage from the index.

    ``kind`` says where it came from: a corpus passage (``text`` None when it is no longer in
    the index), a curated determination, or a file the user attached (``label`` names either).
    """

    n: int
    source: str
    version: str | None
    effective_date: str | None
    title: str | None = None
    section: str | None = None
    page: int | None = None
    text: str | None = None
    kind: Literal["passage", "determination", "attachment"] = "passage"
    label: str | None = None


@dataclass(frozen=True)
class ConversationTurn:
    """One answer of the conversation, the disliked one marked."""

    record_id: str
    time: str
    channel: str | None
    user: str | None
    question: str
    level: str
    bottom_line: str | None
    disliked: bool


@dataclass(frozen=True)
class FeedbackDetail:
    """A thumbs-down opened: the feedback, the answer as recorded, its sources, the rest of
    its conversation in order."""

    item: FeedbackItem
    answer: AnswerRecord
    bottom_line: str | None
    sources: list[CitedPassage]
    conversation: list[ConversationTurn]


class FeedbackReview:
    """The thumbs-down answers in one audit trail (none without a trail)."""

    def __init__(self, audit: AuditSink | None, passages: Passages | None = None) -> None:
        """``passages`` looks chunks up by id in the index (``ChunkStore.chunks``)."""
        self.audit = audit
        self.passages = passages

    def thumbs_down(
        self,
        *,
        level: str | None = None,
        contains: str | None = None,
        since: str | None = None,
    ) -> list[FeedbackItem]:
        """Thumbs-down answers, newest first; ``level`` "any" or empty means every level."""
        if self.audit is None:
            raise InputError("no audit trail is configured, so there is no feedback to review")
        rows = self.audit.feedback(
            rating="down",
            since=parse_since(since),
            level=None if level in (None, "", "any") else Level(level),
            contains=(contains or "").strip() or None,
        )
        return [
            FeedbackItem(
                time=r.time[:19].replace("T", " "),
                level=r.level or "",
                question=r.question or "",
                sources="; ".join(r.sources),
                comment="; ".join(x for x in (r.reason, r.comment) if x),
                user=r.user or "",
                record_id=r.record_id,
                feedback_id=r.id,
                conversation_id=r.conversation_id,
            )
            for r in rows
        ]

    def _reader(self) -> AuditReader:
        if self.audit is None:
            raise InputError("no audit trail is configured, so there is no feedback to review")
        if not isinstance(self.audit, AuditReader):
            raise InputError("this audit trail cannot read answers back")
        return self.audit

    def detail(self, item: FeedbackItem) -> FeedbackDetail:
        """The answer the feedback is about, its cited passages and its whole conversation."""
        reader = self._reader()
        answer: AnswerRecord | None = reader.answer(item.record_id)
        if answer is None:
            raise InputError(f"answer {item.record_id} is not in the audit trail")
        turns: list[AnswerRecord] = (
            reader.conversation(answer.conversation_id) if answer.conversation_id else []
        )
        return FeedbackDetail(
            item=item,
            answer=answer,
            bottom_line=bottom_line_of(answer.answer),
            sources=self.cited(answer),
            conversation=[
                ConversationTurn(
                    record_id=t.id,
                    time=t.time[:19].replace("T", " "),
                    channel=t.channel,
                    user=t.user,
                    question=t.question or "",
                    level=t.level or "",
                    bottom_line=bottom_line_of(t.answer),
                    disliked=t.id == answer.id,
                )
                for t in (turns or [answer])
            ],
        )

    def cited(self, answer: AnswerRecord) -> list[CitedPassage]:
        """The answer's citations, each with its passage from the index when it is there."""
        kinds = [
            _kind(str(c.get("chunk_id") or ""), str(c.get("source") or ""))
            for c in answer.citations
        ]
        ids = [
            str(c["chunk_id"])
            for c, (kind, _) in zip(answer.citations, kinds, strict=True)
            if kind == "passage" and c.get("chunk_id")
        ]
        found = self.passages(ids) if self.passages is not None and ids else {}
        out = []
        for c, (kind, label) in zip(answer.citations, kinds, strict=True):
            chunk = found.get(str(c.get("chunk_id") or "")) if kind == "passage" else None
            out.append(
                CitedPassage(
                    n=int(c.get("n") or 0),
                    source=str(c.get("source") or ""),
                    version=c.get("version"),
                    effective_date=c.get("effective_date"),
                    title=chunk.title if chunk else None,
                    section=(chunk.section_label or chunk.heading_path or None) if chunk else None,
                    page=chunk.page if chunk else None,
                    text=chunk.text if chunk else None,
                    kind=kind,
                    label=label,
                )
            )
        return out

    @staticmethod
    def export_csv(items: list[FeedbackItem], folder: Path | None = None) -> Path:
        """The items as a CSV file (in a new temp folder by default), formulas defused."""
        folder = folder or Path(tempfile.mkdtemp(prefix="advisor-feedback-"))
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = folder / f"feedback-thumbs-down-{stamp}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            write_csv(fh, FEEDBACK_HEADERS, (item.cells() for item in items))
        return path


def _kind(
    chunk_id: str, source: str
) -> tuple[Literal["passage", "determination", "attachment"], str | None]:
    if chunk_id.startswith(DETERMINATION):
        return "determination", chunk_id.removeprefix(DETERMINATION)
    if source.startswith(ATTACHMENT):
        return "attachment", source.removeprefix(ATTACHMENT)
    return "passage", None
