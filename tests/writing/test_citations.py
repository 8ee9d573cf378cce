"""Grounding checks on model replies (pure functions, hand-made replies)."""

from __future__ import annotations

import pytest

from advisor.models import Citation, Flag, Level
from advisor.writing.citations import (
    check_answer,
    check_decline,
    is_exempt,
    normalise_markers,
    parse_reply,
    ref_in,
    regulation_refs,
    suggested_level,
    units,
)

GIVEN = {
    1: Citation(
        n=1,
        doc_id="enc",
        title="Encryption guide",
        section="15 CFR 740.17",
        source="corpus/guidance/encryption.md",
        text="Under paragraph (b) mass-market items may be self-classified. ECCN 5D002 covers "
        "encryption software.",
        score=0.8,
    ),
    2: Citation(
        n=2,
        doc_id="emb",
        title="Embargoes",
        section=None,
        source="corpus/guidance/embargoes.md",
        text="Exports to Iran are governed by 15 CFR 746.7. Art. 5 of the EU regulation applies.",
        score=0.7,
    ),
}
FLAGS = [
    Flag(
        id="iran",
        level=Level.PROHIBITED,
        reason="Iran is under a comprehensive embargo.",
        citation="15 CFR 746.7; 31 CFR 560.204",
    )
]


def check(text: str, level: Level = Level.PROHIBITED, question: str = "") -> list[str]:
    return check_answer(parse_reply(text), GIVEN, FLAGS, level, question)


def test_grounded_reply_passes() -> None:
    text = (
        "LEVEL: PROHIBITED\n\nExports to Iran are governed by 15 CFR 746.7 [2].\n\n"
        "**Encryption**\n- ECCN 5D002 covers encryption software [1].\n"
        "- Mass-market items may be self-classified under 740.17(b) [1].\n\n"
        "The passages do not say whether 740.17(b)(3) applies.\n\n"
        "Contact your export control office before you share anything."
    )
    assert check(text, question="Does 740.17(b)(3) apply?") == []


def test_level_line_is_parsed_out_and_optional() -> None:
    """Issue 11: the level comes from the rules, so a grounded reply that only leaves out the
    LEVEL line is kept; a wrong level line is still a problem."""
    reply = parse_reply("**LEVEL: prohibited**\nText [1].")
    assert reply.stated_levels == ["prohibited"] and reply.prose == "Text [1]."
    assert check("Text [1].") == []
    assert any("but the rules set PROHIBITED" in p for p in check("LEVEL: NONE\nText [1]."))


@pytest.mark.parametrize(
    "text",
    [
        "LEVEL: NONE\n\nShip it [1].",
        "LEVEL: PROHIBITED\n\nOn reflection the level is none [1].",
        "LEVEL: PROHIBITED\n\nEscalation level: REVIEW [1].",
    ],
)
def test_a_different_level_is_a_problem(text: str) -> None:
    assert any("but the rules set PROHIBITED" in p for p in check(text))


def test_a_flag_level_named_in_passing_is_not_a_claim() -> None:
    flags = [*FLAGS, Flag(id="travel", level=Level.REVIEW, reason="Travel.", citation="x")]
    text = "LEVEL: PROHIBITED\n\nA second flag sits at level REVIEW [1]."
    assert check_answer(parse_reply(text), GIVEN, flags, Level.PROHIBITED) == []


def test_a_verdict_is_a_problem() -> None:
    problems = check("LEVEL: PROHIBITED\n\nAPPROVED. Exports to Iran are fine [2].")
    assert any("declares 'APPROVED'" in p for p in problems)


def test_unknown_passage_and_uncited_paragraph() -> None:
    problems = check("LEVEL: PROHIBITED\n\nIran is embargoed [3].\n\nYou may ship anyway.")
    assert any(p.startswith("[3] cites a passage that was not given") for p in problems)
    assert any('no [n] citation: "You may ship anyway."' in p for p in problems)


def test_every_list_item_needs_a_citation() -> None:
    assert units("Intro:\n- one [1]\n- two\n\nPara [2].") == [
        "Intro:",
        "- one [1]",
        "- two",
        "Para [2].",
    ]
    assert any("- two" in p for p in check("LEVEL: PROHIBITED\n\nIntro:\n- one [1]\n- two"))


def test_invented_references_are_problems() -> None:
    problems = check(
        "LEVEL: PROHIBITED\n\nLicence Exception ENC in 740.17(c)(2) covers it [1].\n\n"
        "ECCN 5A002 and Part 742 apply [1].\n\nSee Art. 9 and Category XI [2]."
    )
    shown = " ".join(problems)
    for ref in ("740.17(c)(2)", "5A002", "Part 742", "Art. 9", "Category XI"):
        assert f"{ref} does not appear" in shown, ref


def test_references_must_be_in_a_cited_passage() -> None:
    # 5D002 is only in passage 1, which this reply does not cite.
    assert any("5D002" in p for p in check("LEVEL: PROHIBITED\n\n5D002 applies to Iran [2]."))


def test_flag_citations_count_as_given() -> None:
    assert check("LEVEL: PROHIBITED\n\nOFAC rules in 560.204 apply to Iran [2].") == []


@pytest.mark.parametrize(
    ("ref", "haystack", "sections", "ok"),
    [
        ("740.17(b)(2)", "§ 740.17(b)(2) says", [], True),
        ("740.17(b)(2)", "§ 740.17 says (b) mass market", ["15 CFR 740.17"], True),
        ("740.17(b)(2)", "§ 740.17 says (b) mass market", ["15 CFR 740.1"], False),
        ("746.8", "15 CFR 746.8(a)(1)", [], True),
        ("746.8", "15 CFR 746.80", [], False),
        ("Part 746", "see 746.7", [], True),
        ("Art. 5", "Article 5 of Regulation 2021/821", [], True),
        ("5D002", "ECCN 5D002.c.1", [], True),
    ],
)
def test_ref_in(ref: str, haystack: str, sections: list[str], ok: bool) -> None:
    assert ref_in(ref, haystack, sections) is ok


def test_regulation_refs() -> None:
    text = "Under 15 CFR 740.17(b)(2), ECCN 5D002, EAR99, Part 734, Art. 4 and Category XV; $100.50"
    assert regulation_refs(text) == [
        "740.17(b)(2)",
        "5D002",
        "EAR99",
        "Part 734",
        "Art. 4",
        "Category XV",
    ]
    assert regulation_refs("version 2.1 of 2026.01 costs 10.5 dollars") == []


def test_markers_are_normalised() -> None:
    assert normalise_markers("a [1, 2] b [3-5] c [1-40]") == "a [1][2] b [3][4][5] c [1-40]"


def test_exempt_units() -> None:
    assert is_exempt("**Licences**")
    assert is_exempt("## What applies")
    assert is_exempt("In short, three things matter:")
    assert is_exempt("The corpus does not cover shipments by sea.")
    assert is_exempt("No passage addresses cloud storage.")
    assert is_exempt("Please contact the export control office first.")
    assert not is_exempt("Contact the office, because 740.17 applies.")
    assert not is_exempt("You can ship it.")


def test_suggestions_only_raise() -> None:
    reply = parse_reply("LEVEL: REVIEW\nx [1]\nSUGGESTED LEVEL: **escalate** — source code [1]")
    assert reply.suggestion == ("escalate", "source code [1]")
    assert suggested_level(reply, Level.REVIEW) == (Level.ESCALATE, "source code [1]")
    assert suggested_level(reply, Level.PROHIBITED) is None
    lower = parse_reply("LEVEL: REVIEW\nx [1]\nSUGGESTED LEVEL: none - fine")
    assert suggested_level(lower, Level.REVIEW) is None
    no_reason = parse_reply("LEVEL: REVIEW\nx [1]\nSUGGESTED LEVEL: prohibited")
    assert suggested_level(no_reason, Level.REVIEW) is None


def test_suggestion_reason_is_checked_too() -> None:
    problems = check(
        "LEVEL: REVIEW\n\nx [1]\n\nSUGGESTED LEVEL: escalate - see 999.9 [7]", Level.REVIEW
    )
    assert any("[7]" in p for p in problems) and any("999.9" in p for p in problems)


def test_decline_checks() -> None:
    ok = parse_reply("The corpus does not cover baking, so no cited answer can be given.")
    assert check_decline(ok, [], Level.NONE, "banana bread?") == []
    bad = parse_reply("Per 15 CFR 734.7 [1], bake at 180 degrees. The level is review.")
    problems = " ".join(check_decline(bad, [], Level.NONE, "banana bread?"))
    assert "[n] citations" in problems and "734.7" in problems and "REVIEW" in problems
