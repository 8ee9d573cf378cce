"""Follow-ups, near-domain questions and regime preference."""

from __future__ import annotations

import pytest

from advisor.models import Chunk, ScoredChunk, Turn
from advisor.rules.conversation import is_follow_up, near_domain, prefer_regime

EARLIER = [
    Turn(role="user", content="Can my Iranian postdoc see our encryption code?"),
    Turn(role="assistant", content="..."),
]


@pytest.mark.parametrize(
    "question",
    [
        "What if he lives in Tehran?",
        "and the slides?",
        "And if she gets a green card?",
        "Does that change if the code is published?",
        "What about the laptop?",
        "He moved to Tehran last week.",
    ],
)
def test_follow_ups_carry_the_conversation(question: str) -> None:
    assert is_follow_up(question, EARLIER)


@pytest.mark.parametrize(
    "question",
    [
        "Do I need a licence to take my laptop to a conference in Germany?",
        "My PhD student wants to publish her fuzzing results at USENIX. Is that a problem?",
        "Is the Entity List the same as the SDN list?",
        "Our startup sells a mass-market VPN app worldwide. What classification applies?",
    ],
)
def test_unrelated_questions_start_fresh(question: str) -> None:
    assert not is_follow_up(question, EARLIER)


def test_no_history_is_never_a_follow_up() -> None:
    assert not is_follow_up("and the slides?", [])


@pytest.mark.parametrize(
    "question",
    [
        "Do I have to do a GDPR data protection impact assessment for my survey in Iran?",
        "How is the honorarium for my F-1 student taxed?",
        "My H-1B visa application was denied; what can I do?",
        "Should I file a patent application before the conference?",
        "What import duty applies to lab equipment shipped from China?",
    ],
)
def test_near_domain_topics_are_declined(question: str) -> None:
    assert near_domain(question)


@pytest.mark.parametrize(
    "question",
    [
        "Does a patent application count as published information under the EAR?",
        "Is it an export if my F-1 student sees our controlled technology?",
        "Do the Iran sanctions stop me paying tax on an Iranian co-author's honorarium?",
    ],
)
def test_near_domain_with_an_export_question_stays(question: str) -> None:
    assert not near_domain(question)


def _hit(text: str, jurisdiction: str, doc_type: str = "guidance") -> ScoredChunk:
    chunk = Chunk(
        id=text[:10],
        doc_id=text[:10],
        source="x.md",
        title="t",
        text=text,
        position=0,
        jurisdiction=jurisdiction,
        doc_type=doc_type,
    )
    return ScoredChunk(chunk=chunk, score=0.6)


def test_eu_questions_get_eu_passages_first() -> None:
    hits = [_hit("US licence advice", "US-EAR"), _hit("EU Annex I", "EU"), _hit("UK", "UK")]
    ordered = prefer_regime(hits, ["EU"])
    assert [h.chunk.jurisdiction for h in ordered][0] == "EU"
    assert ordered[-1].chunk.jurisdiction == "US-EAR"


def test_us_questions_put_eu_and_uk_passages_last() -> None:
    hits = [_hit("UK OGEL", "UK"), _hit("EAR rule", "US-EAR"), _hit("EU rule", "EU")]
    ordered = prefer_regime(hits, ["US-EAR"])
    assert ordered[0].chunk.jurisdiction == "US-EAR"


def test_passages_about_another_embargoed_country_go_last() -> None:
    hits = [_hit("A Cuba travel example.", "US-OFAC"), _hit("Iran rules.", "US-OFAC")]
    ordered = prefer_regime(hits, ["US-EAR", "US-OFAC"], ["IR"])
    assert ordered[0].chunk.text == "Iran rules."
