"""Evaluation runs for the admin tab: the case files and earlier runs to choose from, and a run
on the live advisor through the same ``run_suite`` as ``advisor eval``, recorded in the audit
trail with the user who started it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.errors import InputError
from advisor.evaluation.report import EvalReport
from advisor.evaluation.runner import AdvisorLike
from advisor.evaluation.suite import SuiteRun, run_suite
from advisor.records.sink import AuditSink
from advisor.services.events import Progress, record_event, step


def case_file_choices(cases_dir: Path) -> list[str]:
    """The case files an admin may pick: *.yaml and *.yml directly in ``cases_dir``."""
    if not cases_dir.is_dir():
        return []
    return [str(p) for p in sorted([*cases_dir.glob("*.yaml"), *cases_dir.glob("*.yml")])]


def report_choices(reports_dir: Path) -> list[str]:
    """Earlier runs, newest first (folder names are timestamps)."""
    if not reports_dir.is_dir():
        return []
    found = [p for p in reports_dir.iterdir() if (p / "report.json").is_file()]
    return [str(p) for p in sorted(found, key=lambda p: p.name, reverse=True)]


@dataclass(frozen=True)
class EvalRun:
    """A finished run; ``audit_failure`` says why its audit event was not recorded, if it was
    not (the run itself happened, so that is reported rather than raised)."""

    report: EvalReport
    paths: dict[str, Path]
    out_dir: Path
    audit_failure: str | None = None


def _event(suite: SuiteRun, tags: Sequence[str]) -> dict[str, Any]:
    """The audit event's detail: which cases, the outcome, and where the report is."""
    report = suite.report
    return {
        "case_files": [str(f) for f in suite.case_files],
        "tags": list(tags),
        "cases": report.summary.cases,
        "passed": report.summary.passed,
        "gate_passed": suite.gate.passed,
        "gate": suite.gate.verdict,
        "gate_coverage": suite.gate.coverage,
        "compared": suite.gate.compared,
        "new_cases": len(suite.gate.new_cases),
        "report": str(suite.out_dir),
        "rules_hash": report.produced_by.rules_hash,
        "corpus_files_sha256": report.produced_by.corpus_files_sha256,
    }


def run_evaluation(
    advisor: AdvisorLike,
    case_paths: Sequence[Path | str],
    *,
    reports_dir: Path,
    baseline_path: Path | None = None,
    compare_dir: Path | None = None,
    user: str | None = None,
    audit: AuditSink | None = None,
    progress: Progress | None = None,
    tags: Sequence[str] = (),
) -> EvalRun:
    """``advisor eval`` on the live advisor: same runner, report, gate and comparison, into a
    new timestamped folder of ``reports_dir``. ``tags`` keeps the cases with any of them; a
    run on part of the suite is gated on the baseline's results for the same cases."""
    if not case_paths:
        raise InputError("choose at least one case file, or upload one")
    suite = run_suite(
        lambda: advisor,
        list(case_paths),
        baseline_path=baseline_path,
        compare_dir=compare_dir,
        reports_dir=reports_dir,
        progress=progress,
        tags=tags,
    )
    problem = record_event(audit, "eval_run", _event(suite, tags), user)
    step(progress, 1.0, "Done")
    return EvalRun(suite.report, suite.paths, suite.out_dir, problem)
