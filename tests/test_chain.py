from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from advisor.chain import build_advisor
from advisor.errors import InputError
from advisor.models import Answer, Attachment, Level, Page, Turn
from advisor.services.attachments import AttachmentReader
from advisor.writing.answer import AnswerWriter, Draft, Shown, WriteRequest, markers_valid
from tests.conftest import REPO, make_settings
from tests.fakes import HashEmbeddings
from tests.services.test_attachments import write_pdf


@pytest.fixture
def fake_advisor(tmp_path: Path):
    return build_advisor(make_settings(tmp_path, min_relevance=0.2), embeddings=HashEmbeddings())


def test_answer_json_contract(fake_advisor) -> None:
    answer = fake_advisor.ask("Can I carry my laptop abroad as a tool of trade under TMP?")
    data = json.loads(answer.model_dump_json())
    assert {
        "question",
        "answer",
        "level",
        "flags",
        "citations",
        "in_scope",
        "model",
        "latency_ms",
    } <= set(data)
    assert data["model"] == "extractive" and data["in_scope"] is True
    for citation in data["citations"]:
        assert {"n", "doc_id", "title", "section", "page", "source", "text", "score"} <= set(
            citation
        )
    for flag in data["flags"]:
        assert {"id", "level", "reason", "citation"} <= set(flag)
    assert data["level"] in {"none", "review", "escalate", "prohibited"}
    assert Answer.model_validate(data).level == Level(data["level"])


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "empty"), ("   \n ", "empty"), ("x" * 5000, "limit is 4,000")],
)
def test_bad_questions_are_clear_errors(fake_advisor, question: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        fake_advisor.ask(question)


def test_out_of_scope_has_no_citations(tmp_path: Path) -> None:
    advisor = build_advisor(make_settings(tmp_path, min_relevance=0.9), embeddings=HashEmbeddings())
    answer = advisor.ask("What is a good recipe for banana bread?")
    assert answer.in_scope is False and answer.citations == [] and answer.level == Level.NONE
    assert "does not cover" in answer.answer and "export control office" in answer.answer


def test_flags_keep_a_question_in_scope(tmp_path: Path) -> None:
    advisor = build_advisor(
        make_settings(tmp_path, min_relevance=0.99), embeddings=HashEmbeddings()
    )
    answer = advisor.ask("Can I ship a zzz to Pyongyang?")
    assert answer.in_scope and answer.level == Level.PROHIBITED


def test_follow_up_uses_the_conversation(fake_advisor) -> None:
    history = [
        Turn(
            role="user",
            content="Can I share our unpublished exploit code with a partner in Germany?",
        ),
        Turn(role="assistant", content="..."),
    ]
    first = fake_advisor.ask(history[0].content)
    follow = fake_advisor.ask("He just moved to Tehran.", history)
    assert first.level == Level.ESCALATE and follow.level == Level.PROHIBITED


def test_stream_yields_growing_text_then_answer(fake_advisor) -> None:
    parts = list(fake_advisor.stream("Is a licence needed to send items to Crimea?"))
    texts = [p for p in parts if isinstance(p, str)]
    assert isinstance(parts[-1], Answer) and len(texts) >= 3
    assert all(b.startswith(a) for a, b in zip(texts, texts[1:], strict=False))


def test_build_advisor_sets_the_offline_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    build_advisor(make_settings(tmp_path), embeddings=HashEmbeddings())
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert os.environ["ANONYMIZED_TELEMETRY"] == "False"


@pytest.fixture(scope="module")
def real_advisor(tmp_path_factory, real_embeddings):
    """The shipped corpus with the real model, as `make run` serves it."""
    folder = tmp_path_factory.mktemp("real")
    return build_advisor(
        make_settings(folder, corpus_dir=REPO / "corpus"), embeddings=real_embeddings
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "level", "cite"),
    [
        ("Can I send my exploit research to a co-author in China?", Level.ESCALATE, "740.22"),
        (
            "May my Iranian postdoc see this sponsor's encryption code?",
            Level.PROHIBITED,
            "746|560|734.13|740.17",
        ),
        (
            "Our sponsor wants to approve every publication. Is it still fundamental research?",
            Level.ESCALATE,
            "734.8",
        ),
        ("Can I take my laptop to a security conference in Germany?", Level.REVIEW, "740.9"),
        ("What does the EAR mean by published information?", Level.NONE, "734.7"),
    ],
)
def test_real_corpus_answers(real_advisor, question: str, level: Level, cite: str) -> None:
    answer = real_advisor.ask(question)
    assert answer.level == level
    assert answer.in_scope and answer.citations
    assert any(
        alt in c.text or alt in (c.section or "")
        for c in answer.citations
        for alt in cite.split("|")
    ), [c.title for c in answer.citations]


@pytest.mark.slow
def test_an_attached_sponsor_agreement_with_the_shipped_corpus(real_advisor, tmp_path) -> None:
    """The approval clause on page 2 is found, cited by page next to the corpus passage that
    explains the rule, and named in the bottom line."""
    pdf = write_pdf(tmp_path / "sponsor-agreement.pdf")
    attachment = AttachmentReader(real_advisor.settings).read(pdf, "sponsor-agreement.pdf")
    answer = real_advisor.ask(
        "Can we sign this sponsored research agreement?", attachment=attachment
    )
    assert answer.level == Level.ESCALATE and answer.in_scope
    clause = next(c for c in answer.citations if c.source == "attachment:sponsor-agreement.pdf")
    assert clause.page == 2 and "right to approve any publication" in clause.text
    assert f"(page 2) [{clause.n}]" in answer.bottom_line
    assert any("734.8" in c.text + (c.section or "") for c in answer.citations if c is not clause)
    assert markers_valid(answer.answer, answer.citations)


def test_an_attachment_streams_and_is_summarised(fake_advisor) -> None:
    terms = "The Sponsor shall have the right to approve any publication of the results."
    attachment = Attachment(
        name="terms.txt", sha256="c" * 64, kind="text", pages=[Page(text=terms, paragraph=1)]
    )
    parts = list(fake_advisor.stream("Can we accept these terms?", attachment=attachment))
    texts = [p for p in parts if isinstance(p, str)]
    answer = parts[-1]
    assert isinstance(answer, Answer) and answer.level == Level.ESCALATE
    assert all(b.startswith(a) for a, b in zip(texts, texts[1:], strict=False))
    assert answer.attachment is not None and answer.attachment.clauses[0].paragraph == 1
    assert fake_advisor.ask("Can we accept these terms?").attachment is None


def test_a_declined_question_still_reports_on_its_document(tmp_path: Path) -> None:
    advisor = build_advisor(make_settings(tmp_path, min_relevance=0.9), embeddings=HashEmbeddings())
    attachment = Attachment(
        name="recipe.txt",
        sha256="d" * 64,
        kind="text",
        pages=[Page(text="Mix the flour with two ripe bananas and bake.", paragraph=1)],
    )
    answer = advisor.ask("What is a good recipe for banana bread?", attachment=attachment)
    assert answer.in_scope is False and answer.citations == []
    assert "does not cover" in answer.answer
    assert "Nothing in its wording matched the escalation rules" in answer.answer
    assert answer.attachment is not None and answer.attachment.analysed == 1


@pytest.mark.slow
def test_real_corpus_out_of_scope(real_advisor) -> None:
    answer = real_advisor.ask("Which GPU should I buy for training large language models?")
    assert answer.in_scope is False and answer.citations == []


def test_history_is_bounded(fake_advisor) -> None:
    huge = [Turn(role="user", content="x" * 3999) for _ in range(15)]
    with pytest.raises(InputError, match="Start a new conversation"):
        fake_advisor.ask("and the slides?", huge)
    many = [Turn(role="user", content=f"question {i}") for i in range(500)]
    assert len(fake_advisor.check_history(many)) == fake_advisor.settings.max_history_turns


def test_lone_surrogates_are_a_clear_error(fake_advisor) -> None:
    with pytest.raises(InputError, match="invalid character"):
        fake_advisor.ask("Can I ship it to \ud800Tehran?")
    with pytest.raises(InputError, match="invalid character"):
        fake_advisor.ask("and now?", [Turn(role="user", content="bad \udfff text")])


def test_near_domain_questions_are_declined_with_a_pointer(fake_advisor) -> None:
    answer = fake_advisor.ask("Do I need a GDPR data protection assessment for my Iran survey?")
    assert answer.in_scope is False and answer.citations == []
    assert "does not cover" in answer.answer


def test_answer_carries_situation_and_missing_facts(fake_advisor) -> None:
    answer = fake_advisor.ask("Can I send the code to my collaborator?")
    data = json.loads(answer.model_dump_json())
    assert {"bottom_line", "situation", "missing", "determination", "notes"} <= set(data)
    assert data["situation"]["facts"] and data["missing"]
    assert answer.level == Level.REVIEW


UNRELATED = [
    "Can I take my personal laptop to a conference in Canada?",
    "May my Iranian postdoc see this sponsor's encryption code?",
    "Our sponsor wants to approve every publication. Is it still fundamental research?",
    "What does the EAR mean by published information?",
]


@pytest.mark.slow
def test_unrelated_questions_in_one_chat_answer_as_alone(real_advisor) -> None:
    alone = [real_advisor.ask(q) for q in UNRELATED]
    history: list[Turn] = []
    for question, single in zip(UNRELATED, alone, strict=True):
        answer = real_advisor.ask(question, history)
        assert (answer.level, answer.bottom_line) == (single.level, single.bottom_line)
        history += [Turn(role="user", content=question), Turn(role="assistant", content="...")]


@pytest.mark.slow
def test_a_follow_up_that_answers_a_missing_fact_updates_the_answer(real_advisor) -> None:
    first = real_advisor.ask("Can I send our source code to a collaborator in Germany?")
    assert first.level.rank >= Level.REVIEW.rank and first.missing
    history = [Turn(role="user", content=first.question), Turn(role="assistant", content="...")]
    follow = real_advisor.ask("And if the code is already published on GitHub?", history)
    assert follow.level == Level.NONE and not follow.missing
    assert follow.bottom_line != first.bottom_line


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "Can a green card holder on my team see our export-controlled source code?",
        "Can I email our unpublished exploit code to a developer in Tehran?",
        "Do I need an export licence for this?",
        "Can I send my exploit research to a co-author in China?",
        "Is it ok to put our crypto library on GitHub as open source?",
    ],
)
def test_bottom_line_answers_cites_and_agrees_with_the_level(real_advisor, question: str) -> None:
    from advisor.writing.answer import markers_valid

    answer = real_advisor.ask(question)
    lead = answer.bottom_line
    assert lead and answer.answer.splitlines()[0].endswith(lead)
    assert markers_valid(lead, answer.citations) and "[" in lead
    if answer.level.rank >= Level.ESCALATE.rank:
        assert not lead.startswith("Yes") and re.search(r"(?i)\bno\b|\bnot\b|licen", lead)
    if answer.level is Level.NONE:
        assert not re.search(r"(?i)^(?:no\.|not without)", lead) or "need" in lead.lower()


@pytest.mark.slow
def test_a_determination_settles_only_the_rules_it_names(real_advisor) -> None:
    """How a general licence works is answered by its determination, not by the embargo
    rule's transfer verdict; controlled items under the same general licence still block."""
    process = real_advisor.ask(
        "Our Havana trip fits an OFAC general license category. Do we still need a written "
        "request to OFAC before we travel and conduct transactions there?"
    )
    assert process.determination == "emb-ofac-general-licence-no-application"
    assert process.level is Level.REVIEW
    assert "embargo-controlled-transfer" not in {f.id for f in process.flags}
    assert any("answers this situation in full" in n for n in process.notes)
    assert process.bottom_line.startswith("No")
    shipped = real_advisor.ask(
        "Can I ship our exploit kit to a buyer in Havana under a general license?"
    )
    assert shipped.level is Level.PROHIBITED
    assert "embargo-controlled-transfer" in {f.id for f in shipped.flags}


@pytest.mark.slow
def test_bottom_lines_are_specific_not_fixed_per_level(real_advisor) -> None:
    leads = {
        real_advisor.ask(q).bottom_line
        for q in [
            "Can I email our unpublished exploit code to a developer in Tehran?",
            "Can I ship our router prototype to a company in Pyongyang?",
            "Can we sell our intrusion tooling to the police in Minsk?",
        ]
    }
    assert len(leads) == 3


def test_a_broken_screening_list_is_noted_in_every_answer(tmp_path: Path) -> None:
    sample = REPO / "corpus" / "screening" / "consolidated-screening-list-sample.csv"
    listed = tmp_path / "list.csv"
    listed.write_bytes(sample.read_bytes())
    advisor = build_advisor(
        make_settings(tmp_path, screening_path=listed), embeddings=HashEmbeddings()
    )
    assert not advisor.ask("Can I share slides with Huawei Technologies?").notes
    listed.write_text("not,a\nscreening,list\n")
    for _ in range(2):
        answer = advisor.ask("Can I share slides with Huawei Technologies?")
        assert any("screening list" in n for n in answer.notes), answer.notes
        assert answer.level == Level.ESCALATE  # the last good list keeps serving


@dataclass
class MinimalWriter(AnswerWriter):
    """Only what every writer must do (stream); the rest is the contract's defaults."""

    office: str = "the office"
    name: str = "minimal"
    condenses: bool = False
    asked: list[str] = field(default_factory=list)

    def stream(self, request: WriteRequest) -> Iterator[str | Shown | Draft]:
        self.asked.append(request.question)
        yield "Minimal answer."
        yield Draft(text="Minimal answer.", citations=[])


def test_a_writer_inherits_the_declared_defaults(tmp_path: Path) -> None:
    """The chain calls condense and decline on every writer; none has to write them."""
    writer = MinimalWriter()
    assert writer.condense("and in Tehran?", [Turn(role="user", content="x")]) == ""
    assert writer.write(WriteRequest("q", [], [], Level.NONE)).text == "Minimal answer."
    *shown, draft = writer.decline("q", [], Level.NONE)
    assert isinstance(draft, Draft) and draft.citations == [] and shown == [draft.text]
    assert "does not cover" in draft.text and "the office" in draft.text

    settings = make_settings(tmp_path, min_relevance=0.2)
    advisor = replace(build_advisor(settings, embeddings=HashEmbeddings()), writer=writer)
    assert advisor.ask("Is a licence needed to send items to Crimea?").answer == "Minimal answer."
    follow = advisor.ask("And to Sevastopol?", [Turn(role="user", content="Crimea items?")])
    assert follow.model == "minimal" and writer.asked[-1] == "And to Sevastopol?"
    declined = advisor.ask("Do I need a GDPR data protection assessment for my Iran survey?")
    assert declined.in_scope is False and "does not cover" in declined.answer
