"""The Ask tab's saved conversations, regenerate and edit, called as Gradio calls the handlers:
a real advisor (fake embeddings), a real audit trail and a real conversation store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from advisor.chain import Advisor
from advisor.models import Answer
from advisor.records.audit import AuditLog
from advisor.services.answering import AnsweringService
from advisor.services.conversations import FILE_NAME, ConversationStore
from advisor.ui.pages.chat import CHOOSE, GONE, ChatPage
from advisor.ui.render.chat import SHOW_ANSWER_JS
from tests.services.support import CRIMEA, make_advisor
from tests.ui.pages.test_chat import channels

FOLLOW_UP = "And what if the items are only software?"
PANCAKES = "What is the best recipe for pancakes?"
ALICE_BROWSER, BOB_BROWSER = "a" * 32, "b" * 32
Final = dict[Any, Any]


@pytest.fixture(scope="module")
def advisor(tmp_path_factory: pytest.TempPathFactory) -> Advisor:
    return make_advisor(tmp_path_factory.mktemp("chat-history"))


@pytest.fixture
def store(tmp_path: Path) -> ConversationStore:
    return ConversationStore(tmp_path / FILE_NAME)


def chat_page(
    advisor: Advisor, audit: AuditLog | None, store: ConversationStore | None
) -> ChatPage:
    page = ChatPage(AnsweringService(advisor, audit), advisor.settings.office_contact, store)
    with gr.Blocks() as demo:
        page.build()
        page.wire()
        page.wire_load(demo)
    return page


def request(user: str | None = None) -> gr.Request:
    return gr.Request(username=user)


class Session:
    """One browser tab: the page's state as Gradio would carry it between events."""

    def __init__(self, page: ChatPage, browser: str, user: str | None = None) -> None:
        self.page, self.browser, self.user = page, browser, user
        self.state: Final = page.clear()
        self.listed: Final = {}

    @property
    def conversation(self) -> str:
        return str(self.state[self.page.conversation])

    def apply(self, updates: Final) -> None:
        for key, value in updates.items():
            if isinstance(value, dict) and value.get("__type__") == "update":
                continue  # a visibility or choice change, not a value
            self.state[key] = value

    def run(self, updates: Any) -> Final:
        """All updates of one streamed event, then the save Gradio chains after it."""
        for update in updates:
            self.apply(update)
        return self.save()

    def save(self) -> Final:
        p = self.page
        self.listed = p.save(
            self.state[p.chat],
            self.state[p.answers],
            self.state[p.records],
            self.conversation,
            self.browser,
            request(self.user),
        )
        return self.state

    def ask(self, question: str) -> Final:
        p = self.page
        return self.run(
            p.respond(
                question,
                None,
                self.state[p.chat],
                self.state[p.answers],
                self.state[p.records],
                self.conversation,
                self.state[p.attached],
                request(self.user),
            )
        )

    def _args(self) -> list[Any]:
        p = self.page
        s = self.state
        return [
            s[p.chat],
            s[p.answers],
            s[p.records],
            self.conversation,
            s[p.attached],
            request(self.user),
        ]

    def regenerate(self) -> Final:
        chat = self.state[self.page.chat]
        index = max(i for i, m in enumerate(chat) if m["role"] == "user")
        data = gr.RetryData(None, {"index": index, "value": chat[index]["content"]})
        return self.run(self.page.regenerate(*self._args(), data))

    def edit(self, index: int, text: str) -> Final:
        chat = self.state[self.page.chat]
        previous = chat[index]["content"]
        chat[index] = {**chat[index], "content": text}  # the chat changes it before the event
        data = gr.EditData(None, {"index": index, "value": text, "previous_value": previous})
        return self.run(self.page.edit(*self._args(), data))

    def choices(self) -> list[tuple[str, str]]:
        return list(self.listed[self.page.history_list]["choices"])

    def open(self, conversation: str) -> Final:
        updates = self.page.open_conversation(conversation, self.browser, request(self.user))
        self.apply(updates)
        return updates

    def delete(self, conversation: str) -> Final:
        updates = self.page.delete_conversation(
            conversation, self.conversation, self.browser, request(self.user)
        )
        self.apply(updates)
        return updates


def user_positions(chat: list[dict[str, Any]]) -> list[int]:
    return [i for i, m in enumerate(chat) if m["role"] == "user"]


# ---------------------------------------------------------------- saving and the list


def test_the_first_answer_saves_the_conversation_into_the_list(
    advisor: Advisor, audit: AuditLog, store: ConversationStore
) -> None:
    page = chat_page(advisor, audit, store)
    tab = Session(page, ALICE_BROWSER)
    assert store.recent(f"browser:{ALICE_BROWSER}") == []
    tab.ask(CRIMEA)
    ((label, cid),) = tab.choices()
    assert cid == tab.conversation and label.startswith(CRIMEA + " · 1 answer · ")
    assert tab.listed[page.history_list]["value"] == cid  # the open one is ticked
    assert tab.listed[page.history_panel]["label"] == "Your conversations (1)"
    saved = store.open(f"browser:{ALICE_BROWSER}", cid)
    assert saved is not None and saved.records == tab.state[page.records]
    assert saved.messages == tab.state[page.chat] and len(saved.answers) == 1
    # The audit record and the saved conversation share the conversation id.
    assert channels(audit) == [("ui", cid, None)]
    tab.ask(FOLLOW_UP)
    ((label, _),) = tab.choices()
    assert " · 2 answers · " in label


def test_a_page_load_gives_a_browser_its_key_and_lists_its_conversations(
    advisor: Advisor, audit: AuditLog, store: ConversationStore
) -> None:
    page = chat_page(advisor, audit, store)
    first = page.load_history(None, request())
    key = first[page.browser]
    assert len(key) == 32 and first[page.history_list]["choices"] == []
    assert "No saved conversations yet" in first[page.history_note]
    assert page.load_history("forged'; DROP TABLE", request())[page.browser] != key
    tab = Session(page, key)
    tab.ask(CRIMEA)
    again = page.load_history(key, request())  # the reload: the same key comes back
    assert again[page.browser] == key
    assert [c for _, c in again[page.history_list]["choices"]] == [tab.conversation]
    assert again[page.history_list]["value"] is None and again[page.history_note] == ""
    # Logged in, the list is the user's, whatever the browser.
    assert page.load_history(key, request("alice"))[page.history_list]["choices"] == []


def test_an_opened_conversation_is_restored_and_continues(
    advisor: Advisor, audit: AuditLog, store: ConversationStore
) -> None:
    page = chat_page(advisor, audit, store)
    before = Session(page, ALICE_BROWSER, "alice")
    before.ask(CRIMEA)
    shown = before.ask(FOLLOW_UP)
    cid = before.conversation

    after = Session(page, BOB_BROWSER, "alice")  # a reload, even in another browser
    assert after.conversation != cid and after.state[page.chat] == []
    opened = after.open(cid)
    assert opened[page.chat] == shown[page.chat]
    assert opened[page.answers] == shown[page.answers]
    assert opened[page.records] == shown[page.records]
    assert opened[page.level_panel] == shown[page.level_panel]
    assert 'data-level="prohibited"' in opened[page.level_panel]
    assert opened[page.sources] == shown[page.sources] and "Question 2" in opened[page.sources]
    assert opened[page.conversation] == cid and opened[page.box] == gr.skip()
    assert opened[page.files] == gr.update(value=None, visible=False)
    assert page.export(opened[page.answers])["visible"] is True

    third = after.ask(CRIMEA)  # continuing appends, numbered 3, into the same conversation
    assert len(third[page.answers]) == 3 and "#src-3-" in third[page.chat][-2]["content"]
    assert third[page.chat][: len(shown[page.chat])] == shown[page.chat]
    assert "Question 3" in third[page.sources]
    assert [c for _, c in after.choices()] == [cid]
    assert len(store.open("user:alice", cid).answers) == 3  # type: ignore[union-attr]
    assert {c for _, c, _ in channels(audit)} == {cid}


def test_owners_cannot_open_or_delete_each_others_conversations(
    advisor: Advisor, audit: AuditLog, store: ConversationStore
) -> None:
    page = chat_page(advisor, audit, store)
    alice = Session(page, ALICE_BROWSER)
    alice.ask(CRIMEA)
    cid = alice.conversation
    bob = Session(page, BOB_BROWSER)
    assert page.load_history(BOB_BROWSER, request())[page.history_list]["choices"] == []
    opened = bob.open(cid)
    assert opened[page.history_note] == GONE and page.chat not in opened
    deleted = bob.delete(cid)
    assert deleted[page.history_note] == GONE and page.chat not in deleted
    assert [
        c for _, c in page.load_history(ALICE_BROWSER, request())[page.history_list]["choices"]
    ] == [cid]
    # A logged-in user named like a browser key does not reach that browser either.
    assert page.open_conversation(cid, None, request("a" * 32))[page.history_note] == GONE


def test_delete_removes_it_and_resets_only_when_it_is_open(
    advisor: Advisor, audit: AuditLog, store: ConversationStore
) -> None:
    page = chat_page(advisor, audit, store)
    tab = Session(page, ALICE_BROWSER)
    tab.ask(CRIMEA)
    first = tab.conversation
    tab.apply(page.clear())  # "New conversation"
    tab.ask(PANCAKES)
    second = tab.conversation
    assert [c for _, c in tab.choices()] == [second, first]

    other = tab.delete(first)  # not the open one: the chat stays
    assert page.chat not in other and page.conversation not in other
    assert [c for _, c in other[page.history_list]["choices"]] == [second]
    assert other[page.history_list]["value"] == second

    current = tab.delete(second)  # the open one: everything resets, as a new conversation
    assert set(page.clear()) <= set(current)
    assert current[page.chat] == [] and current[page.answers] == []
    assert current[page.conversation] not in (first, second)
    assert current[page.history_list]["choices"] == []
    assert "No saved conversations yet" in current[page.history_note]
    assert store.recent(f"browser:{ALICE_BROWSER}") == []


def test_open_and_delete_without_a_choice_say_so(
    advisor: Advisor, audit: AuditLog, store: ConversationStore
) -> None:
    page = chat_page(advisor, audit, store)
    for handler in (
        lambda: page.open_conversation(None, ALICE_BROWSER, request()),
        lambda: page.delete_conversation(None, "c", ALICE_BROWSER, request()),
    ):
        assert handler() == {page.history_note: CHOOSE}
    assert "not ready" in page.open_conversation("c", None, request())[page.history_note]


# ---------------------------------------------------------------- regenerate and edit


def test_regenerate_replaces_the_last_answer_with_a_new_record(
    advisor: Advisor, audit: AuditLog, store: ConversationStore
) -> None:
    page = chat_page(advisor, audit, store)
    tab = Session(page, ALICE_BROWSER)
    tab.ask(CRIMEA)
    two = dict(tab.ask(FOLLOW_UP))
    old = dict(two[page.records])
    again = tab.regenerate()
    assert len(again[page.chat]) == len(two[page.chat])
    assert again[page.chat][:-2] == two[page.chat][:-2]  # the first turn and the question
    assert [m["content"] for m in again[page.chat] if m["role"] == "user"] == [CRIMEA, FOLLOW_UP]
    assert len(again[page.answers]) == 2 and "#src-2-" in again[page.chat][-2]["content"]
    records = again[page.records]
    assert set(records) == set(old)
    assert records["1"] == old["1"] and records["2"] == old["2"]  # the first answer's
    last = [k for k in records if int(k) > 3]
    assert last and all(records[k] != old[k] for k in last)  # the new answer's own record
    assert len({records[k] for k in last}) == 1
    assert [c for c, _, _ in channels(audit)] == ["ui", "ui", "ui"]
    saved = store.open(f"browser:{ALICE_BROWSER}", tab.conversation)
    assert saved is not None and saved.records == records and len(saved.answers) == 2
    assert again[page.sources].count("Question 2") == 1


def test_editing_the_last_question_replaces_its_answer(
    advisor: Advisor, audit: AuditLog, store: ConversationStore
) -> None:
    page = chat_page(advisor, audit, store)
    tab = Session(page, ALICE_BROWSER)
    one = dict(tab.ask(CRIMEA))
    tab.ask(FOLLOW_UP)
    edited = tab.edit(user_positions(tab.state[page.chat])[-1], PANCAKES)
    chat = edited[page.chat]
    assert chat[: len(one[page.chat])] == one[page.chat]
    assert [m["content"] for m in chat if m["role"] == "user"] == [CRIMEA, PANCAKES]
    (first, second) = (Answer.model_validate(a) for a in edited[page.answers])
    assert first.level.value == "prohibited" and second.question == PANCAKES
    assert "data-level" in edited[page.level_panel]
    assert "Question 2" in edited[page.sources] and FOLLOW_UP not in edited[page.sources]
    assert all(int(k) < len(chat) for k in edited[page.records])
    assert len(channels(audit)) == 3
    saved = store.open(f"browser:{ALICE_BROWSER}", tab.conversation)
    assert saved is not None and [a.question for a in saved.answers] == [CRIMEA, PANCAKES]


def test_editing_an_earlier_question_drops_everything_after_it(
    advisor: Advisor, audit: AuditLog, store: ConversationStore
) -> None:
    page = chat_page(advisor, audit, store)
    tab = Session(page, ALICE_BROWSER)
    tab.ask(PANCAKES)
    tab.ask(FOLLOW_UP)
    edited = tab.edit(0, CRIMEA)
    chat = edited[page.chat]
    assert user_positions(chat) == [0] and chat[0]["content"] == CRIMEA
    assert len(edited[page.answers]) == 1 and "#src-1-" in chat[1]["content"]
    assert set(edited[page.records]) == {str(i) for i in range(1, len(chat))}
    assert "Question 2" not in edited[page.sources]
    ((label, _),) = tab.choices()
    assert label.startswith(CRIMEA + " · 1 answer")  # the title follows the first question


def test_an_edit_that_cannot_be_asked_keeps_the_text_in_the_box(
    advisor: Advisor, audit: AuditLog, store: ConversationStore
) -> None:
    page = chat_page(advisor, audit, store)
    tab = Session(page, ALICE_BROWSER)
    one = dict(tab.ask(CRIMEA))
    tab.ask(FOLLOW_UP)
    edited = tab.edit(user_positions(tab.state[page.chat])[-1], "   ")
    assert edited[page.box] == "   " and edited[page.chat][-1]["content"].startswith("⚠️ ")
    assert edited[page.answers] == one[page.answers] and edited[page.records] == one[page.records]


def test_retry_or_edit_of_a_message_that_is_not_a_question_changes_nothing(
    advisor: Advisor, audit: AuditLog, store: ConversationStore
) -> None:
    page = chat_page(advisor, audit, store)
    tab = Session(page, ALICE_BROWSER)
    shown = tab.ask(CRIMEA)[page.chat]
    data = gr.RetryData(None, {"index": 1, "value": "x"})
    (only,) = list(page.regenerate(*tab._args(), data))
    assert only == {page.chat: shown}
    data = gr.RetryData(None, {"index": 99, "value": "x"})
    assert list(page.regenerate(*tab._args(), data)) == [{page.chat: shown}]
    assert len(channels(audit)) == 1


# ---------------------------------------------------------------- a broken store


def test_a_damaged_history_file_is_reported_and_the_chat_still_answers(
    advisor: Advisor, audit: AuditLog, tmp_path: Path
) -> None:
    path = tmp_path / FILE_NAME
    path.write_bytes(b"garbage, not SQLite " * 100)
    page = chat_page(advisor, audit, ConversationStore(path))
    loaded = page.load_history(None, request())
    assert (
        "is damaged" in loaded[page.history_note] and "still answers" in loaded[page.history_note]
    )
    tab = Session(page, ALICE_BROWSER)
    done = tab.ask(CRIMEA)
    assert 'data-level="prohibited"' in done[page.level_panel] and len(done[page.answers]) == 1
    assert "is damaged" in tab.listed[page.history_note]
    assert page.history_list not in tab.listed  # the list is left as it was
    assert "is damaged" in tab.open("c")[page.history_note]
    assert "is damaged" in tab.delete("c")[page.history_note]


def test_without_a_store_the_panel_is_hidden_and_nothing_is_saved(
    advisor: Advisor, audit: AuditLog
) -> None:
    page = chat_page(advisor, audit, None)
    assert page.history_panel.visible is False
    tab = Session(page, ALICE_BROWSER)
    tab.ask(CRIMEA)
    assert tab.listed == {page.history_note: gr.skip()}


# ---------------------------------------------------------------- wiring


def test_retry_edit_and_every_ask_are_followed_by_the_scroll_and_a_save(
    advisor: Advisor, store: ConversationStore
) -> None:
    page = ChatPage(AnsweringService(advisor, None), advisor.settings.office_contact, store)
    with gr.Blocks() as demo:
        page.build()
        page.wire()
        page.wire_load(demo)
    fns = list(demo.fns.values())
    assert page.chat.editable == "user"
    for handler, count in ((page.respond, 2), (page.regenerate, 1), (page.edit, 1)):
        ids = [fid for fid, d in demo.fns.items() if d.fn == handler]
        assert len(ids) == count, handler
        for fid in ids:
            after = [d for d in fns if d.trigger_after == fid]
            assert sorted(str(d.fn) for d in after) == sorted([str(None), str(page.save)])
            assert any(d.js == SHOW_ANSWER_JS for d in after)
    targets = {(t[1], d.fn) for d in fns for t in d.targets}
    assert ("retry", page.regenerate) in targets and ("edit", page.edit) in targets
    assert ("load", page.load_history) in targets
    (opening,) = [d for d in fns if d.fn == page.open_conversation]
    reset = [d for d in fns if d.fn == page.clear][0]
    assert {o._id for o in reset.outputs} <= {o._id for o in opening.outputs}
    assert page.history_list in page.clear()
