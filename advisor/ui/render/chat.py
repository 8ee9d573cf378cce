"""The chat's HTML and Markdown: the level badge and legend, what was understood, the answer
with [n] links, the plain text the copy button gives, and the Sources panel. Corpus and user
text is escaped here and nowhere else (passages once, by the Markdown renderer with raw HTML
off); element ids and classes are the ones CSS, JS and the browser tests use."""

from __future__ import annotations

import html
import re
from typing import Any

from markdown_it import MarkdownIt

from advisor.models import Answer, Citation, Level, Turn
from advisor.services.conversations import ConversationSummary

LEVEL_ICON = {
    Level.NONE: "🟩",
    Level.REVIEW: "🟨",
    Level.ESCALATE: "🟧",
    Level.PROHIBITED: "🟥",
}
OUT_OF_SCOPE_ICON = "⬜"
OUT_OF_SCOPE = "OUT OF SCOPE"
# What each level asks of the user, one line each, in rank order (the badge legend).
LEVEL_ADVICE = {
    Level.NONE: "nothing found that needs review: keep a note of what you shared, and with whom.",
    Level.REVIEW: "check the matching checklist before going ahead; ask {office} if unsure.",
    Level.ESCALATE: "do not go ahead yet: describe the plan to {office} and wait for its decision.",
    Level.PROHIBITED: "stop: do not send, show or ship anything; contact {office} first.",
}
OUT_OF_SCOPE_ADVICE = "the corpus does not cover the question, so no level is given; ask {office}."

# Colours: theme variables where Gradio has them, so light and dark both read; fixed pairs
# (each at least 4.5:1) for the badges and the highlighted sentences.
CSS = """
.level-badge {display:inline-block; padding:0.2em 0.7em; border-radius:999px; font-weight:700;
  letter-spacing:0.04em; color:#fff !important; line-height:1.4;}
.level-none {background:#2e7d32;} .level-review {background:#7a5c00;}
.level-escalate {background:#bf360c;} .level-prohibited {background:#b71c1c;}
.level-out-of-scope {background:#546e7a;}
#level-panel ul {margin:0.4em 0 0 1.2em;}
#level-panel, #sources-panel, #level-legend {color:var(--body-text-color);}
#answer-plain {display:none !important;}
#level-legend summary {cursor:pointer; font-weight:600;}
#level-legend ol {list-style:none; margin:0.4em 0 0 0; padding:0;}
#level-legend li {margin:0.25em 0;}
#level-legend .level-badge {font-size:0.75em; min-width:8.5em; text-align:center;}
#sources-panel {overflow-y:auto !important; overscroll-behavior:contain;
  border:1px solid var(--border-color-primary); border-radius:8px; padding:0.4em 0.6em;}
#sources-panel details.source {border:1px solid var(--border-color-primary); border-radius:6px;
  padding:0.3em 0.6em; margin:0.3em 0;}
#sources-panel details.source-group > summary h4 {display:inline; margin:0;}
#sources-panel summary {cursor:pointer;}
#sources-panel summary:focus {outline:2px solid #bf360c;}
#sources-panel .passage h1, #sources-panel .passage h2, #sources-panel .passage h3,
#sources-panel .passage h4, #sources-panel .passage h5, #sources-panel .passage h6
  {font-size:1em; margin:0.5em 0 0.2em;}
#sources-panel mark {background:#fde68a; color:#1a1a1a; padding:0 0.1em; border-radius:2px;}
#sources-panel mark.near {background:#fef3c7; outline:1px dashed #8a6d00;}
.dark #sources-panel mark {background:#665200; color:#fff8d6;}
.dark #sources-panel mark.near {background:#4a3b00; outline-color:#e0c050;}
#sources-panel .src-path {font-size:0.8em; color:var(--body-text-color-subdued);}
#chat-actions {gap:0.5em;}
#chat-history {flex:0 0 auto;}
#history-list .wrap {flex-direction:column; flex-wrap:nowrap; gap:0.3em; max-height:16rem;
  overflow-y:auto; overscroll-behavior:contain;}
#history-list label {width:100%; max-width:none;}
#history-actions {gap:0.5em;}
#chat textarea.edit-textarea {width:min(34rem, 70vw) !important; min-height:4.5em !important;}
.gradio-container {overflow:clip !important;}  /* hidden would make a scroll box: no sticky */
.gradio-container .main.app {padding-left:clamp(0.5rem, 2.5vw, 2rem) !important;
  padding-right:clamp(0.5rem, 2.5vw, 2rem) !important;}
@media (min-width: 769px) {
  #ask-side {position:sticky; top:0.5rem; align-self:flex-start;
    max-height:calc(100vh - 1rem); flex-wrap:nowrap;}
  #level-panel {flex:0 1 auto; max-height:45vh; overflow-y:auto !important;}
  #level-legend {flex:0 0 auto;}
  #sources-panel {flex:1 1 auto; min-height:10rem;}
}
@media (max-width: 768px) {
  /* Narrow tab buttons: Gradio moves tabs that do not fit behind "...", so all four must fit
     (a wrapping Tabs would need its own gr.Tabs, which the admin tabs' State breaks). */
  .tab-container button {padding-left:0.55rem !important; padding-right:0.55rem !important;}
  #ask-layout {flex-direction:column; flex-wrap:nowrap;}
  #ask-main, #ask-side {display:contents;}
  #chat {order:1; height:auto !important; max-height:none !important; min-height:10rem;
    overflow:visible !important;}
  #chat .bubble-wrap {height:auto !important; max-height:none !important;
    overflow:visible !important;}
  #ask-row {order:2;} #chat-history {order:3;} #feedback-form, #feedback-note {order:4;}
  #sources-panel {order:5; max-height:60vh;}
  #level-panel {order:6;} #level-legend {order:7;} #chat-actions {order:8;}
  #export-files {order:9;} #examples {order:10;}
}
"""
# Page-level behaviour, run once when the app loads:
# - an [n] link opens its passage and scrolls the Sources panel, not the page, to it; where the
#   panel sits below the question box (phones) the page moves only as far as keeps the box in
#   view;
# - the question box gets the focus on wide screens only, without scrolling: on a phone the
#   page must open at its title;
# - advisorShowAnswer() (run after each answer) brings the start of the newest answer into view;
# - on wide screens the side column (level, legend, sources) ends at the viewport's bottom.
JS = """
() => {
  const scrollable = (el) => el && el.scrollHeight > el.clientHeight + 1 &&
    ['auto', 'scroll'].includes(getComputedStyle(el).overflowY);
  const inView = (el) => {
    const r = el.getBoundingClientRect();
    return r.top >= 0 && r.top < window.innerHeight - 40;
  };
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return {top: Math.max(r.top, 0), bottom: Math.min(r.bottom, window.innerHeight)};
  };
  const openPassage = (id) => {
    const target = document.getElementById(id);
    if (!target) return;
    const group = target.closest('details.source-group');
    if (group) group.open = true;
    target.open = true;
    const panel = document.getElementById('sources-panel');
    if (scrollable(panel)) {
      panel.scrollTop += target.getBoundingClientRect().top - shown(panel).top - 8;
      const mark = target.querySelector('mark');
      const m = mark && mark.getBoundingClientRect();
      const view = shown(panel);
      if (m && m.bottom > view.bottom - 8) {
        panel.scrollTop += Math.min(m.bottom - view.bottom + 8, m.top - view.top - 8);
      }
    }
    const row = document.getElementById('ask-row');
    if (!inView(target) && row) window.scrollBy(0, row.getBoundingClientRect().top - 8);
    const summary = target.querySelector('summary');
    if (summary) summary.focus({preventScroll: true});
  };
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a[href^="#src-"]');
    if (!link) return;
    event.preventDefault();
    openPassage(link.getAttribute('href').slice(1));
  }, true);
  window.advisorShowAnswer = () => {
    setTimeout(fitSide, 50);
    const rows = [...document.querySelectorAll('#chat .message-row')];
    const asked = rows.map((r) => r.classList.contains('user-row')).lastIndexOf(true);
    const answer = rows[asked + 1];
    if (!answer) return;
    const log = document.querySelector('#chat [role=log]');
    // The question stays above its answer when it is short; the chat's label floats on top.
    const room = scrollable(log) ? log.clientHeight : window.innerHeight;
    const question = rows[asked];
    const start = question && question.offsetHeight < room / 4 ? question : answer;
    if (scrollable(log)) {
      log.scrollTop += start.getBoundingClientRect().top - log.getBoundingClientRect().top - 36;
      const chat = document.getElementById('chat').getBoundingClientRect();
      if (chat.top < 0 || chat.top > window.innerHeight / 2) window.scrollBy(0, chat.top - 8);
    } else {
      window.scrollBy(0, start.getBoundingClientRect().top - 8);
    }
  };
  // On wide screens the side column sticks to the top once scrolled; until then it must
  // end at the viewport's bottom, so its height follows its top.
  const fitSide = () => {
    const side = document.getElementById('ask-side');
    if (!side || !side.offsetParent) return;
    const wide = window.matchMedia('(min-width: 769px)').matches;
    const top = Math.max(8, side.getBoundingClientRect().top);
    side.style.maxHeight = wide ? `calc(100vh - ${Math.ceil(top) + 8}px)` : '';
  };
  window.addEventListener('scroll', fitSide, {passive: true});
  window.addEventListener('resize', fitSide);
  document.addEventListener('click', () => setTimeout(fitSide, 50));  // tabs, accordions
  let tries = 0;
  const focusBox = () => {
    const box = document.querySelector('#question textarea');
    if (!box) { if (tries++ < 50) setTimeout(focusBox, 100); return; }
    if (window.matchMedia('(min-width: 769px)').matches) box.focus({preventScroll: true});
    fitSide();
  };
  focusBox();
}
"""
# Run after each answer has finished streaming (see ChatPage.wire).
SHOW_ANSWER_JS = "() => { if (window.advisorShowAnswer) window.advisorShowAnswer(); }"
# The copy button copies the newest answer's plain text, kept hidden in the level panel. The
# clipboard API exists only on secure origins (https, localhost); elsewhere a selection copies.
COPY_JS = """
() => {
  const source = document.getElementById('answer-plain');
  const text = source ? source.textContent : '';
  if (!text) return;
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  document.execCommand('copy');
  area.remove();
}
"""
NO_SOURCES = '<div id="sources-empty">Sources of each answer appear here.</div>'
_CITE = re.compile(r"\[(\d+)\]")
_MD = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
_MD.disable("image")  # a passage never loads a remote image into the page


def badge_html(answer: Answer | None) -> str:
    """The level badge with the flags' reasons, and the plain answer for the copy button; a
    prompt before the first answer. Out of scope reads as such, not as a green NONE."""
    if answer is None:
        return (
            '<div id="level-status" role="status" aria-live="polite">'
            "Ask a question to see its escalation level.</div>"
        )
    items = "".join(
        f"<li><b>{html.escape(f.level.value.upper())}</b>: {html.escape(f.reason)} "
        f"<i>({html.escape(f.citation)})</i></li>"
        for f in answer.flags
    )
    scope = "" if answer.in_scope else "<p>Outside the corpus: no cited answer.</p>"
    return (
        f'<div id="level-status" role="status" aria-live="polite">{_badge(answer)}'
        f"{scope}{understood_html(answer)}{'<ul>' + items + '</ul>' if items else ''}"
        f'<pre id="answer-plain" hidden>{html.escape(plain_answer(answer))}</pre></div>'
    )


def _badge(answer: Answer) -> str:
    """One badge: the level, or a neutral OUT OF SCOPE when nothing raised the level."""
    level = answer.level
    if level_label(answer) == OUT_OF_SCOPE:
        return (
            '<span class="level-badge level-out-of-scope" data-level="out-of-scope" '
            f'aria-label="Out of scope: no escalation level">{OUT_OF_SCOPE}</span>'
        )
    return (
        f'<span class="level-badge level-{level.value}" data-level="{level.value}" '
        f'aria-label="Escalation level: {level.value}">{level.value.upper()}</span>'
    )


def legend_html(office: str) -> str:
    """What each level means and what to do, lowest first: a badge alone does not say it."""
    rows = [
        f'<li><span class="level-badge level-{level.value}">{level.value.upper()}</span> '
        f"{html.escape(advice.format(office=office))}</li>"
        for level, advice in LEVEL_ADVICE.items()
    ]
    rows.append(
        f'<li><span class="level-badge level-out-of-scope">{OUT_OF_SCOPE}</span> '
        f"{html.escape(OUT_OF_SCOPE_ADVICE.format(office=office))}</li>"
    )
    order = " &lt; ".join(level.value for level in LEVEL_ADVICE)
    return (
        f'<details class="legend"><summary>What the levels mean ({order})</summary>'
        f"<ol>{''.join(rows)}</ol></details>"
    )


def understood_html(answer: Answer) -> str:
    """What the advisor understood, the facts it still needs, and operational warnings."""
    parts = []
    lines = answer.situation.understood
    if lines:
        rows = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
        parts.append(f'<div id="understood"><b>What I understood</b><ul>{rows}</ul></div>')
    if answer.missing:
        rows = "".join(f"<li>{html.escape(q)}</li>" for q in answer.missing)
        parts.append(
            '<div id="missing-facts"><b>To answer precisely, tell me</b> '
            f"(reply in the chat)<ul>{rows}</ul></div>"
        )
    if answer.notes:
        rows = "".join(f"<li>{html.escape(n)}</li>" for n in answer.notes)
        parts.append(f'<div id="answer-notes" role="alert"><b>Warnings</b><ul>{rows}</ul></div>')
    return "".join(parts)


def sources_markdown(answer: Answer) -> str:
    """The cited passages as the collapsible "Sources (n)" message under an answer."""
    if not answer.citations:
        return "No passages were cited."
    parts = []
    for c in answer.citations:
        where = ", ".join(c.location())
        quoted = "\n".join(f"> {line}" for line in c.text.splitlines() if line.strip())
        parts.append(
            f"**[{c.n}] {c.title}**{' — ' + where if where else ''}  \n`{c.source}`\n\n{quoted}"
        )
    return "\n\n".join(parts)


def level_label(answer: Answer) -> str:
    """The level as the chat and the copied text name it."""
    if not answer.in_scope and answer.level is Level.NONE:
        return OUT_OF_SCOPE
    return answer.level.value.upper()


def answer_messages(answer: Answer, turn: int = 1) -> list[dict[str, Any]]:
    """The chat messages of one answer: the level and text, then its sources (if any)."""
    label = level_label(answer)
    icon = OUT_OF_SCOPE_ICON if label == OUT_OF_SCOPE else LEVEL_ICON[answer.level]
    head = f"{icon} **{label}**\n\n"
    messages: list[dict[str, Any]] = [
        {"role": "assistant", "content": head + linked_answer(answer, turn)}
    ]
    if answer.citations:
        messages.append(
            {
                "role": "assistant",
                "content": sources_markdown(answer),
                "metadata": {"title": f"Sources ({len(answer.citations)})", "status": "done"},
            }
        )
    return messages


def streaming_message(text: str) -> dict[str, Any]:
    """The answer while it is being written."""
    return {"role": "assistant", "content": text}


def warning_message(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": f"⚠️ {text}"}


def message_text(message: dict[str, Any]) -> str | None:
    """A chat message's text, multimodal content flattened (the chat hands messages back
    with their content as a list of parts); None for content without text."""
    content = message.get("content")
    if isinstance(content, list):
        content = " ".join(
            str(c.get("text", "")) if isinstance(c, dict) else str(c) for c in content
        )
    return content if isinstance(content, str) else None


# The line under a question asked with a file: the name only, never the temporary upload
# path, so a saved conversation shows what was attached without pointing at a gone file.
ATTACHED = "\N{PAPERCLIP} Attached: "


def with_attachment(question: str, name: str | None) -> str:
    """The question as the chat shows it, with the attached file's name under it."""
    return f"{question}\n\n{ATTACHED}{name}" if name else question


def split_attachment(text: str) -> tuple[str, str | None]:
    """The question and the name of the file shown with it (None when none was)."""
    head, sep, name = text.rpartition(f"\n\n{ATTACHED}")
    return (head, name.strip()) if sep and name.strip() else (text, None)


def history_turns(history: list[dict[str, Any]]) -> list[Turn]:
    """The conversation as the chain reads it: user and assistant text, without the Sources
    messages (they carry a title), with multimodal content flattened to its text and
    without the attached-file lines (a file is read for its own question only)."""
    turns = []
    for message in history:
        if (message.get("metadata") or {}).get("title"):
            continue
        content = message_text(message)
        if content is not None and message.get("role") == "user":
            content = split_attachment(content)[0]
        if message.get("role") in ("user", "assistant") and content is not None:
            turns.append(Turn(role=message["role"], content=content))
    return turns


# ---------------------------------------------------------------- conversation history

HISTORY_EMPTY = "No saved conversations yet: each conversation is kept here once answered."


def history_heading(count: int) -> str:
    """The history panel's title, with how many conversations it holds."""
    return f"Your conversations ({count})" if count else "Your conversations"


def history_choices(summaries: list[ConversationSummary]) -> list[tuple[str, str]]:
    """(label, conversation id) per saved conversation, in the order given (newest first);
    labels are plain text (the Radio escapes them)."""
    choices = []
    for s in summaries:
        count = f"{s.answers} answer{'' if s.answers == 1 else 's'}"
        choices.append((f"{s.title} · {count} · {s.updated:%d %b %H:%M} UTC", s.id))
    return choices


def history_note(error: str | None = None, empty: bool = False) -> str:
    """The line under the history list: why it could not be used, or that it is empty."""
    if error:
        return f"⚠️ {error[:1].upper()}{error[1:]}. The chat still answers."
    return HISTORY_EMPTY if empty else ""


def linked_answer(answer: Answer, turn: int) -> str:
    """[n] markers become links that open the passage in the Sources panel."""
    return _CITE.sub(lambda m: f"[[{m.group(1)}]](#src-{turn}-{m.group(1)})", answer.answer)


# ---------------------------------------------------------------- plain text (copy button)

_LINKED_MARKER = re.compile(r"\[\[(\d+)\]\]\([^)]*\)")
_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\([^)]*\)")
_EMPHASIS = re.compile(
    r"\*\*|__|(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])|(?<!\w)_(?=\S)|(?<=\S)_(?!\w)"
)
_LINE_MARKUP = re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?)", re.MULTILINE)
_ICONS = re.compile("[" + "".join(LEVEL_ICON.values()) + OUT_OF_SCOPE_ICON + "⚠️\ufe0f]")


def plain_text(markdown: str) -> str:
    """Markdown as a reader would retype it: no emphasis marks, link targets, heading or quote
    markers, level icons; [n] markers stay, bullets stay as "- "."""
    text = _LINKED_MARKER.sub(r"[\1]", markdown)
    text = _LINK.sub(r"\1", text)
    text = _LINE_MARKUP.sub("", text)
    text = _EMPHASIS.sub("", text)
    text = _ICONS.sub("", text)
    lines = [" ".join(line.split()) if line.strip() else "" for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def plain_answer(answer: Answer) -> str:
    """What the copy button gives: the level, the answer (bottom line first) and the cited
    sources by number, as clean text for an e-mail to the office."""
    parts = [f"Level: {level_label(answer)}", plain_text(answer.answer)]
    if answer.citations:
        rows = [f"[{c.n}] {c.title}" + _where(c) + f" ({c.source})" for c in answer.citations]
        parts.append("Sources\n" + "\n".join(rows))
    return "\n\n".join(parts)


def _where(citation: Citation) -> str:
    where = ", ".join(citation.location())
    return f" — {where}" if where else ""


# ---------------------------------------------------------------- Sources panel

_TOKEN = re.compile(r"<[^>]*>|&#?\w+;|[^<&]+|&")
_BLOCK_TAG = re.compile(r"</?(?:p|li|ul|ol|h\d|blockquote|br|tr|td|th|pre|div|table)\b", re.I)
_FOLD = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "\xa0": " "})
_QUOTE_NOTE = re.compile(r"^Quoted corpus text[^:]*:\s*")
_BOTTOM_LINE = re.compile(r"^Bottom line \([^)]*\):\s*")
_CLAIM = re.compile(r"([^\[\]]*)((?:\s*\[\d+\])+)")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_WORD = re.compile(r"[a-z0-9][a-z0-9.()/-]*[a-z0-9)]|[a-z0-9]")
_MIN_PIECE = 40  # characters: a shorter piece ("No.", "A licence is required:") fits anywhere


def _fold(text: str) -> str:
    """The form both sides are compared in: lower case, straight quotes, single spaces."""
    return " ".join(text.translate(_FOLD).lower().split())


def cited_claims(answer: Answer) -> dict[int, list[str]]:
    """Each [n] with the text the answer puts before it (its claim), as plain folded text:
    the bottom line, quoted sentences and prose alike, without markup or the quote note."""
    claims: dict[int, list[str]] = {}
    for line in plain_text(answer.answer).splitlines():
        line = _BOTTOM_LINE.sub("", re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", line))
        for match in _CLAIM.finditer(line):
            claim = _QUOTE_NOTE.sub("", match.group(1).strip().lstrip(".;,) "))
            claim = claim.strip('"“”').strip()
            for n in _CITE.findall(match.group(2)):
                if claim:
                    claims.setdefault(int(n), []).append(_fold(claim))
    return claims


def _projection(markup: str) -> tuple[str, list[tuple[int, int]]]:
    """The text of rendered HTML as a reader sees it, folded, with the span of markup each
    character came from: a sentence is matched on the text and marked on the markup, so
    bold words, list markers or entities inside it no longer stop the match."""
    chars: list[str] = []
    spans: list[tuple[int, int]] = []

    def add(text: str, start: int, end: int) -> None:
        for ch in text.translate(_FOLD).lower():
            if ch == "\n" or ch.isspace():
                if not chars or chars[-1] == "\n" or (chars[-1] == " " and ch != "\n"):
                    continue
                if chars[-1] == " ":
                    chars.pop()
                    spans.pop()
                ch = ch if ch == "\n" else " "
            chars.append(ch)
            spans.append((start, end))

    for token in _TOKEN.finditer(markup):
        value, start = token.group(), token.start()
        if value.startswith("<"):
            if _BLOCK_TAG.match(value):
                add("\n", start, start)  # a block ends: no claim runs across it
        elif value.startswith("&") and len(value) > 1:
            add(html.unescape(value), start, token.end())
        else:
            for offset, ch in enumerate(value):
                add(" " if ch == "\n" else ch, start + offset, start + offset + 1)
    return "".join(chars), spans


def _exact_ranges(text: str, claims: list[str]) -> list[tuple[int, int]]:
    """Where each claim, or failing that each of its sentences, stands in the passage."""
    ranges = []
    for claim in claims:
        at = text.find(claim)
        if at >= 0:
            ranges.append((at, at + len(claim)))
            continue
        for piece in _SENTENCE_END.split(claim):
            piece = piece.strip(" .;:,")
            at = text.find(piece) if len(piece) >= _MIN_PIECE else -1
            if at >= 0:
                ranges.append((at, at + len(piece)))
    return ranges


def _nearest_range(text: str, claims: list[str]) -> tuple[int, int] | None:
    """The passage sentence sharing most words with the claims: a bottom line written from
    the rules, or a paraphrase, still points at the sentence that backs it."""
    wanted = {w for claim in claims for w in _WORD.findall(claim) if len(w) > 3 or w[0].isdigit()}
    best: tuple[float, int, int] | None = None
    start = 0
    for piece in re.split(r"(?<=[.!?]) |\n", text):
        end = start + len(piece.rstrip())
        words = set(_WORD.findall(piece))
        shared = len(wanted & words)
        score = shared / (len(words) ** 0.5 or 1)
        if shared >= 2 and (best is None or score > best[0]):
            best = (score, start, end)
        start += len(piece) + 1
    return None if best is None else (best[1], best[2])


def _wrap(markup: str, ranges: list[tuple[int, int]], css_class: str = "") -> str:
    """``markup`` with each (start, end) range of it in <mark>, closed and reopened around
    tags inside the range so the result stays well nested."""
    opening = f'<mark class="{css_class}">' if css_class else "<mark>"
    out, last = [], 0
    for start, end in sorted(ranges):
        if start < last:
            start = last
        if start >= end:
            continue
        out.append(markup[last:start])
        for token in re.split(r"(<[^>]*>)", markup[start:end]):
            if token.startswith("<") or not token.strip():
                out.append(token)
            else:
                out.append(f"{opening}{token}</mark>")
        last = end
    out.append(markup[last:])
    return "".join(out)


def passage_html(text: str, claims: list[str]) -> str:
    """The passage as Markdown (escaped by the renderer: raw HTML is off), with the
    sentences the answer cites it for marked; when none is quoted word for word, the
    closest sentence is marked instead (class "near")."""
    markup = _MD.render(text)
    if not claims:
        return markup
    folded, spans = _projection(markup)
    exact = _exact_ranges(folded, claims)
    found = exact or [r for r in [_nearest_range(folded, claims)] if r]
    if not found:
        return markup
    ranges = [(spans[a][0], spans[b - 1][1]) for a, b in _merge(found)]
    return _wrap(markup, ranges, "" if exact else "near")


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _source_group(answer: Answer, turn: int, newest: bool) -> str:
    """One answer's passages under its question, each collapsible, the cited sentences
    marked; older answers' groups start closed so the panel stays short."""
    claims = cited_claims(answer)
    items = []
    for c in answer.citations:
        where = " · ".join(html.escape(x) for x in c.location())
        items.append(
            f'<details class="source" id="src-{turn}-{c.n}">'
            f"<summary>[{c.n}] <b>{html.escape(c.title)}</b>"
            f"{' — ' + where if where else ''}</summary>"
            f'<div class="passage">{passage_html(c.text, claims.get(c.n, []))}</div>'
            f'<div class="src-path"><code>{html.escape(c.source)}</code> '
            f"(score {c.score:.2f})</div></details>"
        )
    body = "".join(items) or "<p>No passages were cited.</p>"
    question = html.escape(answer.question[:120])
    return (
        f'<section class="source-group" aria-label="Sources for question {turn}">'
        f'<details class="source-group"{" open" if newest else ""}>'
        f"<summary><h4>Question {turn}: {question}</h4></summary>{body}</details></section>"
    )


def sources_panel_html(answers: list[Answer]) -> str:
    """Every answer's own source list, newest first, each passage collapsible."""
    if not answers:
        return NO_SOURCES
    return "".join(
        _source_group(answers[turn - 1], turn, turn == len(answers))
        for turn in range(len(answers), 0, -1)
    )
