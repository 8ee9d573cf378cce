"""Gradio chat: streamed answers, a coloured level badge with reasons, collapsible sources."""

from __future__ import annotations

import html
import logging
import re
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import gradio as gr

from advisor.chain import Advisor, build_advisor
from advisor.errors import AdvisorError
from advisor.models import Answer, Level, Turn
from advisor.records.auth import gradio_auth
from advisor.settings import Settings
from advisor.ui.admin import build_admin_tabs
from advisor.writing.answer import notice
from advisor.writing.transcript import to_markdown, to_pdf

log = logging.getLogger(__name__)
# A full Consolidated Screening List JSON is tens of MB; documents are capped lower.
SCREENING_UPLOAD_MB = 60


class AuditSink(Protocol):
    """What the chat needs from the audit trail (advisor.records.audit.AuditLog)."""

    def record_answer(
        self,
        answer: Answer,
        *,
        conversation_id: str,
        user: str | None,
        corpus_hash: str,
        rules_hash: str,
    ) -> str | None: ...

    def add_feedback(
        self, record_id: str, rating: str, comment: str | None, user: str | None
    ) -> Any: ...


EXAMPLES = [
    "Can I send my exploit research to a co-author in China?",
    "May my Iranian postdoc see this sponsor's encryption code?",
    "Our sponsor wants to approve every publication. Is it still fundamental research?",
    "Can I take my laptop to a security conference in Germany?",
    "Do I need a licence to publish my encryption library on GitHub?",
]
LEVEL_ICON = {
    Level.NONE: "🟩",
    Level.REVIEW: "🟨",
    Level.ESCALATE: "🟧",
    Level.PROHIBITED: "🟥",
}
CSS = """
.level-badge {display:inline-block; padding:0.2em 0.7em; border-radius:999px; font-weight:700;
  letter-spacing:0.04em; color:#fff;}
.level-none {background:#2e7d32;} .level-review {background:#8d6e00;}
.level-escalate {background:#d84315;} .level-prohibited {background:#b71c1c;}
#level-panel ul {margin:0.4em 0 0 1.2em;}
#sources-panel {max-height:560px; overflow-y:auto;}
#sources-panel details.source {border:1px solid #ddd; border-radius:6px; padding:0.3em 0.6em;
  margin:0.3em 0;}
#sources-panel summary {cursor:pointer;}
#sources-panel summary:focus {outline:2px solid #d84315;}
#sources-panel mark {background:#fff3a0;}
#sources-panel .src-path {font-size:0.8em; color:#555;}
@media (max-width: 640px) { .gradio-container {padding:0.3em !important;} }
"""


def badge_html(answer: Answer | None) -> str:
    if answer is None:
        return (
            '<div id="level-status" role="status" aria-live="polite">'
            "Ask a question to see its escalation level.</div>"
        )
    level = answer.level
    items = "".join(
        f"<li><b>{html.escape(f.level.value.upper())}</b>: {html.escape(f.reason)} "
        f"<i>({html.escape(f.citation)})</i></li>"
        for f in answer.flags
    )
    scope = "" if answer.in_scope else "<p>Outside the corpus: no cited answer.</p>"
    return (
        f'<div id="level-status" role="status" aria-live="polite">'
        f'<span class="level-badge level-{level.value}" data-level="{level.value}" '
        f'aria-label="Escalation level: {level.value}">{level.value.upper()}</span>'
        f"{scope}{understood_html(answer)}{'<ul>' + items + '</ul>' if items else ''}</div>"
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


def answer_messages(answer: Answer, turn: int = 1) -> list[dict[str, Any]]:
    head = f"{LEVEL_ICON[answer.level]} **{answer.level.value.upper()}**\n\n"
    body = linked_answer(answer, turn)
    messages: list[dict[str, Any]] = [{"role": "assistant", "content": head + body}]
    if answer.citations:
        messages.append(
            {
                "role": "assistant",
                "content": sources_markdown(answer),
                "metadata": {"title": f"Sources ({len(answer.citations)})", "status": "done"},
            }
        )
    return messages


def _turns(history: list[dict[str, Any]]) -> list[Turn]:
    turns = []
    for message in history:
        if (message.get("metadata") or {}).get("title"):
            continue
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(
                str(c.get("text", "")) if isinstance(c, dict) else str(c) for c in content
            )
        if message.get("role") in ("user", "assistant") and isinstance(content, str):
            turns.append(Turn(role=message["role"], content=content))
    return turns


_CITE = re.compile(r"\[(\d+)\]")
_QUOTED = re.compile(r"^- (.+) \[(\d+)\]$", re.MULTILINE)
JS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a[href^="#src-"]');
    if (!link) return;
    event.preventDefault();
    const target = document.getElementById(link.getAttribute('href').slice(1));
    if (!target) return;
    target.open = true;
    target.scrollIntoView({behavior: 'smooth', block: 'center'});
    const summary = target.querySelector('summary');
    if (summary) summary.focus();
  }, true);
}
"""


def linked_answer(answer: Answer, turn: int) -> str:
    """[n] markers become links that open the passage in the Sources panel."""
    return _CITE.sub(lambda m: f"[[{m.group(1)}]](#src-{turn}-{m.group(1)})", answer.answer)


def _highlight(text: str, sentences: list[str]) -> str:
    """The passage, escaped, with the sentences the answer quoted marked."""
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    out = []
    for para in paragraphs:
        escaped = html.escape(para)
        for sentence in sentences:
            needle = html.escape(" ".join(sentence.split()))
            if needle and needle in escaped:
                escaped = escaped.replace(needle, f"<mark>{needle}</mark>")
        out.append(f"<p>{escaped}</p>")
    return "".join(out)


def sources_panel_html(answers: list[Answer]) -> str:
    """Every cited passage of the conversation, newest answer first, each one collapsible."""
    if not answers:
        return '<div id="sources-empty">Sources of each answer appear here.</div>'
    groups = []
    for turn in range(len(answers), 0, -1):
        answer = answers[turn - 1]
        quoted: dict[int, list[str]] = {}
        for sentence, n in _QUOTED.findall(answer.answer):
            quoted.setdefault(int(n), []).append(sentence)
        items = []
        for c in answer.citations:
            where = " · ".join(html.escape(x) for x in c.location())
            items.append(
                f'<details class="source" id="src-{turn}-{c.n}">'
                f"<summary>[{c.n}] <b>{html.escape(c.title)}</b>"
                f"{' — ' + where if where else ''}</summary>"
                f'<div class="passage">{_highlight(c.text, quoted.get(c.n, []))}</div>'
                f'<div class="src-path"><code>{html.escape(c.source)}</code> '
                f"(score {c.score:.2f})</div></details>"
            )
        body = "".join(items) or "<p>No passages were cited.</p>"
        question = html.escape(answer.question[:120])
        groups.append(
            f'<section class="source-group" aria-label="Sources for question {turn}">'
            f"<h4>Question {turn}: {question}</h4>{body}</section>"
        )
    return "".join(groups)


def build_ui(advisor: Advisor, audit: AuditSink | None = None) -> gr.Blocks:
    office = advisor.settings.office_contact
    digest_cache: dict[str, Any] = {"at": 0.0, "value": ""}

    def corpus_digest() -> str:
        """Cached for a minute: reading the manifest on every answer would be wasted work."""
        now = time.monotonic()
        if now - digest_cache["at"] > 60:
            digest_cache.update(at=now, value=advisor.store.digest())
        return str(digest_cache["value"])

    def record(answer: Answer, conversation: str, request: gr.Request | None) -> str | None:
        if audit is None:
            return None
        user = getattr(request, "username", None) if request is not None else None
        return audit.record_answer(
            answer,
            conversation_id=conversation,
            user=user,
            corpus_hash=corpus_digest(),
            rules_hash=advisor.escalation.digest,
        )

    def respond(
        message: str,
        history: list[dict[str, Any]],
        answers: list[dict[str, Any]],
        records: dict[str, str],
        conversation: str,
        request: gr.Request,
    ) -> Iterator[tuple[Any, ...]]:
        history = list(history or [])
        answers = list(answers or [])
        records = dict(records or {})
        turns = _turns(history)
        shown = [*history, {"role": "user", "content": message}]
        past = [Answer.model_validate(a) for a in answers]
        keep = (answers, records, sources_panel_html(past))
        yield shown, "", badge_html(None), *keep
        try:
            for part in advisor.stream(message, turns):
                if isinstance(part, Answer):
                    answers.append(part.model_dump(mode="json"))
                    turn = len(answers)
                    messages = answer_messages(part, turn)
                    record_id = record(part, conversation, request)
                    if record_id:
                        for offset in range(len(messages)):
                            records[str(len(shown) + offset)] = record_id
                    panel = sources_panel_html([*past, part])
                    yield [*shown, *messages], "", badge_html(part), answers, records, panel
                else:
                    partial = {"role": "assistant", "content": part}
                    yield [*shown, partial], "", badge_html(None), *keep
        except AdvisorError as exc:
            warning = {"role": "assistant", "content": f"⚠️ {exc}"}
            yield [*history, warning], message, badge_html(None), *keep
        except Exception:
            log.exception("answering failed")
            warning = {
                "role": "assistant",
                "content": "⚠️ Something went wrong while answering; your question is kept in "
                "the box so you can try again.",
            }
            yield [*history, warning], message, badge_html(None), *keep

    def on_like(records: dict[str, str], request: gr.Request, data: gr.LikeData) -> tuple[Any, ...]:
        """Thumbs up is stored at once; thumbs down opens the comment form first."""
        record_id = (records or {}).get(
            str(data.index if isinstance(data.index, int) else data.index[0])
        )
        if audit is None or record_id is None:
            return gr.update(visible=False), None, "Feedback is not recorded in this setup."
        if data.liked:
            audit.add_feedback(record_id, "up", None, getattr(request, "username", None))
            return gr.update(visible=False), None, "Thanks: your feedback was recorded."
        return gr.update(visible=True), record_id, ""

    def send_feedback(
        record_id: str | None, reason: str | None, comment: str, request: gr.Request
    ) -> tuple[Any, ...]:
        if audit is None or not record_id:
            return gr.update(visible=False), None, "", "Nothing to send."
        text = "; ".join(x for x in (reason, (comment or "").strip()) if x) or None
        audit.add_feedback(record_id, "down", text, getattr(request, "username", None))
        return gr.update(visible=False), None, "", "Thanks: your feedback was recorded."

    def export(answers: list[dict[str, Any]]) -> Any:
        if not answers:
            raise gr.Error(
                "Ask a question first: there is nothing to export yet.", print_exception=False
            )
        items = [Answer.model_validate(a) for a in answers]
        folder = Path(tempfile.mkdtemp(prefix="advisor-export-"))
        md = folder / "export-advisor-conversation.md"
        md.write_text(to_markdown(items, office), encoding="utf-8")
        pdf = to_pdf(items, office, folder / "export-advisor-conversation.pdf")
        return gr.update(value=[str(md), str(pdf)], visible=True)

    def api_ask(question: str, request: gr.Request) -> dict:
        """Answer one question; returns the Answer JSON (level, flags, citations)."""
        try:
            answer = advisor.ask(question)
        except AdvisorError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        record(answer, f"api-{uuid.uuid4().hex[:12]}", request)
        return answer.model_dump(mode="json")

    def screen_name(
        name: str, country: str, address: str = "", dob: str = ""
    ) -> tuple[str, list[list[Any]]]:
        """Screen one name; the optional country, address and date of birth move scores."""
        screener = advisor.screener  # looked up each time: the Compliance tab may replace it
        if screener is None:
            return "No screening list is configured (ADVISOR_SCREENING_PATH).", []
        try:
            matches = screener.screen(
                name,
                (country or "").strip() or None,
                address=(address or "").strip() or None,
                dob=(dob or "").strip() or None,
            )
        except AdvisorError as exc:
            return f"⚠️ {exc}", []
        notes = [f"List in force: {screener.describe()}."]
        if screener.is_sample:
            notes.append(
                "⚠️ Using the SAMPLE list shipped with the app, not the current Consolidated "
                "Screening List; load the full list before relying on a result."
            )
        notes += [f"⚠️ {w}" for w in screener.warnings() if "SAMPLE" not in w]
        verdict = (
            f"**{len(matches)} possible match(es)** for “{name.strip()}”: do not proceed until "
            "your export control office has resolved them."
            if matches
            else f"No match for “{name.strip()}” at threshold {screener.threshold:g}."
        )
        rows = [
            [
                m.party.name,
                m.matched_name,
                m.party.type,
                "; ".join(m.party.sources),
                ", ".join(m.party.programs),
                m.party.country,
                "; ".join(m.party.dates_of_birth[:3]),
                "; ".join(m.party.nationalities[:3]),
                "; ".join(m.party.addresses[:2]),
                round(m.score, 1),
                "; ".join(m.notes),
                "prohibited" if m.prohibited else "escalate",
            ]
            for m in matches
        ]
        return "\n\n".join([verdict, *notes]), rows

    with gr.Blocks(title="export-advisor", fill_height=True) as demo:
        gr.Markdown(
            "# export-advisor\nCited, conservative answers on export controls for research "
            "(EAR, ITAR, OFAC, EU, UK, Wassenaar), drawn only from the curated corpus.\n\n"
            + notice(office)
        )
        with gr.Tab("Ask", id="ask-tab"):
            answers = gr.State([])
            records = gr.State({})
            conversation = gr.State(lambda: uuid.uuid4().hex)
            pending = gr.State(None)
            level_panel = gr.HTML(badge_html(None), elem_id="level-panel", label="Escalation level")
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=300):
                    chat = gr.Chatbot(
                        label="Conversation",
                        elem_id="chat",
                        height=520,
                        buttons=["copy"],
                        feedback_options=("Like", "Dislike"),
                    )
                with gr.Column(scale=2, min_width=260):
                    sources = gr.HTML(
                        sources_panel_html([]), elem_id="sources-panel", label="Sources"
                    )
            with gr.Row():
                box = gr.Textbox(
                    label="Your question",
                    placeholder="Describe what you want to share, with whom, and where they are.",
                    elem_id="question",
                    scale=5,
                    lines=1,
                    max_lines=8,
                    autofocus=True,
                )
                send = gr.Button("Ask", variant="primary", elem_id="ask-button", scale=1)
            with gr.Group(visible=False, elem_id="feedback-form") as feedback_form:
                reason = gr.Radio(
                    ["wrong level", "wrong source", "other"],
                    label="What was wrong with this answer?",
                    elem_id="feedback-reason",
                )
                comment = gr.Textbox(label="Comment (optional)", elem_id="feedback-comment")
                send_fb = gr.Button("Send feedback", elem_id="feedback-send")
            feedback_note = gr.Markdown(elem_id="feedback-note")
            gr.Examples(examples=[[e] for e in EXAMPLES], inputs=[box], label="Example questions")
            with gr.Row():
                clear = gr.Button("New conversation", variant="secondary", size="sm")
                export_btn = gr.Button(
                    "Export conversation (Markdown + PDF)", size="sm", elem_id="export-button"
                )
            files = gr.File(
                label="Conversation record",
                visible=False,
                elem_id="export-files",
                file_count="multiple",
            )

            outputs = [chat, box, level_panel, answers, records, sources]
            for trigger in (box.submit, send.click):
                trigger(
                    respond,
                    inputs=[box, chat, answers, records, conversation],
                    outputs=outputs,
                    api_visibility="undocumented",
                )
            chat.like(
                on_like,
                inputs=[records],
                outputs=[feedback_form, pending, feedback_note],
                api_visibility="private",
            )
            send_fb.click(
                send_feedback,
                inputs=[pending, reason, comment],
                outputs=[feedback_form, pending, comment, feedback_note],
                api_visibility="private",
            )
            export_btn.click(export, inputs=[answers], outputs=[files], api_visibility="private")
            clear.click(
                lambda: (
                    [],
                    "",
                    badge_html(None),
                    [],
                    {},
                    sources_panel_html([]),
                    uuid.uuid4().hex,
                ),
                outputs=[*outputs, conversation],
                api_visibility="private",
            )
        with gr.Tab("Screening", id="screening-tab"):
            with gr.Row():
                party = gr.Textbox(label="Organisation or person", elem_id="screen-name", scale=4)
                cc = gr.Textbox(
                    label="Country code (optional)", elem_id="screen-country", max_lines=1, scale=1
                )
                go = gr.Button("Screen", variant="primary", elem_id="screen-button", scale=1)
            with gr.Row():
                addr = gr.Textbox(
                    value="", label="Address or city (optional)", elem_id="screen-address", scale=4
                )
                born = gr.Textbox(
                    value="",
                    label="Date of birth (optional, e.g. 1958-09-10)",
                    elem_id="screen-dob",
                    max_lines=1,
                    scale=2,
                )
            verdict = gr.Markdown(elem_id="screen-verdict")
            table = gr.Dataframe(
                headers=[
                    "Listed party",
                    "Matched name",
                    "Type",
                    "List",
                    "Programs",
                    "Country",
                    "Born",
                    "Nationality",
                    "Address",
                    "Score",
                    "Score notes",
                    "Level",
                ],
                interactive=False,
                wrap=True,
                elem_id="screen-results",
                label="Matches",
            )
            for trigger in (party.submit, go.click):
                trigger(
                    screen_name,
                    inputs=[party, cc, addr, born],
                    outputs=[verdict, table],
                    api_name="screen",
                )
        build_admin_tabs(advisor, audit)
        gr.api(api_ask, api_name="ask")
    return demo


def serve(settings: Settings) -> None:
    from advisor.records.audit import AuditLog

    advisor = build_advisor(settings)
    audit = AuditLog.from_settings(advisor.settings)
    demo = build_ui(advisor, audit)
    try:
        demo.queue(default_concurrency_limit=4).launch(
            server_name=settings.host,
            server_port=settings.port,
            css=CSS,
            js=JS,
            ssr_mode=False,
            show_error=True,
            footer_links=["api"],
            auth=gradio_auth(advisor.settings),
            # Gradio stores uploads before any handler runs, login or not: cap them there.
            max_file_size=f"{max(advisor.settings.max_upload_mb, SCREENING_UPLOAD_MB)}mb",
        )
    finally:
        audit.close()
