"""The bottom line answers the question asked and agrees with the level."""

from __future__ import annotations

import pytest

from advisor.models import Flag, Level
from advisor.rules.determinations import Determination, DeterminationMatch
from advisor.rules.situation import Situation
from advisor.writing.verdict import compose, polarity


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Can I send my paper to a co-author in China?", "permission"),
        ("May my Iranian postdoc see this code?", "permission"),
        ("Is it ok to take my laptop to Germany?", "permission"),
        ("Am I allowed to hire a Russian engineer?", "permission"),
        ("Do I need an export licence for this?", "requirement"),
        ("Is a license required to ship the board to Canada?", "requirement"),
        ("Is showing the code to a green card holder a deemed export?", "requirement"),
        ("Would publishing the exploit count as an export?", "requirement"),
        ("What is a deemed export?", "other"),
    ],
)
def test_polarity(question: str, expected: str) -> None:
    assert polarity(question) == expected


def _det(verdict: str, level: Level) -> DeterminationMatch:
    entry = Determination(
        id="example-entry",
        topic="deemed-exports",
        jurisdiction="US-EAR",
        questions=[
            "Can a green card holder see our code?",
            "Is an LPR a foreign person?",
            "do permanent residents need a deemed export licence",
        ],
        verdict=verdict,  # type: ignore[arg-type]
        answer="No licence is needed: a lawful permanent resident is not a foreign person "
        "(15 CFR 772.1, 734.13(b)).",
        level=level,
        citations=["15 CFR 772.1"],
    )
    return DeterminationMatch(determination=entry, score=0.8, source="x.yaml")


def test_yes_for_permission_and_no_for_requirement() -> None:
    match = _det("allowed", Level.NONE)
    yes = compose("Can she see the code?", Level.NONE, [], Situation(), match)
    no = compose("Do I need a licence for her?", Level.NONE, [], Situation(), match)
    assert yes.text.startswith("Yes.") and no.text.startswith("No.")
    assert "772.1" in yes.text


def _flag(level: Level, answer: str) -> Flag:
    return Flag(id="r", level=level, reason="why", citation="15 CFR 746.7", answer=answer)


@pytest.mark.parametrize(
    ("level", "answer", "word"),
    [
        (
            Level.PROHIBITED,
            "Not without a licence, which is generally denied (15 CFR 746.7).",
            "not",
        ),
        (Level.ESCALATE, "A licence is likely required first (15 CFR 734.13).", "licen"),
        (Level.REVIEW, "It depends on where the recipient is (15 CFR 734.13).", "depends"),
    ],
)
def test_rule_based_lead_agrees_with_the_level(level: Level, answer: str, word: str) -> None:
    lead = compose("Can I share it?", level, [_flag(level, answer)], Situation(), None)
    assert word in lead.text.lower()
    if level is not Level.REVIEW:
        assert not lead.text.startswith("Yes")


def test_no_deciding_rule_means_no_fixed_sentence() -> None:
    assert compose("What is the EAR?", Level.NONE, [], Situation(), None).text == ""


def test_missing_facts_are_named_in_a_review_lead() -> None:
    situation = Situation(missing=["publication", "recipient_location"])
    lead = compose(
        "Can I send it?",
        Level.REVIEW,
        [_flag(Level.REVIEW, "It depends (15 CFR 734.7).")],
        situation,
        None,
    )
    assert "published" in lead.text and "recipient" in lead.text
