"""The Compliance tab's Documents section: preview, publish, retire and re-sync."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import gradio as gr

from advisor.corpus.ingest import SUPPORTED
from advisor.errors import AdvisorError
from advisor.services.documents import (
    DOC_TYPES,
    JURISDICTIONS,
    DocumentService,
    ReplacePolicy,
    RetirePolicy,
    build_meta,
)
from advisor.ui.pages.base import Page
from advisor.ui.render import admin as render
from advisor.ui.session import AdminSession, Updates, unchanged

log = logging.getLogger(__name__)


class DocumentsPage(Page):
    """Uploads go through a preview first; the list refreshes whenever the tab opens."""

    def __init__(self, session: AdminSession, service: DocumentService) -> None:
        self.session = session
        self.service = service
        self.tab: gr.Tab | None = None

    def refresh_on(self, tab: gr.Tab) -> None:
        """Opening ``tab`` shows the current list (another user may have changed it)."""
        self.tab = tab

    def build(self) -> None:
        with gr.Accordion("Documents", open=True):
            self.doc_file = gr.File(
                label="Document to publish (PDF, Markdown or text)",
                file_types=sorted(SUPPORTED),
                elem_id="admin-doc-file",
            )
            self._build_meta_form()
            self.replace = gr.Checkbox(label="Replace a published upload with the same file name")
            with gr.Row():
                self.preview_btn = gr.Button("Check and preview", elem_id="admin-preview")
                self.publish_btn = gr.Button(
                    "Publish to the index", variant="primary", elem_id="admin-publish"
                )
            self.upload_result = gr.Markdown(elem_id="admin-upload-result")
            self.docs = gr.Dataframe(
                headers=render.DOCUMENT_HEADERS,
                interactive=False,
                wrap=True,
                label="Documents in the index",
                elem_id="admin-documents",
            )
            self._build_retire()

    def _build_meta_form(self) -> None:
        with gr.Row():
            title = gr.Textbox(
                label="Title (optional: taken from the file)", elem_id="admin-doc-title"
            )
            doc_type = gr.Dropdown(list(DOC_TYPES), value=None, label="Document type (optional)")
            jurisdiction = gr.Dropdown(
                list(JURISDICTIONS), value=None, label="Jurisdiction (optional)"
            )
        with gr.Row():
            topics = gr.Textbox(label="Topics (comma-separated)")
            refs = gr.Textbox(label="Source references (comma-separated, e.g. 15 CFR 734.8)")
        with gr.Row():
            effective = gr.Textbox(label="Effective date (YYYY-MM-DD)", max_lines=1)
            version = gr.Textbox(label="Version", max_lines=1)
            owner = gr.Textbox(label="Owner", max_lines=1)
        # In build_meta's parameter order.
        self.meta_inputs = [title, doc_type, jurisdiction, topics, refs, effective, version, owner]

    def _build_retire(self) -> None:
        with gr.Row():
            self.retire_choice = gr.Dropdown(
                [], label="Document to retire", elem_id="admin-retire-choice"
            )
            self.confirm = gr.Checkbox(
                label="I understand: retiring a shipped document deletes its file "
                "from the corpus folder",
                elem_id="admin-retire-confirm",
            )
        with gr.Row():
            self.retire_btn = gr.Button("Retire document", variant="stop", elem_id="admin-retire")
            self.sync_btn = gr.Button("Re-sync the corpus folder", elem_id="admin-sync")
            self.list_btn = gr.Button("Refresh the list", elem_id="admin-refresh")
        self.docs_result = gr.Markdown(elem_id="admin-docs-result")

    # ------------------------------------------------------------------ views

    def _listing(self, *, keep_choice: bool = False) -> Updates:
        rows = self.service.rows()
        choices = [r.source for r in rows]
        choice = (
            gr.update(choices=choices) if keep_choice else gr.update(choices=choices, value=None)
        )
        return {self.docs: render.document_table(rows), self.retire_choice: choice}

    # ------------------------------------------------------------------ handlers

    def on_preview(self, token: str | None, upload: str | None, *values: Any) -> Updates:
        self.session.need(token)
        if not upload:
            return {self.upload_result: render.CHOOSE_A_FILE}
        try:
            staged = self.service.preview(Path(upload), build_meta(*values))
        except AdvisorError as exc:
            return {self.upload_result: render.warn(exc)}
        return {self.upload_result: render.preview(staged)}

    def on_publish(
        self,
        token: str | None,
        upload: str | None,
        replace_it: bool,
        *values: Any,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's injection idiom
    ) -> Updates:
        who = self.session.need(token)
        if not upload:
            return {self.upload_result: render.CHOOSE_A_FILE}
        try:
            done = self.service.publish(
                Path(upload),
                build_meta(*values),
                policy=ReplacePolicy.of(bool(replace_it)),
                user=who,
                progress=progress,
            )
        except AdvisorError as exc:
            return {self.upload_result: render.warn(exc)}
        except Exception as exc:  # e.g. the embedding model failed: say so, nothing changed
            log.exception("publishing %s failed", upload)
            return {self.upload_result: render.unexpected("Publishing", exc)}
        return {self.upload_result: render.published(done), self.doc_file: None} | self._listing()

    def on_retire(
        self,
        token: str | None,
        source: str | None,
        confirmed: bool,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> Updates:
        who = self.session.need(token)
        try:
            done = self.service.retire(
                source or "", policy=RetirePolicy.of(bool(confirmed)), user=who, progress=progress
            )
        except AdvisorError as exc:
            return {self.docs_result: render.warn(exc)}
        except Exception as exc:
            log.exception("retiring %s failed", source)
            return {self.docs_result: render.unexpected("Retiring", exc)}
        return {self.docs_result: render.retired(done), self.confirm: False} | self._listing()

    def on_sync(
        self,
        token: str | None,
        progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008
    ) -> Updates:
        who = self.session.need(token)
        progress(0.05, desc="Syncing the corpus folder")
        try:
            done = self.service.sync(user=who, progress_bar=True)
        except AdvisorError as exc:
            return {self.docs_result: render.warn(exc)}
        return {self.docs_result: render.synced(done)} | self._listing()

    def on_list(self, token: str | None) -> Updates:
        self.session.need(token)
        return self._listing()

    def on_open(self, token: str | None) -> Updates:
        if not self.session.user(token):
            return unchanged(self.docs, self.retire_choice)
        return self._listing(keep_choice=True)

    def on_sign_in(self, token: str | None) -> Updates:
        if not self.session.user(token):
            return unchanged(self.docs, self.retire_choice)
        return self._listing()

    def on_sign_out(self) -> Updates:
        return {self.docs: []}

    # ------------------------------------------------------------------ events

    def wire(self) -> None:
        token, listing = self.session.token, [self.docs, self.retire_choice]
        self.preview_btn.click(
            self.on_preview,
            inputs=[token, self.doc_file, *self.meta_inputs],
            outputs=[self.upload_result],
            api_visibility="private",
        )
        self.publish_btn.click(
            self.on_publish,
            inputs=[token, self.doc_file, self.replace, *self.meta_inputs],
            outputs=[self.upload_result, *listing, self.doc_file],
            api_visibility="private",
        )
        self.retire_btn.click(
            self.on_retire,
            inputs=[token, self.retire_choice, self.confirm],
            outputs=[self.docs_result, *listing, self.confirm],
            api_visibility="private",
        )
        self.sync_btn.click(
            self.on_sync,
            inputs=[token],
            outputs=[self.docs_result, *listing],
            api_visibility="private",
        )
        self.list_btn.click(self.on_list, inputs=[token], outputs=listing, api_visibility="private")
        if self.tab is not None:
            self.tab.select(self.on_open, inputs=[token], outputs=listing, api_visibility="private")
        self.session.subscribe_sign_in(self.on_sign_in, *listing)
        self.session.subscribe_sign_out(self.on_sign_out, self.docs)
