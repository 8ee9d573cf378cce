"""The Evaluation tab: run the case files on the live advisor, gate and compare the run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from advisor.errors import AdvisorError
from advisor.evaluation.report import load_report
from advisor.records.sink import AuditSink
from advisor.services.evaluation import case_file_choices, report_choices, run_evaluation
from advisor.ui.pages.base import Page
from advisor.ui.render import admin as render
from advisor.ui.render import evaluation as view
from advisor.ui.session import AdminSession, Updates, unchanged

if TYPE_CHECKING:
    from advisor.chain import Advisor

GATE_HEADERS = ["Metric", "Baseline", "Current", "Limit", "Result"]
FAILING_HEADERS = ["Case", "Expected", "Got", "Failed checks", "Question", "Answer"]
NONE = "(none)"


@dataclass(frozen=True)
class EvalFolders:
    """Where the tab finds case files and earlier runs, and which baseline gates a run."""

    cases_dir: Path
    reports_dir: Path
    baseline_path: Path


class EvaluationPage(Page):
    """Only the case files on offer (or one uploaded) run; earlier runs can be compared."""

    def __init__(
        self,
        session: AdminSession,
        advisor: Advisor,
        audit: AuditSink | None,
        folders: EvalFolders,
    ) -> None:
        self.session = session
        self.advisor = advisor
        self.audit = audit
        self.folders = folders
        self.tab: gr.Tab | None = None

    def refresh_on(self, tab: gr.Tab) -> None:
        """Opening ``tab`` lists the case files and runs now on disk."""
        self.tab = tab

    def build(self) -> None:
        self.last_report = gr.State(None)
        self.cases = gr.CheckboxGroup([], label="Case files", elem_id="eval-cases")
        self.case_upload = gr.File(
            label="Or upload a case file (YAML)",
            file_types=[".yaml", ".yml"],
            elem_id="eval-upload",
        )
        self.tags = gr.Textbox(
            label="Only cases with these tags (optional; comma-separated, any of them)",
            placeholder="e.g. encryption, real-world",
            elem_id="eval-tags",
        )
        self.compare = gr.Dropdown(
            [NONE], value=NONE, label="Compare with an earlier run", elem_id="eval-compare"
        )
        with gr.Row():
            self.run_btn = gr.Button("Run evaluation", variant="primary", elem_id="eval-run")
            self.compare_btn = gr.Button(
                "Compare the last run with the selected run", elem_id="eval-compare-button"
            )
        self._build_results()

    def _build_results(self) -> None:
        self.summary = gr.Markdown(elem_id="eval-summary")
        self.gate = gr.Dataframe(
            headers=GATE_HEADERS,
            interactive=False,
            wrap=True,
            label="Metrics against the baseline (on the cases both have)",
            elem_id="eval-gate",
        )
        self.levels = gr.HTML(elem_id="eval-levels")
        self.compare_md = gr.Markdown(elem_id="eval-compare-result")
        self.charts = gr.HTML(label="Charts", elem_id="eval-charts")
        self.failing = gr.Dataframe(
            headers=FAILING_HEADERS,
            interactive=False,
            wrap=True,
            label="Failing cases, worst first",
            elem_id="eval-failing",
        )
        self.report_files = gr.File(
            label="Report files (HTML, JSON, Markdown)",
            file_count="multiple",
            interactive=False,
            elem_id="eval-files",
        )
        with gr.Accordion("Full report (Markdown)", open=False):
            self.report_md = gr.Markdown(elem_id="eval-report")

    def _runs(self) -> list[str]:
        return report_choices(self.folders.reports_dir)

    # ------------------------------------------------------------------ handlers

    def _chosen(self, chosen: list[str] | None, uploaded: str | None) -> list[Path | str]:
        allowed = set(case_file_choices(self.folders.cases_dir))
        paths: list[Path | str] = [p for p in chosen or [] if p in allowed]
        if uploaded:
            paths.append(Path(uploaded))
        return paths

    def on_run(
        self,
        token: str | None,
        chosen: list[str] | None,
        uploaded: str | None,
        compare_to: str | None,
        tags: str | None = None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's injection idiom
    ) -> Updates:
        who = self.session.need(token)
        if uploaded and Path(uploaded).suffix.lower() not in {".yaml", ".yml"}:
            return {self.summary: "⚠️ The uploaded case file must be .yaml or .yml."}
        other = compare_to if compare_to in self._runs() else None
        try:
            run = run_evaluation(
                self.advisor,
                self._chosen(chosen, uploaded),
                reports_dir=self.folders.reports_dir,
                baseline_path=self.folders.baseline_path,
                compare_dir=Path(other) if other else None,
                user=who,
                audit=self.audit,
                progress=progress,
                tags=[t for t in (tags or "").split(",") if t.strip()],
            )
        except AdvisorError as exc:
            return {self.summary: render.warn(exc)}
        report = run.report
        summary = view.summary_markdown(report) + f"\n\nReport folder: `{run.out_dir}`"
        return {
            self.summary: summary + view.audit_note(run),
            self.gate: view.gate_rows(report),
            self.levels: view.levels_html(report),
            self.compare_md: view.compare_markdown(report, Path(other)) if other else "",
            self.charts: view.charts_html(report),
            self.failing: view.failing_rows(report),
            self.report_files: [str(run.paths[k]) for k in ("html", "json", "md")],
            self.report_md: run.paths["md"].read_text(encoding="utf-8"),
            self.last_report: str(run.out_dir),
            self.compare: gr.update(choices=[NONE, *self._runs()]),
        }

    def on_compare(self, token: str | None, current: str | None, compare_to: str | None) -> Updates:
        self.session.need(token)
        if not current:
            return {self.compare_md: "⚠️ Run an evaluation first."}
        if not compare_to or compare_to not in self._runs():
            return {self.compare_md: "⚠️ Choose an earlier run to compare with."}
        try:
            report = load_report(Path(current))
            return {self.compare_md: view.compare_markdown(report, Path(compare_to))}
        except AdvisorError as exc:
            return {self.compare_md: render.warn(exc)}

    def on_open(self, token: str | None) -> Updates:
        if not self.session.user(token):
            return unchanged(self.cases, self.compare)
        return {
            self.cases: gr.update(choices=case_file_choices(self.folders.cases_dir)),
            self.compare: gr.update(choices=[NONE, *self._runs()]),
        }

    def on_sign_in(self, token: str | None) -> Updates:
        if not self.session.user(token):
            return unchanged(self.cases, self.compare)
        return {
            self.cases: gr.update(choices=case_file_choices(self.folders.cases_dir), value=[]),
            self.compare: gr.update(choices=[NONE, *self._runs()], value=NONE),
        }

    def on_sign_out(self) -> Updates:
        return {self.summary: "", self.levels: "", self.failing: []}

    # ------------------------------------------------------------------ events

    def wire(self) -> None:
        token = self.session.token
        self.run_btn.click(
            self.on_run,
            inputs=[token, self.cases, self.case_upload, self.compare, self.tags],
            outputs=[
                self.summary,
                self.gate,
                self.levels,
                self.compare_md,
                self.charts,
                self.failing,
                self.report_files,
                self.report_md,
                self.last_report,
                self.compare,
            ],
            api_visibility="private",
        )
        self.compare_btn.click(
            self.on_compare,
            inputs=[token, self.last_report, self.compare],
            outputs=[self.compare_md],
            api_visibility="private",
        )
        if self.tab is not None:
            self.tab.select(
                self.on_open,
                inputs=[token],
                outputs=[self.cases, self.compare],
                api_visibility="private",
            )
        self.session.subscribe_sign_in(self.on_sign_in, self.cases, self.compare)
        self.session.subscribe_sign_out(self.on_sign_out, self.summary, self.levels, self.failing)
