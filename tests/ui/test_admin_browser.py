"""The Compliance and Evaluation tabs in Debian chromium: log in, publish a PDF and get answers
from it, retire it, break the rules, review feedback and run an evaluation; then what a user
found (#15), at desktop (1366x900) and phone (390x844) width and in dark mode: a PDF without
metadata published unpreviewed, a table showing two of eight columns with the newest last and
no search, and a feedback review that hid the comment and could not open the answer.
Screenshots go to tests/artifacts/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from advisor.models import Answer, Citation, Level
from advisor.records.audit import AuditLog
from advisor.records.auth import hash_password
from tests.conftest import (
    ARTIFACTS,
    REPO,
    RULES,
    TEST_CORPUS,
    running_app,
    shared_path,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
# (viewport, colour scheme, screenshot suffix)
VIEWS = [
    pytest.param(DESKTOP, "light", "", id="desktop"),
    pytest.param(PHONE, "light", "-phone", id="phone"),
    pytest.param(DESKTOP, "dark", "-dark", id="dark"),
]

PASSWORD = "compliance passphrase 7"
PDF_QUESTION = "Is flat better than nested, and does readability count?"
PDF_TITLE = "Zen of Python example"
SEEDED_QUESTION = "Can my postdoc take the prototype to Tehran next week?"
CRIMEA = "Is a licence needed to send items to Crimea?"
CUBA = "Is a licence needed to send items to Cuba?"
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


def _fill_meta(page: Any, title: str, effective: str, version: str, owner: str) -> None:
    page.get_by_label("Title (required)").fill(title)
    page.get_by_label("Effective date (YYYY-MM-DD, required)").fill(effective)
    page.get_by_label("Version (required)").fill(version)
    page.get_by_label("Owner (required)").fill(owner)


def _choose(page, label: str, option: str) -> None:
    page.get_by_label(label).click()
    page.get_by_role("option", name=option).click()


def test_compliance_and_evaluation_tabs(site: dict[str, object], browser: Any) -> None:
    pdf = shared_path("data", "pdf-samples", "google-doc-document.pdf")
    from playwright.sync_api import expect

    root = Path(str(site["root"]))
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
    expect(page.locator("#admin-doc-file")).to_contain_text(pdf.stem)
    _fill_meta(page, PDF_TITLE, "2026-01-15", "1", "Research office")
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
    page.close()


# ---------------------------------------------------------------- #15: documents and feedback

# What the page itself and a table's own scroll box would need to scroll sideways.
SIDEWAYS = """(sel) => {
  const root = document.documentElement;
  const out = {page: root.scrollWidth - root.clientWidth};
  const wrap = sel && document.querySelector(sel);
  if (wrap) out.box = wrap.scrollWidth - wrap.clientWidth;
  return out;
}"""


def _open(browser: Any, site: dict[str, object], viewport: dict[str, int], scheme: str) -> Any:
    context = browser.new_context(viewport=viewport, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(str(site["url"]))
    page.get_by_label("Your question").wait_for()
    if scheme == "dark":
        assert "dark" in (page.evaluate("document.body.className") or "")
    return page


def _login(page: Any) -> None:
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Compliance").click()
    page.locator("#compliance-user input, #compliance-user textarea").fill("alice")
    page.locator("#compliance-password input").fill(PASSWORD)
    page.locator("#compliance-login-button").click()
    expect(page.locator("#compliance-content")).to_be_visible()


def _no_sideways_scroll(page: Any, box: str | None = None) -> None:
    """Nothing on the page, and nothing inside ``box`` (a table's scroll box), is cut off."""
    over = page.evaluate(SIDEWAYS, box)
    assert all(v <= 1 for v in over.values()), over


def _readable(page: Any, selector: str) -> None:
    from tests.ui.test_chat_browser import contrast

    assert contrast(page, selector) >= 4.5, selector


def _cell(page: Any, table: str, row: int, column: int) -> Any:
    return page.locator(f'{table} [data-testid="cell-{row}-{column}"]')


@pytest.mark.parametrize(("viewport", "scheme", "suffix"), VIEWS)
def test_a_document_needs_its_metadata_and_a_preview_then_lists_first(
    site: dict[str, object],
    browser: Any,
    tmp_path: Path,
    viewport: dict[str, int],
    scheme: str,
    suffix: str,
) -> None:
    """A real PDF with no metadata: refused naming each missing field, the file and the form
    kept; published after a preview; newest first in the table; searchable; its details open."""
    from playwright.sync_api import expect

    sample = shared_path("data", "pdf-samples", "pdflatex-4-pages.pdf")
    pdf = tmp_path / f"four-pages{suffix or '-desktop'}.pdf"
    shutil.copyfile(sample, pdf)
    owner = f"Browser office{suffix or ' desktop'}"
    page = _open(browser, site, viewport, scheme)
    _login(page)
    result = page.locator("#admin-upload-result")
    page.locator("#admin-doc-file input[type=file]").set_input_files(str(pdf))
    expect(page.locator("#admin-doc-file")).to_contain_text(pdf.stem)

    page.locator("#admin-publish").click()  # no metadata, no preview
    expect(result).to_contain_text(
        "cannot be published without its title, effective date, version, owner", timeout=60_000
    )
    expect(page.locator("#admin-doc-file")).to_contain_text(pdf.stem)  # the upload is kept
    _fill_meta(page, "Four-page memo", "01/05/2026", "1", owner)
    page.locator("#admin-preview").click()
    expect(result).to_contain_text("write it as YYYY-MM-DD", timeout=60_000)
    expect(page.get_by_label("Title (required)")).to_have_value("Four-page memo")  # form kept
    page.get_by_label("Effective date (YYYY-MM-DD, required)").fill("2026-05-01")
    page.locator("#admin-publish").click()
    expect(result).to_contain_text("check and preview it first", timeout=60_000)

    page.locator("#admin-preview").click()
    expect(result).to_contain_text("Ready to publish", timeout=60_000)
    expect(result).to_contain_text("4 page(s) with text")
    expect(result).to_contain_text("First 3 of")
    expect(result).to_contain_text("replaces nothing")
    expect(result).to_contain_text("page 1")
    page.screenshot(path=str(ARTIFACTS / f"admin-publish-preview{suffix}.png"), full_page=True)
    page.get_by_label("Version (required)").fill("2")  # changed after the preview
    page.locator("#admin-publish").click()
    expect(result).to_contain_text("changed since the preview", timeout=60_000)
    page.locator("#admin-preview").click()
    expect(result).to_contain_text("Ready to publish", timeout=60_000)
    page.locator("#admin-publish").click()
    expect(result).to_contain_text(f"Published corpus/uploads/{pdf.name}", timeout=90_000)

    # ---- the table: newest first, searchable, a row opens every field
    table = "#admin-documents"
    expect(_cell(page, table, 0, 2)).to_have_text(f"corpus/uploads/{pdf.name}")
    expect(_cell(page, table, 0, 1)).to_contain_text("version 2")
    search = page.get_by_label("Search documents (title, source, topics, owner)")
    search.fill("embargoes")
    expect(_cell(page, table, 0, 2)).to_have_text("corpus/guidance/embargoes.md")
    expect(_cell(page, table, 1, 2)).to_have_count(0)
    expect(page.locator("#admin-doc-count")).to_contain_text("match “embargoes”")
    search.fill(owner)
    expect(_cell(page, table, 0, 2)).to_have_text(f"corpus/uploads/{pdf.name}")
    expect(_cell(page, table, 1, 2)).to_have_count(0)
    _cell(page, table, 0, 1).click()
    detail = page.locator("#admin-doc-detail")
    for text in ("Four-page memo", "Owner: " + owner, "Effective date: 2026-05-01", "sha256:"):
        expect(detail).to_contain_text(text)
    expect(detail).to_contain_text("UTC by alice")
    search.fill("")
    expect(_cell(page, table, 1, 2)).to_be_visible()
    _no_sideways_scroll(page, f"{table} .table-wrap")
    _readable(page, "#admin-doc-detail li")
    _cell(page, table, 0, 1).click()
    expect(detail).to_contain_text("Four-page memo")
    page.locator("#admin-docs-section").screenshot(
        path=str(ARTIFACTS / f"admin-documents-table{suffix}.png")
    )
    page.context.close()


@pytest.mark.parametrize(("viewport", "scheme", "suffix"), VIEWS)
def test_a_disliked_answer_opens_with_its_sources_and_conversation(
    site: dict[str, object], browser: Any, viewport: dict[str, int], scheme: str, suffix: str
) -> None:
    """Ask twice in one conversation, dislike the second with a comment, then open it in the
    review: comment, question, bottom line, level, answer, sources and both turns, no
    sideways scrolling."""
    from playwright.sync_api import expect

    comment = f"review me{suffix or ' desktop'}: " + "the licence exceptions are missing. " * 3
    page = _open(browser, site, viewport, scheme)
    page.wait_for_timeout(500)  # the page's own load events (history, focus) run first
    chat, box = page.locator("#chat"), page.get_by_label("Your question")
    for n, question in enumerate((CRIMEA, CUBA), start=1):  # a new context: a new conversation
        box.fill(question)
        expect(box).to_have_value(question)
        page.locator("#ask-button").click()
        expect(chat).to_contain_text(question)
        # The sources panel gets each answer's passages when the answer is complete.
        expect(page.locator("#sources-panel")).to_contain_text(f"Question {n}:", timeout=60_000)
    expect(chat.locator("strong", has_text="Bottom line")).to_have_count(2)
    chat.get_by_role("button", name="Dislike").last.click()
    page.get_by_label("wrong level").check()
    page.get_by_label("Comment (optional)").fill(comment)
    page.locator("#feedback-send").click()
    expect(page.locator("#feedback-note")).to_contain_text("recorded", timeout=30_000)

    _login(page)
    page.get_by_text("Feedback review").click()
    page.locator("#admin-fb-show").click()
    table = "#admin-fb-table"
    expect(_cell(page, table, 0, 2)).to_contain_text(comment.strip())  # newest first, all of it
    expect(_cell(page, table, 0, 1)).to_have_text(CUBA)
    expect(_cell(page, table, 0, 0)).to_contain_text("REVIEW")
    _no_sideways_scroll(page, f"{table} .table-wrap")
    _cell(page, table, 0, 1).click()
    detail = page.locator("#admin-fb-detail")
    expect(detail).to_contain_text(comment.strip())
    expect(detail).to_contain_text("Question: " + CUBA)
    expect(detail).to_contain_text("Bottom line:")
    expect(detail).to_contain_text("Level:")
    expect(detail).to_contain_text("Answer text")
    expect(detail).to_contain_text("Sources (")
    expect(detail.locator("blockquote").first).to_be_visible()  # the quoted passages
    expect(detail).to_contain_text("Conversation (2 answer(s), in order)")
    turns = detail.locator("ol").last
    expect(turns.locator(":scope > li")).to_have_count(2)
    expect(turns.locator(":scope > li").first).to_contain_text(CRIMEA)
    expect(turns.locator(":scope > li").last).to_contain_text("the disliked answer")
    _no_sideways_scroll(page)
    _readable(page, "#admin-fb-detail li")
    page.locator("#admin-feedback").screenshot(
        path=str(ARTIFACTS / f"admin-feedback-detail{suffix}.png")
    )
    page.context.close()
