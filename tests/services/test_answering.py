"""Answering with its record: the same answer as the advisor gives, recorded once with the
corpus and rules digests and the channel, on every door (ui, api, cli)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from advisor.chain import Advisor, build_advisor
from advisor.errors import InputError
from advisor.models import Answer, Level, Turn
from advisor.records.audit import AuditLog
from advisor.records.sink import AuditSink
from advisor.services.answering import AnsweringService, Origin, Recorded
from tests.conftest import make_settings
from tests.fakes import HashEmbeddings

QUESTION = "Is a licence needed to send items to Crimea?"


class FakeSink:
    """Keeps what it is given; satisfies AuditSink."""

    def __init__(self) -> None:
        self.answers: list[dict[str, Any]] = []
        self.feedback_given: list[tuple[str, str, str | None, str | None]] = []

    def record_answer(self, answer: Answer, **fields: Any) -> str | None:
        self.answers.append({"answer": answer, **fields})
        return f"{len(self.answers):032x}"

    def record_event(self, kind: str, detail: dict[str, Any], user: str | None = None) -> None:
        raise AssertionError("answering records no events")

    def add_feedback(
        self,
        record_id: str,
        rating: str,
        comment: str | None = None,
        user: str | None = None,
        *,
        reason: str | None = None,
    ) -> str | None:
        self.feedback_given.append((record_id, rating, comment, user))
        return "f" * 32

    def feedback(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []


@pytest.fixture(scope="module")
def advisor(tmp_path_factory: pytest.TempPathFactory) -> Advisor:
    settings = make_settings(tmp_path_factory.mktemp("answering"), min_relevance=0.2)
    return build_advisor(settings, embeddings=HashEmbeddings())


def test_the_fake_sink_keeps_the_declared_contract() -> None:
    assert isinstance(FakeSink(), AuditSink)


def test_ask_answers_as_the_advisor_does_and_records_once(advisor: Advisor) -> None:
    sink = FakeSink()
    service = AnsweringService(advisor, sink)
    done = service.ask(QUESTION, Origin("cli", "conv-1", "alice"))
    expected = advisor.ask(QUESTION)
    assert done.answer.level == expected.level == Level.PROHIBITED
    assert done.answer.answer == expected.answer and done.answer.citations == expected.citations
    assert done.record_id == f"{1:032x}"
    (kept,) = sink.answers
    assert kept["answer"] == done.answer
    assert kept["channel"] == "cli"
    assert (kept["conversation_id"], kept["user"]) == ("conv-1", "alice")
    assert kept["corpus_hash"] == advisor.store.digest()
    assert kept["rules_hash"] == advisor.escalation.digest


def test_stream_yields_growing_text_then_the_recorded_answer(advisor: Advisor) -> None:
    sink = FakeSink()
    parts = list(AnsweringService(advisor, sink).stream(QUESTION, Origin("ui", "c", None)))
    texts, last = parts[:-1], parts[-1]
    assert texts and all(isinstance(t, str) for t in texts)
    assert isinstance(last, Recorded) and last.record_id is not None
    assert last.answer.answer.startswith(str(texts[0]))
    assert [a["channel"] for a in sink.answers] == ["ui"]


def test_follow_ups_are_answered_with_the_history(advisor: Advisor) -> None:
    history = [Turn(role="user", content="My postdoc is from Iran.")]
    service = AnsweringService(advisor, FakeSink())
    done = service.ask("Can she see our encryption source code?", Origin("api", "c"), history)
    assert done.answer == advisor.ask(
        "Can she see our encryption source code?", history
    ).model_copy(update={"latency_ms": done.answer.latency_ms})


def test_a_refused_question_is_not_recorded(advisor: Advisor) -> None:
    sink = FakeSink()
    service = AnsweringService(advisor, sink)
    with pytest.raises(InputError, match="empty"):
        service.ask("   ", Origin.single("api"))
    with pytest.raises(InputError, match="empty"):
        list(service.stream("", Origin("ui", "c")))
    assert sink.answers == []


def test_without_an_audit_trail_nothing_is_kept(advisor: Advisor) -> None:
    service = AnsweringService(advisor, None)
    done = service.ask(QUESTION, Origin.single("cli"))
    assert done.record_id is None and done.answer.level == Level.PROHIBITED
    assert service.recording is False
    assert service.rate("0" * 32, "up") is False


def test_feedback_reaches_the_trail(advisor: Advisor) -> None:
    sink = FakeSink()
    service = AnsweringService(advisor, sink)
    assert service.recording
    assert service.rate("a" * 32, "down", "wrong level; too strict", "bob") is True
    assert sink.feedback_given == [("a" * 32, "down", "wrong level; too strict", "bob")]


def test_the_corpus_digest_is_read_at_most_once_a_minute(
    advisor: Advisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1.0]  # a machine up for one second: the first answer still gets the real digest
    reads: list[int] = []
    real = advisor.store.digest

    def counted() -> str:
        reads.append(1)
        return real()

    monkeypatch.setattr(advisor.store, "digest", counted)
    service = AnsweringService(advisor, FakeSink(), clock=lambda: now[0])
    assert service.corpus_digest() == real() and len(reads) == 1
    now[0] = 60.0
    service.corpus_digest()
    assert len(reads) == 1
    now[0] = 62.0
    service.corpus_digest()
    assert len(reads) == 2


def test_single_questions_get_their_own_conversation() -> None:
    first, second = Origin.single("api", "alice"), Origin.single("api")
    assert re.fullmatch(r"api-[0-9a-f]{12}", first.conversation_id)
    assert first.conversation_id != second.conversation_id
    assert (first.channel, first.user, second.user) == ("api", "alice", None)


def test_answers_land_in_the_real_audit_log_with_their_channel(
    advisor: Advisor, tmp_path: Path
) -> None:
    with AuditLog(f"sqlite:///{tmp_path / 'audit.sqlite3'}") as audit:
        service = AnsweringService(advisor, audit)
        ids = [
            service.ask(QUESTION, Origin.single(channel)).record_id for channel in ("api", "cli")
        ]
        rows = list(audit.export_rows())
        assert audit.verify().ok
    assert [r["id"] for r in rows] == ids
    assert all(r["corpus_hash"] == advisor.store.digest() for r in rows)
    engine = create_engine(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT channel FROM audit_log ORDER BY seq")).scalars().all()
    engine.dispose()
    assert stored == ["api", "cli"]
