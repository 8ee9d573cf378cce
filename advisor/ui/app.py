"""The Gradio app: the pages over their services, the compliance tabs, and the server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from advisor.chain import Advisor, build_advisor
from advisor.records.auth import gradio_auth
from advisor.records.sink import AuditSink
from advisor.services.answering import AnsweringService
from advisor.services.attachments import AttachmentReader
from advisor.services.conversations import ConversationStore
from advisor.services.screening import ScreeningService
from advisor.settings import Settings
from advisor.ui.admin import build_admin_tabs
from advisor.ui.pages.base import Page
from advisor.ui.pages.chat import ChatPage
from advisor.ui.pages.screening import ScreeningPage
from advisor.ui.render.chat import CSS, JS
from advisor.writing.answer import notice

# A full Consolidated Screening List JSON is tens of MB; documents are capped lower.
SCREENING_UPLOAD_MB = 60
INTRO = (
    "# export-advisor\nCited, conservative answers on export controls for research "
    "(EAR, ITAR, OFAC, EU, UK, Wassenaar), drawn only from the curated corpus.\n\n"
)


def build_ui(advisor: Advisor, audit: AuditSink | None = None) -> gr.Blocks:
    """Every page is built before any is wired, so an event may update another page."""
    office = advisor.settings.office_contact
    history = ConversationStore.from_settings(advisor.settings)
    reader = AttachmentReader(advisor.settings)
    chat = ChatPage(AnsweringService(advisor, audit), office, history, reader)
    screening = ScreeningPage(ScreeningService.of(advisor))
    pages: list[Page] = [chat, screening]
    with gr.Blocks(title="export-advisor", fill_height=True) as demo:
        gr.Markdown(INTRO + notice(office), elem_id="intro")
        with gr.Tab("Ask", id="ask-tab"):
            chat.build()
        with gr.Tab("Screening", id="screening-tab"):
            screening.build()
        for page in pages:
            page.wire()
        chat.wire_load(demo)
        build_admin_tabs(advisor, audit)
        gr.api(chat.api_ask, api_name="ask")
    return demo


def _mcp(
    advisor: Advisor,
    audit: AuditSink,
    auth: Callable[[str, str], bool] | None,
    announce: Callable[[str], None] | None,
) -> dict[str, Any]:
    from advisor.mcp.http import mcp_for_app

    return mcp_for_app(advisor, audit, auth, announce)


def serve(settings: Settings, announce: Callable[[str], None] | None = None) -> None:
    """Start the app; ``announce`` (from the CLI or app.py) prints where MCP listens."""
    from advisor.records.audit import AuditLog

    advisor = build_advisor(settings)
    audit = AuditLog.from_settings(advisor.settings)
    demo = build_ui(advisor, audit)
    try:
        auth = gradio_auth(advisor.settings)
        demo.queue(default_concurrency_limit=4).launch(
            server_name=settings.host,
            server_port=settings.port,
            css=CSS,
            js=JS,
            ssr_mode=False,
            show_error=True,
            footer_links=["api"],
            auth=auth,
            # Gradio stores uploads before any handler runs, login or not: cap them there.
            max_file_size=f"{max(advisor.settings.max_upload_mb, SCREENING_UPLOAD_MB)}mb",
            # MCP shares the server: /mcp asks for the same users as the chat, if any.
            app_kwargs=_mcp(advisor, audit, auth, announce) if advisor.settings.mcp else None,
        )
    finally:
        audit.close()
