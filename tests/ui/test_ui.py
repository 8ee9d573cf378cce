"""The app as a user starts it: the API endpoints, the chat in a browser, and the audit trail
they leave. The pages' handlers and the renderers have their own tests (tests/ui/pages,
tests/ui/render)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from advisor.models import Answer, Level
from tests.conftest import ARTIFACTS, REPO, RULES, TEST_CORPUS, launch_chromium, running_app


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
        page.screenshot(path=str(ARTIFACTS / "chat-phone-full.png"), full_page=True)
        browser.close()


@pytest.mark.slow
@pytest.mark.browser
def test_answers_and_feedback_reach_the_audit_trail(app_server) -> None:
    """Runs after the browser test in this module: its answer and thumbs-down are recorded."""
    from advisor.records.audit import AuditLog

    db = app_server["data"] / "audit.sqlite3"
    audit = AuditLog(f"sqlite:///{db}")
    try:
        assert audit.verify().ok
        rows = audit.feedback(rating="down")
        assert any("Crimea" in r.question and r.reason == "wrong level" for r in rows)
    finally:
        audit.close()
    with sqlite3.connect(db) as conn:
        asked = conn.execute(
            "SELECT channel FROM audit_log WHERE kind = 'answer' AND id = ?", (rows[0].record_id,)
        ).fetchone()
    assert asked == ("ui",)  # the chat's answer, recorded as asked in the browser
