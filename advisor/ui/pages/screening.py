"""The Screening tab: one name against the restricted-party list in force."""

from __future__ import annotations

from typing import Any

import gradio as gr

from advisor.errors import AdvisorError
from advisor.services.screening import ScreeningService
from advisor.ui.pages.base import Page
from advisor.ui.render.screening import (
    HEADERS,
    NO_LIST,
    error_markdown,
    match_rows,
    verdict_markdown,
)


class ScreeningPage(Page):
    """Its ``screen`` handler is also the public ``/screen`` API endpoint."""

    def __init__(self, screening: ScreeningService) -> None:
        self.screening = screening

    def build(self) -> None:
        with gr.Row():
            self.name = gr.Textbox(label="Organisation or person", elem_id="screen-name", scale=4)
            self.country = gr.Textbox(
                label="Country code (optional)", elem_id="screen-country", max_lines=1, scale=1
            )
            self.button = gr.Button("Screen", variant="primary", elem_id="screen-button", scale=1)
        with gr.Row():
            self.address = gr.Textbox(
                value="", label="Address or city (optional)", elem_id="screen-address", scale=4
            )
            self.dob = gr.Textbox(
                value="",
                label="Date of birth (optional, e.g. 1958-09-10)",
                elem_id="screen-dob",
                max_lines=1,
                scale=2,
            )
        self.verdict = gr.Markdown(elem_id="screen-verdict")
        self.table = gr.Dataframe(
            headers=HEADERS,
            interactive=False,
            wrap=True,
            elem_id="screen-results",
            label="Matches",
        )

    def wire(self) -> None:
        for trigger in (self.name.submit, self.button.click):
            trigger(
                self.screen,
                inputs=[self.name, self.country, self.address, self.dob],
                outputs=[self.verdict, self.table],
                api_name="screen",
            )

    def screen(self, name: str, country: str, address: str = "", dob: str = "") -> dict[Any, Any]:
        """Screen one name; the optional country, address and date of birth move scores."""
        try:
            result = self.screening.screen(name, country, address, dob)
        except AdvisorError as exc:
            return {self.verdict: error_markdown(str(exc)), self.table: []}
        if result is None:
            return {self.verdict: NO_LIST, self.table: []}
        return {self.verdict: verdict_markdown(result), self.table: match_rows(result.matches)}
