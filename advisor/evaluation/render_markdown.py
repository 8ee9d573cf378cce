"""report.md: a summary short enough for a pull-request comment; details live in report.html.

``compare_lines`` and ``gate_lines`` are also what ``advisor eval`` prints.
"""

from __future__ import annotations

import re

from advisor.evaluation.display import coverage_text, fmt, fmt_delta, region_texts
from advisor.evaluation.outcome import DEFINITIONS
from advisor.evaluation.report import Comparison, EvalReport, GateResult

# report.md must fit a pull-request comment (GitHub caps them at 65,536 characters).
MD_ANSWERS = 10
MD_ANSWER_CHARS = 1500
MD_LISTED = 30  # ids listed per line (compared cases, new cases, changed levels)


def _md(text: object) -> str:
    """One table cell: pipes escaped, no line breaks."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}text\n{text}\n{ticks}"


def compare_lines(cmp: Comparison) -> list[str]:
    """Markdown for the comparison; also what the CLI prints."""
    lines = [
        f"## Compared with {_md(cmp.other)} ({cmp.other_created or 'unknown date'})",
        "",
        "| metric | before | after | delta | |",
        "|---|---|---|---|---|",
    ]
    for key, d in cmp.metrics.items():
        lines.append(
            f"| {key} | {fmt(key, d.before)} | {fmt(key, d.after)} | "
            f"{fmt_delta(key, d.delta)} | {d.verdict} |"
        )
    lines.append("")
    if cmp.flipped:
        lines += ["**Cases that flipped pass/fail**", ""]
        lines += [
            f"- `{c.id}`: {c.before} -> {c.after}"
            + (f" ({_md('; '.join(c.failed_checks))})" if c.failed_checks else "")
            for c in cmp.flipped
        ]
        lines.append("")
    if cmp.level_changed:
        lines += ["**Cases whose level changed**", ""]
        lines += [
            f"- `{c.id}`: {c.before} -> {c.after} (expected {c.expected})"
            for c in cmp.level_changed
        ]
        lines.append("")
    if not cmp.flipped and not cmp.level_changed:
        lines += ["No case flipped pass/fail or changed level.", ""]
    for what, ids in (("added", cmp.added), ("removed", cmp.removed)):
        if ids:
            lines += [f"Cases {what}: " + ", ".join(f"`{c}`" for c in ids), ""]
    return lines


def _ids(ids: list[str]) -> str:
    shown = ", ".join(f"`{_md(i)}`" for i in ids[:MD_LISTED])
    return shown + (f" and {len(ids) - MD_LISTED} more" if len(ids) > MD_LISTED else "")


def _coverage_lines(gate: GateResult) -> list[str]:
    lines = [coverage_text(gate), ""]
    if gate.compared_cases:
        lines += [f"Compared cases ({len(gate.compared_cases)}): {_ids(gate.compared_cases)}", ""]
    if gate.new_cases:
        lines += [f"New, not gated ({len(gate.new_cases)}): {_ids(gate.new_cases)}", ""]
    if gate.level_changed:
        changes = [
            f"`{_md(c.id)}` {c.before} -> {c.after} (expected {c.expected})"
            for c in gate.level_changed[:MD_LISTED]
        ]
        more = len(gate.level_changed) - MD_LISTED
        lines += [
            "Level differs from the baseline's: "
            + "; ".join(changes)
            + (f" and {more} more" if more > 0 else ""),
            "",
        ]
    return lines


def gate_lines(gate: GateResult) -> list[str]:
    lines = [f"## Regression gate: {gate.verdict}", ""]
    lines += _coverage_lines(gate)
    if gate.prohibited_below_escalate:
        lines.append(
            "**Cases expected at prohibited answered below escalate:** "
            + ", ".join(f"`{c}`" for c in gate.prohibited_below_escalate)
        )
        lines.append("")
    if gate.checks:
        lines += ["| metric | baseline | current | limit | status |", "|---|---|---|---|---|"]
        for c in gate.checks:
            key = c.metric
            status = f"**{c.status}**" if c.status == "fail" else c.status
            lines.append(
                f"| {key} | {fmt(key, c.baseline)} | {fmt(key, c.current)} | "
                f"{fmt(key, c.limit)} ({'min' if c.better == 'higher' else 'max'}) "
                f"| {status} |"
            )
        lines.append("")
    lines += [f"- {_md(n)}" for n in gate.notes]
    if gate.notes:
        lines.append("")
    return lines


def _heading_lines(report: EvalReport) -> list[str]:
    s, p = report.summary, report.produced_by
    return [
        "# Evaluation report",
        "",
        f"{s.passed}/{s.cases} cases passed ({fmt('pass_rate', s.pass_rate)}); "
        f"created {report.created}.",
        "",
        f"Writer `{p.writer}`, prompt `{p.prompt_version}`, embeddings "
        f"`{p.embedding_model}`, corpus `{p.corpus_files_sha256[:12]}`, rules "
        f"`{p.rules_hash}`, commit `{p.git_commit[:12]}`.",
        "",
    ]


def confusion_lines(report: EvalReport) -> list[str]:
    """The matrix, what its diagonal and the cells either side of it add up to (the level
    rates of the same cases), and the definitions."""
    conf = report.confusion
    levels = conf.levels
    lines = [
        f"## Level confusion (rows: {conf.rows}, columns: produced)",
        "",
        f"| {conf.corner} | " + " | ".join(levels) + " |",
        "|---" * (len(levels) + 1) + "|",
    ]
    for e in levels:
        counts = conf.counts[e]
        lines.append(f"| {e} | " + " | ".join(str(counts[g]) for g in levels) + " |")
    lines += ["", *(f"- {t}" for t in region_texts(report)), ""]
    lines += [f"- **{k}**: {v}" for k, v in DEFINITIONS.items()]
    return lines


def _tag_lines(report: EvalReport) -> list[str]:
    lines = [
        "## Per tag",
        "",
        "| tag | cases | pass rate | level acc. | under-esc. | mention | citation | retrieval |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for tag, t in report.tags.items():
        m = t.metrics
        lines.append(
            f"| {_md(tag)} | {t.cases} | {fmt('', t.pass_rate)} | "
            f"{fmt('', m['level_accuracy'])} | {fmt('', m['under_escalation_rate'])} | "
            f"{fmt('', m['mention_recall'])} | {fmt('', m['citation_recall'])} | "
            f"{fmt('', m['retrieval_hit_rate'])} |"
        )
    return lines


def _failing_lines(report: EvalReport) -> list[str]:
    failing = report.failing
    lines = [f"## Failing cases ({len(failing)}), worst first", ""]
    if not failing:
        return [*lines, "None."]
    lines += ["| case | expected | got | failed checks |", "|---|---|---|---|"]
    lines += [
        f"| `{c.id}` | {c.expected_level} | {c.level} | {_md('; '.join(c.failed_checks))} |"
        for c in failing
    ]
    shown = failing[:MD_ANSWERS]
    lines += [
        "",
        f"<details><summary>Answers of the {len(shown)} worst failing cases "
        "(all answers are in report.html)</summary>",
        "",
    ]
    for c in shown:
        text = c.answer
        if len(text) > MD_ANSWER_CHARS:
            text = text[:MD_ANSWER_CHARS].rstrip() + " [...]"
        lines += [f"### {c.id}", "", f"> {_md(c.question)}", "", _fence(text), ""]
    lines.append("</details>")
    return lines


def render_markdown(report: EvalReport) -> str:
    """A summary short enough for a pull-request comment; details live in report.html."""
    lines = _heading_lines(report)
    if report.gate is not None:
        lines += gate_lines(report.gate)
    lines += ["## Metrics", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {fmt(k, v)} |" for k, v in report.metrics.items()]
    lines.append("")
    if report.compare is not None:
        lines += compare_lines(report.compare)
    lines += confusion_lines(report)
    lines.append("")
    lines += _tag_lines(report)
    lines.append("")
    lines += _failing_lines(report)
    return "\n".join(lines) + "\n"
