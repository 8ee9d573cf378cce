"""The Compliance tab's Escalation rules section: edit, validate and apply rule files."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from advisor.errors import AdvisorError
from advisor.services.rules_admin import RulesAdmin
from advisor.ui.pages.base import Page
from advisor.ui.render import admin as render
from advisor.ui.session import AdminSession, Updates, unchanged


class RulesPage(Page):
    """An editor over the rule files: nothing reaches the disk without validating first."""

    def __init__(self, session: AdminSession, service: RulesAdmin) -> None:
        self.session = session
        self.service = service

    def build(self) -> None:
        with gr.Accordion("Escalation rules", open=False, elem_id="admin-rules") as self.accordion:
            self.status = gr.Markdown(elem_id="admin-rules-status")
            with gr.Row():
                self.rule_choice = gr.Dropdown([], label="Rule file", elem_id="admin-rule-file")
                self.rule_upload = gr.File(
                    label="Or upload a rule file (YAML)", file_types=[".yaml", ".yml"]
                )
            self.rule_name = gr.Textbox(
                label="Save as (file name in the rules folder)",
                max_lines=1,
                elem_id="admin-rule-name",
            )
            self.rule_code = gr.Code(
                language="yaml",
                label="Rule file contents",
                lines=18,
                max_lines=40,
                interactive=True,
                elem_id="admin-rule-code",
            )
            with gr.Row():
                self.validate_btn = gr.Button("Validate rules", elem_id="admin-rules-validate")
                self.save_btn = gr.Button(
                    "Save and apply rules", variant="primary", elem_id="admin-rules-save"
                )
                self.check_btn = gr.Button("Check the rules on disk", elem_id="admin-rules-check")
            self.result = gr.Markdown(elem_id="admin-rules-result")

    def _status(self) -> str:
        return render.rules_status(self.service.status())

    # ------------------------------------------------------------------ handlers

    def on_rule_pick(self, token: str | None, name: str | None) -> Updates:
        self.session.need(token)
        if not name:
            return {self.result: ""}
        try:
            text = self.service.read(name)
        except AdvisorError as exc:
            return {self.result: render.warn(exc)}
        return {self.rule_code: text, self.rule_name: name, self.result: ""}

    def on_rule_upload(self, token: str | None, upload: str | None) -> Updates:
        self.session.need(token)
        if not upload:
            return unchanged(self.result)
        try:
            loaded = self.service.load_upload(Path(upload))
        except AdvisorError as exc:
            return {self.result: render.warn(exc)}
        return {
            self.rule_code: loaded.text,
            self.rule_name: loaded.name,
            self.result: render.rule_upload(loaded),
        }

    def on_validate(self, token: str | None, name: str, text: str) -> Updates:
        self.session.need(token)
        try:
            summary = self.service.validate(name, text or "")
        except AdvisorError as exc:
            return {self.result: render.failure("Not valid; nothing was changed.", exc)}
        return {self.result: render.rules_valid(summary)}

    def on_save(self, token: str | None, name: str, text: str) -> Updates:
        who = self.session.need(token)
        try:
            message = render.rules_saved(self.service.save(name, text or "", user=who))
        except AdvisorError as exc:
            message = render.failure("Not saved: the rules in force are unchanged.", exc)
        return {
            self.result: message,
            self.status: self._status(),
            self.rule_choice: gr.update(choices=self.service.files()),
        }

    def on_check(self, token: str | None) -> Updates:
        self.session.need(token)
        return {self.status: self._status()}

    def on_expand(self, token: str | None) -> Updates:
        """Opening the section shows the rules now in force (someone may have changed them)."""
        if not self.session.user(token):
            return unchanged(self.status)
        return {self.status: self._status()}

    def on_sign_in(self, token: str | None) -> Updates:
        if not self.session.user(token):
            return unchanged(self.status, self.rule_choice)
        return {
            self.status: self._status(),
            self.rule_choice: gr.update(choices=self.service.files(), value=None),
        }

    def on_sign_out(self) -> Updates:
        return {self.rule_code: ""}

    # ------------------------------------------------------------------ events

    def wire(self) -> None:
        token = self.session.token
        editor = [self.rule_code, self.rule_name, self.result]
        self.rule_choice.change(
            self.on_rule_pick,
            inputs=[token, self.rule_choice],
            outputs=editor,
            api_visibility="private",
        )
        self.rule_upload.upload(
            self.on_rule_upload,
            inputs=[token, self.rule_upload],
            outputs=editor,
            api_visibility="private",
        )
        self.validate_btn.click(
            self.on_validate,
            inputs=[token, self.rule_name, self.rule_code],
            outputs=[self.result],
            api_visibility="private",
        )
        self.save_btn.click(
            self.on_save,
            inputs=[token, self.rule_name, self.rule_code],
            outputs=[self.result, self.status, self.rule_choice],
            api_visibility="private",
        )
        self.check_btn.click(
            self.on_check, inputs=[token], outputs=[self.status], api_visibility="private"
        )
        self.accordion.expand(
            self.on_expand, inputs=[token], outputs=[self.status], api_visibility="private"
        )
        self.session.subscribe_sign_in(self.on_sign_in, self.status, self.rule_choice)
        self.session.subscribe_sign_out(self.on_sign_out, self.rule_code)
