"""The Compliance and Evaluation tabs in Debian chromium: log in, publish a PDF and get answers
from it, retire it, break the rules, review feedback and run an evaluation."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from advisor.models import Answer, Citation, Level
from advisor.records.audit import AuditLog
from advisor.records.auth import hash_password
from tests.conftest import (
    ARTIFACTS,
    REPO,
    RULES,
    TEST_CORPUS,
    launch_chromium,
    running_app,
    shared_path,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PASSWORD = "compliance passphrase 7"
PDF_QUESTION = "Is flat better than nested, and does readability count?"
PDF_TITLE = "Zen of Python example"
SEEDED_QUESTION = "Can my postdoc take the prototype to Tehran next week?"
TINY_CASES = """\
- id: browser-crimea
  question: "Is a licence needed to send items to Crimea?"
  expected_level: prohibited
  must_cite: ["746.6"]
  tags: [browser]
- id: browser-fundamental
  question: "What is fundamental research?"
  expected_level: none
  tags: [browser]
"""


def _seed_feedback(data: Path) -> None:
    """One thumbs-down answer in the audit database the app will open."""
    with AuditLog(f"sqlite:///{data / 'audit.sqlite3'}") as audit:
        record = audit.record_answer(
            Answer(
                question=SEEDED_QUESTION,
                answer="Bottom line (REVIEW). [1]",
                level=Level.REVIEW,
                citations=[
                    Citation(
                        n=1,
                        doc_id="d",
                        title="Travel",
                        source="corpus/guidance/travel-basics.md",
                        text="x",
                        score=0.7,
                    )
                ],
            ),
            conversation_id="seed",
            user=None,
            corpus_hash="seed",
            rules_hash="seed",
        )
        assert record is not None
        audit.add_feedback(record, "down", "wrong level; Iran is embargoed", "researcher")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[dict[str, object]]:
    """The launcher in a scratch folder with copies of the corpus, rules and screening list."""
    root = tmp_path_factory.mktemp("admin-app")
    shutil.copytree(TEST_CORPUS, root / "corpus")
    shutil.copytree(RULES, root / "rules")
    shutil.copyfile(
        REPO / "corpus" / "screening" / "consolidated-screening-list-sample.csv",
        root / "csl.csv",
    )
    (root / "evals" / "cases").mkdir(parents=True)
    (root / "evals" / "cases" / "tiny.yaml").write_text(TINY_CASES, encoding="utf-8")
    shutil.copyfile(REPO / "evals" / "baseline.json", root / "evals" / "baseline.json")
    data = root / "data"
    data.mkdir()
    _seed_feedback(data)
    env = {
        "ADVISOR_DATA_DIR": str(data),
        "ADVISOR_CORPUS_DIR": str(root / "corpus"),
        "ADVISOR_RULES_DIR": str(root / "rules"),
        "ADVISOR_SCREENING_PATH": str(root / "csl.csv"),
        "ADVISOR_MIN_RELEVANCE": "0.2",
        "ADVISOR_CONFIDENT_RELEVANCE": "0.4",
        "ADVISOR_ADMIN_USERS": f"alice:{hash_password(PASSWORD, iterations=200_000)}",
    }
    with running_app(env, root, root / "app.log") as url:
        yield {"url": url, "root": root}


def _ask(page, question: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Ask").click()
    page.get_by_role("button", name="New conversation").click()
    # The cleared state must be on screen before asking, or the clear could land last.
    expect(page.locator("#sources-panel")).to_contain_text("Sources of each answer")
    expect(page.locator("#level-status")).to_contain_text("Ask a question")
    page.get_by_label("Your question").fill(question)
    page.locator("#ask-button").click()
    expect(page.locator("#level-panel .level-badge")).to_be_visible(timeout=60_000)


def _choose(page, label: str, option: str) -> None:
    page.get_by_label(label).click()
    page.get_by_role("option", name=option).click()


def test_compliance_and_evaluation_tabs(site: dict[str, object]) -> None:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian chromium is not installed (make test installs it)")
    pdf = shared_path("data", "pdf-samples", "google-doc-document.pdf")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # a loaded CI machine is slow

    root = Path(str(site["root"]))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(30_000)
        page.goto(str(site["url"]))

        # ---- login: locked until the right password, per session
        page.get_by_role("tab", name="Compliance").click()
        expect(page.locator("#compliance-content")).to_be_hidden()
        page.locator("#compliance-user input, #compliance-user textarea").fill("alice")
        page.locator("#compliance-password input").fill("not the password")
        page.locator("#compliance-login-button").click()
        expect(page.locator("#compliance-login-message")).to_contain_text("Wrong user name")
        expect(page.locator("#compliance-content")).to_be_hidden()
        page.locator("#compliance-password input").fill(PASSWORD)
        page.locator("#compliance-login-button").click()
        expect(page.locator("#compliance-content")).to_be_visible()
        expect(page.locator("#compliance-who")).to_contain_text("alice")
        expect(page.locator("#admin-documents")).to_contain_text("corpus/guidance/embargoes.md")

        # ---- upload a PDF, preview it, publish it
        page.locator("#admin-doc-file input[type=file]").set_input_files(str(pdf))
        page.get_by_label("Title (optional: taken from the file)").fill(PDF_TITLE)
        page.locator("#admin-preview").click()
        result = page.locator("#admin-upload-result")
        expect(result).to_contain_text("1 page(s) with text", timeout=60_000)
        expect(result).to_contain_text("Preview (not published yet)")
        page.locator("#admin-publish").click()
        expect(result).to_contain_text("Published", timeout=60_000)
        expect(page.locator("#admin-documents")).to_contain_text(
            "corpus/uploads/google-doc-document.pdf"
        )
        page.screenshot(path=str(ARTIFACTS / "admin-published.png"), full_page=True)

        # ---- the chat answers from it
        _ask(page, PDF_QUESTION)
        expect(page.locator("#sources-panel")).to_contain_text(PDF_TITLE, timeout=30_000)
        expect(page.locator("#sources-panel")).to_contain_text("google-doc-document.pdf")

        # ---- retire it: gone from answers
        page.get_by_role("tab", name="Compliance").click()
        _choose(page, "Document to retire", "corpus/uploads/google-doc-document.pdf")
        page.locator("#admin-retire").click()
        expect(page.locator("#admin-docs-result")).to_contain_text("Retired", timeout=60_000)
        expect(page.locator("#admin-documents")).not_to_contain_text("google-doc-document.pdf")
        assert not (root / "corpus" / "uploads" / "google-doc-document.pdf").exists()
        _ask(page, PDF_QUESTION)
        expect(page.locator("#sources-panel")).not_to_contain_text(PDF_TITLE)

        # ---- rules: an invalid edit is refused; a broken file on disk keeps the old rules
        page.get_by_role("tab", name="Compliance").click()
        page.get_by_text("Escalation rules").click()
        _choose(page, "Rule file", "rules.yaml")
        editor = page.locator("#admin-rule-code .cm-content")
        expect(editor).to_contain_text("embargo-controlled-transfer")
        editor.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("rules: 42")
        page.locator("#admin-rules-validate").click()
        rules_result = page.locator("#admin-rules-result")
        expect(rules_result).to_contain_text("Not valid; nothing was changed")
        page.locator("#admin-rules-save").click()
        expect(rules_result).to_contain_text("Not saved: the rules in force are unchanged")
        assert "embargo-controlled-transfer" in (root / "rules" / "rules.yaml").read_text()
        (root / "rules" / "triggers.yaml").write_text("triggers: [\n", encoding="utf-8")
        page.locator("#admin-rules-check").click()
        status = page.locator("#admin-rules-status")
        expect(status).to_contain_text("last good rules stay in force")
        expect(status).to_contain_text("triggers.yaml")
        page.screenshot(path=str(ARTIFACTS / "admin-rules-error.png"), full_page=True)
        _ask(page, "Is a licence needed to send items to Crimea?")
        expect(page.locator("#level-panel .level-badge")).to_have_text("PROHIBITED")
        page.locator("#chat").get_by_role("button", name="Dislike").last.click()
        page.get_by_label("wrong source").check()
        page.get_by_label("Comment (optional)").fill("thumbs-down from the browser test")
        page.locator("#feedback-send").click()
        expect(page.locator("#feedback-note")).to_contain_text("recorded", timeout=30_000)

        # ---- feedback review shows the seeded and the new thumbs-down
        page.get_by_role("tab", name="Compliance").click()
        page.get_by_text("Feedback review").click()
        page.locator("#admin-fb-show").click()
        expect(page.locator("#admin-fb-table")).to_contain_text(SEEDED_QUESTION)
        expect(page.locator("#admin-fb-table")).to_contain_text("Iran is embargoed")
        expect(page.locator("#admin-fb-table")).to_contain_text("thumbs-down from the browser")
        expect(page.locator("#admin-fb-download")).to_be_visible()

        # ---- evaluation: same session is logged in
        page.get_by_role("tab", name="Evaluation").click()
        expect(page.locator("#evaluation-content")).to_be_visible()
        page.get_by_label("evals/cases/tiny.yaml").check()
        page.locator("#eval-run").click()
        expect(page.locator("#eval-summary")).to_contain_text("cases passed", timeout=120_000)
        expect(page.locator("#eval-gate")).to_contain_text("level_accuracy")
        expect(page.locator("#eval-charts img")).to_have_count(3)
        expect(page.locator("#eval-files")).to_contain_text(".html")
        expect(page.locator("#eval-files")).to_contain_text(".json")
        page.screenshot(path=str(ARTIFACTS / "admin-evaluation.png"), full_page=True)
        assert list((root / "evals" / "reports").glob("*/report.json"))

        # ---- phone width (some tabs move into the tab bar's overflow menu), then log out
        page.set_viewport_size({"width": 390, "height": 844})
        expect(page.locator("#eval-run")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "admin-phone.png"), full_page=True)
        page.locator("#evaluation-logout").click()
        expect(page.locator("#evaluation-content")).to_be_hidden()
        expect(page.locator("#evaluation-login")).to_be_visible()
        browser.close()
