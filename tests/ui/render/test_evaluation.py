"""The Evaluation tab's views of a run: summary, gate rows, failing rows, charts, comparison."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.evaluation import provenance
from advisor.evaluation.gate import Baseline, run_gate
from advisor.evaluation.suite import write_reports
from advisor.services.evaluation import EvalRun
from advisor.ui.render.evaluation import (
    ANSWER_CHARS,
    audit_note,
    charts_html,
    compare_markdown,
    failing_rows,
    gate_rows,
    summary_markdown,
)
from tests.evaluation.builders import FakeAdvisor, answer, good_replies, make_fake, make_report

FR = "What is fundamental research?"


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeAdvisor:
    monkeypatch.setattr(provenance, "git_commit", lambda: "abc123")
    return make_fake(tmp_path)


def test_summary_and_gate_rows(fake: FakeAdvisor, tmp_path: Path) -> None:
    replies = good_replies()
    replies["Can I ship my exploit kit to Tehran?"] = (answer("Fine.", "review"), [])
    report = make_report(fake, tmp_path, replies)
    summary = summary_markdown(report)
    assert summary.startswith("### 2/3 cases passed (0.6667)")
    assert "**Regression gate: ❌ FAILED**" in summary and "`iran-kit`" in summary
    assert "- no baseline: only the prohibited-case check ran" in summary
    rows = gate_rows(report)
    assert rows[0] == ["level_accuracy", "n/a", "0.6667", "n/a", "not gated"]
    assert len(rows) == len(report.metrics)

    baseline = Baseline.model_validate(
        {"metrics": {"level_accuracy": {"value": 1.0, "better": "higher", "tolerance": 0.1}}}
    )
    report.gate = run_gate(report.metrics, [], baseline)
    gated = {row[0]: row for row in gate_rows(report)}
    assert gated["level_accuracy"] == ["level_accuracy", "1.0000", "0.6667", "0.9000", "❌ fail"]
    assert gated["latency_p50_ms"][4] == "not gated"


def test_failing_rows_cut_long_answers(fake: FakeAdvisor, tmp_path: Path) -> None:
    replies = good_replies()
    replies[FR] = (answer("y" * (ANSWER_CHARS + 10), "escalate"), [])
    rows = failing_rows(make_report(fake, tmp_path, replies))
    assert [r[:3] for r in rows] == [["fr-basics", "none", "escalate"]]
    assert all(type(cell) is str for cell in rows[0])  # plain strings, not Level members
    assert rows[0][5] == "y" * ANSWER_CHARS + " […]" and rows[0][4] == FR
    assert "level: over-escalated" in rows[0][3]


def test_charts_and_comparison(fake: FakeAdvisor, tmp_path: Path) -> None:
    before = make_report(fake, tmp_path)
    write_reports(before, tmp_path / "before")
    html = charts_html(before)
    assert html.count("<img") == 3 and 'alt="Pass rate and level accuracy per tag"' in html
    assert "<figcaption>Latency distribution</figcaption>" in html
    replies = good_replies()
    replies[FR] = (answer("Nothing useful.", "escalate"), [])
    after = make_report(fake, tmp_path, replies)
    text = compare_markdown(after, tmp_path / "before")
    assert text.startswith(f"## Compared with {tmp_path / 'before'}")
    assert "`fr-basics`: pass -> fail" in text


def test_audit_note_escapes_the_problem(fake: FakeAdvisor, tmp_path: Path) -> None:
    report = make_report(fake, tmp_path)
    run = EvalRun(report, {}, tmp_path)
    assert audit_note(run) == ""
    broken = EvalRun(report, {}, tmp_path, audit_failure="no *table* audit_events")
    note = audit_note(broken)
    assert note.startswith("\n\n⚠️ The change was made but not recorded in the audit trail: ")
    assert note.endswith("no \\*table\\* audit\\_events")
