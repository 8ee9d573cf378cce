"""The Compliance tab's Feedback review section: thumbs-down answers, filtered, opened one at a
time (the answer, its sources, its conversation) and exported."""

from __future__ import annotations

import gradio as gr

from advisor.errors import AdvisorError
from advisor.models import Level
from advisor.services.feedback import FeedbackItem, FeedbackReview
from advisor.ui.pages.base import Page
from advisor.ui.render import admin as render
from advisor.ui.session import AdminSession, Updates, unchanged

# What a handler gets when Gradio did not pass a selection (a direct call).
NO_SELECTION = gr.SelectData(None, {"index": None, "value": None})


class FeedbackPage(Page):
    """Thumbs-down answers to review: a narrow table (time, level, question, comment, all
    wrapped), a detail below it for the selected row, and a CSV of what the table lists."""

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
                headers=render.FEEDBACK_HEADERS,
                datatype=render.FEEDBACK_TYPES,
                interactive=False,
                wrap=True,
                column_widths=render.FEEDBACK_WIDTHS,
                max_height=480,
                label="Thumbs-down answers, newest first (select a row to open it)",
                elem_id="admin-fb-table",
            )
            self.detail = gr.Markdown(render.SELECT_FEEDBACK, elem_id="admin-fb-detail")
            # The listed items, in table order: a selected row's index finds its item here.
            self.listed = gr.State([])

    # ------------------------------------------------------------------ handlers

    def on_feedback(self, token: str | None, level: str, text: str, since: str) -> Updates:
        self.session.need(token)
        hidden = gr.update(visible=False)
        cleared = {self.detail: render.SELECT_FEEDBACK}
        try:
            items = self.service.thumbs_down(level=level, contains=text, since=since)
        except AdvisorError as exc:
            return cleared | {
                self.table: [],
                self.listed: [],
                self.note: render.warn(exc),
                self.download: hidden,
            }
        if not items:
            return cleared | {
                self.table: [],
                self.listed: [],
                self.note: render.feedback_count(items),
                self.download: hidden,
            }
        path = self.service.export_csv(items)
        return cleared | {
            self.table: render.feedback_table(items),
            self.listed: items,
            self.note: render.feedback_count(items),
            self.download: gr.update(value=str(path), visible=True),
        }

    def on_select(
        self,
        token: str | None,
        listed: list[FeedbackItem] | None,
        evt: gr.SelectData = NO_SELECTION,
    ) -> Updates:
        """A row was selected: its answer, sources and conversation."""
        self.session.need(token)
        items = list(listed or [])
        index = evt.index[0] if isinstance(evt.index, list | tuple) and evt.index else None
        if not isinstance(index, int) or not 0 <= index < len(items):
            return unchanged(self.detail)
        try:
            detail = self.service.detail(items[index])
        except AdvisorError as exc:
            return {self.detail: render.warn(exc)}
        return {self.detail: render.feedback_detail(detail)}

    def on_sign_in(self, token: str | None) -> Updates:
        if not self.session.user(token):
            return {self.note: gr.skip()}
        return {self.note: ""}

    def on_sign_out(self) -> Updates:
        return {self.table: [], self.listed: [], self.detail: render.SELECT_FEEDBACK}

    # ------------------------------------------------------------------ events

    def wire(self) -> None:
        for trigger in (self.show.click, self.text.submit, self.since.submit):
            trigger(
                self.on_feedback,
                inputs=[self.session.token, self.level, self.text, self.since],
                outputs=[self.table, self.listed, self.note, self.download, self.detail],
                api_visibility="private",
            )
        self.table.select(
            self.on_select,
            inputs=[self.session.token, self.listed],
            outputs=[self.detail],
            api_visibility="private",
        )
        self.session.subscribe_sign_in(self.on_sign_in, self.note)
        self.session.subscribe_sign_out(self.on_sign_out, self.table, self.listed, self.detail)
