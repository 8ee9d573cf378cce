"""report.md: short enough for a pull-request comment, tables that survive odd cell text."""

from __future__ import annotations

from pathlib import Path

from advisor.evaluation.render_markdown import (
    MD_ANSWER_CHARS,
    MD_LISTED,
    gate_lines,
    render_markdown,
)
from advisor.evaluation.report import GateResult, LevelChange
from tests.evaluation.builders import FakeAdvisor, answer, good_replies, make_report


def test_failing_answers_are_capped_and_cells_escaped(fake: FakeAdvisor, tmp_path: Path) -> None:
    replies = good_replies()
    long = "x" * (MD_ANSWER_CHARS + 50) + " ```fence``` "
    replies["What is fundamental research?"] = (answer(long, "escalate"), [])
    report = make_report(fake, tmp_path, replies)
    report.cases[0].failed_checks.append("a | b\nc")
    md = render_markdown(report)
    assert "a \\| b c" in md
    assert "Answers of the 1 worst failing cases" in md
    assert "x" * MD_ANSWER_CHARS + " [...]" in md and "fence" not in md
    assert "| acceptable \\ produced | none | review | escalate | prohibited |" in md
    assert "- below the diagonal: 0 of 3 cases (0.0000); under_escalation_rate 0.0000" in md
    assert "- above the diagonal: 1 of 3 cases (0.3333); over_escalation_rate 0.3333" in md
    assert "- on the diagonal: 2 of 3 cases (0.6667); level_accuracy 0.6667" in md
    assert "- **over_escalation_rate**: cases whose level is above the highest acceptable" in md


def test_gate_lines_mark_failures_and_limits(fake: FakeAdvisor, tmp_path: Path) -> None:
    report = make_report(fake, tmp_path)
    assert report.gate is not None
    lines = gate_lines(report.gate)
    assert lines[0] == "## Regression gate: PASSED"
    assert "- no baseline: only the prohibited-case check ran" in lines


def test_gate_lines_say_which_cases_were_compared() -> None:
    gate = GateResult(
        passed=True,
        metrics_passed=True,
        prohibited_below_escalate=[],
        checks=[],
        notes=["case files differ from the baseline's"],
        coverage="subset",
        compared=2,
        baseline_cases=5,
        compared_cases=["a", "b"],
        new_cases=["c"],
        level_changed=[LevelChange(id="b", expected="review", before="none", after="review")],
    )
    lines = gate_lines(gate)
    assert lines[0] == "## Regression gate: PASSED"
    assert (
        "Compared with the baseline on the 2 case(s) both have (of 5 in it); "
        "1 new case(s), not gated." in lines
    )
    assert "Compared cases (2): `a`, `b`" in lines and "New, not gated (1): `c`" in lines
    assert "- case files differ from the baseline's" in lines
    assert "Level differs from the baseline's: `b` none -> review (expected review)" in lines
    alone = gate.model_copy(
        update={"coverage": "no shared cases", "gated": False, "compared_cases": []}
    )
    assert gate_lines(alone)[:3] == [
        "## Regression gate: NOT GATED",
        "",
        "No baseline for these cases: not gated.",
    ]
    failed = alone.model_copy(update={"passed": False, "prohibited_below_escalate": ["c"]})
    assert gate_lines(failed)[0] == "## Regression gate: FAILED"
    many = gate.model_copy(update={"new_cases": [f"n{i}" for i in range(MD_LISTED + 5)]})
    assert any(line.endswith("and 5 more") for line in gate_lines(many))
