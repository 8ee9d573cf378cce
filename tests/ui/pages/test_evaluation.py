"""The Evaluation tab on the live advisor: the run, its views, and the page's handlers
(advisor.ui.pages.evaluation over advisor.services.evaluation)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from advisor.chain import Advisor
from advisor.errors import InputError
from advisor.evaluation.report import load_report
from advisor.evaluation.suite import run_suite
from advisor.records.audit import AuditLog
from advisor.services.evaluation import case_file_choices, report_choices, run_evaluation
from advisor.ui.pages.evaluation import EvalFolders, EvaluationPage
from advisor.ui.render.evaluation import (
    charts_html,
    compare_markdown,
    failing_rows,
    gate_rows,
    levels_html,
    summary_markdown,
)
from advisor.ui.session import AdminSession
from tests.conftest import REPO
from tests.services.support import events
from tests.ui.pages.support import session_for, signed_in, skips_everything

TINY_CASES = """\
- id: tiny-crimea
  question: "Is a licence needed to send items to Crimea?"
  expected_level: prohibited
  tags: [tiny]
- id: tiny-wrong-on-purpose
  question: "Is a licence needed to send items to Crimea?"
  expected_level: none
  tags: [tiny]
"""


def test_evaluation_run_report_gate_and_compare(
    tmp_path: Path, advisor: Advisor, audit: AuditLog
) -> None:
    cases = tmp_path / "cases" / "tiny.yaml"
    cases.parent.mkdir()
    cases.write_text(TINY_CASES, encoding="utf-8")
    assert case_file_choices(tmp_path / "cases") == [str(cases)]
    reports = tmp_path / "reports"
    steps: list[tuple[float, str]] = []
    run = run_evaluation(
        advisor,
        [cases],
        reports_dir=reports,
        baseline_path=REPO / "evals" / "baseline.json",
        user="alice",
        audit=audit,
        progress=lambda fraction, desc="": steps.append((fraction, desc)),
    )
    assert steps[0] == (0.0, "Case 1/2: tiny-crimea") and steps[-1] == (1.0, "Done")
    assert {p.name for p in run.out_dir.iterdir()} == {"report.json", "report.md", "report.html"}
    report = run.report
    assert report.summary.cases == 2 and report.summary.passed == 1
    assert "1/2 cases passed" in summary_markdown(report)
    # These cases are not in the repository's baseline: not gated, rather than FAILED on
    # whole-suite values (with a baseline of either format).
    assert "**Regression gate: ⚪ NOT GATED**" in summary_markdown(report)
    gate = {row[0]: row for row in gate_rows(report)}
    assert gate["level_accuracy"][2] == "0.5000"
    assert gate["level_accuracy"][4] == "not gated"
    levels = levels_html(report)
    assert "on the diagonal: 1 of 2 cases (0.5000); level_accuracy 0.5000" in levels
    assert "above the diagonal: 1 of 2 cases (0.5000); over_escalation_rate 0.5000" in levels
    failing = failing_rows(report)
    assert [r[0] for r in failing] == ["tiny-wrong-on-purpose"]
    assert "over-escalated" in failing[0][3] and "Bottom line" in failing[0][5]
    charts = charts_html(report)
    assert charts.count("<img") == 3 and 'alt="Level confusion matrix"' in charts
    assert report_choices(reports) == [str(run.out_dir)]
    event = events(audit)[0]
    assert event["event"] == "eval_run" and event["detail"]["cases"] == 2

    again = run_evaluation(advisor, [cases], reports_dir=reports, compare_dir=run.out_dir)
    assert again.out_dir != run.out_dir and again.report.compare is not None
    assert "No case flipped" in compare_markdown(again.report, run.out_dir)
    assert report_choices(reports)[0] == str(again.out_dir)

    with pytest.raises(InputError, match="choose at least one"):
        run_evaluation(advisor, [], reports_dir=reports)
    bad = tmp_path / "bad.yaml"
    bad.write_text("- id: x\n  question: q\n  expected_level: maybe\n", encoding="utf-8")
    with pytest.raises(InputError, match="expected_level"):
        run_evaluation(advisor, [bad], reports_dir=reports)


def _mounted(tmp_path: Path, advisor: Advisor, audit: AuditLog, baseline: Path) -> EvaluationPage:
    session: AdminSession = session_for(advisor.settings)
    folders = EvalFolders(tmp_path / "cases", tmp_path / "reports", baseline)
    page = EvaluationPage(session, advisor, audit, folders)
    with gr.Blocks():
        session.build()
        with gr.Tab("Evaluation") as tab, session.gate("evaluation"):
            page.build()
        page.refresh_on(tab)
        page.wire()
        session.wire()
    return page


@pytest.fixture
def page(tmp_path: Path, advisor: Advisor, audit: AuditLog) -> EvaluationPage:
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "tiny.yaml").write_text(TINY_CASES, encoding="utf-8")
    return _mounted(tmp_path, advisor, audit, REPO / "evals" / "baseline.json")


def test_every_action_refuses_a_session_that_is_not_logged_in(
    page: EvaluationPage, tmp_path: Path
) -> None:
    cases = [str(tmp_path / "cases" / "tiny.yaml")]
    for call in (
        lambda: page.on_run(None, cases, None, "(none)"),
        lambda: page.on_compare(None, str(tmp_path), "(none)"),
    ):
        with pytest.raises(gr.Error, match="Log in first"):
            call()
    assert not (tmp_path / "reports").exists()
    assert skips_everything(page.on_open(None)) and skips_everything(page.on_sign_in(None))


def test_run_and_compare_through_the_page(
    page: EvaluationPage, tmp_path: Path, audit: AuditLog
) -> None:
    token = signed_in(page.session)
    cases = str(tmp_path / "cases" / "tiny.yaml")
    signed = page.on_sign_in(token)
    assert signed[page.cases]["choices"] == [cases] and signed[page.cases]["value"] == []
    assert signed[page.compare]["value"] == "(none)"
    assert page.on_compare(token, None, "(none)") == {page.compare_md: "⚠️ Run an evaluation first."}
    wrong = page.on_run(token, [cases], str(tmp_path / "cases.txt"), "(none)")
    assert wrong == {page.summary: "⚠️ The uploaded case file must be .yaml or .yml."}
    nothing = page.on_run(token, ["/etc/passwd.yaml"], None, "(none)")  # not offered: dropped
    assert nothing == {page.summary: "⚠️ choose at least one case file, or upload one"}

    first = page.on_run(token, [cases], None, "(none)")
    assert "1/2 cases passed" in first[page.summary] and "Report folder: `" in first[page.summary]
    assert first[page.compare_md] == ""
    assert first[page.charts].count("<img") == 3
    assert [r[0] for r in first[page.failing]] == ["tiny-wrong-on-purpose"]
    assert sorted(Path(p).suffix for p in first[page.report_files]) == [".html", ".json", ".md"]
    earlier = first[page.last_report]
    assert first[page.compare]["choices"] == ["(none)", earlier]
    second = page.on_run(token, [cases], None, earlier)
    assert "No case flipped" in second[page.compare_md]
    assert "No case flipped" in page.on_compare(token, earlier, earlier)[page.compare_md]
    assert page.on_compare(token, earlier, "/tmp")[page.compare_md].startswith("⚠️ Choose")
    assert [e["user"] for e in events(audit)] == ["alice", "alice"]
    opened = page.on_open(token)
    assert opened[page.compare]["choices"] == ["(none)", second[page.last_report], earlier]
    assert page.on_sign_out() == {page.summary: "", page.levels: "", page.failing: []}


OTHER_CASES = """\
- id: other-fundamental
  question: "What is fundamental research?"
  expected_level: review
  acceptable_levels: [none, review]
  tags: [other]
"""
NEW_CASE = """\
- id: tiny-new
  question: "What is fundamental research?"
  expected_level: escalate
  tags: [tiny]
"""


def test_one_file_is_gated_on_the_same_cases_of_the_baseline(
    tmp_path: Path, advisor: Advisor, audit: AuditLog
) -> None:
    """The suite's baseline (per-case results) gates a run of one of its files on its cases;
    a case added since is new, not gated, and the matrix agrees with the rates shown."""
    folder = tmp_path / "cases"
    folder.mkdir()
    tiny, other = folder / "tiny.yaml", folder / "other.yaml"
    tiny.write_text(TINY_CASES, encoding="utf-8")
    other.write_text(OTHER_CASES, encoding="utf-8")
    baseline = tmp_path / "baseline.json"
    run_suite(
        lambda: advisor,
        [folder],
        baseline_path=baseline,
        update_baseline=True,
        out_dir=tmp_path / "w",
    )
    tiny.write_text(TINY_CASES + NEW_CASE, encoding="utf-8")
    page = _mounted(tmp_path, advisor, audit, baseline)
    token = signed_in(page.session)
    shown = page.on_run(token, [str(tiny)], None, "(none)", "")
    summary = shown[page.summary]
    assert "**Regression gate: ✅ PASSED**" in summary
    assert "on the 2 case(s) both have (of 3 in it); 1 new case(s), not gated." in summary
    assert "**Compared (2):** `tiny-crimea`, `tiny-wrong-on-purpose`" in summary
    assert "**New, not gated (1):** `tiny-new`" in summary
    gate = {row[0]: row for row in shown[page.gate]}
    assert gate["level_accuracy"][1:3] == ["0.5000", "0.5000"]
    assert gate["level_accuracy"][4] == "✅ pass"
    report = load_report(Path(shown[page.last_report]))
    d, below, above, total = report.confusion.regions()
    assert (d, below, above, total) == (1, 1, 1, 3)  # the new case is under-escalated
    levels = shown[page.levels]
    assert levels.count("<tr>") == 5 and "<code>acceptable_levels</code>" in levels
    assert ">acceptable \\ produced</th>" in levels
    assert "below the diagonal: 1 of 3 cases (0.3333); under_escalation_rate 0.3333" in levels
    assert report.metrics["under_escalation_rate"] == 0.3333
    tagged = page.on_run(token, [str(tiny), str(other)], None, "(none)", "other")
    assert "**Compared (1):** `other-fundamental`" in tagged[page.summary]
    assert "only the cases tagged other: 1 of 4" in tagged[page.summary]
    typo = page.on_run(token, [str(tiny)], None, "(none)", "othr")
    assert typo == {page.summary: "⚠️ no case has the tag(s) othr; tags in these cases: tiny"}
