"""Evaluation runs for the admin tab: choices on disk, a run through ``run_suite`` recorded in
the audit trail, and an audit failure reported rather than raised."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.errors import InputError
from advisor.evaluation import provenance
from advisor.evaluation.report import load_report
from advisor.evaluation.suite import run_suite
from advisor.records.audit import AuditLog
from advisor.services.evaluation import (
    EvalRun,
    case_file_choices,
    report_choices,
    run_evaluation,
)
from tests.evaluation.builders import CASES_YAML, FakeAdvisor, make_fake, split_cases, write_cases
from tests.services.support import events


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeAdvisor:
    monkeypatch.setattr(provenance, "git_commit", lambda: "abc123")
    return make_fake(tmp_path)


class BrokenAudit:
    def record_event(self, kind: str, detail: dict, user: str | None) -> None:
        raise RuntimeError("database is locked")


def test_choices_list_case_files_and_runs_newest_first(tmp_path: Path) -> None:
    assert case_file_choices(tmp_path / "absent") == []
    assert report_choices(tmp_path / "absent") == []
    cases = tmp_path / "cases"
    cases.mkdir()
    for name in ("b.yml", "a.yaml", "notes.txt"):
        (cases / name).write_text("- x\n")
    (cases / "nested").mkdir()
    (cases / "nested" / "c.yaml").write_text("- x\n")
    assert case_file_choices(cases) == [str(cases / "a.yaml"), str(cases / "b.yml")]
    reports = tmp_path / "reports"
    for name in ("20260101-120000", "20260102-080000", "20260103-000000"):
        (reports / name).mkdir(parents=True)
    for name in ("20260101-120000", "20260102-080000"):
        (reports / name / "report.json").write_text("{}")
    assert report_choices(reports) == [
        str(reports / "20260102-080000"),
        str(reports / "20260101-120000"),
    ]


def test_run_is_written_gated_and_recorded(
    fake: FakeAdvisor, tmp_path: Path, audit: AuditLog
) -> None:
    cases = write_cases(tmp_path / "cases.yaml", CASES_YAML)
    reports = tmp_path / "reports"
    steps: list[tuple[float, str]] = []
    run = run_evaluation(
        fake,
        [cases],
        reports_dir=reports,
        user="alice",
        audit=audit,
        progress=lambda fraction, desc="": steps.append((fraction, desc)),
    )
    assert isinstance(run, EvalRun) and run.audit_failure is None
    assert steps[0] == (0.0, "Case 1/3: iran-kit")
    assert steps[-2:] == [(0.97, "Writing the report"), (1.0, "Done")]
    assert run.out_dir.parent == reports and set(run.paths) == {"json", "md", "html"}
    assert load_report(run.out_dir) == run.report
    assert run.report.gate is not None and run.report.gate.passed
    event = events(audit)[0]
    assert event["event"] == "eval_run" and event["user"] == "alice"
    assert event["detail"] == {
        "case_files": [str(cases)],
        "tags": [],
        "cases": 3,
        "passed": 3,
        "gate_passed": True,
        "gate": "PASSED",
        "gate_coverage": "whole suite",
        "compared": None,
        "new_cases": 0,
        "report": str(run.out_dir),
        "rules_hash": "rules0001",
        "corpus_files_sha256": run.report.produced_by.corpus_files_sha256,
    }

    again = run_evaluation(fake, [cases], reports_dir=reports, compare_dir=run.out_dir)
    assert again.out_dir != run.out_dir
    assert again.report.compare is not None and again.report.compare.flipped == []
    assert report_choices(reports) == [str(again.out_dir), str(run.out_dir)]


def test_audit_failure_is_reported_not_raised(fake: FakeAdvisor, tmp_path: Path) -> None:
    cases = write_cases(tmp_path / "cases.yaml", CASES_YAML)
    run = run_evaluation(fake, [cases], reports_dir=tmp_path / "r", audit=BrokenAudit())
    assert run.audit_failure == "database is locked"
    assert run.paths["json"].is_file()


def test_bad_choices_are_input_errors(fake: FakeAdvisor, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="choose at least one"):
        run_evaluation(fake, [], reports_dir=tmp_path / "r")
    bad = write_cases(tmp_path / "bad.yaml", "- id: x\n  question: q\n  expected_level: maybe\n")
    with pytest.raises(InputError, match="expected_level"):
        run_evaluation(fake, [bad], reports_dir=tmp_path / "r")
    assert fake.questions == [] and not (tmp_path / "r").exists()


def test_a_tag_or_one_file_is_gated_on_the_same_cases(
    fake: FakeAdvisor, tmp_path: Path, audit: AuditLog
) -> None:
    a, b = split_cases(tmp_path / "cases")
    base = tmp_path / "baseline.json"
    run_suite(
        lambda: fake, [a, b], baseline_path=base, update_baseline=True, out_dir=tmp_path / "w"
    )
    run = run_evaluation(
        fake, [a, b], reports_dir=tmp_path / "r", baseline_path=base, audit=audit, tags=["iran"]
    )
    gate = run.report.gate
    assert gate is not None and gate.verdict == "PASSED" and gate.compared_cases == ["iran-kit"]
    detail = events(audit)[0]["detail"]
    assert detail["tags"] == ["iran"] and detail["cases"] == 1
    assert (detail["gate"], detail["gate_coverage"], detail["compared"]) == ("PASSED", "subset", 1)
    extra = write_cases(
        tmp_path / "extra.yaml",
        '- id: fresh\n  question: "What is fundamental research?"\n  expected_level: none\n',
    )
    fresh = run_evaluation(fake, [extra], reports_dir=tmp_path / "r", baseline_path=base)
    assert fresh.report.gate is not None and fresh.report.gate.verdict == "NOT GATED"
    assert fresh.report.gate.new_cases == ["fresh"]
