"""The Evaluation tab in Debian chromium at desktop (1366x900), phone (390x844) and dark: pins
the problems a user found. A run on one case file said "Regression gate: FAILED" because it
was compared with whole-suite values; the confusion matrix showed a review->none case while
the under-escalation rate said 0. Here the suite's baseline is made by the real
``advisor eval --update-baseline``, a case is added to one file afterwards, and a run of that
file must pass on the cases the baseline has, list the new one as not gated, and show a
matrix whose diagonal, lower and upper triangles are the rates in the gate table.
Screenshots go to tests/artifacts/eval-subset-*.png."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from advisor.evaluation.gate import load_baseline
from advisor.records.auth import hash_password
from tests.conftest import ARTIFACTS, REPO, RULES, TEST_CORPUS, running_app
from tests.ui.test_chat_browser import contrast

pytestmark = [pytest.mark.slow, pytest.mark.browser]

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORD = "evaluation passphrase 9"
RUN_TIMEOUT = 180_000  # ms: the first run in the app loads the embedding model's caches

# One file of the suite: a prohibition, the user's case (review expected, none acceptable,
# answered none: accurate, so on the diagonal), and a real under-escalation (review expected,
# nothing lower acceptable, answered none: below the diagonal and counted by the rate).
SUBSET = """\
- id: browser-crimea
  question: "Is a licence needed to send items to Crimea?"
  expected_level: prohibited
  tags: [browser]
- id: browser-fr-none-acceptable
  question: "What is fundamental research?"
  expected_level: review
  acceptable_levels: [none, review]
  tags: [browser]
- id: browser-fr-under
  question: "What is fundamental research?"
  expected_level: review
  tags: [browser]
"""
OTHER = """\
- id: browser-other-fr
  question: "What is fundamental research?"
  expected_level: none
  acceptable_levels: [none, review]
  tags: [other]
"""
ADDED = """\
- id: browser-added-later
  question: "What is fundamental research?"
  expected_level: none
  tags: [browser]
"""
LEVELS = ["none", "review", "escalate", "prohibited"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The launcher in a scratch folder whose evals/baseline.json the real
    ``advisor eval --update-baseline`` wrote from the whole (two-file) suite, with the same
    settings as the app; a case is added to one file after that."""
    root = tmp_path_factory.mktemp("eval-app")
    shutil.copytree(TEST_CORPUS, root / "corpus")
    shutil.copytree(RULES, root / "rules")
    shutil.copyfile(
        REPO / "corpus" / "screening" / "consolidated-screening-list-sample.csv",
        root / "csl.csv",
    )
    cases = root / "evals" / "cases"
    cases.mkdir(parents=True)
    (cases / "subset.yaml").write_text(SUBSET, encoding="utf-8")
    (cases / "other.yaml").write_text(OTHER, encoding="utf-8")
    data = root / "data"
    env = {
        "ADVISOR_DATA_DIR": str(data),
        "ADVISOR_CORPUS_DIR": str(root / "corpus"),
        "ADVISOR_RULES_DIR": str(root / "rules"),
        "ADVISOR_SCREENING_PATH": str(root / "csl.csv"),
        "ADVISOR_MIN_RELEVANCE": "0.2",
        "ADVISOR_CONFIDENT_RELEVANCE": "0.4",
    }
    made = subprocess.run(
        [sys.executable, "-m", "advisor.cli", "eval", "--cases", "evals/cases"]
        + ["--baseline", "evals/baseline.json", "--update-baseline", "--no-progress"]
        + ["--out", str(root / "baseline-run")],
        cwd=root,
        env={**_clean_env(), **env, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    baseline = load_baseline(root / "evals" / "baseline.json")
    assert list(baseline.case_results) == [
        "browser-other-fr",
        "browser-crimea",
        "browser-fr-none-acceptable",
        "browser-fr-under",
    ]
    (cases / "subset.yaml").write_text(SUBSET + ADDED, encoding="utf-8")
    env["ADVISOR_ADMIN_USERS"] = f"alice:{hash_password(PASSWORD, iterations=200_000)}"
    with running_app(env, root, root / "app.log") as url:
        yield url


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")}


def _matrix(page: Any) -> list[list[int]]:
    """The confusion matrix as the page shows it: rows then columns, none..prohibited."""
    rows = page.locator("#eval-levels table tbody tr")
    grid = []
    for i in range(rows.count()):
        cells = [c.strip() for c in rows.nth(i).locator("th, td").all_inner_texts()]
        assert cells[0] == LEVELS[i]
        grid.append([int(c) for c in cells[1:]])
    return grid


def _gate_table(page: Any) -> dict[str, list[str]]:
    """The rows of the gate table on screen (it is virtualised; the level rates come first),
    by metric: baseline, current, limit, result."""
    rows = page.locator("#eval-gate [role=row].virtual-row")
    table = {}
    for i in range(rows.count()):
        cells = [c.strip() for c in rows.nth(i).locator("[role=gridcell]").all_inner_texts()]
        table[cells[0]] = cells[1:]
    return table


def _run_subset(browser: Any, url: str, viewport: dict[str, int], **options: Any) -> Any:
    from playwright.sync_api import expect

    context = browser.new_context(viewport=viewport, **options)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    page.get_by_role("tab", name="Evaluation").click()
    page.locator("#evaluation-user input, #evaluation-user textarea").fill("alice")
    page.locator("#evaluation-password input").fill(PASSWORD)
    page.locator("#evaluation-login-button").click()
    expect(page.locator("#evaluation-content")).to_be_visible()
    page.get_by_label("evals/cases/subset.yaml").check()
    expect(page.get_by_label("evals/cases/other.yaml")).not_to_be_checked()
    page.locator("#eval-run").click()
    expect(page.locator("#eval-summary")).to_contain_text("cases passed", timeout=RUN_TIMEOUT)
    return page


def _check_subset_result(page: Any) -> None:
    from playwright.sync_api import expect

    summary = page.locator("#eval-summary")
    expect(summary).to_contain_text("Regression gate: ✅ PASSED")
    expect(summary).not_to_contain_text("FAILED")
    expect(summary).to_contain_text("on the 3 case(s) both have (of 4 in it)")
    expect(summary).to_contain_text(
        "Compared (3): browser-crimea, browser-fr-none-acceptable, browser-fr-under"
    )
    expect(summary).to_contain_text("New, not gated (1): browser-added-later")

    expect(page.locator("#eval-levels table")).to_be_visible()
    grid = _matrix(page)
    total = sum(map(sum, grid))
    diagonal = sum(grid[i][i] for i in range(4))
    below = sum(grid[i][j] for i in range(4) for j in range(i))
    above = sum(grid[i][j] for i in range(4) for j in range(i + 1, 4))
    assert total == 4 and below >= 1, grid
    assert grid[1][0] == 1, "the under-escalated review case sits below the diagonal"
    # The rates beside the matrix are the report's metrics over the same four cases.
    levels = page.locator("#eval-levels")
    for what, count, key in (
        ("on the diagonal", diagonal, "level_accuracy"),
        ("below the diagonal", below, "under_escalation_rate"),
        ("above the diagonal", above, "over_escalation_rate"),
    ):
        share = f"{count / total:.4f}"
        expect(levels).to_contain_text(f"{what}: {count} of {total} cases ({share}); {key} {share}")
    expect(levels).to_contain_text("cases whose level is below the lowest acceptable level")
    # The gate compares the three cases the baseline has: one of them is under-escalated, in
    # the baseline as now, so the zero-tolerance rate passes.
    gate = _gate_table(page)
    assert gate["under_escalation_rate"][:2] == ["0.3333", "0.3333"], gate
    assert gate["under_escalation_rate"][3].endswith("pass"), gate
    assert gate["level_accuracy"][:2] == ["0.6667", "0.6667"], gate
    assert gate["level_accuracy"][3].endswith("pass"), gate


def test_subset_run_desktop(browser: Any, site: str) -> None:
    page = _run_subset(browser, site, DESKTOP)
    _check_subset_result(page)
    page.locator("#eval-summary").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "eval-subset-desktop.png"), full_page=True)
    page.context.close()


def test_subset_run_phone(browser: Any, site: str) -> None:
    page = _run_subset(browser, site, PHONE, is_mobile=True, has_touch=True)
    _check_subset_result(page)
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, (
        "the page must not scroll sideways on a phone"
    )
    box = page.locator("#eval-levels table").evaluate(
        "t => { const r = t.getBoundingClientRect(); return [r.left, r.right]; }"
    )
    assert box[0] >= 0 and box[1] <= width, f"the matrix fits the phone's width: {box}"
    # No level name is broken across lines: each one's text is a single line box.
    lines = page.locator("#eval-levels table th, #eval-levels table td").evaluate_all(
        """cells => cells.slice(1).map(c => { const r = document.createRange();
             r.selectNodeContents(c);
             return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; })"""
    )
    assert set(lines) == {1}, lines
    page.screenshot(path=str(ARTIFACTS / "eval-subset-phone.png"), full_page=True)
    page.context.close()


def test_subset_run_dark(browser: Any, site: str) -> None:
    page = _run_subset(browser, site, DESKTOP, color_scheme="dark")
    assert "dark" in (page.evaluate("document.body.className") or "")
    _check_subset_result(page)
    for selector in ("#eval-summary strong", "#eval-levels td", "#eval-levels li"):
        assert contrast(page, selector) >= 4.5, selector
    page.screenshot(path=str(ARTIFACTS / "eval-subset-dark.png"), full_page=True)
    page.context.close()
