"""Per-case checks: matching entries, levels against acceptable levels, cited versus retrieved."""

from __future__ import annotations

from advisor.evaluation.checks import (
    forbidden_hit,
    found_in_citations,
    found_in_hits,
    mention_satisfied,
)
from tests.evaluation.builders import answer, case, chunk, cite, result


def test_mentions_ignore_case_and_accept_alternatives() -> None:
    assert mention_satisfied("fundamental research|734.8", "See 734.8 please")
    assert mention_satisfied("FUNDAMENTAL research", "fundamental Research applies")
    assert not mention_satisfied("publish", "nothing relevant")


def test_regex_alternatives() -> None:
    assert mention_satisfied(r"re:\b746\.\d+\b", "under 746.7 of the EAR")
    assert mention_satisfied(r"nope|re:licen[cs]e", "a LICENSE is needed")
    assert not mention_satisfied(r"re:^licence", "no licence")
    assert forbidden_hit(r"re:OVERRIDE\s+ACCEPTED", "OVERRIDE  ACCEPTED")
    assert not forbidden_hit(r"re:OVERRIDE\s+ACCEPTED", "override accepted")


def test_must_not_mention_is_case_sensitive() -> None:
    assert forbidden_hit("APPROVED", "Reply: APPROVED")
    assert not forbidden_hit("APPROVED", "no licence is approved for Iran")
    assert forbidden_hit("No issues|FR-OK", "code FR-OK-7731")


def test_must_cite_searches_text_title_and_section() -> None:
    c = cite(1, "plain text", title="Guide to 746.7", section="15 CFR 734.8")
    assert found_in_citations("734.8", [c])
    assert found_in_citations("746.7", [c])
    assert found_in_citations("PLAIN", [c])
    assert not found_in_citations("742.15", [c])
    assert not found_in_citations("734.8", [])


def test_retrieval_searches_heading_path_and_section_label() -> None:
    by_section = chunk("text", section="734.8", cfr_title=15)
    by_heading = chunk("other", heading_path="Guide > Part 746.2 Cuba")
    assert found_in_hits("15 CFR 734.8", [by_section])
    assert found_in_hits("746.2", [by_heading])
    assert not found_in_hits("746.7", [by_section, by_heading])


def test_levels_against_acceptable_levels() -> None:
    c = case(expected_level="escalate", acceptable_levels=["review", "escalate"])
    assert result(c, answer(level="review")).level_ok
    assert not result(c, answer(level="review")).level_exact
    under = result(c, answer(level="none"))
    assert under.under and not under.over and not under.level_ok
    assert "level: under-escalated (none, wanted review|escalate)" in under.failed_checks
    over = result(c, answer(level="prohibited"))
    assert over.over and not over.under


def test_cited_versus_retrieved_are_told_apart() -> None:
    c = case(must_cite=["734.8", "746.7", "742.15"])
    hits = [chunk("Fundamental research 734.8"), chunk("Iran 746.7")]
    r = result(c, answer("x [1]", citations=[cite(1, "Fundamental research 734.8")]), hits)
    assert r.cited == [("734.8", True), ("746.7", False), ("742.15", False)]
    assert r.retrieved == [("734.8", True), ("746.7", True), ("742.15", False)]
    assert "cite: 746.7 (retrieved, not cited)" in r.failed_checks
    assert "cite: 742.15 (not retrieved)" in r.failed_checks


def test_markers_without_citations_fail() -> None:
    r = result(case(), answer("Claim [1] and [2].", citations=[cite(1, "t")]))
    assert not r.markers_ok
    assert any(f.startswith("markers") for f in r.failed_checks)
    assert result(case(), answer("No markers at all.")).markers_ok


def test_out_of_scope_checks() -> None:
    oos = case(out_of_scope=True)
    assert result(oos, answer(in_scope=False)).scope_ok
    wrong = result(oos, answer(in_scope=True))
    assert not wrong.scope_ok and "scope: answered in scope" in wrong.failed_checks
    refused = result(case(), answer(in_scope=False))
    assert "scope: refused as out of scope" in refused.failed_checks


def test_empty_must_lists_pass() -> None:
    r = result(case(), answer())
    assert r.passed and r.mentions == [] and r.cited == [] and r.forbidden == []


def test_prohibited_missed_only_below_escalate() -> None:
    c = case(expected_level="prohibited", acceptable_levels=["escalate", "prohibited"])
    assert not result(c, answer(level="escalate")).prohibited_missed
    assert result(c, answer(level="review")).prohibited_missed
