"""The Compliance tab's and the login's messages and tables, from the services' results.

File names, YAML, error messages and user input reach the page only through ``md_text`` here,
so none of it can turn into markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from advisor.records.auth import HOW_TO_CONFIGURE, wait_text
from advisor.services.documents import (
    ChunkPreview,
    DocumentDetail,
    DocumentRow,
    Existing,
    Published,
    Retired,
    Staged,
    Synced,
    missing_message,
)
from advisor.services.feedback import CitedPassage, ConversationTurn, FeedbackDetail, FeedbackItem
from advisor.services.rules_admin import RulesSaved, RulesStatus, RulesSummary, RuleUpload
from advisor.services.screening_list import ListReplaced, ListStatus, ListSummary
from advisor.services.users import LoginOutcome, LoginResult, UsersProblem, UsersState

# Three columns fit a phone: when, what (title over version and owner), where. Selecting a
# row shows everything else.
DOCUMENT_HEADERS = ["Updated", "Document", "Source"]  # times in UTC, as the label says
DOCUMENT_TYPES: list[Literal["str", "markdown"]] = ["str", "markdown", "str"]
DOCUMENT_WIDTHS: list[str | int] = ["24%", "41%", "35%"]
SOURCE_COLUMN = DOCUMENT_HEADERS.index("Source")
# Time and level share a column so the question and the comment get the width on a phone.
FEEDBACK_HEADERS = ["Time (UTC), level", "Question", "Comment"]
FEEDBACK_TYPES: list[Literal["str", "markdown"]] = ["markdown", "str", "str"]
FEEDBACK_WIDTHS: list[str | int] = ["22%", "36%", "42%"]
CHOOSE_A_FILE = "⚠️ Choose a file first."
SELECT_A_DOCUMENT = "Select a row to see all of that document's metadata."
SELECT_FEEDBACK = "Select a row to open the answer, its sources and its conversation."
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]#|~])")


def md_text(value: object) -> str:
    """Literal text inside Markdown: file names, YAML and user input must not become markup."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(str(value), quote=False))


# --------------------------------------------------------------------------- problems


def warn(exc: BaseException) -> str:
    return f"⚠️ {md_text(exc)}"


def unexpected(action: str, exc: BaseException) -> str:
    return f"⚠️ {action} failed and was undone: {md_text(type(exc).__name__)}: {md_text(exc)}"


def failure(headline: str, exc: BaseException) -> str:
    """One bullet per problem: validation errors join several with "; " and wrap badly."""
    problems = [p.strip() for p in str(exc).split("; ") if p.strip()]
    return f"❌ **{headline}**\n\n" + "\n".join(f"- {md_text(p)}" for p in problems)


def audit_note(problem: str | None) -> str:
    """Appended to a change's message when its audit event could not be recorded."""
    if problem is None:
        return ""
    return f"\n\n⚠️ The change was made but not recorded in the audit trail: {md_text(problem)}"


# --------------------------------------------------------------------------- documents


def _stamp(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else ""


def _chunk_line(n: int, c: ChunkPreview) -> str:
    where = [md_text(c.heading_path) if c.heading_path else "(no heading)"]
    where += [md_text(c.section)] if c.section else []
    where += [f"page {c.page}"] if c.page else []
    return f"{n}. *{' · '.join(where)}*\n\n    > {md_text(c.text)}"


def _replaces(existing: Existing | None, name: str) -> str:
    if existing is None:
        return f"- new document: corpus/uploads/{md_text(name)} (replaces nothing)"
    what = md_text(existing.title) if existing.title else "a file"
    version = f", version {md_text(existing.version)}" if existing.version else ""
    where = "" if existing.indexed else " (on disk, not indexed)"
    return (
        f"- ⚠️ **replaces** {md_text(existing.source)}: {what}{version}{where}. Tick "
        "“Replace” to publish this version in its place."
    )


def staged(s: Staged) -> str:
    m = s.doc_meta
    facts = [
        f"**{md_text(s.title)}** (`{s.name}`)",
        f"- type {m.doc_type}, jurisdiction {m.jurisdiction}"
        + (f", version {md_text(m.version)}" if m.version else "")
        + (f", effective {m.effective_date}" if m.effective_date else "")
        + (f", owner {md_text(m.owner)}" if m.owner else ""),
        f"- {s.pages} page(s) with text, {s.chunks} chunk(s) to index",
    ]
    if m.topics:
        facts.append(f"- topics: {md_text(', '.join(m.topics))}")
    if m.source_refs:
        facts.append(f"- source references: {md_text(', '.join(m.source_refs))}")
    if s.sha256:
        facts.append(f"- sha256 {s.sha256}")  # plain text: it wraps on a phone, code does not
    facts.append(_replaces(s.replaces, s.name))
    if s.warnings:
        facts.append("\n**Warnings**\n" + "\n".join(f"- ⚠️ {md_text(w)}" for w in s.warnings))
    if s.first_chunks:
        shown = len(s.first_chunks)
        lines = [_chunk_line(i, c) for i, c in enumerate(s.first_chunks, start=1)]
        facts.append(f"\n**First {shown} of {s.chunks} chunk(s)**\n\n" + "\n".join(lines))
    return "\n".join(facts)


def preview(s: Staged) -> str:
    if s.ready:
        status = "✅ **Ready to publish** exactly this file and metadata: press “Publish”."
    else:
        status = f"⚠️ **Not ready to publish.** {md_text(missing_message(s.name, s.missing))}"
    return f"**Preview (not published yet)**\n\n{status}\n\n" + staged(s)


def published(p: Published) -> str:
    verb = "Replaced" if p.replaced else "Published"
    return (
        f"✅ {verb} `{p.source}`: {p.staged.chunks} chunk(s) from "
        f"{p.staged.pages} page(s); the index holds {p.report.documents} documents, "
        f"{p.report.chunks} chunks.\n\n{staged(p.staged)}{audit_note(p.audit_failure)}"
    )


def retired(r: Retired) -> str:
    what = "removed from the index" if r.removed else "was not indexed"
    return f"✅ Retired `{r.source}`: file deleted, {what}.{audit_note(r.audit_failure)}"


def synced(s: Synced) -> str:
    report = s.report
    lines = [
        f"✅ Sync done: added {report.added}, updated {report.updated}, unchanged "
        f"{report.unchanged}, removed {report.removed}; the index holds {report.documents} "
        f"documents, {report.chunks} chunks."
    ]
    lines += [f"- ⚠️ skipped: {md_text(x)}" for x in report.skipped]
    lines += [f"- ⚠️ {md_text(w)}" for w in report.warnings]
    return "\n".join(lines) + audit_note(s.audit_failure)


def document_cell(r: DocumentRow) -> str:
    """The title, and under it the version and owner (Markdown, escaped)."""
    facts = [f"version {md_text(r.version)}" if r.version else "no version"]
    facts.append(md_text(r.owner) if r.owner else "no owner")
    return f"**{md_text(r.title or r.source)}**\n{' · '.join(facts)}"


def document_table(rows: Sequence[DocumentRow]) -> list[list[object]]:
    """The documents table, in the columns of DOCUMENT_HEADERS."""
    return [[_stamp(r.updated), document_cell(r), r.source] for r in rows]


def document_count(shown: int, total: int, query: str | None) -> str:
    if query and query.strip():
        return f"{shown} of {total} documents match “{md_text(query.strip())}”."
    return f"{total} documents in the index, newest first."


def document_detail(d: DocumentDetail) -> str:
    """Every field of one document, as a list that wraps at any width."""
    r = d.row
    published = (
        f"{_stamp(r.published_at)} UTC by {md_text(r.published_by or 'unknown')}"
        if r.published_at
        else "not published here (shipped in the corpus folder, or published before records)"
    )

    def value(text: object) -> str:
        return md_text(text) if text not in (None, "", ()) else "—"

    fields = [
        ("Source", f"{md_text(r.source)} ({r.origin})"),
        ("Type", value(r.doc_type)),
        ("Jurisdiction", value(r.jurisdiction)),
        ("Topics", value(", ".join(r.topics))),
        ("Source references", value(", ".join(r.source_refs))),
        ("Effective date", value(r.effective_date)),
        ("Version", value(r.version)),
        ("Owner", value(r.owner)),
        ("sha256", d.sha256 or "— (the file is missing on disk)"),
        ("Chunks", f"{r.chunks}" + ("" if r.complete else " (incomplete: run a sync)")),
        ("Updated", f"{_stamp(r.updated)} UTC" if r.updated else "—"),
        ("Published", published),
    ]
    lines = [f"- **{name}:** {text}" for name, text in fields]
    return f"#### {md_text(r.title or r.source)}\n\n" + "\n".join(lines)


# --------------------------------------------------------------------------- rules


def rules_summary(s: RulesSummary) -> str:
    return (
        f"{s.places} places, {s.triggers} triggers, {s.rules} rules, "
        f"{s.groups} country groups (digest `{s.digest}`)"
    )


def rules_valid(s: RulesSummary) -> str:
    return f"✅ Valid. With this file the rules would be: {rules_summary(s)}."


def rules_saved(saved: RulesSaved) -> str:
    if not saved.changed:
        return f"No change: {saved.file} already has this content."
    note = audit_note(saved.audit_failure)
    if not saved.taken:
        return (
            f"⚠️ {saved.file} was saved but the rules could not be reloaded; the previous rules "
            f"stay in force: {md_text(saved.error)}{note}"
        )
    return f"✅ Saved {saved.file}; now in force: {rules_summary(saved.in_force)}.{note}"


def rules_status(status: RulesStatus) -> str:
    text = f"**Rules in force:** {rules_summary(status.in_force)}."
    if status.error:
        problems = "\n".join(f"- {md_text(p)}" for p in status.error.split("; ") if p.strip())
        text += (
            "\n\n⚠️ **A rule file on disk is invalid; the last good rules stay in force.** "
            f"Fix or replace it:\n\n{problems}"
        )
    return text


def rule_upload(upload: RuleUpload) -> str:
    return (
        f"Loaded `{upload.original}` into the editor as `{upload.name}`: validate, then save "
        "to apply."
    )


# --------------------------------------------------------------------------- screening list


def list_summary(s: ListSummary) -> str:
    lists = ", ".join(f"{code} {n}" for code, n in s.codes)
    return f"{s.entries} entries ({lists})" + (
        " — a SAMPLE list, not the real CSL" if s.sample else ""
    )


def list_valid(s: ListSummary) -> str:
    return f"✅ Valid: {list_summary(s)}."


def list_replaced(r: ListReplaced) -> str:
    return f"✅ Screening list replaced: {list_summary(r.summary)}.{audit_note(r.audit_failure)}"


def list_status(status: ListStatus) -> str:
    if status.file is None or status.summary is None:
        return "No screening list is loaded (ADVISOR_SCREENING_PATH); upload one to start."
    text = f"**List in use:** `{status.file}`, {list_summary(status.summary)}."
    if status.error:
        text += (
            "\n\n⚠️ **The list file changed but cannot be read; the last good list is in use:** "
            f"{md_text(status.error)}"
        )
    return text


# --------------------------------------------------------------------------- feedback


def feedback_table(items: Sequence[FeedbackItem]) -> list[list[str]]:
    """The review table, in the columns of FEEDBACK_HEADERS; the detail shows the rest."""
    return [
        [f"{md_text(i.time[:16])}\n**{md_text(i.level.upper())}**", i.question, i.comment]
        for i in items
    ]


def _quote(text: str) -> str:
    return "\n".join(f"> {md_text(line)}" if line.strip() else ">" for line in text.splitlines())


def _answer_markdown(text: str) -> str:
    """The answer as the chat showed it (our writer's Markdown), raw HTML escaped."""
    return "\n".join(f"> {html.escape(line, quote=False)}" for line in text.splitlines())


def _passage(c: CitedPassage) -> str:
    where = [md_text(x) for x in (c.section,) if x]
    where += [f"page {c.page}"] if c.page else []
    where += [md_text(c.source)]
    where += [f"version {md_text(c.version)}"] if c.version else []
    where += [f"effective {md_text(c.effective_date)}"] if c.effective_date else []
    if c.kind == "determination":
        head = f"**[{c.n}] Curated determination** `{md_text(c.label)}`"
        return f"{head} · {' · '.join(where)}"
    if c.kind == "attachment":
        return (
            f"**[{c.n}] A file the user attached:** {md_text(c.label)}\n\n_Attachments are not "
            "kept, so the clause is only in the answer text._"
        )
    head = f"**[{c.n}] {md_text(c.title)}**" if c.title else f"**[{c.n}]**"
    if c.text is None:
        return (
            f"{head} · {' · '.join(where)}\n\n_This passage is no longer in the index: its "
            "document was changed or retired since._"
        )
    return f"{head} · {' · '.join(where)}\n\n{_quote(c.text)}"


def _turn(i: int, t: ConversationTurn) -> str:
    """One numbered item: the question, who asked where and when, the level and bottom line
    (lines broken with two trailing spaces, which Markdown keeps inside a list item)."""
    who = " · ".join(md_text(x) for x in (t.time, t.channel or "channel not recorded", t.user) if x)
    mark = " (**the disliked answer**)" if t.disliked else ""
    lead = f": {md_text(t.bottom_line)}" if t.bottom_line else " (no bottom line)"
    return (
        f"{i}. **{md_text(t.question)}**{mark}  \n   {who}  \n"
        f"   **{md_text(t.level.upper() or '?')}**{lead}"
    )


def feedback_detail(d: FeedbackDetail) -> str:
    """The disliked answer, its sources and its conversation, in one readable column."""
    a, item = d.answer, d.item
    said = md_text(item.comment) if item.comment else "_no comment_"
    by = md_text(item.user) if item.user else "anonymous"
    where = " · ".join(md_text(x) for x in (a.time[:19].replace("T", " "), a.channel, a.model) if x)
    parts = [
        f"#### Thumbs down: {said}",
        f"Feedback of {md_text(item.time)} UTC by {by}.",
        "#### The answer",
        f"- **Question:** {md_text(a.question or '')}",
        f"- **Bottom line:** {md_text(d.bottom_line) if d.bottom_line else '—'}",
        f"- **Level:** {md_text((a.level or '?').upper())}"
        + ("" if a.in_scope is not False else " (out of scope)"),
        f"- **Answered:** {where}",
        "",
        "**Answer text**",
        "",
        _answer_markdown(a.answer or ""),
        f"#### Sources ({len(d.sources)})",
        "\n\n".join(_passage(c) for c in d.sources) or "_The answer cited no passages._",
        f"#### Conversation ({len(d.conversation)} answer(s), in order)",
        "\n".join(_turn(i, t) for i, t in enumerate(d.conversation, start=1)),
    ]
    return "\n\n".join(parts)


def feedback_count(items: Sequence[FeedbackItem]) -> str:
    if not items:
        return "No thumbs-down answers match these filters."
    return f"{len(items)} thumbs-down answer(s)."


# --------------------------------------------------------------------------- login


def users_note(state: UsersState) -> str | None:
    """None when users are configured, else what to tell the visitor of a locked tab."""
    if state.problem is UsersProblem.INVALID:
        return (
            f"⚠️ The users configuration is invalid: {md_text(state.detail)}\n\n{HOW_TO_CONFIGURE}"
        )
    if state.problem is UsersProblem.NONE_CONFIGURED:
        return "**No users are configured, so these tabs are locked.** " + HOW_TO_CONFIGURE
    return None


def login_message(result: LoginResult) -> str:
    """What the login form says after an attempt; nothing after a successful one."""
    wrong = "⚠️ Wrong user name or password."
    match result.outcome:
        case LoginOutcome.SIGNED_IN:
            return ""
        case LoginOutcome.WRONG:
            return wrong
        case LoginOutcome.LOCKED_NOW:
            return (
                f"{wrong} Too many failed attempts from your address; "
                f"try again in {wait_text(result.seconds)}."
            )
        case LoginOutcome.WAIT:
            again = wait_text(result.seconds)
            return f"⚠️ Too many failed attempts from your address; try again in {again}."
        case LoginOutcome.NO_USERS:
            return "No users are configured. " + HOW_TO_CONFIGURE
        case LoginOutcome.USERS_INVALID:
            return f"⚠️ The users configuration is invalid: {md_text(result.detail)}"


def signed_in_as(user: str | None) -> str:
    return f"Logged in as **{html.escape(user)}**." if user else ""
