"""Gradio chat: streamed answers, a coloured level badge with reasons, collapsible sources."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from typing import Any

import gradio as gr

from advisor.answer import notice
from advisor.chain import Advisor, build_advisor
from advisor.errors import AdvisorError
from advisor.models import Answer, Level, Turn
from advisor.screening import Screener
from advisor.settings import Settings

log = logging.getLogger(__name__)

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
        f"{scope}{'<ul>' + items + '</ul>' if items else ''}</div>"
    )


def sources_markdown(answer: Answer) -> str:
    if not answer.citations:
        return "No passages were cited."
    parts = []
    for c in answer.citations:
        where = ", ".join(
            x
            for x in (
                c.section,
                f"page {c.page}" if c.page else None,
                c.version and f"version {c.version}",
                c.effective_date and f"effective {c.effective_date}",
            )
            if x
        )
        quoted = "\n".join(f"> {line}" for line in c.text.splitlines() if line.strip())
        parts.append(
            f"**[{c.n}] {c.title}**{' — ' + where if where else ''}  \n`{c.source}`\n\n{quoted}"
        )
    return "\n\n".join(parts)


def answer_messages(answer: Answer) -> list[dict[str, Any]]:
    head = f"{LEVEL_ICON[answer.level]} **{answer.level.value.upper()}**\n\n"
    messages: list[dict[str, Any]] = [{"role": "assistant", "content": head + answer.answer}]
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


def build_ui(advisor: Advisor) -> gr.Blocks:
    office = advisor.settings.office_contact

    def respond(
        message: str, history: list[dict[str, Any]]
    ) -> Iterator[tuple[list[dict[str, Any]], str, str]]:
        history = list(history or [])
        turns = _turns(history)
        shown = [*history, {"role": "user", "content": message}]
        yield shown, "", badge_html(None)
        try:
            for part in advisor.stream(message, turns):
                if isinstance(part, Answer):
                    yield [*shown, *answer_messages(part)], "", badge_html(part)
                else:
                    yield [*shown, {"role": "assistant", "content": part}], "", badge_html(None)
        except AdvisorError as exc:
            warning = {"role": "assistant", "content": f"⚠️ {exc}"}
            yield [*history, warning], message, badge_html(None)
        except Exception:
            log.exception("answering failed")
            warning = {
                "role": "assistant",
                "content": "⚠️ Something went wrong while answering; your question is kept in "
                "the box so you can try again.",
            }
            yield [*history, warning], message, badge_html(None)

    def api_ask(question: str) -> dict:
        """Answer one question; returns the Answer JSON (level, flags, citations)."""
        try:
            return advisor.ask(question).model_dump(mode="json")
        except AdvisorError as exc:
            raise gr.Error(str(exc)) from exc

    screener = advisor.escalation.party_screen
    screener = screener if isinstance(screener, Screener) else None

    def screen_name(name: str, country: str) -> tuple[str, list[list[Any]]]:
        if screener is None:
            return "No screening list is configured (ADVISOR_SCREENING_PATH).", []
        try:
            matches = screener.screen(name, country.strip() or None)
        except AdvisorError as exc:
            return f"⚠️ {exc}", []
        notes = []
        if screener.is_sample:
            notes.append(
                "⚠️ Using the SAMPLE list shipped with the app, not the current Consolidated "
                "Screening List; load the full list before relying on a result."
            )
        if screener.last_error:
            notes.append(
                f"⚠️ The list file changed but could not be read; the last good list "
                f"is in use: {screener.last_error}"
            )
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
                "; ".join(m.party.sources),
                m.party.country,
                round(m.score, 1),
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
            level_panel = gr.HTML(badge_html(None), elem_id="level-panel", label="Escalation level")
            chat = gr.Chatbot(
                label="Conversation",
                elem_id="chat",
                height=520,
                buttons=["copy"],
                feedback_options=None,
            )
            with gr.Row():
                box = gr.Textbox(
                    label="Your question",
                    placeholder="Describe what you want to share, with whom, and where they are.",
                    elem_id="question",
                    scale=5,
                    lines=2,
                    max_lines=8,
                    autofocus=True,
                )
                send = gr.Button("Ask", variant="primary", elem_id="ask-button", scale=1)
            gr.Examples(examples=[[e] for e in EXAMPLES], inputs=[box], label="Example questions")
            clear = gr.Button("New conversation", variant="secondary", size="sm")

            for trigger in (box.submit, send.click):
                trigger(
                    respond,
                    inputs=[box, chat],
                    outputs=[chat, box, level_panel],
                    api_visibility="undocumented",
                )
            clear.click(
                lambda: ([], "", badge_html(None)),
                outputs=[chat, box, level_panel],
                api_visibility="private",
            )
        with gr.Tab("Screening", id="screening-tab"):
            with gr.Row():
                party = gr.Textbox(label="Organisation or person", elem_id="screen-name", scale=4)
                cc = gr.Textbox(
                    label="Country code (optional)", elem_id="screen-country", max_lines=1, scale=1
                )
                go = gr.Button("Screen", variant="primary", elem_id="screen-button", scale=1)
            verdict = gr.Markdown(elem_id="screen-verdict")
            table = gr.Dataframe(
                headers=["Listed party", "Matched name", "List", "Country", "Score", "Level"],
                interactive=False,
                elem_id="screen-results",
                label="Matches",
            )
            for trigger in (party.submit, go.click):
                trigger(
                    screen_name, inputs=[party, cc], outputs=[verdict, table], api_name="screen"
                )
        gr.api(api_ask, api_name="ask")
    return demo


def serve(settings: Settings) -> None:
    advisor = build_advisor(settings)
    demo = build_ui(advisor)
    demo.queue(default_concurrency_limit=4).launch(
        server_name=settings.host,
        server_port=settings.port,
        css=CSS,
        ssr_mode=False,
        show_error=True,
        footer_links=["api"],
    )
