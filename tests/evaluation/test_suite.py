"""The whole run as ``advisor eval`` and the admin tab do it: ``run_suite`` and the report files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.errors import InputError
from advisor.evaluation.gate import load_baseline
from advisor.evaluation.metrics import METRIC_KEYS
from advisor.evaluation.report import EvalReport, load_report
from advisor.evaluation.runner import AdvisorLike
from advisor.evaluation.suite import new_report_dir, run_suite, write_reports
from tests.evaluation.builders import (
    CASES_YAML,
    FakeAdvisor,
    answer,
    good_replies,
    make_report,
    split_cases,
    write_cases,
)


def test_write_reports(fake: FakeAdvisor, tmp_path: Path) -> None:
    replies = good_replies()
    iran = "Can I ship my exploit kit to Tehran?"
    replies[iran] = (answer("<script>alert(1)</script> APPROVED", "review"), [])
    report = make_report(fake, tmp_path, replies)
    paths = write_reports(report, tmp_path / "out")
    data = json.loads(paths["json"].read_text())
    assert list(data["metrics"]) == list(METRIC_KEYS)
    assert not any("judged" in key for key in data) and "judged" not in json.dumps(data["cases"])
    assert data["gate"]["prohibited_below_escalate"] == ["iran-kit"]
    worst = data["cases"][0]
    assert worst["id"] == "iran-kit" and not worst["passed"]
    assert "forbidden: APPROVED" in worst["failed_checks"]
    page = paths["html"].read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<link" not in page and "src='http" not in page
    md = paths["md"].read_text()
    assert "## Regression gate: FAILED" in md and "`iran-kit`" in md
    assert "| level_accuracy |" in md


def _never() -> AdvisorLike:
    pytest.fail("the advisor was built before the inputs were checked")


def test_run_suite_runs_gates_compares_and_writes(fake: FakeAdvisor, tmp_path: Path) -> None:
    cases = write_cases(tmp_path / "cases.yaml", CASES_YAML)
    reports = tmp_path / "reports"
    built: list[FakeAdvisor] = []

    def make() -> FakeAdvisor:
        built.append(fake)
        return fake

    first = run_suite(make, [cases], baseline_path=tmp_path / "none.json", reports_dir=reports)
    assert len(built) == 1 and len(fake.questions) == 3
    assert first.out_dir.parent == reports and first.baseline_written is None
    assert {p.name for p in first.out_dir.iterdir()} == {"report.json", "report.md", "report.html"}
    assert first.report.gate == first.gate and first.gate.passed
    assert first.gate.notes == ["no baseline: only the prohibited-case check ran"]
    assert first.report.compare is None and first.case_files == [cases]
    assert [r.case.id for r in first.results] == ["iran-kit", "fr-basics", "oos-python"]
    assert load_report(first.out_dir) == first.report
    assert first.paths["json"].read_text(encoding="utf-8") == first.report.to_json()

    base = tmp_path / "base" / "baseline.json"
    second = run_suite(
        lambda: fake,
        [cases],
        baseline_path=base,
        update_baseline=True,
        compare_dir=first.out_dir,
        out_dir=tmp_path / "second",
    )
    assert second.out_dir == tmp_path / "second" and second.baseline_written == base
    assert load_baseline(base).metrics["level_accuracy"].value == 1.0
    assert second.report.compare is not None
    assert second.report.compare.other == str(first.out_dir)
    assert "Compared with" in second.paths["md"].read_text(encoding="utf-8")

    third = run_suite(lambda: fake, [cases], baseline_path=base, out_dir=tmp_path / "third")
    assert third.gate.passed and {c.status for c in third.gate.checks} <= {
        "pass",
        "skipped (no data)",
    }


def test_run_suite_gate_fails_on_a_worse_run(fake: FakeAdvisor, tmp_path: Path) -> None:
    cases = write_cases(tmp_path / "cases.yaml", CASES_YAML)
    base = tmp_path / "baseline.json"
    base.write_text(json.dumps({"metrics": {"level_accuracy": {"value": 1.0, "better": "higher"}}}))
    replies = good_replies()
    replies["What is fundamental research?"] = (answer("Nothing.", "escalate"), [])
    fake.replies = replies
    run = run_suite(lambda: fake, [cases], baseline_path=base, out_dir=tmp_path / "out")
    assert not run.gate.passed and run.gate.metrics_passed is False
    saved = json.loads(run.paths["json"].read_text(encoding="utf-8"))
    assert saved["gate"]["checks"][0] == {
        "metric": "level_accuracy",
        "baseline": 1.0,
        "current": round(2 / 3, 4),
        "limit": 1.0,
        "better": "higher",
        "status": "fail",
    }


def test_run_suite_checks_every_input_before_building_the_advisor(tmp_path: Path) -> None:
    cases = write_cases(tmp_path / "cases.yaml", CASES_YAML)
    bad = write_cases(tmp_path / "bad.yaml", '- id: x\n  question: "Q"\n  expected_level: no\n')
    out = tmp_path / "out"
    with pytest.raises(InputError, match="field 'expected_level'"):
        run_suite(_never, [bad], out_dir=out)
    with pytest.raises(InputError, match="no such baseline"):
        run_suite(_never, [cases], baseline_path=tmp_path / "none.json", require_baseline=True)
    broken = tmp_path / "broken.json"
    broken.write_text("{}")
    with pytest.raises(InputError, match="invalid baseline"):
        run_suite(_never, [cases], baseline_path=broken)
    with pytest.raises(InputError, match="cannot read an earlier report"):
        run_suite(_never, [cases], compare_dir=tmp_path / "nowhere")
    with pytest.raises(InputError, match="needs a baseline path"):
        run_suite(_never, [cases], update_baseline=True)
    assert not out.exists()


def test_run_suite_reports_each_case_then_the_writing(fake: FakeAdvisor, tmp_path: Path) -> None:
    cases = write_cases(tmp_path / "cases.yaml", CASES_YAML)
    steps: list[tuple[float, str]] = []
    run_suite(
        lambda: fake,
        [cases],
        out_dir=tmp_path / "out",
        progress=lambda fraction, desc="": steps.append((fraction, desc)),
    )
    assert steps == [
        (0.0, "Case 1/3: iran-kit"),
        (1 / 3, "Case 2/3: fr-basics"),
        (2 / 3, "Case 3/3: oos-python"),
        (0.97, "Writing the report"),
    ]


def test_new_report_dir_never_reuses_a_folder(tmp_path: Path) -> None:
    first = new_report_dir(tmp_path)
    assert first.parent == tmp_path and not first.exists()
    first.mkdir()
    second = new_report_dir(tmp_path)
    assert second != first and not second.exists()
    assert second.name.startswith(first.name[:15])


def test_report_files_render_the_same_report(fake: FakeAdvisor, tmp_path: Path) -> None:
    report = make_report(fake, tmp_path)
    paths = write_reports(report, tmp_path / "out")
    assert EvalReport.model_validate_json(paths["json"].read_text(encoding="utf-8")) == report
    md = paths["md"].read_text(encoding="utf-8")
    assert f"corpus `{report.produced_by.corpus_files_sha256[:12]}`" in md
    assert "3/3 cases passed (1.0000)" in md and "## Failing cases (0), worst first" in md


def test_subset_runs_after_update_baseline(fake: FakeAdvisor, tmp_path: Path) -> None:
    """The whole suite writes a baseline with per-case results; one file of it, or one tag,
    is then gated on the same cases; the baseline cannot be rewritten from a part."""
    a, b = split_cases(tmp_path / "cases")
    base = tmp_path / "baseline.json"
    run_suite(
        lambda: fake, [a, b], baseline_path=base, update_baseline=True, out_dir=tmp_path / "w"
    )
    assert set(load_baseline(base).case_results) == {"iran-kit", "fr-basics", "oos-python"}

    one_file = run_suite(lambda: fake, [a], baseline_path=base, out_dir=tmp_path / "a")
    assert one_file.gate.verdict == "PASSED" and one_file.gate.coverage == "subset"
    assert one_file.gate.compared_cases == ["iran-kit", "fr-basics"]
    md = one_file.paths["md"].read_text(encoding="utf-8")
    assert "## Regression gate: PASSED" in md and "Compared cases (2): `iran-kit`" in md

    asked = len(fake.questions)
    tagged = run_suite(
        lambda: fake, [a, b], baseline_path=base, out_dir=tmp_path / "t", tags=["out-of-scope"]
    )
    assert fake.questions[asked:] == ["How do I sort a list in Python?"]
    assert tagged.report.summary.cases == 1 and tagged.gate.compared_cases == ["oos-python"]
    assert tagged.gate.notes[0] == "only the cases tagged out-of-scope: 1 of 3"
    assert tagged.gate.passed

    with pytest.raises(InputError, match="run it without a tag filter"):
        run_suite(_never, [a, b], baseline_path=base, update_baseline=True, tags=["iran"])
    with pytest.raises(InputError, match=f"leaves out {b}; run the whole suite: advisor eval"):
        run_suite(_never, [a], baseline_path=base, update_baseline=True)
    with pytest.raises(InputError, match="no case has the tag"):
        run_suite(_never, [a], baseline_path=base, tags=["nope"])
    b.unlink()  # a file removed from the suite: the baseline may be rewritten without it
    run_suite(lambda: fake, [a], baseline_path=base, update_baseline=True, out_dir=tmp_path / "x")
    assert set(load_baseline(base).case_results) == {"iran-kit", "fr-basics"}
