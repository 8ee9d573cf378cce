"""The Compliance and Evaluation tabs, assembled: one login session, five pages.

The work is done by the services (``advisor.services``) and shown by the renderers
(``advisor.ui.render``); each page (``advisor.ui.pages``) lays out its components and wires
its events, and the session (``advisor.ui.session``) locks both tabs until this browser
session logs in. Every handler checks the login itself: the hidden content is only cosmetic.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from advisor.evaluation import DEFAULT_BASELINE, DEFAULT_REPORTS
from advisor.records.sink import AuditSink
from advisor.services.documents import DocumentService
from advisor.services.feedback import FeedbackReview
from advisor.services.rules_admin import RulesAdmin
from advisor.services.screening_list import ScreeningListAdmin
from advisor.ui.pages.base import Page
from advisor.ui.pages.documents import DocumentsPage
from advisor.ui.pages.evaluation import EvalFolders, EvaluationPage
from advisor.ui.pages.feedback import FeedbackPage
from advisor.ui.pages.rules import RulesPage
from advisor.ui.pages.screening_list import ScreeningListPage
from advisor.ui.session import AdminSession

if TYPE_CHECKING:
    from advisor.chain import Advisor

log = logging.getLogger(__name__)


class AdminTabs:
    """The two locked tabs of one app: ``build()`` inside the Blocks, then ``wire()``."""

    def __init__(self, advisor: Advisor, audit: AuditSink | None, folders: EvalFolders) -> None:
        self.session = AdminSession(advisor.settings, audit)
        self.documents = DocumentsPage(self.session, DocumentService(advisor, audit))
        self.rules = RulesPage(self.session, RulesAdmin(advisor, audit))
        self.screening_list = ScreeningListPage(self.session, ScreeningListAdmin(advisor, audit))
        # Looked up through the advisor each time: a rebuilt index is a new store object.
        review = FeedbackReview(audit, lambda ids: advisor.store.chunks(ids))
        self.feedback = FeedbackPage(self.session, review)
        self.evaluation = EvaluationPage(self.session, advisor, audit, folders)

    @property
    def pages(self) -> list[Page]:
        return [self.documents, self.rules, self.screening_list, self.feedback, self.evaluation]

    def build(self) -> None:
        self.session.build()
        compliance_pages = (self.documents, self.rules, self.screening_list, self.feedback)
        with (
            gr.Tab("Compliance", id="compliance-tab") as compliance,
            self.session.gate("compliance"),
        ):
            for page in compliance_pages:
                page.build()
        self.documents.refresh_on(compliance)
        with (
            gr.Tab("Evaluation", id="evaluation-tab") as evaluation,
            self.session.gate("evaluation"),
        ):
            self.evaluation.build()
        self.evaluation.refresh_on(evaluation)

    def wire(self) -> None:
        """Pages first (they subscribe to sign-in and sign-out), then the session."""
        for page in self.pages:
            page.wire()
        self.session.wire()


def build_admin_tabs(
    advisor: Advisor,
    audit: object | None = None,
    *,
    cases_dir: Path = Path("evals/cases"),
    reports_dir: Path = DEFAULT_REPORTS,
    baseline_path: Path = DEFAULT_BASELINE,
) -> None:
    """Add the "Compliance" and "Evaluation" tabs to the enclosing ``gr.Blocks``.

    Their contents stay hidden, and every handler refuses to act, until this browser session
    logs in; the logged-in user lives in a server-side ``gr.State`` the client cannot forge.
    ``audit`` is the app's ``AuditLog`` (typed loosely so the chat's narrower protocol fits);
    without one, changes are not recorded and there is no feedback to review.
    """
    if audit is not None and not isinstance(audit, AuditSink):
        log.warning("%r cannot record events; the admin tabs run without an audit trail", audit)
    trail = audit if isinstance(audit, AuditSink) else None
    tabs = AdminTabs(advisor, trail, EvalFolders(cases_dir, reports_dir, baseline_path))
    tabs.build()
    tabs.wire()
