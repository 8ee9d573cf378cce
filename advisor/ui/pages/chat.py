"""The Ask tab: streamed answers with their level badge and sources, feedback on each answer,
the conversation exported for the export control office, and the owner's saved conversations
(reopened, continued, deleted), with the last answer regenerated or a question edited."""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from advisor.errors import AdvisorError
from advisor.models import Answer, Attachment
from advisor.services.answering import AnsweringService, Origin, Recorded
from advisor.services.attachments import KINDS, AttachmentReader
from advisor.services.conversations import (
    ConversationStore,
    ConversationSummary,
    HistoryError,
    new_browser_key,
    owner_key,
    valid_browser_key,
)
from advisor.ui.pages.base import Page
from advisor.ui.render.chat import (
    COPY_JS,
    SHOW_ANSWER_JS,
    answer_messages,
    badge_html,
    history_choices,
    history_heading,
    history_note,
    history_turns,
    legend_html,
    message_text,
    sources_panel_html,
    split_attachment,
    streaming_message,
    warning_message,
    with_attachment,
)
from advisor.ui.session import unchanged
from advisor.writing.transcript import to_markdown, to_pdf

log = logging.getLogger(__name__)

EXAMPLES = [
    "Can I send my exploit research to a co-author in China?",
    "May my Iranian postdoc see this sponsor's encryption code?",
    "Our sponsor wants to approve every publication. Is it still fundamental research?",
    "Can I take my laptop to a security conference in Germany?",
    "Do I need a licence to publish my encryption library on GitHub?",
]
FAILED = (
    "Something went wrong while answering; your question is kept in the box so you can try again."
)
RECORDED = "Thanks: your feedback was recorded."
ATTACH_LABEL = (
    "Attach a document (PDF, Word .docx or text): read for this question only, never added "
    "to the corpus"
)
NOT_KEPT = (
    "The file attached to this question is not kept after it was answered, so it cannot be "
    "read again: attach it again and ask."
)
NO_OWNER = "The conversation history is not ready yet: reload the page."
CHOOSE = "Choose a conversation in the list first."
GONE = "That conversation is no longer in your history."
# Gradio hands a BrowserState's secret to the browser, so it only obfuscates the stored key;
# fixed values keep the key readable after a server restart (random ones would not).
BROWSER_STORAGE_KEY = "export-advisor-browser"
BROWSER_STORAGE_SECRET = "export-advisor-history"
Updates = dict[Any, Any]


def _user(request: gr.Request | None) -> str | None:
    return None if request is None else request.username


def _position(index: int | tuple[int, int]) -> int:
    return index if isinstance(index, int) else index[0]


# What regenerate and edit work on: the chat, answers, records map and files held.
_ChatState = tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str], dict[str, Any]]


def _held(attached: dict[str, Any] | None, index: int, name: str | None) -> Attachment | None:
    """The file read for the question at ``index``, if this session holds one of that name."""
    kept = (attached or {}).get(str(index)) if name else None
    if not kept:
        return None
    attachment = Attachment.model_validate(kept)
    return attachment if attachment.name == name else None


class ChatPage(Page):
    """Answers go through the answering service (channel ``ui``), which records them; the
    page keeps, per browser session, the answers shown and which chat message belongs to
    which audit record, so a thumbs up or down reaches the right record."""

    def __init__(
        self,
        answering: AnsweringService,
        office: str,
        conversations: ConversationStore | None = None,
        attachments: AttachmentReader | None = None,
    ) -> None:
        self.answering = answering
        self.office = office
        self.conversations = conversations  # None: no history is kept (the panel is hidden)
        self.attachments = attachments  # None: no attach control

    # ------------------------------------------------------------------ layout

    def build(self) -> None:
        """The conversation and its question box on the left; the saved conversations, the
        level, its legend and the sources on the right, in a column of their own so they never
        cover the box. On a phone the two columns become one, ordered by CSS (chat, box,
        saved conversations, sources, level)."""
        self.answers = gr.State([])
        self.records = gr.State({})
        self.conversation = gr.State(lambda: uuid.uuid4().hex)
        self.pending = gr.State(None)
        # The files read for the questions of this browser session, by chat position, so a
        # regenerated or edited question is read with its file again (never saved anywhere).
        self.attached = gr.State({})
        self.browser = gr.BrowserState(
            None, storage_key=BROWSER_STORAGE_KEY, secret=BROWSER_STORAGE_SECRET
        )
        with gr.Row(equal_height=False, elem_id="ask-layout"):
            with gr.Column(scale=3, min_width=300, elem_id="ask-main"):
                self._build_conversation()
            with gr.Column(scale=2, min_width=260, elem_id="ask-side"):
                self._build_history()
                self.level_panel = gr.HTML(
                    badge_html(None), elem_id="level-panel", label="Escalation level"
                )
                gr.HTML(legend_html(self.office), elem_id="level-legend", label="Levels")
                self.sources = gr.HTML(
                    sources_panel_html([]), elem_id="sources-panel", label="Sources"
                )

    def _build_conversation(self) -> None:
        # The chat's own copy button would copy raw Markdown; this one copies clean text.
        self.copy_button = gr.Button("Copy answer", size="sm", elem_id="copy-answer")
        self.chat = gr.Chatbot(
            label="Conversation",
            elem_id="chat",
            height=520,
            autoscroll=False,  # advisorShowAnswer scrolls to the answer's start instead
            buttons=[self.copy_button],
            feedback_options=("Like", "Dislike"),
            editable="user",  # editing a question re-asks it (see edit)
        )
        with gr.Row(elem_id="ask-row"):
            self.box = gr.Textbox(
                label="Your question",
                placeholder="Describe what you want to share, with whom, and where they are.",
                elem_id="question",
                scale=5,
                lines=1,
                max_lines=8,
                autofocus=False,  # focused by the page JS, without scrolling, on wide screens
            )
            self.send = gr.Button("Ask", variant="primary", elem_id="ask-button", scale=1)
        self.attach = gr.File(
            label=ATTACH_LABEL,
            file_types=list(KINDS),
            file_count="single",
            type="filepath",
            height=110,
            elem_id="attach",
            visible=self.attachments is not None,
        )
        self._build_feedback()
        with gr.Row(elem_id="chat-actions"):
            self.clear_button = gr.Button(
                "New conversation", variant="secondary", size="sm", elem_id="new-conversation"
            )
            self.export_button = gr.Button(
                "Export conversation (Markdown + PDF)", size="sm", elem_id="export-button"
            )
        self.files = gr.File(
            label="Conversation record",
            visible=False,
            elem_id="export-files",
            file_count="multiple",
        )
        gr.Examples(
            examples=[[e] for e in EXAMPLES],
            inputs=[self.box],
            label="Example questions",
            elem_id="examples",
        )

    def _build_feedback(self) -> None:
        with gr.Group(visible=False, elem_id="feedback-form") as self.feedback_form:
            self.reason = gr.Radio(
                ["wrong level", "wrong source", "other"],
                label="What was wrong with this answer?",
                elem_id="feedback-reason",
            )
            self.comment = gr.Textbox(label="Comment (optional)", elem_id="feedback-comment")
            self.send_feedback_button = gr.Button("Send feedback", elem_id="feedback-send")
        self.feedback_note = gr.Markdown(elem_id="feedback-note")

    def _build_history(self) -> None:
        """The saved conversations, newest first: a closed accordion atop the side column
        (on a phone, right under the question box), so it never pushes the box out of view."""
        with gr.Accordion(
            history_heading(0),
            open=False,
            visible=self.conversations is not None,
            elem_id="chat-history",
        ) as self.history_panel:
            self.history_list = gr.Radio(
                choices=[], label="Saved, newest first", elem_id="history-list", interactive=True
            )
            with gr.Row(elem_id="history-actions"):
                self.open_button = gr.Button(
                    "Open", size="sm", variant="primary", elem_id="history-open"
                )
                self.delete_button = gr.Button(
                    "Delete", size="sm", variant="secondary", elem_id="history-delete"
                )
            self.history_note = gr.Markdown(history_note(empty=True), elem_id="history-note")

    def wire(self) -> None:
        view = [self.chat, self.box, self.level_panel, self.answers, self.records, self.sources]
        asked = [self.chat, self.answers, self.records, self.conversation, self.attached]
        for trigger in (self.box.submit, self.send.click):
            self._after_answer(
                trigger(
                    self.respond,
                    inputs=[self.box, self.attach, *asked],
                    outputs=[*view, self.attach, self.attached],
                    api_visibility="undocumented",
                )
            )
        self._after_answer(
            self.chat.retry(self.regenerate, inputs=asked, outputs=view, api_visibility="private")
        )
        self._after_answer(
            self.chat.edit(self.edit, inputs=asked, outputs=view, api_visibility="private")
        )
        self.chat.like(
            self.on_like,
            inputs=[self.records],
            outputs=[self.feedback_form, self.pending, self.feedback_note],
            api_visibility="private",
        )
        self.send_feedback_button.click(
            self.send_feedback,
            inputs=[self.pending, self.reason, self.comment],
            outputs=[self.feedback_form, self.pending, self.comment, self.feedback_note],
            api_visibility="private",
        )
        self.export_button.click(
            self.export, inputs=[self.answers], outputs=[self.files], api_visibility="private"
        )
        self.copy_button.click(None, js=COPY_JS, api_visibility="private")
        # The chat's trash icon and "New conversation" are one reset: nothing of the old
        # conversation may stay on screen (badge, sources, export files, feedback form).
        reset = [*view, self.conversation, self.files, self.feedback_form, self.pending]
        reset += [self.reason, self.comment, self.feedback_note, self.history_list]
        reset += [self.attach, self.attached]
        for event in (self.clear_button.click, self.chat.clear):
            event(self.clear, outputs=reset, api_visibility="private")
        # Opening or deleting the open conversation replaces everything a reset does.
        history = [*reset, self.history_panel, self.history_note]
        self.open_button.click(
            self.open_conversation,
            inputs=[self.history_list, self.browser],
            outputs=history,
            api_visibility="private",
        ).then(None, js=SHOW_ANSWER_JS, api_visibility="private")
        self.delete_button.click(
            self.delete_conversation,
            inputs=[self.history_list, self.conversation, self.browser],
            outputs=history,
            api_visibility="private",
        )

    def _after_answer(self, event: Any) -> None:
        """After an answer: bring its start into view, and save the conversation."""
        event.then(None, js=SHOW_ANSWER_JS, api_visibility="private")
        event.then(
            self.save,
            inputs=[self.chat, self.answers, self.records, self.conversation, self.browser],
            outputs=[self.history_panel, self.history_list, self.history_note],
            api_visibility="private",
        )

    def wire_load(self, demo: gr.Blocks) -> None:
        """On every page load: the browser's key and the owner's saved conversations."""
        demo.load(
            self.load_history,
            inputs=[self.browser],
            outputs=[self.browser, self.history_panel, self.history_list, self.history_note],
            api_visibility="private",
        )

    # ------------------------------------------------------------------ handlers

    def _view(
        self,
        messages: list[dict[str, Any]],
        box: str,
        answer: Answer | None,
        answers: list[dict[str, Any]],
        records: dict[str, str],
        panel: str,
    ) -> Updates:
        return {
            self.chat: messages,
            self.box: box,
            self.level_panel: badge_html(answer),
            self.answers: answers,
            self.records: records,
            self.sources: panel,
        }

    def respond(
        self,
        message: str,
        upload: str | None,
        history: list[dict[str, Any]],
        answers: list[dict[str, Any]],
        records: dict[str, str],
        conversation: str,
        attached: dict[str, Any],
        request: gr.Request,
    ) -> Iterator[Updates]:
        """Stream the answer into the chat; the finished answer sets the badge and the
        Sources panel. On an error the question goes back into the box, and an attached file
        stays attached; once answered, the file is taken off the box (it was for that
        question) and kept in this session only, for a regenerate or an edit."""
        history, attached = list(history or []), dict(attached or {})
        attachment = None
        if upload:
            try:
                attachment = self._read(upload)
            except AdvisorError as exc:
                panel = sources_panel_html([Answer.model_validate(a) for a in answers or []])
                shown = [*history, warning_message(str(exc))]
                yield self._view(shown, message, None, list(answers or []), records, panel)
                return
        done: list[Recorded] = []
        origin = Origin("ui", conversation, _user(request))
        asked = self._ask(
            message, history, list(answers or []), dict(records or {}), origin, attachment, done
        )
        yield from asked
        if done and attachment is not None:
            attached[str(len(history))] = attachment.model_dump(mode="json")
            yield {self.attach: None, self.attached: attached}

    def _read(self, upload: str) -> Attachment:
        if self.attachments is None:
            raise AdvisorError("Attaching documents is switched off in this setup.")
        path = Path(upload)
        return self.attachments.read(path, path.name)

    def regenerate(
        self,
        history: list[dict[str, Any]],
        answers: list[dict[str, Any]],
        records: dict[str, str],
        conversation: str,
        attached: dict[str, Any],
        request: gr.Request,
        data: gr.RetryData,
    ) -> Iterator[Updates]:
        """The chat's retry button: the last question asked again. Its answer (all of that
        answer's messages) and their record entries are replaced; the new answer has its own
        audit record and keeps the old one's number."""
        origin = Origin("ui", conversation, _user(request))
        again = (history, answers, records, attached)
        yield from self._again(_position(data.index), None, again, origin)

    def edit(
        self,
        history: list[dict[str, Any]],
        answers: list[dict[str, Any]],
        records: dict[str, str],
        conversation: str,
        attached: dict[str, Any],
        request: gr.Request,
        data: gr.EditData,
    ) -> Iterator[Updates]:
        """A question edited in the chat is asked instead of the old one. Any question may be
        edited: everything after it (its answer and every later turn) is dropped first, as
        the later answers built on the old wording."""
        text = data.value if isinstance(data.value, str) else message_text({"content": data.value})
        origin = Origin("ui", conversation, _user(request))
        yield from self._again(
            _position(data.index), text, (history, answers, records, attached), origin
        )

    def _again(
        self, index: int, question: str | None, state: _ChatState, origin: Origin
    ) -> Iterator[Updates]:
        """Ask the user message at ``index`` again (as ``question`` when edited) with the
        conversation before it: the answers before it keep their numbers, the records map
        keeps only the chat positions before it. A question shown with a file is read with
        that file again, if this session still holds it."""
        history, answers, records, attached = state
        history = list(history or [])
        if not 0 <= index < len(history) or history[index].get("role") != "user":
            yield {self.chat: history}  # nothing to ask again: the chat stays as it was
            return
        text = question if question is not None else message_text(history[index]) or ""
        text, name = split_attachment(text)
        attachment = _held(attached, index, name)
        before = history[:index]
        if name and attachment is None:
            yield {self.chat: [*history, warning_message(NOT_KEPT)]}
            return
        kept = min(sum(m.get("role") == "user" for m in before), len(answers or []))
        earlier = {k: v for k, v in (records or {}).items() if int(k) < index}
        yield from self._ask(text, before, list(answers or [])[:kept], earlier, origin, attachment)

    def _ask(
        self,
        message: str,
        history: list[dict[str, Any]],
        answers: list[dict[str, Any]],
        records: dict[str, str],
        origin: Origin,
        attachment: Attachment | None = None,
        done: list[Recorded] | None = None,
    ) -> Iterator[Updates]:
        """The one place a chat question is answered (asked, regenerated or edited), with
        the file attached to it if any; the finished answer is appended to ``done``."""
        label = with_attachment(message, attachment.name if attachment else None)
        shown = [*history, {"role": "user", "content": label}]
        past = [Answer.model_validate(a) for a in answers]
        panel = sources_panel_html(past)
        yield self._view(shown, "", None, answers, records, panel)
        try:
            turns = history_turns(history)
            for part in self.answering.stream(message, origin, turns, attachment):
                if isinstance(part, Recorded):
                    if done is not None:
                        done.append(part)
                    yield self._finished(part, shown, past, answers, records)
                else:
                    partial = [*shown, streaming_message(part)]
                    yield self._view(partial, "", None, answers, records, panel)
        except AdvisorError as exc:
            shown = [*history, warning_message(str(exc))]
            yield self._view(shown, message, None, answers, records, panel)
        except Exception:
            log.exception("answering failed")
            shown = [*history, warning_message(FAILED)]
            yield self._view(shown, message, None, answers, records, panel)

    def _finished(
        self,
        done: Recorded,
        shown: list[dict[str, Any]],
        past: list[Answer],
        answers: list[dict[str, Any]],
        records: dict[str, str],
    ) -> Updates:
        """The answer's messages, each tied to its audit record (keyed by chat position)."""
        answers.append(done.answer.model_dump(mode="json"))
        messages = answer_messages(done.answer, len(answers))
        if done.record_id:
            for offset in range(len(messages)):
                records[str(len(shown) + offset)] = done.record_id
        panel = sources_panel_html([*past, done.answer])
        return self._view([*shown, *messages], "", done.answer, answers, records, panel)

    def on_like(self, records: dict[str, str], request: gr.Request, data: gr.LikeData) -> Updates:
        """Thumbs up is stored at once; thumbs down opens the comment form first."""
        index = data.index if isinstance(data.index, int) else data.index[0]
        record_id = (records or {}).get(str(index))
        closed = {self.feedback_form: gr.update(visible=False), self.pending: None}
        if not self.answering.recording or record_id is None:
            return {**closed, self.feedback_note: "Feedback is not recorded in this setup."}
        if data.liked:
            self.answering.rate(record_id, "up", None, _user(request))
            return {**closed, self.feedback_note: RECORDED}
        return {
            self.feedback_form: gr.update(visible=True),
            self.pending: record_id,
            self.feedback_note: "",
        }

    def send_feedback(
        self, record_id: str | None, reason: str | None, comment: str, request: gr.Request
    ) -> Updates:
        closed = {
            self.feedback_form: gr.update(visible=False),
            self.pending: None,
            self.comment: "",
        }
        if not self.answering.recording or not record_id:
            return {**closed, self.feedback_note: "Nothing to send."}
        text = "; ".join(x for x in (reason, (comment or "").strip()) if x) or None
        self.answering.rate(record_id, "down", text, _user(request))
        return {**closed, self.feedback_note: RECORDED}

    def export(self, answers: list[dict[str, Any]]) -> Any:
        """The conversation as Markdown and PDF files to download."""
        if not answers:
            raise gr.Error(
                "Ask a question first: there is nothing to export yet.", print_exception=False
            )
        items = [Answer.model_validate(a) for a in answers]
        folder = Path(tempfile.mkdtemp(prefix="advisor-export-"))
        md = folder / "export-advisor-conversation.md"
        md.write_text(to_markdown(items, self.office), encoding="utf-8")
        pdf = to_pdf(items, self.office, folder / "export-advisor-conversation.pdf")
        return gr.update(value=[str(md), str(pdf)], visible=True)

    def clear(self) -> Updates:
        """A new conversation: empty chat and panels, no export files or open feedback form,
        and a new conversation id; the answers list empties, so numbering starts at 1."""
        return {
            **self._view([], "", None, [], {}, sources_panel_html([])),
            self.conversation: uuid.uuid4().hex,
            self.files: gr.update(value=None, visible=False),
            self.feedback_form: gr.update(visible=False),
            self.pending: None,
            self.reason: None,
            self.comment: "",
            self.feedback_note: "",
            self.history_list: gr.update(value=None),
            self.attach: None,
            self.attached: {},
        }

    # ------------------------------------------------------------------ history

    def load_history(self, browser: object, request: gr.Request) -> Updates:
        """A page load: the browser's key (made on its first visit) and the owner's list."""
        key = browser if valid_browser_key(browser) else new_browser_key()
        return {self.browser: key, **self._listed(owner_key(_user(request), key), None)}

    def save(
        self,
        history: list[dict[str, Any]],
        answers: list[dict[str, Any]],
        records: dict[str, str],
        conversation: str,
        browser: object,
        request: gr.Request,
    ) -> Updates:
        """Keep the conversation after each answer (a new one joins the list, ticked). A
        failure is a note under the list: the answer on screen stays."""
        if self.conversations is None or not answers:
            return unchanged(self.history_note)
        owner = owner_key(_user(request), browser)
        if owner is None:
            return {self.history_note: NO_OWNER}
        try:
            items = [Answer.model_validate(a) for a in answers]
            self.conversations.save(
                owner, conversation, items, list(history or []), dict(records or {})
            )
        except HistoryError as exc:
            return self._failed(exc)
        return self._listed(owner, conversation)

    def open_conversation(
        self, selected: str | None, browser: object, request: gr.Request
    ) -> Updates:
        """Show a saved conversation as it was left: chat, badge, sources, numbering, export
        and feedback all continue from it, and a next question appends to it."""
        owner = owner_key(_user(request), browser)
        if self.conversations is None or owner is None:
            return {self.history_note: NO_OWNER}
        if not selected:
            return {self.history_note: CHOOSE}
        try:
            saved = self.conversations.open(owner, selected)
        except HistoryError as exc:
            return self._failed(exc)
        if saved is None:
            return {**self._listed(owner, None), self.history_note: GONE}
        answers = [a.model_dump(mode="json") for a in saved.answers]
        panel = sources_panel_html(saved.answers)
        shown = self._view(saved.messages, "", saved.answers[-1], answers, saved.records, panel)
        return {
            **self.clear(),
            **shown,
            self.box: gr.skip(),  # a question being typed is kept
            self.conversation: saved.id,
            self.history_list: gr.skip(),
            self.history_note: "",
        }

    def delete_conversation(
        self, selected: str | None, conversation: str, browser: object, request: gr.Request
    ) -> Updates:
        """Remove a saved conversation; removing the open one also resets the chat."""
        owner = owner_key(_user(request), browser)
        if self.conversations is None or owner is None:
            return {self.history_note: NO_OWNER}
        if not selected:
            return {self.history_note: CHOOSE}
        try:
            deleted = self.conversations.delete(owner, selected)
        except HistoryError as exc:
            return self._failed(exc)
        current = selected == conversation
        listed = self._listed(owner, None if current else conversation)
        if not deleted:
            listed[self.history_note] = GONE
        return {**self.clear(), **listed} if current else listed

    def _listed(self, owner: str | None, selected: str | None) -> Updates:
        """The history panel refreshed for ``owner``, ``selected`` ticked when listed."""
        if self.conversations is None:
            return unchanged(self.history_note)
        if owner is None:
            return {self.history_note: NO_OWNER}
        try:
            summaries = self.conversations.recent(owner)
        except HistoryError as exc:
            return self._failed(exc)
        return self._history(summaries, selected)

    def _history(self, summaries: list[ConversationSummary], selected: str | None) -> Updates:
        ids = {s.id for s in summaries}
        return {
            self.history_panel: gr.update(label=history_heading(len(summaries))),
            self.history_list: gr.update(
                choices=history_choices(summaries), value=selected if selected in ids else None
            ),
            self.history_note: history_note(empty=not summaries),
        }

    def _failed(self, exc: HistoryError) -> Updates:
        log.warning("conversation history: %s", exc)
        return {self.history_note: history_note(str(exc))}

    def api_ask(self, question: str, request: gr.Request) -> dict:
        """Answer one question; returns the Answer JSON (level, flags, citations)."""
        try:
            done = self.answering.ask(question, Origin.single("api", _user(request)))
        except AdvisorError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        return done.answer.model_dump(mode="json")
