"""The Ask tab in Debian chromium at desktop (1366x900) and phone (390x844) width, light and
dark: each test pins one problem a user found (sources spilling over the question box,
unmarked [n] passages, the chat scrolled past the bottom line, unreadable dark highlights,
half resets, a green NONE for out-of-scope, raw Markdown on copy, a phone page opening
mid-way with hidden tabs), and the saved conversations (reload, open, continue, delete) with
regenerate and edit. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ARTIFACTS, REPO, RULES, TEST_CORPUS, running_app

pytestmark = [pytest.mark.slow, pytest.mark.browser]

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
CRIMEA = "Is a licence needed to send items to Crimea?"
OFF_TOPIC = "What is the best recipe for pancakes?"
TIMEOUT = 60_000  # ms for an answer: the first one loads the embedding model's caches

# The box of an element in viewport coordinates.
RECT = """(el) => { const r = el.getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; }"""
# True once the newest answer's bottom line is inside both the viewport and the chat box.
BOTTOM_LINE_IN_VIEW = """() => {
  const rows = [...document.querySelectorAll('#chat .message-row')];
  const asked = rows.map((r) => r.classList.contains('user-row')).lastIndexOf(true);
  const answer = rows[asked + 1];
  if (!answer) return false;
  const line = [...answer.querySelectorAll('strong')]
    .find((s) => s.textContent.startsWith('Bottom line'));
  if (!line) return false;
  const r = line.getBoundingClientRect();
  const box = document.querySelector('#chat [role=log]').getBoundingClientRect();
  return r.top >= Math.max(0, box.top) && r.bottom <= Math.min(innerHeight, box.bottom);
}"""
# The colours an element is painted with: its text colour and the backgrounds from it up.
COLOURS = """(el) => { const out = {color: getComputedStyle(el).color, backgrounds: []};
  for (let e = el; e; e = e.parentElement) {
    out.backgrounds.push(getComputedStyle(e).backgroundColor);
  }
  return out; }"""


@pytest.fixture(scope="module")
def app_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's data dir: its index, audit trail and saved conversations."""
    return tmp_path_factory.mktemp("chat-app")


@pytest.fixture(scope="module")
def app_url(app_data: Path) -> Iterator[str]:
    """The app with the test corpus and the real embedding model, started as a user does."""
    env = {
        "ADVISOR_DATA_DIR": str(app_data),
        "ADVISOR_CORPUS_DIR": str(TEST_CORPUS),
        "ADVISOR_RULES_DIR": str(RULES),
        "ADVISOR_MIN_RELEVANCE": "0.2",
    }
    with running_app(env, REPO, app_data / "app.log") as url:
        yield url


@pytest.fixture
def open_page(browser: Any, app_url: str) -> Iterator[Callable[..., Any]]:
    """A fresh page at a viewport and colour scheme, the clipboard readable."""
    contexts: list[Any] = []

    def open_(viewport: dict[str, int], scheme: str = "light", **options: Any) -> Any:
        context = browser.new_context(
            viewport=viewport,
            color_scheme=scheme,
            permissions=["clipboard-read", "clipboard-write"],
            **options,
        )
        contexts.append(context)
        page = context.new_page()
        page.goto(app_url)
        page.locator("#question textarea").wait_for()
        page.wait_for_timeout(500)  # the page JS (focus, listeners) runs after the mount
        return page

    yield open_
    for context in contexts:
        context.close()


# ---------------------------------------------------------------- helpers


def ask(page: Any, question: str, level: str | None = "PROHIBITED") -> None:
    from playwright.sync_api import expect

    page.locator("#question textarea").fill(question)
    page.locator("#ask-button").click()
    badge = page.locator("#level-panel .level-badge")
    expect(badge).to_be_visible(timeout=TIMEOUT)
    if level:
        expect(badge).to_have_text(level)
        page.wait_for_function(BOTTOM_LINE_IN_VIEW, timeout=10_000)


def rect(page: Any, selector: str) -> dict[str, float]:
    return dict(page.locator(selector).first.evaluate(RECT))


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["bottom"] <= b["top"]
        or b["bottom"] <= a["top"]
        or a["right"] <= b["left"]
        or b["right"] <= a["left"]
    )


def in_viewport(page: Any, box: dict[str, float]) -> bool:
    size = page.viewport_size
    return box["top"] >= -1 and box["bottom"] <= size["height"] + 1 and box["left"] >= -1


def _rgba(value: str) -> tuple[float, float, float, float]:
    parts = [float(x) for x in re.findall(r"[\d.]+", value)]
    return (parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else 1.0)


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(page: Any, selector: str) -> float:
    """WCAG contrast of an element's text on what is painted behind it (backgrounds from the
    element up, semi-transparent ones blended over the page's)."""
    colours = page.locator(selector).first.evaluate(COLOURS)
    layers = [_rgba(b) for b in colours["backgrounds"] if _rgba(b)[3] > 0]
    back = (255.0, 255.0, 255.0)
    for r, g, b, a in reversed(layers):
        back = (r * a + back[0] * (1 - a), g * a + back[1] * (1 - a), b * a + back[2] * (1 - a))
    r, g, b, _ = _rgba(colours["color"])
    lighter, darker = sorted([_luminance((r, g, b)), _luminance(back)], reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def check_sources_box(page: Any, limit: float) -> None:
    """Every passage open, the panel stays a bounded scroll box clear of the question box."""
    page.evaluate("document.querySelectorAll('#sources-panel details').forEach(d => d.open = true)")
    panel = page.locator("#sources-panel")
    sizes = panel.evaluate("p => [p.clientHeight, p.scrollHeight, getComputedStyle(p).overflowY]")
    assert sizes[0] <= limit and sizes[1] > sizes[0] and sizes[2] == "auto", sizes
    box = rect(page, "#sources-panel")
    for control in ("#question", "#ask-button", "#chat"):
        assert not overlaps(box, rect(page, control)), control
    assert "**" not in panel.inner_text()
    page.evaluate(
        "document.querySelectorAll('#sources-panel details.source').forEach(d => d.open = false)"
    )


def check_every_citation(page: Any, keeps_window: bool) -> int:
    """Each [n] of the newest answer opens its passage with a marked sentence in view, and
    the question box stays on screen (on a desktop the page itself does not move)."""
    links = page.locator('#chat a[href^="#src-"]')
    hrefs = list(dict.fromkeys(links.evaluate_all("ls => ls.map(l => l.getAttribute('href'))")))
    assert hrefs
    for href in hrefs:
        link = page.locator(f'#chat a[href="{href}"]').last
        link.scroll_into_view_if_needed()
        before = page.evaluate("scrollY")
        link.click()
        passage = page.locator(f"#sources-panel details{href}")
        mark = passage.locator("mark").first
        mark.wait_for(state="visible")
        assert passage.get_attribute("open") is not None, href
        box, panel = mark.evaluate(RECT), rect(page, "#sources-panel")
        assert in_viewport(page, box) and panel["top"] - 1 <= box["top"] <= panel["bottom"], href
        assert in_viewport(page, rect(page, "#question textarea")), href
        if keeps_window:
            assert page.evaluate("scrollY") == before, href
            assert overlaps(
                rect(page, "#chat"), {"top": 0, "bottom": 900, "left": 0, "right": 1366}
            )
    return len(hrefs)


def copied(page: Any) -> str:
    page.locator("#chat").get_by_role("button", name="Copy answer").click()
    page.wait_for_timeout(200)
    return str(page.evaluate("navigator.clipboard.readText()"))


# ---------------------------------------------------------------- tests


def test_desktop_light_sources_citations_bottom_line_and_copy(open_page: Any) -> None:
    page = open_page(DESKTOP)
    assert page.evaluate("scrollY") == 0
    ask(page, CRIMEA)  # waits until the bottom line is in the chat box and the viewport
    assert check_every_citation(page, keeps_window=True) >= 3
    page.screenshot(path=str(ARTIFACTS / "chat-desktop-light.png"))
    check_sources_box(page, limit=DESKTOP["height"])
    text = copied(page)
    assert text.startswith("Level: PROHIBITED\n\nBottom line (PROHIBITED):"), text[:80]
    for raw in ("**", "](#", "🟥", "> ", "_This"):
        assert raw not in text, raw
    assert "[1]" in text and "Sources\n[1] " in text


def test_desktop_dark_highlights_badges_and_panel_are_readable(open_page: Any) -> None:
    page = open_page(DESKTOP, "dark")
    assert "dark" in (page.evaluate("document.body.className") or "")
    ask(page, CRIMEA)
    check_every_citation(page, keeps_window=True)
    page.screenshot(path=str(ARTIFACTS / "chat-desktop-dark.png"))
    for selector in (
        "#sources-panel details[open] mark",
        "#level-panel .level-badge",
        "#sources-panel details[open] .passage p",
        "#sources-panel summary h4",
        "#level-legend summary",
        "#understood",
    ):
        assert contrast(page, selector) >= 4.5, selector
    page.locator("#level-legend summary").click()
    for level in ("none", "review", "escalate", "prohibited", "out-of-scope"):
        assert contrast(page, f"#level-legend .level-{level}") >= 4.5, level


def test_an_out_of_scope_answer_gets_a_neutral_badge(open_page: Any) -> None:
    from playwright.sync_api import expect

    page = open_page(DESKTOP, "dark")
    ask(page, OFF_TOPIC, level=None)
    badge = page.locator("#level-panel .level-badge")
    expect(badge).to_have_text("OUT OF SCOPE")
    assert badge.get_attribute("data-level") == "out-of-scope"
    assert "level-none" not in (badge.get_attribute("class") or "")
    assert contrast(page, "#level-panel .level-badge") >= 4.5
    expect(page.locator("#chat")).to_contain_text("OUT OF SCOPE")
    assert copied(page).startswith("Level: OUT OF SCOPE\n\nThe curated corpus does not cover")


def expect_reset(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#chat .message-row")).to_have_count(0)
    expect(page.locator("#level-status")).to_contain_text("Ask a question")
    expect(page.locator("#level-panel .level-badge")).to_have_count(0)
    expect(page.locator("#sources-panel")).to_contain_text("Sources of each answer appear here")
    expect(page.locator("#export-files")).to_be_hidden()
    expect(page.locator("#feedback-form").first).to_be_hidden()


def dirty(page: Any) -> None:
    """An answer with everything a conversation leaves: export files, an open feedback form."""
    from playwright.sync_api import expect

    ask(page, CRIMEA)
    page.locator("#export-button").click()
    expect(page.locator("#export-files")).to_contain_text(".pdf", timeout=30_000)
    page.locator("#chat").get_by_role("button", name="Dislike").first.click()
    expect(page.locator("#feedback-form").first).to_be_visible()
    page.get_by_label("Comment (optional)").fill("draft")


def expect_question_one(page: Any) -> None:
    from playwright.sync_api import expect

    ask(page, CRIMEA)
    expect(page.locator("#sources-panel h4")).to_have_count(1)
    expect(page.locator("#sources-panel h4")).to_contain_text("Question 1:")
    assert page.locator('#chat a[href^="#src-1-"]').count() > 0
    assert page.locator('#chat a[href^="#src-2-"]').count() == 0


def test_the_trash_icon_and_new_conversation_reset_everything(open_page: Any) -> None:
    page = open_page(DESKTOP)
    dirty(page)
    page.locator("#chat").get_by_role("button", name="Clear").click()
    expect_reset(page)
    expect_question_one(page)
    dirty(page)
    page.get_by_role("button", name="New conversation").click()
    expect_reset(page)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "chat-after-clear.png"))
    expect_question_one(page)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_opens_at_the_top_with_every_tab_and_one_page_scroll(
    open_page: Any, scheme: str
) -> None:
    from playwright.sync_api import expect

    page = open_page(PHONE, scheme, is_mobile=True, has_touch=True)
    assert page.evaluate("scrollY") == 0
    assert in_viewport(page, rect(page, "#intro h1"))
    assert in_viewport(page, page.get_by_text("not legal advice").first.evaluate(RECT))
    for name in ("Ask", "Screening", "Compliance", "Evaluation"):
        tab = page.get_by_role("tab", name=name)
        expect(tab).to_be_visible()
        assert tab.evaluate(RECT)["right"] <= PHONE["width"], name
    expect(page.get_by_role("button", name="More tabs")).to_be_hidden()
    ask(page, CRIMEA)  # the page, not a box inside it, scrolls to the bottom line
    for box in ("#chat", "#chat [role=log]"):
        sizes = page.locator(box).evaluate("e => [e.scrollHeight, e.clientHeight]")
        assert sizes[0] <= sizes[1] + 1, (box, sizes)
    check_every_citation(page, keeps_window=False)
    assert contrast(page, "#sources-panel details[open] mark") >= 4.5
    suffix = "" if scheme == "light" else "-dark"
    page.screenshot(path=str(ARTIFACTS / f"chat-phone-sources{suffix}.png"))
    check_sources_box(page, limit=0.6 * PHONE["height"] + 1)
    page.evaluate("window.advisorShowAnswer()")
    page.screenshot(path=str(ARTIFACTS / f"chat-phone{suffix}.png"))
    page.get_by_role("tab", name="Compliance").click()
    expect(page.locator("#compliance-login")).to_be_visible()


# ---------------------------------------------------------------- saved conversations

FOLLOW_UP = "And what if the items are only software?"


def history(page: Any) -> Any:
    """The history panel, opened (it starts closed)."""
    panel = page.locator("#chat-history")
    if not panel.locator(".label-wrap.open").count():
        panel.locator(".label-wrap").click()
    return panel


def reload(page: Any) -> None:
    page.reload()
    page.locator("#question textarea").wait_for()
    page.wait_for_timeout(500)


def open_saved(page: Any, title: str) -> None:
    from playwright.sync_api import expect

    item = history(page).locator("#history-list label").filter(has_text=title)
    expect(item).to_have_count(1)
    item.click()
    page.locator("#history-open").click()
    expect(page.locator("#level-panel .level-badge")).to_be_visible()


def expect_restored(page: Any, answers: int) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#level-panel .level-badge")).to_have_text("PROHIBITED")
    expect(page.locator("#chat .user-row")).to_have_count(answers)
    expect(page.locator("#chat")).to_contain_text("Bottom line (PROHIBITED)")
    expect(page.locator("#sources-panel h4")).to_have_count(answers)
    expect(page.locator("#sources-panel h4").first).to_contain_text(f"Question {answers}:")


def delete_open(page: Any, title: str) -> None:
    """Delete the open conversation: it leaves the list and the chat resets."""
    from playwright.sync_api import expect

    panel = history(page)
    item = panel.locator("#history-list label").filter(has_text=title)
    item.click()
    page.locator("#history-delete").click()
    expect_reset(page)
    expect(panel.locator("#history-list label")).to_have_count(0)
    expect(panel.locator(".label-wrap")).to_have_text(re.compile(r"^Your conversations\s*▼?$"))
    expect(page.locator("#history-note")).to_contain_text("No saved conversations yet")
    reload(page)
    expect(history(page).locator("#history-list label")).to_have_count(0)


def test_desktop_history_survives_a_reload_opens_continues_and_deletes(open_page: Any) -> None:
    from playwright.sync_api import expect

    page = open_page(DESKTOP)
    panel = page.locator("#chat-history")
    expect(panel.locator(".label-wrap")).to_contain_text("Your conversations")
    box = rect(page, "#question textarea")
    assert in_viewport(page, rect(page, "#chat-history")) and in_viewport(page, box)
    ask(page, CRIMEA)
    expect(panel.locator(".label-wrap")).to_contain_text("Your conversations (1)")
    reload(page)
    expect(page.locator("#chat .message-row")).to_have_count(0)
    expect(panel.locator(".label-wrap")).to_contain_text("Your conversations (1)")
    history(page)
    assert rect(page, "#question textarea") == box  # an open list never moves the box
    open_saved(page, CRIMEA)
    expect_restored(page, 1)
    assert check_every_citation(page, keeps_window=True) >= 3  # [n] links reach the passages
    page.locator("#export-button").click()  # the export has the reopened answers
    expect(page.locator("#export-files")).to_contain_text(".pdf", timeout=30_000)
    ask(page, FOLLOW_UP, level=None)  # continuing appends, numbered 2
    expect(page.locator("#sources-panel h4")).to_have_count(2)
    assert page.locator('#chat a[href^="#src-2-"]').count() > 0
    item = panel.locator("#history-list label").filter(has_text=CRIMEA)
    expect(item).to_contain_text("2 answers")
    expect(item.locator("input")).to_be_checked()
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "chat-history-desktop.png"))
    page.get_by_role("button", name="New conversation").click()
    expect_reset(page)
    expect(panel.locator("#history-list input:checked")).to_have_count(0)
    open_saved(page, CRIMEA)
    expect(page.locator("#chat .user-row")).to_have_count(2)
    delete_open(page, CRIMEA)


def test_phone_history_opens_below_the_question_box(open_page: Any) -> None:
    from playwright.sync_api import expect

    page = open_page(PHONE, is_mobile=True, has_touch=True)
    assert in_viewport(page, rect(page, "#question textarea"))
    assert rect(page, "#chat-history")["top"] >= rect(page, "#ask-row")["bottom"]
    ask(page, CRIMEA)
    reload(page)
    page.evaluate("window.scrollTo(0, 0)")
    assert in_viewport(page, rect(page, "#question textarea"))
    panel = history(page)
    assert rect(page, "#chat-history")["right"] <= PHONE["width"]
    item = panel.locator("#history-list label").filter(has_text=CRIMEA)
    expect(item).to_be_visible()
    assert item.evaluate(RECT)["right"] <= PHONE["width"]
    open_saved(page, CRIMEA)
    expect_restored(page, 1)
    for box in ("#chat", "#chat [role=log]"):  # still one page scroll, no box inside
        sizes = page.locator(box).evaluate("e => [e.scrollHeight, e.clientHeight]")
        assert sizes[0] <= sizes[1] + 1, (box, sizes)
    page.locator("#chat-history").scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -320)")
    page.screenshot(path=str(ARTIFACTS / "chat-history-phone.png"))
    delete_open(page, CRIMEA)


def test_dark_history_is_readable_and_other_browsers_do_not_see_it(open_page: Any) -> None:
    from playwright.sync_api import expect

    page = open_page(DESKTOP, "dark")
    ask(page, CRIMEA)
    panel = history(page)
    expect(panel.locator("#history-list label")).to_have_count(1)
    for selector in (
        "#chat-history .label-wrap span",
        "#history-list label span",
        "#history-list [data-testid=block-info]",
    ):
        assert contrast(page, selector) >= 4.5, selector
    page.screenshot(path=str(ARTIFACTS / "chat-history-dark.png"))
    other = open_page(DESKTOP, "dark")  # another browser: another owner
    expect(history(other).locator("#history-list label")).to_have_count(0)
    expect(other.locator("#history-note")).to_contain_text("No saved conversations yet")
    reload(page)
    expect(history(page).locator("#history-list label")).to_have_count(1)


def ui_records(data: Path) -> int:
    """Answers the audit trail holds from the chat, read-only (none before the first)."""
    path = data / "audit.sqlite3"
    if not path.exists():
        return 0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT count(*) FROM audit_log WHERE channel = 'ui'").fetchone()
    except sqlite3.OperationalError:  # the table is made with the first record
        return 0
    finally:
        conn.close()
    return int(row[0])


def wait_for_records(data: Path, count: int) -> None:
    deadline = time.monotonic() + 30
    while ui_records(data) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ui_records(data) == count


def edit_question(page: Any, index: int, text: str, screenshot: str | None = None) -> None:
    from playwright.sync_api import expect

    page.locator("#chat .user-row").nth(index).hover()
    page.locator("#chat").get_by_role("button", name="Edit").nth(index).click()  # one a question
    area = page.locator("#chat textarea.edit-textarea")
    expect(area).to_be_visible()
    area.fill(text)
    if screenshot:
        page.screenshot(path=str(ARTIFACTS / screenshot))
    page.locator("#chat").get_by_role("button", name="Submit").click()


def test_regenerate_and_edit_replace_the_answer(open_page: Any, app_data: Path) -> None:
    from playwright.sync_api import expect

    page = open_page(DESKTOP)
    before = ui_records(app_data)
    ask(page, CRIMEA)
    wait_for_records(app_data, before + 1)
    page.locator("#chat").get_by_role("button", name="Retry").click()
    wait_for_records(app_data, before + 2)  # a new record for the new answer
    expect(page.locator("#level-panel .level-badge")).to_have_text("PROHIBITED")
    expect(page.locator("#chat .user-row")).to_have_count(1)
    expect(page.locator("#chat .bot-row")).to_have_count(1)
    expect(page.locator("#sources-panel h4")).to_have_count(1)
    assert page.locator('#chat a[href^="#src-2-"]').count() == 0
    expect(history(page).locator("#history-list label")).to_contain_text("1 answer ")

    edit_question(page, 0, OFF_TOPIC, screenshot="chat-edit.png")
    badge = page.locator("#level-panel .level-badge")
    expect(badge).to_have_text("OUT OF SCOPE", timeout=TIMEOUT)
    wait_for_records(app_data, before + 3)
    expect(page.locator("#chat .user-row")).to_have_count(1)
    expect(page.locator("#chat .user-row")).to_contain_text(OFF_TOPIC)
    expect(page.locator("#chat")).not_to_contain_text("PROHIBITED")
    page.screenshot(path=str(ARTIFACTS / "chat-edit-answered.png"))

    # An earlier question edited: everything after it goes.
    ask(page, CRIMEA)
    expect(page.locator("#chat .user-row")).to_have_count(2)
    edit_question(page, 0, CRIMEA)
    expect(page.locator("#chat .user-row")).to_have_count(1)
    expect(badge).to_have_text("PROHIBITED", timeout=TIMEOUT)
    expect(page.locator("#chat")).not_to_contain_text(OFF_TOPIC)
    expect(page.locator("#sources-panel h4")).to_have_count(1)
    wait_for_records(app_data, before + 5)
    saved = history(page).locator("#history-list label").filter(has_text=CRIMEA)
    expect(saved).to_contain_text("1 answer ")  # saved once answered
    reload(page)  # the saved conversation is the edited one
    open_saved(page, CRIMEA)
    expect_restored(page, 1)


# ---------------------------------------------------------------- a document in the chat


@pytest.mark.parametrize(
    ("viewport", "scheme", "name"),
    [(DESKTOP, "light", "desktop"), (PHONE, "light", "phone"), (DESKTOP, "dark", "dark")],
)
def test_an_attached_agreement_is_read_and_its_clause_cited_by_page(
    open_page: Any, tmp_path: Path, viewport: dict[str, int], scheme: str, name: str
) -> None:
    from playwright.sync_api import expect

    from tests.services.test_attachments import QUESTION, write_pdf

    pdf = write_pdf(tmp_path / "sponsor-agreement.pdf")
    page = open_page(viewport, scheme)
    page.locator("#attach input[type=file]").set_input_files(str(pdf))
    # Gradio shows the name and its extension in separate spans.
    expect(page.locator("#attach")).to_contain_text("sponsor-agreement")
    ask(page, QUESTION, "ESCALATE")
    chat = page.locator("#chat")
    expect(chat).to_contain_text("Attached: sponsor-agreement.pdf")
    expect(chat).to_contain_text("(page 2)")  # the bottom line says where the clause is
    clause = page.locator("#sources-panel details.source", has_text="Attached document")
    expect(clause.first).to_contain_text("page 2")
    expect(page.locator("#attach")).not_to_contain_text("sponsor-agreement")
    box = rect(page, "#question")
    assert not overlaps(rect(page, "#sources-panel"), box)
    if scheme == "dark":
        assert contrast(page, "#attach") >= 4.5
        clause.first.locator("summary").click()
        assert contrast(page, "#sources-panel details[open] .passage p") >= 4.5
    page.screenshot(path=str(ARTIFACTS / f"chat-attach-{name}.png"), full_page=True)
