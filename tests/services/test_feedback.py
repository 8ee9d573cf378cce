"""Reviewing thumbs-down answers (advisor.services.feedback)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from advisor.errors import InputError
from advisor.models import Answer, Citation, Level
from advisor.records.audit import AuditLog
from advisor.services.feedback import FEEDBACK_HEADERS, FeedbackReview


def _answer(question: str, level: Level, source: str) -> Answer:
    return Answer(
        question=question,
        answer="Bottom line. [1]",
        level=level,
        citations=[Citation(n=1, doc_id="d", title="T", source=source, text="x", score=0.9)],
    )


def test_feedback_table_filters_and_csv_export(tmp_path: Path, audit: AuditLog) -> None:
    ids: list[str] = []
    for question, level, source in (
        ('=HYPERLINK("http://evil") Can I ship to Crimea?', Level.PROHIBITED, "corpus/a.md"),
        ("Can I take my laptop to Germany?", Level.REVIEW, "corpus/b.md"),
        ("Is teaching a course fundamental research?", Level.NONE, "corpus/c.md"),
    ):
        record = audit.record_answer(
            _answer(question, level, source),
            conversation_id="c1",
            user="dora",
            corpus_hash="h",
            rules_hash="r",
        )
        assert record is not None
        ids.append(record)
    audit.add_feedback(ids[0], "down", "wrong level; should say escalate", "erin")
    audit.add_feedback(ids[1], "down", "laptop advice was vague", None)
    audit.add_feedback(ids[2], "up", None, "erin")

    review = FeedbackReview(audit)
    rows = review.thumbs_down()
    assert [r.level for r in rows] == ["review", "prohibited"]  # newest first, thumbs-down only
    assert rows[1].question.startswith("=HYPERLINK") and rows[1].sources == "corpus/a.md"
    assert rows[1].comment == "wrong level; should say escalate" and rows[1].user == "erin"
    assert rows[1].record_id == ids[0]
    assert [r.level for r in review.thumbs_down(level="prohibited")] == ["prohibited"]
    assert review.thumbs_down(level="any", contains="LAPTOP")[0].level == "review"
    assert review.thumbs_down(since="2999-01-01") == []
    assert len(review.thumbs_down(since="2000-01-01")) == 2
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        review.thumbs_down(since="yesterday")
    with pytest.raises(InputError, match="no audit trail"):
        FeedbackReview(None).thumbs_down()

    path = review.export_csv(rows, tmp_path)
    with path.open(encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh))
    assert table[0] == FEEDBACK_HEADERS
    assert len(table) == 3
    assert table[2][2].startswith("'=HYPERLINK")  # spreadsheet formula defused
    assert table[1][4] == "laptop advice was vague"
