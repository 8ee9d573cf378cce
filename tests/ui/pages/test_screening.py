"""The Screening tab's handler (also the /screen API): {verdict, table} for one name."""

from __future__ import annotations

import gradio as gr

from advisor.chain import Advisor
from advisor.services.screening import ScreeningService
from advisor.ui.pages.screening import ScreeningPage
from advisor.ui.render.screening import NO_LIST


def screening_page(advisor: Advisor) -> ScreeningPage:
    page = ScreeningPage(ScreeningService.of(advisor))
    with gr.Blocks():
        page.build()
        page.wire()
    return page


def test_a_listed_name_gives_the_verdict_and_the_rows(advisor: Advisor) -> None:
    page = screening_page(advisor)
    out = page.screen("Harbin Institute of Technology", "")
    assert set(out) == {page.verdict, page.table}
    assert "possible match" in out[page.verdict] and "SAMPLE" in out[page.verdict]
    assert out[page.table][0][0] == "Harbin Institute of Technology"
    none = page.screen("Massachusetts Institute of Technology", "US", "", "")
    assert none[page.verdict].startswith("No match") and none[page.table] == []


def test_bad_input_and_no_list_are_messages(advisor: Advisor) -> None:
    page = screening_page(advisor)
    bad = page.screen("Harbin", "China")
    assert bad[page.verdict].startswith("⚠️ ") and "ISO code" in bad[page.verdict]
    assert bad[page.table] == []
    advisor.use_screener(None)  # the list is looked up at each call
    assert page.screen("Harbin", "") == {page.verdict: NO_LIST, page.table: []}
