"""The Compliance tab's and the login's messages and tables, from the services' results.

File names, YAML, error messages and user input reach the page only through ``md_text`` here,
so none of it can turn into markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from advisor.records.auth import HOW_TO_CONFIGURE, wait_text
from advisor.services.documents import DocumentRow, Published, Retired, Staged, Synced
from advisor.services.feedback import FeedbackItem
from advisor.services.rules_admin import RulesSaved, RulesStatus, RulesSummary, RuleUpload
from advisor.services.screening_list import ListReplaced, ListStatus, ListSummary
from advisor.services.users import LoginOutcome, LoginResult, UsersProblem, UsersState

DOCUMENT_HEADERS = [
    "Source",
    "Title",
    "Type",
    "Jurisdiction",
    "Version",
    "Effective date",
    "Chunks",
    "Origin",
]
CHOOSE_A_FILE = "⚠️ Choose a file first."
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


def staged(s: Staged) -> str:
    m = s.doc_meta
    facts = [
        f"**{md_text(s.title)}** (`{s.name}`)",
        f"- type {m.doc_type}, jurisdiction {m.jurisdiction}"
        + (f", version {m.version}" if m.version else "")
        + (f", effective {m.effective_date}" if m.effective_date else ""),
        f"- {s.pages} page(s) with text, {s.chunks} chunk(s) to index",
    ]
    if m.topics:
        facts.append(f"- topics: {', '.join(m.topics)}")
    if m.source_refs:
        facts.append(f"- source references: {', '.join(m.source_refs)}")
    if s.warnings:
        facts.append("\n**Warnings**\n" + "\n".join(f"- ⚠️ {md_text(w)}" for w in s.warnings))
    quoted = "\n".join(f"> {md_text(line)}" for line in s.excerpt.splitlines() if line.strip())
    return "\n".join(facts) + ("\n\n**Start of the extracted text**\n\n" + quoted)


def preview(s: Staged) -> str:
    return "**Preview (not published yet)**\n\n" + staged(s)


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


def document_table(rows: Sequence[DocumentRow]) -> list[list[object]]:
    """The documents table, in the columns of DOCUMENT_HEADERS."""
    return [
        [
            r.source,
            r.title,
            r.doc_type,
            r.jurisdiction,
            r.version,
            r.effective_date,
            r.chunks,
            r.origin,
        ]
        for r in rows
    ]


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
    return [item.cells() for item in items]


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
