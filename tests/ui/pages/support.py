"""Mount admin pages in a throwaway Blocks, as the assembler does, for handler tests."""

from __future__ import annotations

import gradio as gr

from advisor.settings import Settings
from advisor.ui.pages.base import Page
from advisor.ui.session import AdminSession, Updates


def session_for(settings: Settings) -> AdminSession:
    return AdminSession(settings, None)


def mount(session: AdminSession, *pages: Page) -> gr.Blocks:
    """Build the pages behind one locked tab, wire them, then the session."""
    with gr.Blocks() as demo:
        session.build()
        with gr.Tab("Compliance", id="compliance-tab"), session.gate("compliance"):
            for page in pages:
                page.build()
        for page in pages:
            page.wire()
        session.wire()
    return demo


def signed_in(session: AdminSession, user: str = "alice") -> str:
    """A token as a successful login leaves it in the session's state."""
    return session.sessions.open(user, "127.0.0.1")


def skips_everything(updates: Updates) -> bool:
    return bool(updates) and all(value == gr.skip() for value in updates.values())
