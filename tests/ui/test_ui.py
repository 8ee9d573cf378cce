from __future__ import annotations

from pathlib import Path

import pytest

from advisor.models import Answer, Citation, Flag, Level
from advisor.ui.app import answer_messages, badge_html, sources_markdown, sources_panel_html
from tests.conftest import ARTIFACTS, REPO, RULES, TEST_CORPUS, launch_chromium, running_app


def sample_answer() -> Answer:
    return Answer(
        question="q",
        answer="**Bottom line (ESCALATE):** stop. [1]",
        level=Level.ESCALATE,
        flags=[
            Flag(id="f", level=Level.ESCALATE, reason="Reason <b>x</b>", citation="15 CFR 744.11")
        ],
        citations=[
            Citation(
                n=1,
                doc_id="d",
                title="Guide",
                section="Scope",
                page=3,
                source="corpus/g.md",
                text="Line one.\nLine two.",
                score=0.8,
                version="1.0",
                effective_date="2026-01-01",
            )
        ],
    )


def test_badge_escapes_and_labels() -> None:
    html = badge_html(sample_answer())
    assert 'class="level-badge level-escalate"' in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert 'aria-label="Escalation level: escalate"' in html and 'role="status"' in html


def test_sources_block_is_collapsible_and_complete() -> None:
    messages = answer_messages(sample_answer(), turn=2)
    assert messages[0]["content"].startswith("🟧 **ESCALATE**")
    assert "[[1]](#src-2-1)" in messages[0]["content"]
    assert messages[1]["metadata"]["title"] == "Sources (1)"
    text = sources_markdown(sample_answer())
    assert "[1] Guide" in text and "page 3" in text and "version 1.0" in text
    assert "> Line one." in text


def test_sources_panel_highlights_quoted_sentences() -> None:
    answer = sample_answer().model_copy(
        update={"answer": "**Bottom line**\n\n- Line one. [1]\n\nNotice."}
    )
    panel = sources_panel_html([answer, answer])
    assert panel.index('id="src-2-1"') < panel.index('id="src-1-1"')
    assert "<mark>Line one.</mark>" in panel
    assert "version 1.0" in panel and "effective 2026-01-01" in panel and "page 3" in panel
    assert "Sources of each answer" in sources_panel_html([])


def test_conversation_export_markdown_and_pdf(tmp_path: Path) -> None:
    from pypdf import PdfReader

    from advisor.writing.transcript import to_markdown, to_pdf

    answer = sample_answer()
    md = to_markdown([answer], "the office")
    assert "**Level: ESCALATE**" in md and "15 CFR 744.11" in md and "> Line one." in md
    pdf = to_pdf([answer, answer], "the office", tmp_path / "c.pdf")
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Level: ESCALATE" in text and "Question 2" in text and "Line two." in text


@pytest.fixture(scope="module")
def app_url(app_server) -> str:
    return str(app_server["url"])


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """The app with the test corpus, started as a user starts it."""
    data = tmp_path_factory.mktemp("app")
    env = {
        "ADVISOR_DATA_DIR": str(data),
        "ADVISOR_CORPUS_DIR": str(TEST_CORPUS),
        "ADVISOR_RULES_DIR": str(RULES),
        "ADVISOR_MIN_RELEVANCE": "0.2",
    }
    with running_app(env, REPO, data / "app.log") as url:
        yield {"url": url, "data": data}


@pytest.mark.slow
def test_api_endpoint_ask_through_gradio_client(app_url: str) -> None:
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    result = client.predict("Is a licence needed to send items to Crimea?", api_name="/ask")
    answer = Answer.model_validate(result)
    assert answer.level == Level.PROHIBITED
    assert answer.citations and any("746.6" in c.text for c in answer.citations)
    with pytest.raises(Exception, match="empty"):
        client.predict("   ", api_name="/ask")


@pytest.mark.slow
def test_screening_endpoint(app_url: str) -> None:
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    verdict, table = client.predict("Harbin Institute of Technology", "", api_name="/screen")
    assert "possible match" in verdict and "SAMPLE" in verdict
    assert table["data"][0][0] == "Harbin Institute of Technology"
    verdict, table = client.predict(
        "Massachusetts Institute of Technology", "US", api_name="/screen"
    )
    assert verdict.startswith("No match") and table["data"] in ([], [[]]) or not table["data"]


@pytest.mark.slow
@pytest.mark.browser
def test_browser_chat_shows_answer_badge_and_sources(app_url: str) -> None:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian chromium is not installed (make test installs it)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # a loaded CI machine is slow

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(app_url)
        box = page.get_by_label("Your question")
        box.focus()  # keyboard only: type, then Enter submits
        page.keyboard.type("Is a licence needed to send items to Crimea?")
        page.keyboard.press("Enter")
        badge = page.locator("#level-panel .level-badge")
        expect(badge).to_have_text("PROHIBITED", timeout=60_000)
        chat = page.locator("#chat")
        expect(chat).to_contain_text("Bottom line (PROHIBITED)", timeout=30_000)
        expect(chat).to_contain_text("Sources (", timeout=30_000)
        chat.get_by_text("Sources (").first.click()
        expect(chat).to_contain_text("746.6")
        link = chat.locator('a[href^="#src-1-"]').first
        target = link.get_attribute("href")[1:]  # type: ignore[index]
        expect(page.locator(f"#sources-panel details#{target}")).to_be_attached()
        expect(badge).to_have_text("PROHIBITED")
        page.wait_for_timeout(500)  # let the last streamed update settle before clicking
        link.focus()
        page.keyboard.press("Enter")  # the [n] link works from the keyboard too
        opened = page.locator(f"#sources-panel details#{target}")
        expect(opened).to_have_attribute("open", "")
        expect(opened.locator("mark").first).to_be_visible()
        chat.get_by_role("button", name="Dislike").first.click()
        expect(page.locator("#feedback-form").first).to_be_visible()
        page.get_by_label("wrong level").check()
        page.get_by_label("Comment (optional)").fill("Crimea answer should cite the regulation")
        page.locator("#feedback-send").click()
        expect(page.locator("#feedback-note")).to_contain_text("recorded", timeout=30_000)
        page.locator("#export-button").click()
        expect(page.locator("#export-files")).to_contain_text(".pdf", timeout=30_000)
        expect(page.locator("#export-files")).to_contain_text(".md")
        page.screenshot(path=str(ARTIFACTS / "chat-desktop.png"), full_page=True)
        page.get_by_role("tab", name="Screening").click()
        page.get_by_label("Organisation or person").fill("Huawei Technologies Co Ltd")
        page.locator("#screen-button").click()
        expect(page.locator("#screen-verdict")).to_contain_text("possible match", timeout=30_000)
        expect(page.locator("#screen-results")).to_contain_text("Entity List")
        page.screenshot(path=str(ARTIFACTS / "screening.png"), full_page=True)
        page.get_by_role("tab", name="Ask").click()
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(ARTIFACTS / "chat-phone.png"), full_page=True)
        browser.close()


@pytest.mark.slow
@pytest.mark.browser
def test_answers_and_feedback_reach_the_audit_trail(app_server) -> None:
    """Runs after the browser test in this module: its answer and thumbs-down are recorded."""
    from advisor.records.audit import AuditLog

    audit = AuditLog(f"sqlite:///{app_server['data'] / 'audit.sqlite3'}")
    try:
        assert audit.verify().ok
        rows = audit.feedback(rating="down")
        assert any("Crimea" in r.question and r.reason == "wrong level" for r in rows)
    finally:
        audit.close()
