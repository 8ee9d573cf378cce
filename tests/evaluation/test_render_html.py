"""report.html: self-contained, every value from a run escaped."""

from __future__ import annotations

from pathlib import Path

from advisor.evaluation.render_html import render_html
from tests.evaluation.builders import FakeAdvisor, answer, cite, good_replies, make_report


def test_page_escapes_questions_answers_and_titles(fake: FakeAdvisor, tmp_path: Path) -> None:
    replies = good_replies()
    evil = cite(1, "t", title="<b>Title</b>", section="<i>s</i>")
    replies["What is fundamental research?"] = (answer("<img src=x> [1]", "escalate", [evil]), [])
    page = render_html(make_report(fake, tmp_path, replies))
    assert "<img src=x>" not in page and "&lt;img src=x&gt;" in page
    assert "[1] &lt;b&gt;Title&lt;/b&gt; - &lt;i&gt;s&lt;/i&gt;" in page
    assert page.startswith("<!doctype html>") and page.endswith("</body></html>\n")
    assert "<td>corpus_files_sha256</td>" in page
    assert "<h2>Failing cases (1), worst first</h2>" in page


def test_page_without_failures_says_none(fake: FakeAdvisor, tmp_path: Path) -> None:
    page = render_html(make_report(fake, tmp_path))
    assert "<h2>Failing cases (0), worst first</h2>\n<p>None.</p>" in page
    assert "Regression gate: <span class='pass'>PASSED</span>" in page


def test_page_shows_the_matrix_with_its_rates_and_definitions(
    fake: FakeAdvisor, tmp_path: Path
) -> None:
    replies = good_replies()
    replies["What is fundamental research?"] = (answer("Stop.", "escalate"), [])
    page = render_html(make_report(fake, tmp_path, replies))
    assert "<h2>Level confusion</h2>" in page
    assert "<th>acceptable \\ produced</th>" in page
    assert "<li>above the diagonal: 1 of 3 cases (0.3333); over_escalation_rate 0.3333</li>" in page
    assert "<dt>under_escalation_rate</dt><dd>cases whose level is below the lowest" in page
    assert "<p>No baseline for these cases" not in page
