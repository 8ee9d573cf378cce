"""The admin Evaluation tab's views of a run: summary, gate table, failing cases, charts and
the comparison with an earlier run (the same renderers as report.md and report.html)."""

from __future__ import annotations

import html
from pathlib import Path

from advisor.evaluation.charts import charts
from advisor.evaluation.compare import compare_reports
from advisor.evaluation.display import fmt
from advisor.evaluation.render_markdown import compare_lines
from advisor.evaluation.report import EvalReport, load_report
from advisor.services.evaluation import EvalRun
from advisor.ui.render import admin as render_admin

ANSWER_CHARS = 1500
CHART_TITLES = {
    "tags": "Pass rate and level accuracy per tag",
    "confusion": "Level confusion matrix",
    "latency": "Latency distribution",
}


def audit_note(run: EvalRun) -> str:
    """A warning to append when the run's audit event was not recorded, else nothing."""
    return render_admin.audit_note(run.audit_failure)


def summary_markdown(report: EvalReport) -> str:
    s, gate = report.summary, report.gate
    lines = [f"### {s.passed}/{s.cases} cases passed ({fmt('pass_rate', s.pass_rate)})", ""]
    if gate is not None:
        lines.append(f"**Regression gate: {'✅ PASSED' if gate.passed else '❌ FAILED'}**")
        if gate.prohibited_below_escalate:
            lines.append(
                "\n❌ Expected *prohibited*, answered below *escalate*: "
                + ", ".join(f"`{c}`" for c in gate.prohibited_below_escalate)
            )
        lines += [f"- {n}" for n in gate.notes]
    return "\n".join(lines)


def gate_rows(report: EvalReport) -> list[list[str]]:
    """Each metric against the baseline; metrics the baseline lacks are shown ungated."""
    rows = []
    checked = set()
    for c in report.gate.checks if report.gate is not None else []:
        key = c.metric
        checked.add(key)
        status = {"pass": "✅ pass", "fail": "❌ fail"}.get(c.status, c.status)
        rows.append([key, fmt(key, c.baseline), fmt(key, c.current), fmt(key, c.limit), status])
    for key, value in report.metrics.items():
        if key not in checked:
            rows.append([key, "n/a", fmt(key, value), "n/a", "not gated"])
    return rows


def failing_rows(report: EvalReport) -> list[list[str]]:
    """Failing cases, worst first, with answers cut to fit a table cell."""
    rows = []
    for c in report.failing:
        answer = c.answer
        if len(answer) > ANSWER_CHARS:
            answer = answer[:ANSWER_CHARS].rstrip() + " […]"
        rows.append(
            [
                c.id,
                c.expected_level.value,
                c.level.value,
                "; ".join(c.failed_checks),
                c.question,
                answer,
            ]
        )
    return rows


def charts_html(report: EvalReport) -> str:
    """The report's charts (same renderer as report.html), scaled to the screen's width."""
    return "".join(
        f'<figure style="margin:0.5em 0"><img alt="{html.escape(CHART_TITLES.get(k, k))}" '
        f'src="{uri}" style="max-width:100%;height:auto"><figcaption>'
        f"{html.escape(CHART_TITLES.get(k, k))}</figcaption></figure>"
        for k, uri in charts(report).items()
    )


def compare_markdown(report: EvalReport, other_dir: Path) -> str:
    """A finished run against an earlier one, as ``advisor eval --compare`` prints it."""
    cmp = compare_reports(report, load_report(other_dir), str(other_dir))
    return "\n".join(compare_lines(cmp))
