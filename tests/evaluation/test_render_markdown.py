"""report.md: short enough for a pull-request comment, tables that survive odd cell text."""

from __future__ import annotations

from pathlib import Path

from advisor.evaluation.render_markdown import (
    MD_ANSWER_CHARS,
    gate_lines,
    render_markdown,
)
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
    assert "| expected \\ produced | none | review | escalate | prohibited |" in md


def test_gate_lines_mark_failures_and_limits(fake: FakeAdvisor, tmp_path: Path) -> None:
    report = make_report(fake, tmp_path)
    assert report.gate is not None
    lines = gate_lines(report.gate)
    assert lines[0] == "## Regression gate: PASSED"
    assert "- no baseline: only the prohibited-case check ran" in lines
