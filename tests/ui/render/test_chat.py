"""The chat's HTML and Markdown: escaped once, with the ids and classes the page relies on."""

from __future__ import annotations

from typing import Any

from advisor.models import Answer, Citation, Flag, Level
from advisor.ui.render.chat import (
    answer_messages,
    badge_html,
    cited_claims,
    history_turns,
    legend_html,
    plain_answer,
    plain_text,
    sources_markdown,
    sources_panel_html,
)


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


def test_the_sources_panel_escapes_corpus_text() -> None:
    answer = sample_answer().model_copy(update={"question": "<script>q</script>"})
    answer.citations[0].text = "A <img src=x onerror=alert(1)> passage."
    panel = sources_panel_html([answer])
    assert "<script>" not in panel and "<img" not in panel
    assert "&lt;script&gt;q&lt;/script&gt;" in panel and "&lt;img src=x" in panel


def test_history_leaves_out_the_sources_messages() -> None:
    history: list[dict[str, Any]] = [
        {"role": "user", "content": "Can I ship to Havana?"},
        *answer_messages(sample_answer()),
        {"role": "user", "content": [{"type": "text", "text": "And"}, "to Tehran?"]},
    ]
    turns = history_turns(history)
    assert [t.role for t in turns] == ["user", "assistant", "user"]
    assert turns[1].content.startswith("🟧 **ESCALATE**")
    assert turns[2].content == "And to Tehran?"


# ---------------------------------------------------------------- a real-looking answer
# Shaped like the extractive writer's answers on the shipped corpus (question "Can I send my
# exploit research to a co-author in China?"): passages in Markdown with bold lead-ins,
# checkboxes and bold words inside a quoted sentence; the answer quotes them with the
# Markdown stripped, wraps one in the quote note, and cites a determination's bottom line.
EXAMPLES = (
    "- **Selling the exploit chain to a broker in the UAE.** **Conclusion:** not vulnerability "
    "disclosure; classify and review under 15 CFR 740.22 before any transfer.\n\n"
    "- **A government CERT in China asks for your fuzzing harness and exploit notes.** "
    "**Conclusion:** escalate; government end user in a D:1/D:5 country "
    "(15 CFR 740.22(c)(1)(ii))."
)
INTRUSION = (
    "- **4D001.a** covers software for the development or production of equipment or software "
    'in Category 4.\n- **4E001.c** covers technology for the **development** of "intrusion '
    'software" itself. Detailed write-ups on building evasive implants or reliable exploit '
    "chains can fall here if they are not published.\n\nThe descriptions come from secondary "
    "sources."
)
CHECKLIST = (
    "- [ ] Who has seen the code before release? Giving unpublished source code to a foreign "
    "person in the U.S. is a deemed export (15 CFR 734.13).\n- [ ] Does the code arise from "
    "fundamental research?"
)
DETERMINATION = (
    "A licence is likely required: releasing intrusion technology to a Chinese national is a "
    "deemed export to China. Ask the office before sharing."
)
REAL_ANSWER = (
    "**Bottom line (ESCALATE):** No. A licence is likely required: releasing intrusion "
    "technology to a Chinese national is a deemed export to China. [4]\n\n"
    "**What the corpus says**\n"
    "- Selling the exploit chain to a broker in the UAE. Conclusion: not vulnerability "
    "disclosure; classify and review under 15 CFR 740.22 before any transfer. [1]\n"
    "- A government CERT in China asks for your fuzzing harness and exploit notes. Conclusion: "
    "escalate; government end user in a D:1/D:5 country (15 CFR 740.22(c)(1)(ii)). [1]\n"
    '- 4E001.c covers technology for the development of "intrusion software" itself. [2]\n'
    "- _Quoted corpus text, not the advisor's finding:_ “Giving unpublished source code to a "
    "foreign person in the U.S. is a deemed export (15 CFR 734.13).” [3]\n\n"
    "**Next steps**\n- Send the office a short description.\n\n"
    "_This is guidance generated from a curated corpus, not legal advice._"
)


def citation(n: int, text: str, **extra: Any) -> Citation:
    return Citation(
        n=n,
        doc_id=f"d{n}",
        title=f"Doc {n}",
        source=f"corpus/d{n}.md",
        text=text,
        score=0.5,
        **extra,
    )


def real_answer() -> Answer:
    return Answer(
        question="Can I send my exploit research to a co-author in China?",
        answer=REAL_ANSWER,
        bottom_line="No. A licence is likely required. [4]",
        level=Level.ESCALATE,
        citations=[
            citation(1, EXAMPLES, section="Examples"),
            citation(2, INTRUSION),
            citation(3, CHECKLIST),
            citation(4, DETERMINATION, section="determination"),
        ],
    )


def group(panel: str, turn: int, n: int) -> str:
    start = panel.index(f'id="src-{turn}-{n}"')
    return panel[start : panel.index("</details>", start)]


def test_every_citation_of_a_real_answer_marks_its_quoted_sentences() -> None:
    """The 7-of-25 bug: bold lead-ins, bold words inside a sentence, checkboxes, the quote
    note and a bottom line left sentences unmarked; each [n] now marks what it quotes."""
    panel = sources_panel_html([real_answer()])
    for n in (1, 2, 3, 4):
        assert "<mark>" in group(panel, 1, n), n
    examples = group(panel, 1, 1)
    assert examples.count("<mark>Conclusion:</mark>") == 2  # both examples, split at the tags
    assert "<strong><mark>Selling the exploit chain to a broker in the UAE.</mark></strong>" in (
        examples
    )
    assert "Sending" not in examples  # the examples not quoted are left alone
    intrusion = group(panel, 1, 2)
    assert "<strong><mark>development</mark></strong>" in intrusion
    assert "<mark>Detailed write-ups" not in intrusion  # quoted: only the first sentence
    assert "<mark>Giving unpublished source code" in group(panel, 1, 3)
    assert "<mark>Ask the office" not in group(panel, 1, 4)


def test_passages_are_markdown_rendered_once_and_escaped() -> None:
    panel = sources_panel_html([real_answer()])
    assert "**" not in panel and "<strong>" in panel and "<li>" in panel
    hostile = real_answer().model_copy(deep=True)
    hostile.citations[0].text = (
        "**Bold** <script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))"
        " ![pixel](http://tracker.example/p.png) &amp; 5 < 6"
    )
    panel = sources_panel_html([hostile])
    assert "<script>" not in panel and "<img" not in panel and 'href="javascript' not in panel
    assert "&lt;script&gt;" in panel and "&lt;img src=x" in panel and "5 &lt; 6" in panel
    assert "&amp;amp;" not in panel  # escaped once, not twice


def test_a_paraphrased_claim_marks_the_closest_sentence() -> None:
    """An LLM writer paraphrases: the sentence sharing most words is marked, as "near"."""
    answer = real_answer().model_copy(
        update={"answer": "Selling exploits to a UAE broker needs review under 740.22 first [1]."}
    )
    marked = group(sources_panel_html([answer]), 1, 1)
    near = marked.index('<mark class="near">')
    assert marked.index("broker in the UAE") < near < marked.index("A government CERT")
    assert "<mark" not in marked[marked.index("A government CERT") :]
    assert "<mark>" not in marked  # a near match is never shown as a quotation


def test_cited_claims_read_the_bottom_line_quotes_and_prose() -> None:
    claims = cited_claims(real_answer())
    assert claims[4] == [
        "no. a licence is likely required: releasing intrusion technology to a chinese national "
        "is a deemed export to china."
    ]
    assert claims[3][0].startswith("giving unpublished source code")  # no quote note, no “”
    prose = sample_answer().model_copy(update={"answer": "First claim [1]. Second one [2][1]."})
    assert cited_claims(prose) == {1: ["first claim", "second one"], 2: ["second one"]}


def test_older_answers_keep_their_own_source_list_closed() -> None:
    panel = sources_panel_html([sample_answer(), real_answer()])
    newest, older = panel.split('<section class="source-group"')[1:]
    assert "Question 2" in newest and '<details class="source-group" open>' in newest
    assert "Question 1" in older and '<details class="source-group">' in older


# ---------------------------------------------------------------- copy text and badges


def test_the_copied_text_is_clean() -> None:
    text = plain_answer(real_answer())
    assert text.startswith("Level: ESCALATE\n\nBottom line (ESCALATE): No. A licence")
    for raw in ("**", "](#", "_Quoted", "finding:_", "🟧", "> "):
        assert raw not in text, raw
    assert "- Selling the exploit chain" in text and "[1]" in text
    assert "[3] Doc 3 (corpus/d3.md)" in text and "[4] Doc 4 — determination" in text
    chat = answer_messages(real_answer(), turn=3)[0]["content"]
    assert "[[1]](#src-3-1)" in chat and "🟧 **ESCALATE**" in chat
    assert plain_text(chat).startswith("ESCALATE\n\nBottom line (ESCALATE):")
    assert "[1]" in plain_text(chat) and "#src" not in plain_text(chat)


def test_the_badge_carries_the_copy_text_escaped() -> None:
    answer = real_answer().model_copy(update={"answer": "<b>x</b> & [1]"})
    badge = badge_html(answer)
    assert (
        '<pre id="answer-plain" hidden>Level: ESCALATE\n\n&lt;b&gt;x&lt;/b&gt; &amp; [1]' in badge
    )


def out_of_scope(level: Level = Level.NONE) -> Answer:
    return Answer(
        question="Pancakes?", answer="The corpus does not cover this.", level=level, in_scope=False
    )


def test_an_out_of_scope_answer_is_not_a_green_none() -> None:
    badge = badge_html(out_of_scope())
    assert ">OUT OF SCOPE</span>" in badge and 'data-level="out-of-scope"' in badge
    assert "level-none" not in badge and "Outside the corpus" in badge
    assert answer_messages(out_of_scope())[0]["content"].startswith("⬜ **OUT OF SCOPE**")
    assert plain_answer(out_of_scope()).startswith("Level: OUT OF SCOPE")
    flagged = badge_html(out_of_scope(Level.PROHIBITED))  # a flag still raises the level
    assert 'data-level="prohibited"' in flagged and "OUT OF SCOPE" not in flagged


def test_the_legend_lists_the_levels_lowest_first_with_what_to_do() -> None:
    legend = legend_html("the Export Office")
    order = [legend.index(f">{name}</span>") for name in LEVELS]
    assert order == sorted(order)
    assert "none &lt; review &lt; escalate &lt; prohibited" in legend
    assert legend.count("<li>") == 5 and legend.count("the Export Office") >= 4
    assert "stop: do not send" in legend


LEVELS = ["NONE", "REVIEW", "ESCALATE", "PROHIBITED", "OUT OF SCOPE"]
