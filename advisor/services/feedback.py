"""Reviewing thumbs-down answers: filter them and export them for a spreadsheet."""

from __future__ import annotations

import tempfile
from dataclasses import astuple, dataclass
from datetime import date, datetime
from pathlib import Path

from advisor.errors import InputError
from advisor.models import Level
from advisor.records.audit import write_csv
from advisor.records.sink import AuditSink

FEEDBACK_HEADERS = ["Time (UTC)", "Level", "Question", "Sources", "Comment", "User", "Record"]


def parse_since(text: str | None) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"since {text!r}: write the date as YYYY-MM-DD") from exc


@dataclass(frozen=True)
class FeedbackItem:
    """One thumbs-down answer, in the columns of FEEDBACK_HEADERS."""

    time: str
    level: str
    question: str
    sources: str
    comment: str
    user: str
    record_id: str

    def cells(self) -> list[str]:
        return list(astuple(self))


class FeedbackReview:
    """The thumbs-down answers in one audit trail (none without a trail)."""

    def __init__(self, audit: AuditSink | None) -> None:
        self.audit = audit

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
            )
            for r in rows
        ]

    @staticmethod
    def export_csv(items: list[FeedbackItem], folder: Path | None = None) -> Path:
        """The items as a CSV file (in a new temp folder by default), formulas defused."""
        folder = folder or Path(tempfile.mkdtemp(prefix="advisor-feedback-"))
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = folder / f"feedback-thumbs-down-{stamp}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            write_csv(fh, FEEDBACK_HEADERS, (item.cells() for item in items))
        return path
