"""report.html: one self-contained page (inline CSS, base64 charts) with every answer.

Every value from a run is escaped here, since answers and questions may hold markup.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence

from advisor.evaluation.charts import charts
from advisor.evaluation.display import coverage_text, fmt, fmt_delta, region_texts
from advisor.evaluation.outcome import DEFINITIONS
from advisor.evaluation.report import CaseRow, Comparison, EvalReport, GateResult

esc = html.escape

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
vertical-align:top;text-align:left}th{background:#f3f3f3}.fail{color:#b00020;font-weight:bold}
.pass{color:#1b7f3b}pre{white-space:pre-wrap;background:#f7f7f7;padding:8px;margin:0}
img{max-width:100%}code{background:#f3f3f3;padding:0 3px}
"""
TAG_HEADERS = [
    "tag",
    "cases",
    "pass rate",
    "level acc.",
    "under-esc.",
    "mention",
    "citation",
    "retrieval",
]
TAG_METRICS = (
    "level_accuracy",
    "under_escalation_rate",
    "mention_recall",
    "citation_recall",
    "retrieval_hit_rate",
)


def _table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Cells must already be escaped (they may hold markup made here)."""
    out = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows]
    return "\n".join(out) + "</table>"


def _span(text: str, bad: bool) -> str:
    return f"<span class='{'fail' if bad else ''}'>{esc(text)}</span>"


def _produced_by(report: EvalReport) -> list[str]:
    rows = [
        [esc(k), f"<code>{esc(json.dumps(v) if isinstance(v, dict) else str(v))}</code>"]
        for k, v in report.produced_by.model_dump(mode="json").items()
    ]
    return ["<h2>Produced by</h2>", _table(["what", "value"], rows)]


def _coverage(g: GateResult) -> list[str]:
    parts = [f"<p>{esc(coverage_text(g))}</p>"]
    for label, ids in (("Compared cases", g.compared_cases), ("New, not gated", g.new_cases)):
        if ids:
            parts.append(f"<p>{label} ({len(ids)}): {esc(', '.join(ids))}</p>")
    if g.level_changed:
        rows = [[esc(c.id), esc(c.expected), esc(c.before), esc(c.after)] for c in g.level_changed]
        parts.append("<h3>Level differs from the baseline's</h3>")
        parts.append(_table(["case", "expected", "baseline", "now"], rows))
    return parts


def _gate(g: GateResult) -> list[str]:
    cls = {"PASSED": "pass", "FAILED": "fail"}.get(g.verdict, "")
    parts = [f"<h2>Regression gate: <span class='{cls}'>{g.verdict}</span></h2>", *_coverage(g)]
    if g.prohibited_below_escalate:
        parts.append(
            "<p class='fail'>Cases expected at prohibited answered below escalate: "
            + esc(", ".join(g.prohibited_below_escalate))
            + "</p>"
        )
    if g.checks:
        rows = [
            [
                esc(c.metric),
                esc(fmt(c.metric, c.baseline)),
                esc(fmt(c.metric, c.current)),
                esc(fmt(c.metric, c.limit)),
                _span(c.status, c.status == "fail"),
            ]
            for c in g.checks
        ]
        parts.append(_table(["metric", "baseline", "current", "limit", "status"], rows))
    return parts + [f"<p>{esc(n)}</p>" for n in g.notes]


def _compare(c: Comparison) -> list[str]:
    rows = [
        [
            esc(k),
            esc(fmt(k, d.before)),
            esc(fmt(k, d.after)),
            esc(fmt_delta(k, d.delta)),
            _span(d.verdict, d.verdict == "worse"),
        ]
        for k, d in c.metrics.items()
    ]
    parts = [
        f"<h2>Compared with {esc(str(c.other))}</h2>",
        _table(["metric", "before", "after", "delta", ""], rows),
    ]
    if c.flipped:
        parts.append("<h3>Cases that flipped pass/fail</h3>")
        flips = [
            [esc(f.id), esc(f.before), esc(f.after), esc("; ".join(f.failed_checks))]
            for f in c.flipped
        ]
        parts.append(_table(["case", "before", "after", "failed checks"], flips))
    if c.level_changed:
        parts.append("<h3>Cases whose level changed</h3>")
        changes = [
            [esc(x.id), esc(x.expected), esc(x.before), esc(x.after)] for x in c.level_changed
        ]
        parts.append(_table(["case", "expected", "before", "after"], changes))
    for what, ids in (("added", c.added), ("removed", c.removed)):
        if ids:
            parts.append(f"<p>Cases {what}: {esc(', '.join(ids))}</p>")
    return parts


def _levels(report: EvalReport) -> list[str]:
    """The confusion matrix as a table, its regions against the rates, and the definitions."""
    conf = report.confusion
    rows = [[esc(e)] + [str(conf.counts[e][g]) for g in conf.levels] for e in conf.levels]
    head = [esc(conf.corner), *(esc(lv) for lv in conf.levels)]
    return [
        "<h2>Level confusion</h2>",
        _table(head, rows),
        "<ul>" + "".join(f"<li>{esc(t)}</li>" for t in region_texts(report)) + "</ul>",
        "<dl>"
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in DEFINITIONS.items())
        + "</dl>",
    ]


def _charts_and_tags(report: EvalReport) -> list[str]:
    rows = [
        [esc(t), str(r.cases), esc(fmt("", r.pass_rate))]
        + [esc(fmt("", r.metrics[k])) for k in TAG_METRICS]
        for t, r in report.tags.items()
    ]
    return [
        "<h2>Charts</h2>",
        *(f"<p><img alt='{esc(name)}' src='{uri}'></p>" for name, uri in charts(report).items()),
        "<h2>Per tag</h2>",
        _table(TAG_HEADERS, rows),
    ]


def _question_and_answer(c: CaseRow) -> str:
    return (
        f"<p><b>Q:</b> {esc(c.question)}</p><details><summary>answer, "
        f"{len(c.citations)} citation(s)</summary><pre>{esc(c.answer)}</pre>"
        + "".join(
            f"<div>[{x.n}] {esc(x.title)}{' - ' + esc(x.section) if x.section else ''}</div>"
            for x in c.citations
        )
        + "</details>"
    )


def _failing(report: EvalReport) -> list[str]:
    failing = report.failing
    parts = [f"<h2>Failing cases ({len(failing)}), worst first</h2>"]
    if not failing:
        return [*parts, "<p>None.</p>"]
    rows = [
        [
            f"<code>{esc(c.id)}</code><br><small>{esc(c.file)}</small>",
            esc(c.expected_level),
            esc(c.level),
            "<br>".join(esc(x) for x in c.failed_checks),
            _question_and_answer(c),
        ]
        for c in failing
    ]
    headers = ["case", "expected", "got", "failed checks", "question and answer"]
    return [*parts, _table(headers, rows)]


def _all_cases(report: EvalReport) -> list[str]:
    rows = [
        [
            esc(c.id),
            esc(c.expected_level),
            esc(c.level),
            "<span class='pass'>pass</span>" if c.passed else "<span class='fail'>fail</span>",
            esc(fmt("_ms", c.latency_ms)),
        ]
        for c in report.cases
    ]
    return ["<h2>All cases</h2>", _table(["case", "expected", "got", "result", "latency"], rows)]


def render_html(report: EvalReport) -> str:
    """Self-contained page (inline CSS, base64 charts); every value from a run is escaped."""
    s = report.summary
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Evaluation report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Evaluation report</h1>",
        f"<p>{s.passed}/{s.cases} cases passed; created {esc(report.created)}.</p>",
        *_produced_by(report),
    ]
    if report.gate is not None:
        parts += _gate(report.gate)
    parts += [
        "<h2>Metrics</h2>",
        _table(["metric", "value"], [[esc(k), esc(fmt(k, v))] for k, v in report.metrics.items()]),
    ]
    if report.compare is not None:
        parts += _compare(report.compare)
    parts += _levels(report)
    parts += _charts_and_tags(report)
    parts += _failing(report)
    parts += _all_cases(report)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
