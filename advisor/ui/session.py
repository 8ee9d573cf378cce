"""One browser session's compliance login, shared by every admin page.

The session owns the login token (a server-side ``gr.State`` the client cannot forge), the
login form on each locked tab, and the sign-in and sign-out events. Pages do not wire those
events themselves: they subscribe what to update (kotaemon's pattern), and the session chains
every subscriber after its own handler with ``.then``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.blocks import Block

from advisor.records.auth import LoginThrottle
from advisor.records.sink import AuditSink
from advisor.services.users import Login, LoginOutcome, Sessions, users_state
from advisor.settings import Settings
from advisor.ui.render import admin as render

# What every handler returns: the new value (or gr.update / gr.skip) of each component it
# changes; outputs it leaves out stay as they are.
Updates = dict[Block, Any]


def unchanged(*blocks: Block) -> Updates:
    """An update that changes nothing (Gradio needs at least one entry to read a dict)."""
    return {block: gr.skip() for block in blocks}


@dataclass
class LoginForm:
    """One locked tab: the login form shown until sign-in, the content shown after."""

    prefix: str
    box: gr.Column
    name: gr.Textbox
    password: gr.Textbox
    button: gr.Button
    message: gr.Markdown
    content: gr.Column
    who: gr.Markdown
    logout: gr.Button


@dataclass(frozen=True)
class Subscriber:
    """A page's handler run after sign-in (given the token) or sign-out (given nothing)."""

    fn: Callable[..., Updates]
    outputs: tuple[Block, ...]


class AdminSession:
    """Login state and its events; ``build()`` inside the Blocks before the tabs, ``gate()``
    inside each locked tab, and ``wire()`` after every page has subscribed."""

    def __init__(
        self,
        settings: Settings,
        audit: AuditSink | None = None,
        *,
        throttle: LoginThrottle | None = None,
        sessions: Sessions | None = None,
    ) -> None:
        self.login = Login(settings, audit, throttle)
        self.sessions = sessions or Sessions.from_settings(settings, audit)
        self.locked_note = render.users_note(users_state(settings))
        self.forms: list[LoginForm] = []
        self._sign_in: list[Subscriber] = []
        self._sign_out: list[Subscriber] = []

    # ------------------------------------------------------------------ layout

    def build(self) -> None:
        self.token = gr.State(None)

    @contextmanager
    def gate(self, prefix: str) -> Iterator[LoginForm]:
        """The login form, then a hidden column for the tab's content (built in the block)."""
        locked = self.locked_note is not None
        with gr.Column(elem_id=f"{prefix}-login") as box:
            gr.Markdown(self.locked_note or "Log in with your compliance account to use this tab.")
            with gr.Row(visible=not locked):
                name = gr.Textbox(
                    label="User name", elem_id=f"{prefix}-user", max_lines=1, autofocus=False
                )
                password = gr.Textbox(
                    label="Password", type="password", elem_id=f"{prefix}-password", max_lines=1
                )
            button = gr.Button(
                "Log in", variant="primary", elem_id=f"{prefix}-login-button", visible=not locked
            )
            message = gr.Markdown(elem_id=f"{prefix}-login-message")
        with gr.Column(visible=False, elem_id=f"{prefix}-content") as content:
            with gr.Row():
                who = gr.Markdown(elem_id=f"{prefix}-who")
                logout = gr.Button("Log out", size="sm", elem_id=f"{prefix}-logout", scale=0)
            form = LoginForm(prefix, box, name, password, button, message, content, who, logout)
            self.forms.append(form)
            yield form

    # ------------------------------------------------------------------ who is signed in

    def user(self, token: str | None) -> str | None:
        """The session's user; a session that just timed out is recorded and ended."""
        check = self.sessions.check(token)
        if check.ended is not None:
            raise gr.Error(
                f"You were logged out: {check.ended}. Log out, then log in again.",
                print_exception=False,
            )
        return check.user

    def need(self, token: str | None) -> str:
        """The signed-in user, or an error: every action checks, hidden content or not."""
        who = self.user(token)
        if not who:
            raise gr.Error("Log in first: this session is not logged in.", print_exception=False)
        return who

    # ------------------------------------------------------------------ subscriptions

    def subscribe_sign_in(self, fn: Callable[[str | None], Updates], *outputs: Block) -> None:
        """Run ``fn(token)`` after every login attempt; it must skip when nobody signed in."""
        self._sign_in.append(Subscriber(fn, outputs))

    def subscribe_sign_out(self, fn: Callable[[], Updates], *outputs: Block) -> None:
        """Run ``fn()`` after a logout, to clear what the page showed."""
        self._sign_out.append(Subscriber(fn, outputs))

    # ------------------------------------------------------------------ handlers

    def on_login(self, name: str, password: str, request: gr.Request) -> Updates:
        client = request.client if request is not None else None
        source = client.host if client is not None else None
        result = self.login.attempt(name, password, source)
        user = result.user if result.outcome is LoginOutcome.SIGNED_IN else None
        token = None if user is None else self.sessions.open(user, source)
        return {self.token: token} | self._forms_shown(
            user is not None, render.login_message(result), render.signed_in_as(user)
        )

    def on_logout(self, token: str | None) -> Updates:
        self.sessions.close(token)
        return {self.token: None} | self._forms_shown(False, "Logged out.", "")

    def _forms_shown(self, signed_in: bool, message: str, who: str) -> Updates:
        updates: Updates = {}
        for form in self.forms:
            updates[form.password] = ""
            updates[form.box] = gr.update(visible=not signed_in)
            updates[form.content] = gr.update(visible=signed_in)
            updates[form.message] = message
            updates[form.who] = who
        return updates

    # ------------------------------------------------------------------ events

    def _outputs(self) -> list[Block]:
        shown = [(f.password, f.box, f.content, f.message, f.who) for f in self.forms]
        return [self.token, *(block for blocks in shown for block in blocks)]

    def wire(self) -> None:
        """Login and logout on every form, each followed by its subscribers in order."""
        outputs = self._outputs()
        for form in self.forms:
            for trigger in (form.button.click, form.password.submit):
                event = trigger(
                    self.on_login,
                    inputs=[form.name, form.password],
                    outputs=outputs,
                    api_visibility="private",
                )
                for sub in self._sign_in:
                    event = event.then(
                        sub.fn,
                        inputs=[self.token],
                        outputs=list(sub.outputs),
                        api_visibility="private",
                    )
        for form in self.forms:
            event = form.logout.click(
                self.on_logout, inputs=[self.token], outputs=outputs, api_visibility="private"
            )
            for sub in self._sign_out:
                event = event.then(sub.fn, outputs=list(sub.outputs), api_visibility="private")
