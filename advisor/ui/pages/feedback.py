"""The Compliance tab's Feedback review section: thumbs-down answers, filtered and exported."""

from __future__ import annotations

import gradio as gr

from advisor.errors import AdvisorError
from advisor.models import Level
from advisor.services.feedback import FEEDBACK_HEADERS, FeedbackReview
from advisor.ui.pages.base import Page
from advisor.ui.render import admin as render
from advisor.ui.session import AdminSession, Updates


class FeedbackPage(Page):
    """Thumbs-down answers to review, with a CSV of exactly what the table shows."""

    def __init__(self, session: AdminSession, service: FeedbackReview) -> None:
        self.session = session
        self.service = service

    def build(self) -> None:
        with gr.Accordion("Feedback review", open=False, elem_id="admin-feedback"):
            with gr.Row():
                self.level = gr.Dropdown(
                    ["any", *(lv.value for lv in Level)], value="any", label="Level"
                )
                self.text = gr.Textbox(label="Text contains", max_lines=1)
                self.since = gr.Textbox(label="Since (YYYY-MM-DD)", max_lines=1)
            with gr.Row():
                self.show = gr.Button("Show thumbs-down answers", elem_id="admin-fb-show")
                self.download = gr.DownloadButton(
                    "Download as CSV", visible=False, elem_id="admin-fb-download"
                )
            self.note = gr.Markdown(elem_id="admin-fb-note")
            self.table = gr.Dataframe(
                headers=FEEDBACK_HEADERS,
                interactive=False,
                wrap=True,
                label="Thumbs-down answers",
                elem_id="admin-fb-table",
            )

    # ------------------------------------------------------------------ handlers

    def on_feedback(self, token: str | None, level: str, text: str, since: str) -> Updates:
        self.session.need(token)
        hidden = gr.update(visible=False)
        try:
            items = self.service.thumbs_down(level=level, contains=text, since=since)
        except AdvisorError as exc:
            return {self.table: [], self.note: render.warn(exc), self.download: hidden}
        if not items:
            return {self.table: [], self.note: render.feedback_count(items), self.download: hidden}
        path = self.service.export_csv(items)
        return {
            self.table: render.feedback_table(items),
            self.note: render.feedback_count(items),
            self.download: gr.update(value=str(path), visible=True),
        }

    def on_sign_in(self, token: str | None) -> Updates:
        if not self.session.user(token):
            return {self.note: gr.skip()}
        return {self.note: ""}

    def on_sign_out(self) -> Updates:
        return {self.table: []}

    # ------------------------------------------------------------------ events

    def wire(self) -> None:
        for trigger in (self.show.click, self.text.submit, self.since.submit):
            trigger(
                self.on_feedback,
                inputs=[self.session.token, self.level, self.text, self.since],
                outputs=[self.table, self.note, self.download],
                api_visibility="private",
            )
        self.session.subscribe_sign_in(self.on_sign_in, self.note)
        self.session.subscribe_sign_out(self.on_sign_out, self.table)
