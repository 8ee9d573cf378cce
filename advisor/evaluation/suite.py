"""One evaluation run, the same for ``advisor eval`` and the admin Evaluation tab.

``run_suite`` validates every input first (cases, baseline, the report to compare with), and
only then builds the advisor, asks every case, gates the run on the baseline, compares it
with an earlier report and writes report.json/.md/.html.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from advisor.errors import InputError
from advisor.evaluation.cases import Case, load_cases, select_cases, shown_path
from advisor.evaluation.checks import CaseResult
from advisor.evaluation.compare import compare_reports
from advisor.evaluation.gate import (
    REGENERATE,
    Baseline,
    load_baseline,
    make_baseline,
    run_gate,
    write_baseline,
)
from advisor.evaluation.metrics import (
    compute_metrics,
    confusion,
    ratio,
    scope_metrics,
    tag_breakdown,
)
from advisor.evaluation.provenance import provenance
from advisor.evaluation.render_html import render_html
from advisor.evaluation.render_markdown import render_markdown
from advisor.evaluation.report import (
    CaseChecks,
    CaseRow,
    CitationRow,
    EntryCheck,
    EvalReport,
    FlagRow,
    GateResult,
    Summary,
    load_report,
    write_report_json,
)
from advisor.evaluation.runner import AdvisorLike, run_cases

DEFAULT_REPORTS = Path("evals/reports")


class Progress(Protocol):
    """Told how far the run is; ``gr.Progress`` fits, and so does a test's lambda."""

    def __call__(self, fraction: float, /, *, desc: str) -> object: ...


@dataclass(frozen=True)
class SuiteRun:
    """A finished run: its report (with ``gate``, and ``compare`` when asked), where the
    report files went, and the baseline file when the run rewrote it."""

    report: EvalReport
    gate: GateResult
    results: list[CaseResult]
    case_files: list[Path]
    paths: dict[str, Path]
    out_dir: Path
    baseline_written: Path | None = None


def _entry_checks(pairs: Sequence[tuple[str, bool]]) -> list[EntryCheck]:
    return [EntryCheck(entry=entry, ok=ok) for entry, ok in pairs]


def case_row(r: CaseResult) -> CaseRow:
    return CaseRow(
        id=r.case.id,
        file=r.case.where,
        question=r.case.question,
        tags=r.case.tags,
        expected_level=r.case.expected_level,
        acceptable_levels=r.case.acceptable,
        level=r.level,
        passed=r.passed,
        failed_checks=r.failed_checks,
        out_of_scope=r.case.out_of_scope,
        in_scope=r.answer.in_scope,
        answer=r.answer.answer,
        flags=[FlagRow(id=f.id, level=f.level, citation=f.citation) for f in r.answer.flags],
        citations=[
            CitationRow(n=c.n, title=c.title, section=c.section) for c in r.answer.citations
        ],
        retrieved=r.passages,
        checks=CaseChecks(
            mention=_entry_checks(r.mentions),
            cite=_entry_checks(r.cited),
            retrieval=_entry_checks(r.retrieved),
            forbidden_hits=r.forbidden,
            markers_valid=r.markers_ok,
        ),
        latency_ms=r.latency_ms,
        judged=r.judged,
    )


def build_report(
    results: Sequence[CaseResult], advisor: AdvisorLike, case_files: Sequence[Path]
) -> EvalReport:
    """The report as data, cases worst first; report.json is this model, the views render it."""
    ordered = sorted(results, key=lambda r: tuple(-x for x in r.severity))
    passed = sum(r.passed for r in results)
    return EvalReport(
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        produced_by=provenance(advisor, results, case_files),
        summary=Summary(
            cases=len(results),
            passed=passed,
            failed=len(results) - passed,
            pass_rate=ratio(passed, len(results)),
        ),
        metrics=compute_metrics(results),
        scopes=scope_metrics(results),
        tags=tag_breakdown(results),
        confusion=confusion(results),
        cases=[case_row(r) for r in ordered],
    )


def write_reports(report: EvalReport, out_dir: Path) -> dict[str, Path]:
    """report.json, report.md and report.html in ``out_dir``, keyed json/md/html."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / "report.json",
        "md": out_dir / "report.md",
        "html": out_dir / "report.html",
    }
    write_report_json(report, paths["json"])
    paths["md"].write_text(render_markdown(report), "utf-8")
    paths["html"].write_text(render_html(report), "utf-8")
    return paths


def new_report_dir(reports_dir: Path) -> Path:
    """A timestamped folder that does not exist yet, so two runs never share one."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = reports_dir / stamp
    n = 2
    while out.exists():
        out, n = reports_dir / f"{stamp}-{n}", n + 1
    return out


def _baseline(path: Path | None, required: bool) -> Baseline | None:
    if path is not None and path.exists():
        return load_baseline(path)
    if path is not None and required:
        raise InputError(f"{path}: no such baseline; create it with --update-baseline")
    return None


def _refuse_partial_update(
    baseline: Baseline | None, files: Sequence[Path], tags: Sequence[str]
) -> None:
    """--update-baseline rewrites the whole-suite baseline, so it must see the whole suite:
    not a tag filter, nor a run that leaves out a case file the baseline covers and that still
    exists (a deleted file is a change to the suite, not a subset)."""
    if tags:
        raise InputError(
            "--update-baseline rewrites the whole-suite baseline: run it without a tag filter"
        )
    if baseline is None or baseline.produced_by is None:
        return
    used = {shown_path(f) for f in files}
    left_out = [f for f in baseline.produced_by.case_files if f not in used and Path(f).is_file()]
    if left_out:
        raise InputError(
            "--update-baseline rewrites the whole-suite baseline, but this run leaves out "
            f"{', '.join(left_out)}; run the whole suite: {REGENERATE}"
        )


def _run(
    advisor: AdvisorLike, cases: list[Case], progress: Progress | None, bar: bool
) -> list[CaseResult]:
    def started(index: int, case: Case) -> None:
        if progress is not None:
            progress(index / len(cases), desc=f"Case {index + 1}/{len(cases)}: {case.id}")

    results = run_cases(advisor, cases, progress=bar, on_case=started)
    if progress is not None:
        progress(0.97, desc="Writing the report")
    return results


def run_suite(
    make_advisor: Callable[[], AdvisorLike],
    case_paths: Sequence[Path | str],
    *,
    baseline_path: Path | None = None,
    require_baseline: bool = False,
    update_baseline: bool = False,
    compare_dir: Path | None = None,
    out_dir: Path | None = None,
    reports_dir: Path = DEFAULT_REPORTS,
    progress: Progress | None = None,
    bar: bool = False,
    tags: Sequence[str] = (),
) -> SuiteRun:
    """Load cases and baseline, run, gate, compare, write; bad input fails before a model loads.

    ``make_advisor`` is called once, after the inputs are valid. A missing baseline is only
    an error with ``require_baseline``; ``update_baseline`` rewrites ``baseline_path`` from
    this run, keeping its tolerances. Reports go to ``out_dir``, else to a new timestamped
    folder in ``reports_dir``. ``bar`` draws a terminal progress bar, ``progress`` reports
    each case to another display. ``tags`` keeps the cases with any of them; a run on part
    of the suite is gated on the baseline's results for the same cases (``gate``).
    """
    if update_baseline and baseline_path is None:
        raise InputError("update_baseline needs a baseline path to write")
    loaded, files = load_cases(case_paths)
    cases = select_cases(loaded, tags)
    baseline = _baseline(baseline_path, require_baseline)
    if update_baseline:
        _refuse_partial_update(baseline, files, tags)
    other = load_report(compare_dir) if compare_dir is not None else None
    advisor = make_advisor()
    results = _run(advisor, cases, progress, bar)
    report = build_report(results, advisor, files)
    gate = run_gate(
        report.metrics,
        results,
        baseline,
        report.produced_by,
        report.scopes,
        filtered=len(cases) < len(loaded),
    )
    if len(cases) < len(loaded):
        named = ", ".join(t.strip() for t in tags if t.strip())
        gate.notes.insert(0, f"only the cases tagged {named}: {len(cases)} of {len(loaded)}")
    report.gate = gate
    if other is not None and compare_dir is not None:
        report.compare = compare_reports(report, other, str(compare_dir))
    target = out_dir or new_report_dir(reports_dir)
    paths = write_reports(report, target)
    written = None
    if update_baseline and baseline_path is not None:
        outcomes = {r.case.id: r.outcome for r in results}
        written = write_baseline(make_baseline(report, baseline, outcomes), baseline_path)
    return SuiteRun(report, gate, results, files, paths, target, written)
