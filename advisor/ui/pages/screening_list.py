"""The Compliance tab's Screening list section: validate and replace the restricted-party list."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from advisor.errors import AdvisorError
from advisor.services.screening_list import ScreeningListAdmin
from advisor.ui.pages.base import Page
from advisor.ui.render import admin as render
from advisor.ui.session import AdminSession, Updates, unchanged


class ScreeningListPage(Page):
    """Shows the list in use, and replaces it only with a list that reads in full."""

    def __init__(self, session: AdminSession, service: ScreeningListAdmin) -> None:
        self.session = session
        self.service = service

    def build(self) -> None:
        with gr.Accordion(
            "Screening list", open=False, elem_id="admin-screening"
        ) as self.accordion:
            self.status = gr.Markdown(elem_id="admin-csl-status")
            self.file = gr.File(
                label="New screening list (CSV or JSON export of the Consolidated Screening List)",
                file_types=[".csv", ".json"],
                elem_id="admin-csl-file",
            )
            with gr.Row():
                self.validate_btn = gr.Button("Validate list", elem_id="admin-csl-validate")
                self.replace_btn = gr.Button(
                    "Replace the screening list", variant="primary", elem_id="admin-csl-save"
                )
            self.result = gr.Markdown(elem_id="admin-csl-result")

    def _status(self) -> str:
        return render.list_status(self.service.status())

    # ------------------------------------------------------------------ handlers

    def on_csl_validate(self, token: str | None, upload: str | None) -> Updates:
        self.session.need(token)
        if not upload:
            return {self.result: render.CHOOSE_A_FILE}
        try:
            summary = self.service.validate(Path(upload))
        except AdvisorError as exc:
            return {self.result: render.failure("Not valid; nothing was changed.", exc)}
        return {self.result: render.list_valid(summary)}

    def on_csl_replace(self, token: str | None, upload: str | None) -> Updates:
        who = self.session.need(token)
        if not upload:
            return {self.result: render.CHOOSE_A_FILE}
        try:
            message = render.list_replaced(self.service.replace(Path(upload), user=who))
        except AdvisorError as exc:
            message = render.failure("Not replaced; the list in use is unchanged.", exc)
        return {self.result: message, self.status: self._status()}

    def on_expand(self, token: str | None) -> Updates:
        """Opening the section shows the list now in use (someone may have replaced it)."""
        if not self.session.user(token):
            return unchanged(self.status)
        return {self.status: self._status()}

    def on_sign_in(self, token: str | None) -> Updates:
        return self.on_expand(token)

    # ------------------------------------------------------------------ events

    def wire(self) -> None:
        token = self.session.token
        self.validate_btn.click(
            self.on_csl_validate,
            inputs=[token, self.file],
            outputs=[self.result],
            api_visibility="private",
        )
        self.replace_btn.click(
            self.on_csl_replace,
            inputs=[token, self.file],
            outputs=[self.result, self.status],
            api_visibility="private",
        )
        self.accordion.expand(
            self.on_expand, inputs=[token], outputs=[self.status], api_visibility="private"
        )
        self.session.subscribe_sign_in(self.on_sign_in, self.status)
