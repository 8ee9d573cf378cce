"""The Compliance tab's Documents section: preview, publish, search, inspect, retire, re-sync."""

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
    DocumentRow,
    DocumentService,
    ReplacePolicy,
    RetirePolicy,
    build_meta,
    search_rows,
)
from advisor.ui.pages.base import Page
from advisor.ui.render import admin as render
from advisor.ui.session import AdminSession, Updates, unchanged

log = logging.getLogger(__name__)

# What a handler gets when Gradio did not pass a selection (a direct call).
NO_SELECTION = gr.SelectData(None, {"index": None, "value": None})


class DocumentsPage(Page):
    """Uploads are published only after a preview of exactly that file and metadata (the
    service holds the preview's token to it); the list refreshes whenever the tab opens, is
    searched on the server-side copy, and a selected row shows all of its metadata."""

    def __init__(self, session: AdminSession, service: DocumentService) -> None:
        self.session = session
        self.service = service
        self.tab: gr.Tab | None = None

    def refresh_on(self, tab: gr.Tab) -> None:
        """Opening ``tab`` shows the current list (another user may have changed it)."""
        self.tab = tab

    def build(self) -> None:
        with gr.Accordion("Documents", open=True, elem_id="admin-docs-section"):
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
            # The last successful preview's token: server-side, so the browser cannot make one.
            self.preview_token = gr.State(None)
            self._build_table()
            self._build_retire()

    def _build_meta_form(self) -> None:
        gr.Markdown(
            "Title, effective date, version and owner are required; a field the file itself "
            "gives (Markdown front matter, the PDF's title) may stay empty.",
            elem_id="admin-doc-meta-note",
        )
        with gr.Row():
            title = gr.Textbox(label="Title (required)", max_lines=1, elem_id="admin-doc-title")
            doc_type = gr.Dropdown(list(DOC_TYPES), value=None, label="Document type (optional)")
            jurisdiction = gr.Dropdown(
                list(JURISDICTIONS), value=None, label="Jurisdiction (optional)"
            )
        with gr.Row():
            topics = gr.Textbox(label="Topics (comma-separated)")
            refs = gr.Textbox(label="Source references (comma-separated, e.g. 15 CFR 734.8)")
        with gr.Row():
            effective = gr.Textbox(
                label="Effective date (YYYY-MM-DD, required)",
                max_lines=1,
                elem_id="admin-doc-effective",
            )
            version = gr.Textbox(
                label="Version (required)", max_lines=1, elem_id="admin-doc-version"
            )
            owner = gr.Textbox(label="Owner (required)", max_lines=1, elem_id="admin-doc-owner")
        # In build_meta's parameter order.
        self.meta_inputs = [title, doc_type, jurisdiction, topics, refs, effective, version, owner]

    def _build_table(self) -> None:
        self.search = gr.Textbox(
            label="Search documents (title, source, topics, owner)",
            max_lines=1,
            elem_id="admin-doc-search",
        )
        self.doc_count = gr.Markdown(elem_id="admin-doc-count")
        self.docs = gr.Dataframe(
            headers=render.DOCUMENT_HEADERS,
            datatype=render.DOCUMENT_TYPES,
            interactive=False,
            wrap=True,
            column_widths=render.DOCUMENT_WIDTHS,
            max_height=560,
            label="Documents in the index, newest first, times in UTC: select a row for details",
            elem_id="admin-documents",
        )
        self.doc_detail = gr.Markdown(render.SELECT_A_DOCUMENT, elem_id="admin-doc-detail")
        # Every row of the last listing, so a search does not re-read the index per keystroke.
        self.listed = gr.State([])

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

    def _shown(self, rows: list[DocumentRow], query: str | None) -> Updates:
        shown = search_rows(rows, query)
        return {
            self.docs: render.document_table(shown),
            self.doc_count: render.document_count(len(shown), len(rows), query),
        }

    def _listing(self, query: str | None = "", *, keep_choice: bool = False) -> Updates:
        rows = self.service.rows()
        choices = sorted(r.source for r in rows)
        choice = (
            gr.update(choices=choices) if keep_choice else gr.update(choices=choices, value=None)
        )
        return {self.listed: rows, self.retire_choice: choice} | self._shown(rows, query)

    # ------------------------------------------------------------------ handlers

    def on_preview(self, token: str | None, upload: str | None, *values: Any) -> Updates:
        self.session.need(token)
        if not upload:
            return {self.upload_result: render.CHOOSE_A_FILE, self.preview_token: None}
        try:
            staged = self.service.preview(Path(upload), build_meta(*values))
        except AdvisorError as exc:
            return {self.upload_result: render.warn(exc), self.preview_token: None}
        return {self.upload_result: render.preview(staged), self.preview_token: staged.token}

    def on_publish(
        self,
        token: str | None,
        previewed: str | None,
        upload: str | None,
        replace_it: bool,
        *values: Any,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's injection idiom
    ) -> Updates:
        """A refusal (missing fields, no or a stale preview) changes only the message: the
        file and the form keep what the officer entered."""
        who = self.session.need(token)
        if not upload:
            return {self.upload_result: render.CHOOSE_A_FILE}
        try:
            done = self.service.publish(
                Path(upload),
                build_meta(*values),
                token=previewed,
                policy=ReplacePolicy.of(bool(replace_it)),
                user=who,
                progress=progress,
            )
        except AdvisorError as exc:
            return {self.upload_result: render.warn(exc)}
        except Exception as exc:  # e.g. the embedding model failed: say so, nothing changed
            log.exception("publishing %s failed", upload)
            return {self.upload_result: render.unexpected("Publishing", exc)}
        # The search is cleared so the new document shows, first: the list is newest first.
        return {
            self.upload_result: render.published(done),
            self.doc_file: None,
            self.preview_token: None,
            self.search: "",
            self.doc_detail: render.SELECT_A_DOCUMENT,
        } | self._listing()

    def on_retire(
        self,
        token: str | None,
        source: str | None,
        confirmed: bool,
        query: str | None = "",
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
        return {
            self.docs_result: render.retired(done),
            self.confirm: False,
            self.doc_detail: render.SELECT_A_DOCUMENT,
        } | self._listing(query)

    def on_sync(
        self,
        token: str | None,
        query: str | None = "",
        progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008
    ) -> Updates:
        who = self.session.need(token)
        progress(0.05, desc="Syncing the corpus folder")
        try:
            done = self.service.sync(user=who, progress_bar=True)
        except AdvisorError as exc:
            return {self.docs_result: render.warn(exc)}
        return {self.docs_result: render.synced(done)} | self._listing(query)

    def on_list(self, token: str | None, query: str | None = "") -> Updates:
        self.session.need(token)
        return self._listing(query)

    def on_search(self, token: str | None, query: str | None, rows: list[DocumentRow]) -> Updates:
        """Filters the last listing (no index read per keystroke)."""
        self.session.need(token)
        return self._shown(list(rows or []), query)

    def on_select(self, token: str | None, evt: gr.SelectData = NO_SELECTION) -> Updates:
        """A row of the table was selected: all of that document's metadata."""
        self.session.need(token)
        row = evt.row_value if isinstance(evt.row_value, list) else None
        if not row or len(row) <= render.SOURCE_COLUMN:
            return unchanged(self.doc_detail)
        try:
            detail = self.service.detail(str(row[render.SOURCE_COLUMN]))
        except AdvisorError as exc:
            return {self.doc_detail: render.warn(exc)}
        return {self.doc_detail: render.document_detail(detail)}

    def on_open(self, token: str | None, query: str | None = "") -> Updates:
        if not self.session.user(token):
            return unchanged(*self._listing_outputs())
        return self._listing(query, keep_choice=True)

    def on_sign_in(self, token: str | None) -> Updates:
        if not self.session.user(token):
            return unchanged(*self._listing_outputs())
        return self._listing()

    def on_sign_out(self) -> Updates:
        return {
            self.docs: [],
            self.listed: [],
            self.doc_count: "",
            self.doc_detail: render.SELECT_A_DOCUMENT,
            self.preview_token: None,
        }

    # ------------------------------------------------------------------ events

    def _listing_outputs(self) -> list[Any]:
        return [self.docs, self.doc_count, self.listed, self.retire_choice]

    def wire(self) -> None:
        token, listing = self.session.token, self._listing_outputs()
        self.preview_btn.click(
            self.on_preview,
            inputs=[token, self.doc_file, *self.meta_inputs],
            outputs=[self.upload_result, self.preview_token],
            api_visibility="private",
        )
        self.publish_btn.click(
            self.on_publish,
            inputs=[token, self.preview_token, self.doc_file, self.replace, *self.meta_inputs],
            outputs=[
                self.upload_result,
                *listing,
                self.doc_file,
                self.preview_token,
                self.search,
                self.doc_detail,
            ],
            api_visibility="private",
        )
        self.retire_btn.click(
            self.on_retire,
            inputs=[token, self.retire_choice, self.confirm, self.search],
            outputs=[self.docs_result, *listing, self.confirm, self.doc_detail],
            api_visibility="private",
        )
        self.sync_btn.click(
            self.on_sync,
            inputs=[token, self.search],
            outputs=[self.docs_result, *listing],
            api_visibility="private",
        )
        self.list_btn.click(
            self.on_list, inputs=[token, self.search], outputs=listing, api_visibility="private"
        )
        self.search.change(
            self.on_search,
            inputs=[token, self.search, self.listed],
            outputs=[self.docs, self.doc_count],
            api_visibility="private",
        )
        self.docs.select(
            self.on_select, inputs=[token], outputs=[self.doc_detail], api_visibility="private"
        )
        if self.tab is not None:
            self.tab.select(
                self.on_open, inputs=[token, self.search], outputs=listing, api_visibility="private"
            )
        self.session.subscribe_sign_in(self.on_sign_in, *listing)
        self.session.subscribe_sign_out(
            self.on_sign_out,
            self.docs,
            self.listed,
            self.doc_count,
            self.doc_detail,
            self.preview_token,
        )
