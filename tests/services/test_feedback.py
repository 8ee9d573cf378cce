"""Reviewing thumbs-down answers (advisor.services.feedback)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from advisor.chain import Advisor
from advisor.errors import InputError
from advisor.models import Answer, Citation, Level
from advisor.records.audit import AuditLog
from advisor.services.answering import AnsweringService, Origin
from advisor.services.feedback import (
    FEEDBACK_HEADERS,
    FeedbackItem,
    FeedbackReview,
    bottom_line_of,
)
from advisor.ui.render import admin as render
from tests.services.support import CRIMEA


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


# --------------------------------------------------------------------------- one row opened


def test_a_row_opens_its_answer_sources_and_whole_conversation(
    advisor: Advisor, audit: AuditLog
) -> None:
    """Real answers from the test corpus, recorded as the chat records them."""
    answering = AnsweringService(advisor, audit)
    chat = Origin("ui", "conv-dora", "dora")
    first = answering.ask(CRIMEA, chat)
    answering.ask("What is fundamental research?", Origin("api", "conv-other", None))
    declined = answering.ask("Can I take my laptop to Germany?", chat)  # out of scope
    follow_up = answering.ask("Is a licence needed to send items to Cuba?", chat, [])
    assert first.record_id and follow_up.record_id
    answering.rate(follow_up.record_id, "down", "wrong source; cite the Cuba part", "dora")

    review = FeedbackReview(audit, advisor.store.chunks)
    (item,) = review.thumbs_down()
    assert item.conversation_id == "conv-dora" and item.feedback_id
    detail = review.detail(item)
    assert detail.answer.id == follow_up.record_id
    assert detail.answer.question == "Is a licence needed to send items to Cuba?"
    assert detail.answer.level == follow_up.answer.level.value
    assert detail.answer.channel == "ui"
    assert detail.bottom_line == follow_up.answer.bottom_line  # as the user read it first
    assert detail.answer.answer == follow_up.answer.answer

    cited = [c for c in detail.sources if c.kind == "passage"]
    expected = [c for c in follow_up.answer.citations if not c.chunk_id.startswith("determ")]
    assert cited and [c.n for c in cited] == [c.n for c in expected]
    for got, shown in zip(cited, expected, strict=True):
        assert (got.title, got.section, got.page, got.text, got.source) == (
            shown.title,
            shown.section,
            shown.page,
            shown.text,
            shown.source,
        )

    assert [(t.record_id, t.disliked, t.channel) for t in detail.conversation] == [
        (first.record_id, False, "ui"),
        (declined.record_id, False, "ui"),
        (follow_up.record_id, True, "ui"),
    ]
    assert detail.conversation[0].question == CRIMEA
    assert detail.conversation[0].bottom_line == first.answer.bottom_line
    assert detail.conversation[1].bottom_line is None  # the decline shows no bottom line

    text = render.feedback_detail(detail)
    assert "wrong source; cite the Cuba part" in text
    assert "**Question:** Is a licence needed to send items to Cuba?" in text
    assert f"**[{cited[0].n}] {render.md_text(cited[0].title)}**" in text
    assert "Conversation (3 answer(s), in order)" in text and "the disliked answer" in text
    assert text.index(render.md_text(CRIMEA)) > text.index("#### Conversation")


def test_a_passage_gone_from_the_index_is_said_to_be_gone(
    advisor: Advisor, audit: AuditLog
) -> None:
    answering = AnsweringService(advisor, audit)
    done = answering.ask(CRIMEA, Origin("ui", "c", None))
    assert done.record_id
    answering.rate(done.record_id, "down", None, None)
    review = FeedbackReview(audit, advisor.store.chunks)
    source = next(c.source for c in done.answer.citations if c.source.startswith("corpus/"))
    advisor.store.delete_document(source)
    (item,) = review.thumbs_down()
    gone = [c for c in review.detail(item).sources if c.source == source]
    assert gone and all(c.text is None and c.title is None for c in gone)
    assert "no longer in the index" in render.feedback_detail(review.detail(item))
    # Without an index to look in, the record's own references are still shown.
    bare = FeedbackReview(audit).detail(item)
    assert [c.source for c in bare.sources] == [c.source for c in done.answer.citations]


def test_determinations_and_attachments_are_labelled(audit: AuditLog) -> None:
    answer = Answer(
        question="May I?",
        answer="**Bottom line (REVIEW):** It depends. [1]\n\nMore. [2]",
        level=Level.REVIEW,
        citations=[
            Citation(
                n=1,
                doc_id="determination:d-1",
                chunk_id="determination:d-1",
                title="Determination: May I?",
                source="corpus/determinations/x.yaml",
                text="It depends.",
                score=0.9,
            ),
            Citation(
                n=2,
                doc_id="attachment:abc",
                chunk_id="att-1",
                title="Attached document: nda.pdf",
                source="attachment:nda.pdf",
                text="clause",
                score=1.0,
            ),
        ],
    )
    record = audit.record_answer(
        answer, conversation_id="c", user=None, corpus_hash="h", rules_hash="r"
    )
    assert record is not None
    audit.add_feedback(record, "down", None, None)
    review = FeedbackReview(audit, lambda ids: pytest.fail(f"looked up {ids}"))
    detail = review.detail(review.thumbs_down()[0])
    assert [(c.kind, c.label) for c in detail.sources] == [
        ("determination", "d-1"),
        ("attachment", "nda.pdf"),
    ]
    assert detail.bottom_line == "It depends. [1]"
    text = render.feedback_detail(detail)
    assert "Curated determination** `d-1`" in text and "A file the user attached:** nda.pdf" in text


def test_bottom_line_of_the_recorded_text() -> None:
    assert bottom_line_of("**Bottom line (PROHIBITED):** No. [1]\n\n**More**") == "No. [1]"
    assert (
        bottom_line_of("**Bottom line:** Yes,\nwith a licence. [2]") == "Yes,\nwith a licence. [2]"
    )
    assert bottom_line_of("The corpus does not cover this question.") is None
    assert bottom_line_of(None) is None


def test_detail_needs_a_trail_that_reads_back(audit: AuditLog) -> None:
    item = FeedbackItem("t", "none", "q", "", "", "", "0" * 32)
    with pytest.raises(InputError, match="no audit trail"):
        FeedbackReview(None).detail(item)
    with pytest.raises(InputError, match="is not in the audit trail"):
        FeedbackReview(audit).detail(item)
