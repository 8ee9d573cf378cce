"""The admin Evaluation tab's views of a run: summary, gate table, failing cases, charts and
the comparison with an earlier run (the same renderers as report.md and report.html)."""

from __future__ import annotations

import html
import re
from pathlib import Path

from advisor.evaluation.charts import charts
from advisor.evaluation.compare import compare_reports
from advisor.evaluation.display import coverage_text, fmt, region_texts
from advisor.evaluation.outcome import DEFINITIONS
from advisor.evaluation.render_markdown import compare_lines
from advisor.evaluation.report import EvalReport, GateResult, load_report
from advisor.services.evaluation import EvalRun
from advisor.ui.render import admin as render_admin
from advisor.ui.render.admin import md_text

ANSWER_CHARS = 1500
CHART_TITLES = {
    "tags": "Pass rate and level accuracy per tag",
    "confusion": "Level confusion matrix",
    "latency": "Latency distribution",
}


def audit_note(run: EvalRun) -> str:
    """A warning to append when the run's audit event was not recorded, else nothing."""
    return render_admin.audit_note(run.audit_failure)


VERDICT_BADGES = {"PASSED": "✅ PASSED", "FAILED": "❌ FAILED", "NOT GATED": "⚪ NOT GATED"}
LISTED = 40  # case ids listed in the summary before "and N more"


def _ids(ids: list[str]) -> str:
    shown = ", ".join(f"`{i}`" if "`" not in i else md_text(i) for i in ids[:LISTED])
    return shown + (f" and {len(ids) - LISTED} more" if len(ids) > LISTED else "")


def gate_markdown(gate: GateResult) -> list[str]:
    """The verdict, which cases were compared and which were new, then the gate's notes."""
    lines = [f"**Regression gate: {VERDICT_BADGES[gate.verdict]}**", "", coverage_text(gate), ""]
    if gate.prohibited_below_escalate:
        lines.append(
            "- ❌ Expected *prohibited*, answered below *escalate*: "
            + _ids(gate.prohibited_below_escalate)
        )
    if gate.compared_cases:
        lines.append(f"- **Compared ({len(gate.compared_cases)}):** {_ids(gate.compared_cases)}")
    if gate.new_cases:
        lines.append(f"- **New, not gated ({len(gate.new_cases)}):** {_ids(gate.new_cases)}")
    if gate.level_changed:
        lines.append(
            "- **Level differs from the baseline's:** "
            + "; ".join(
                f"{_ids([c.id])} {c.before} → {c.after} (expected {c.expected})"
                for c in gate.level_changed[:LISTED]
            )
        )
    lines += [f"- {md_text(n)}" for n in gate.notes]
    return lines


def summary_markdown(report: EvalReport) -> str:
    s, gate = report.summary, report.gate
    lines = [f"### {s.passed}/{s.cases} cases passed ({fmt('pass_rate', s.pass_rate)})", ""]
    if gate is not None:
        lines += gate_markdown(gate)
    return "\n".join(lines)


_BORDER = "padding:2px 6px;border:1px solid var(--border-color-primary)"
_CELL = _BORDER + ";white-space:nowrap"  # a level name never breaks; the corner may
_CODE = re.compile(r"`([^`]+)`")


def _coded(text: str) -> str:
    """Escaped text with the definitions' `names` as code."""
    return _CODE.sub(r"<code>\1</code>", html.escape(text))


def levels_html(report: EvalReport) -> str:
    """The confusion matrix as a compact table (it fits a phone; a narrower screen scrolls
    the table, not the page), what its diagonal and either side add up to beside the level
    rates, and the definitions: the same content as report.md's section."""
    conf = report.confusion
    head = f"<th style='{_BORDER};text-align:left'>{html.escape(conf.corner)}</th>" + "".join(
        f"<th style='{_CELL}'>{html.escape(lv)}</th>" for lv in conf.levels
    )
    body = "".join(
        f"<tr><th style='{_CELL};text-align:left'>{html.escape(e)}</th>"
        + "".join(
            f"<td style='{_CELL};text-align:right'>{conf.counts[e][g]}</td>" for g in conf.levels
        )
        + "</tr>"
        for e in conf.levels
    )
    regions = "".join(f"<li>{html.escape(t)}</li>" for t in region_texts(report))
    terms = "".join(
        f"<li><strong>{html.escape(k)}</strong>: {_coded(v)}</li>" for k, v in DEFINITIONS.items()
    )
    return (
        f"<h3>Level confusion (rows: {html.escape(conf.rows)}, columns: produced)</h3>"
        "<div style='overflow-x:auto;max-width:100%'>"
        "<table style='border-collapse:collapse;font-size:0.85em;margin:0.5em 0'>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        f"<ul>{regions}</ul><ul>{terms}</ul>"
    )


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
