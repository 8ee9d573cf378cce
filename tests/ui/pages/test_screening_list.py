"""The Screening list section's handlers (advisor.ui.pages.screening_list)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from advisor.chain import Advisor
from advisor.services.screening_list import ScreeningListAdmin
from advisor.ui.pages.screening_list import ScreeningListPage
from tests.services.support import upload
from tests.services.test_screening_list import ZYXWV
from tests.ui.pages.support import mount, session_for, signed_in, skips_everything


@pytest.fixture
def page(advisor: Advisor) -> ScreeningListPage:
    session = session_for(advisor.settings)
    page = ScreeningListPage(session, ScreeningListAdmin(advisor))
    mount(session, page)
    return page


def test_every_action_refuses_a_session_that_is_not_logged_in(
    page: ScreeningListPage, advisor: Advisor, tmp_path: Path
) -> None:
    before = advisor.settings.screening_path.read_bytes()
    good = str(upload(tmp_path, "csl.json", ZYXWV))
    for call in (lambda: page.on_csl_validate(None, good), lambda: page.on_csl_replace(None, good)):
        with pytest.raises(gr.Error, match="Log in first"):
            call()
    assert advisor.settings.screening_path.read_bytes() == before
    assert skips_everything(page.on_expand(None)) and skips_everything(page.on_sign_in(None))


def test_validate_and_replace_through_the_page(
    page: ScreeningListPage, advisor: Advisor, tmp_path: Path
) -> None:
    token = signed_in(page.session)
    assert page.on_csl_validate(token, None) == {page.result: "⚠️ Choose a file first."}
    assert page.on_csl_replace(token, None) == {page.result: "⚠️ Choose a file first."}
    status = page.on_sign_in(token)[page.status]
    assert status.startswith("**List in use:** `csl.csv`") and "SAMPLE" in status
    bad = str(upload(tmp_path, "list.xlsx", b"PK"))
    assert page.on_csl_validate(token, bad)[page.result].startswith(
        "❌ **Not valid; nothing was changed.**"
    )
    refused = page.on_csl_replace(token, bad)
    assert refused[page.result].startswith("❌ **Not replaced; the list in use is unchanged.**")
    assert refused[page.status] == status
    good = str(upload(tmp_path, "csl.json", ZYXWV))
    assert page.on_csl_validate(token, good) == {page.result: "✅ Valid: 1 entries (EL 1)."}
    replaced = page.on_csl_replace(token, good)
    assert replaced[page.result] == "✅ Screening list replaced: 1 entries (EL 1)."
    assert replaced[page.status] == "**List in use:** `csl.csv`, 1 entries (EL 1)."
    assert page.on_expand(token) == {page.status: replaced[page.status]}
