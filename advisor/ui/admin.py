"""Compliance and Evaluation tabs: documents, rules, screening list, feedback and eval runs.

Every action is a plain function taking explicit arguments (testable without a browser); the
Gradio wiring at the bottom only checks the session's login, shows progress and renders.
Changes are made so that a failure leaves the index, the rules and the list as they were, and
each change is recorded in the audit trail with the user who made it.
"""

from __future__ import annotations

import csv
import hashlib
import html
import logging
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, get_args, runtime_checkable

import yaml
from anyascii import anyascii
from pydantic import ValidationError

from advisor import evaluation as ev
from advisor.chain import build_ingestor
from advisor.corpus.ingest import (
    PDF_SUFFIXES,
    SUPPORTED,
    DocumentLimits,
    check_chunk_budget,
    load_document,
    source_name,
)
from advisor.errors import AdvisorError, InputError, RulesError
from advisor.models import DocMeta, DocType, IngestReport, Jurisdiction, Level
from advisor.records.auth import (
    HOW_TO_CONFIGURE,
    AdminSessions,
    LoginThrottle,
    UsersConfigError,
    check_login,
    load_users,
    wait_text,
)
from advisor.rules.escalation import RuleSet, load_rule_file
from advisor.screening import Party, Screener, load_screening_list

if TYPE_CHECKING:
    from advisor.chain import Advisor
    from advisor.records.audit import FeedbackRow

log = logging.getLogger(__name__)

MB = 1024 * 1024
DEFAULT_MAX_UPLOAD_MB = 20
SCREENING_MAX_MB = 60  # the full Consolidated Screening List JSON is tens of MB
RULES_MAX_BYTES = 2 * MB
UPLOADS = "uploads"
DOC_TYPES: tuple[str, ...] = get_args(DocType)
JURISDICTIONS: tuple[str, ...] = get_args(Jurisdiction)
RULE_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}\.ya?ml$")
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
FEEDBACK_HEADERS = ["Time (UTC)", "Level", "Question", "Sources", "Comment", "User", "Record"]
GATE_HEADERS = ["Metric", "Baseline", "Current", "Limit", "Result"]
FAILING_HEADERS = ["Case", "Expected", "Got", "Failed checks", "Question", "Answer"]
ANSWER_CHARS = 1500

# One writer at a time: two publishes or a publish and a sync must not interleave on the index.
_WRITE_LOCK = threading.RLock()

Progress = Callable[..., Any]


@runtime_checkable
class AuditLike(Protocol):
    """What these tabs need from ``advisor.records.audit.AuditLog``."""

    def record_event(self, kind: str, detail: dict, user: str | None) -> Any: ...

    def feedback(
        self,
        rating: Any = None,
        since: Any = None,
        level: Any = None,
        contains: Any = None,
    ) -> list[Any]: ...


def _step(progress: Progress | None, fraction: float, desc: str) -> None:
    if progress is not None:
        progress(fraction, desc=desc)


def _record(audit: AuditLike | None, kind: str, detail: dict[str, Any], user: str | None) -> str:
    """Record an event; a failure is reported, not raised: the change itself already happened."""
    if audit is None:
        return ""
    try:
        audit.record_event(kind, detail, user)
    except Exception as exc:  # the audit store is another component; say so, do not hide it
        log.exception("audit event %s not recorded", kind)
        problem = md_text(exc)
        return f"\n\n⚠️ The change was made but not recorded in the audit trail: {problem}"
    return ""


def sha256_bytes(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def atomic_write(target: Path, data: bytes) -> None:
    """Readers (the rules engine, the screener) see the old file or the new one, never half."""
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    # The temporary name ends in .tmp, so the rules engine's *.yaml globs never see it.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _within(path: Path, folder: Path) -> bool:
    """Lexical check (no symlink resolution), so a link is judged by where it sits."""
    return Path(os.path.abspath(path)).is_relative_to(Path(os.path.abspath(folder)))


def _relabel(exc: object, mapping: dict[str, str]) -> str:
    """Error messages name temporary copies; show the names the user knows instead."""
    text = str(exc)
    for old, new in sorted(mapping.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(old, new)
    return text


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]#|~])")


def md_text(value: object) -> str:
    """Literal text inside Markdown: file names, YAML and user input must not become markup."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(str(value), quote=False))


# --------------------------------------------------------------------------- documents


def max_upload_bytes(settings: Any) -> int:
    return int(float(getattr(settings, "max_upload_mb", None) or DEFAULT_MAX_UPLOAD_MB) * MB)


def safe_name(filename: str) -> str:
    """A file name that is safe on disk and that a later full sync will not skip."""
    base = Path(filename.replace("\\", "/")).name
    # Transliterate rather than drop: "файл.md" becomes "fail.md", not ".md".
    folded = anyascii(unicodedata.normalize("NFKC", base))
    suffix = Path(folded).suffix.lower()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", folded[: len(folded) - len(suffix)])
    stem = re.sub(r"-{2,}", "-", stem).strip(".-_").lower()[:80] or "document"
    if stem == "readme" or stem.endswith(".meta"):  # discover() skips READMEs; .meta is ours
        stem += "-doc"
    return stem + suffix


def check_upload(path: Path, display_name: str, max_bytes: int) -> str:
    """Refuse a file before anything is stored: name and content must agree, size in limit.

    Returns "pdf" or "text". PDF validity (encryption, text layer) is checked by loading it.
    """
    suffix = Path(display_name).suffix.lower()
    if suffix not in SUPPORTED:
        raise InputError(
            f"{display_name}: {suffix or 'files without an extension'} cannot be published; "
            "upload a PDF, Markdown (.md) or text (.txt) file"
        )
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        raise InputError(f"{display_name}: the upload cannot be read ({exc.strerror})") from exc
    if size == 0:
        raise InputError(f"{display_name}: the file is empty")
    if size > max_bytes:
        raise InputError(
            f"{display_name}: {size / MB:.1f} MB is over the upload limit of "
            f"{max_bytes / MB:.0f} MB (ADVISOR_MAX_UPLOAD_MB)"
        )
    looks_pdf = b"%PDF-" in head
    if suffix in PDF_SUFFIXES:
        if not looks_pdf:
            raise InputError(
                f"{display_name}: named .pdf but the content is not a PDF (no %PDF- header)"
            )
        return "pdf"
    if looks_pdf:
        raise InputError(f"{display_name}: the content is a PDF; name the file .pdf")
    data = path.read_bytes()
    if b"\x00" in data:
        raise InputError(f"{display_name}: binary content in a {suffix} file; expected text")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{display_name}: not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from exc
    return "text"


def _split_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(x).strip() for x in items if str(x).strip()]


def build_meta(
    title: str | None = None,
    doc_type: str | None = None,
    jurisdiction: str | None = None,
    topics: str | Sequence[str] | None = None,
    source_refs: str | Sequence[str] | None = None,
    effective_date: str | None = None,
    version: str | None = None,
    owner: str | None = None,
) -> dict[str, Any]:
    """The sidecar metadata from form fields; empty fields are left to the loader's defaults."""
    meta: dict[str, Any] = {
        "title": (title or "").strip(),
        "doc_type": (doc_type or "").strip(),
        "jurisdiction": (jurisdiction or "").strip(),
        "topics": _split_list(topics),
        "source_refs": _split_list(source_refs),
        "effective_date": (effective_date or "").strip(),
        "version": (version or "").strip(),
        "owner": (owner or "").strip(),
    }
    meta = {k: v for k, v in meta.items() if v}
    if "effective_date" in meta:
        try:
            date.fromisoformat(meta["effective_date"])
        except ValueError as exc:
            raise InputError(
                f"effective date {meta['effective_date']!r}: write it as YYYY-MM-DD"
            ) from exc
    try:
        DocMeta.model_validate({"title": "placeholder", **meta})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise InputError(f"metadata: {problems}") from exc
    return meta


@dataclass
class Staged:
    """An upload copied and loaded in a hidden folder, before it is published."""

    folder: Path
    path: Path
    display_name: str
    name: str
    meta: dict[str, Any]
    title: str
    doc_meta: DocMeta
    pages: int
    chunks: int
    warnings: list[str]
    excerpt: str

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def markdown(self) -> str:
        m = self.doc_meta
        facts = [
            f"**{md_text(self.title)}** (`{self.name}`)",
            f"- type {m.doc_type}, jurisdiction {m.jurisdiction}"
            + (f", version {m.version}" if m.version else "")
            + (f", effective {m.effective_date}" if m.effective_date else ""),
            f"- {self.pages} page(s) with text, {self.chunks} chunk(s) to index",
        ]
        if m.topics:
            facts.append(f"- topics: {', '.join(m.topics)}")
        if m.source_refs:
            facts.append(f"- source references: {', '.join(m.source_refs)}")
        if self.warnings:
            facts.append("\n**Warnings**\n" + "\n".join(f"- ⚠️ {md_text(w)}" for w in self.warnings))
        quoted = "\n".join(
            f"> {md_text(line)}" for line in self.excerpt.splitlines() if line.strip()
        )
        return "\n".join(facts) + ("\n\n**Start of the extracted text**\n\n" + quoted)


def stage_upload(
    advisor: Advisor, upload: Path, meta: dict[str, Any], folder: Path | None = None
) -> Staged:
    """Check, copy and load an upload in ``folder`` (a new hidden temp folder by default).

    Raises InputError with the user's file name in the message; nothing is left behind.
    """
    settings = advisor.settings
    display = upload.name
    check_upload(upload, display, max_upload_bytes(settings))
    limits = DocumentLimits.from_settings(settings)
    name = safe_name(display)
    work = folder or Path(tempfile.mkdtemp(prefix=".staging-"))
    try:
        staged = work / name
        shutil.copyfile(upload, staged)
        if meta:
            sidecar = staged.with_name(staged.name + ".meta.yaml")
            sidecar.write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
        try:
            doc = load_document(staged, settings.corpus_dir.parent, limits)
        except InputError as exc:
            raise InputError(_relabel(exc, {str(staged): display})) from exc
        chunks = build_ingestor(settings, advisor.store, progress=False).chunker.split(doc)
        check_chunk_budget(display, chunks, limits)
        if not chunks:
            raise InputError(f"{display}: no text to index")
        warnings = [_relabel(w, {str(staged): display}) for w in doc.warnings]
        return Staged(
            folder=work,
            path=staged,
            display_name=display,
            name=name,
            meta=meta,
            title=doc.meta.title,
            doc_meta=doc.meta,
            pages=len(doc.pages),
            chunks=len(chunks),
            warnings=warnings,
            excerpt=doc.pages[0].text.strip()[:600],
        )
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def preview_upload(advisor: Advisor, upload: Path, meta: dict[str, Any]) -> Staged:
    """What would be indexed (pages, chunks, warnings); nothing is kept."""
    staged = stage_upload(advisor, upload, meta)
    staged.cleanup()
    return staged


def uploads_dir(advisor: Advisor) -> Path:
    return advisor.settings.corpus_dir / UPLOADS


@dataclass
class Published:
    source: str
    staged: Staged
    report: IngestReport
    replaced: bool
    audit_note: str = ""

    def markdown(self) -> str:
        verb = "Replaced" if self.replaced else "Published"
        return (
            f"✅ {verb} `{self.source}`: {self.staged.chunks} chunk(s) from "
            f"{self.staged.pages} page(s); the index holds {self.report.documents} documents, "
            f"{self.report.chunks} chunks.\n\n{self.staged.markdown()}{self.audit_note}"
        )


def publish_document(
    advisor: Advisor,
    upload: Path,
    meta: dict[str, Any],
    *,
    replace: bool = False,
    user: str | None = None,
    audit: AuditLike | None = None,
    progress: Progress | None = None,
) -> Published:
    """Store the upload under ``<corpus>/uploads/`` with a sidecar and index it.

    The file is loaded before it is moved into place; if indexing then fails, the files and the
    index are put back as they were (an earlier version is restored, a new one removed).
    """
    settings = advisor.settings
    target_dir = uploads_dir(advisor)
    with _WRITE_LOCK:
        _step(progress, 0.05, "Checking the file")
        target_dir.mkdir(parents=True, exist_ok=True)
        # Hidden folder beside the target: discover() skips it and os.replace stays atomic.
        work = Path(tempfile.mkdtemp(prefix=".staging-", dir=target_dir))
        try:
            staged = stage_upload(advisor, upload, meta, folder=work)
            target = target_dir / staged.name
            sidecar = target.with_name(target.name + ".meta.yaml")
            source = source_name(target, settings.corpus_dir.parent)
            existed = target.exists()
            if existed and not replace:
                raise InputError(
                    f"{staged.name} is already published; tick “Replace” to publish a new "
                    "version, or rename the file"
                )
            _step(progress, 0.3, "Storing the file")
            backup = work / ".previous"
            backup.mkdir()
            moved = [p for p in (target, sidecar) if p.exists()]
            for p in moved:
                os.replace(p, backup / p.name)
            if meta:
                os.replace(staged.path.with_name(staged.name + ".meta.yaml"), sidecar)
            os.replace(staged.path, target)
            _step(progress, 0.5, "Embedding and indexing")
            ingestor = build_ingestor(settings, advisor.store, progress=False)
            try:
                report = ingestor.sync([target])
                if report.skipped:
                    raise InputError(report.skipped[0])
            except BaseException:
                for p in (target, sidecar):
                    with suppress(FileNotFoundError):
                        p.unlink()
                for p in moved:
                    os.replace(backup / p.name, p)
                _restore_index(ingestor, target, source, existed)
                raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        _step(progress, 0.95, "Recording")
        note = _record(
            audit,
            "document_published",
            {
                "source": source,
                "title": staged.title,
                "version": staged.doc_meta.version,
                "effective_date": staged.doc_meta.effective_date,
                "sha256": sha256_bytes(target.read_bytes()),
                "chunks": staged.chunks,
                "replaced": existed,
            },
            user,
        )
    _step(progress, 1.0, "Done")
    return Published(source, staged, report, existed, note)


def _restore_index(ingestor: Any, target: Path, source: str, existed: bool) -> None:
    """After a failed publish: re-sync the restored old version, or drop a half-written new one."""
    try:
        if existed:
            ingestor.sync([target])
        else:
            ingestor.remove(source)
    except Exception:
        log.exception("could not restore the index entry of %s; run a sync", source)


def document_rows(advisor: Advisor) -> list[list[Any]]:
    prefix = source_name(uploads_dir(advisor), advisor.settings.corpus_dir.parent) + "/"
    return [
        [
            d["source"],
            d.get("title") or "",
            d.get("doc_type") or "",
            d.get("jurisdiction") or "",
            d.get("version") or "",
            d.get("effective_date") or "",
            d["chunks"],
            "uploaded" if str(d["source"]).startswith(prefix) else "shipped",
        ]
        for d in advisor.store.documents()
    ]


def retire_document(
    advisor: Advisor,
    source: str,
    *,
    confirm_shipped: bool = False,
    user: str | None = None,
    audit: AuditLike | None = None,
    progress: Progress | None = None,
) -> str:
    """Delete a document's file (and sidecar) and drop it from the index, or change nothing.

    Only files inside the corpus folder can be retired; deleting a shipped document's file is
    right (a later sync would otherwise bring it back) but needs ``confirm_shipped``.
    """
    settings = advisor.settings
    source = (source or "").strip()
    if not source:
        raise InputError("choose a document to retire")
    with _WRITE_LOCK:
        _step(progress, 0.1, "Checking")
        known = advisor.store.document_hashes()
        path = Path(source) if Path(source).is_absolute() else settings.corpus_dir.parent / source
        path = Path(os.path.abspath(path))
        if not _within(path, settings.corpus_dir):
            raise InputError(
                f"{source} is outside the corpus folder ({settings.corpus_dir}); only documents "
                "inside it can be retired here"
            )
        if source not in known and not path.exists():
            raise InputError(f"{source} is not in the index")
        shipped = not _within(path, uploads_dir(advisor))
        if shipped and not confirm_shipped:
            raise InputError(
                f"{source} is a shipped document: retiring it deletes its file from the corpus "
                "folder. Tick the confirmation box to go ahead."
            )
        sidecar = path.with_name(path.name + ".meta.yaml")
        files = [p for p in (path, sidecar) if p.is_file() or p.is_symlink()]
        digest = sha256_bytes(path.read_bytes()) if path.is_file() else None
        title = next((d["title"] for d in advisor.store.documents() if d["source"] == source), "")
        # Moved aside first (hidden, same folder so the move is atomic) and put back if the
        # index refuses, so a failure leaves both the files and the index as they were.
        here = path.parent if path.parent.is_dir() else settings.corpus_dir
        trash = Path(tempfile.mkdtemp(prefix=".retiring-", dir=here))
        try:
            for p in files:
                os.replace(p, trash / p.name)
            _step(progress, 0.5, "Removing from the index")
            ingestor = build_ingestor(settings, advisor.store, progress=False)
            try:
                removed = ingestor.remove(source)
            except BaseException:
                for p in files:
                    os.replace(trash / p.name, p)
                raise
        finally:
            shutil.rmtree(trash, ignore_errors=True)
        note = _record(
            audit,
            "document_retired",
            {"source": source, "title": title, "sha256": digest, "shipped": shipped},
            user,
        )
    _step(progress, 1.0, "Done")
    what = "removed from the index" if removed else "was not indexed"
    return f"✅ Retired `{source}`: file deleted, {what}.{note}"


def sync_corpus(
    advisor: Advisor,
    *,
    user: str | None = None,
    audit: AuditLike | None = None,
    progress_bar: bool = False,
) -> tuple[IngestReport, str]:
    """Incremental sync of the whole corpus folder, as ``advisor ingest`` does."""
    settings = advisor.settings
    with _WRITE_LOCK:
        ingestor = build_ingestor(settings, advisor.store, progress=progress_bar)
        report = ingestor.sync([settings.corpus_dir])
        note = _record(
            audit,
            "corpus_synced",
            {
                k: getattr(report, k)
                for k in ("added", "updated", "unchanged", "removed", "documents", "chunks")
            }
            | {"skipped": report.skipped[:20]},
            user,
        )
    lines = [
        f"✅ Sync done: added {report.added}, updated {report.updated}, unchanged "
        f"{report.unchanged}, removed {report.removed}; the index holds {report.documents} "
        f"documents, {report.chunks} chunks."
    ]
    lines += [f"- ⚠️ skipped: {md_text(s)}" for s in report.skipped]
    lines += [f"- ⚠️ {md_text(w)}" for w in report.warnings]
    return report, "\n".join(lines) + note


# --------------------------------------------------------------------------- rules


def rule_files(rules_dir: Path) -> list[str]:
    return sorted(
        p.name for p in rules_dir.iterdir() if p.is_file() and RULE_FILE_NAME.match(p.name)
    )


def rule_path(rules_dir: Path, name: str) -> Path:
    name = (name or "").strip()
    if not RULE_FILE_NAME.match(name):
        raise InputError(
            f"{name!r} is not a rule file name: use letters, digits, . _ - and end in .yaml"
        )
    return rules_dir / name


def read_rule_file(rules_dir: Path, name: str) -> str:
    path = rule_path(rules_dir, name)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror})") from exc


def validate_rules(rules_dir: Path, name: str, text: str) -> RuleSet:
    """The edited file alone, then merged with the other files, on temporary copies.

    Raises RulesError naming the real file, line and field; nothing on disk changes.
    """
    target = rule_path(rules_dir, name)
    if len(text.encode("utf-8")) > RULES_MAX_BYTES:
        raise RulesError(f"{name}: over {RULES_MAX_BYTES // MB} MB; a rule file is never this big")
    with tempfile.TemporaryDirectory(prefix="advisor-rules-") as tmp:
        folder = Path(tmp)
        for existing in rule_files(rules_dir):
            shutil.copyfile(rules_dir / existing, folder / existing)
        (folder / target.name).write_text(text, encoding="utf-8")
        try:
            load_rule_file(folder / target.name)
            return RuleSet.load(folder)
        except RulesError as exc:
            raise RulesError(_relabel(exc, {tmp: str(rules_dir)})) from exc


def rules_summary(rules: RuleSet) -> str:
    return (
        f"{len(rules.places)} places, {len(rules.triggers)} triggers, {len(rules.rules)} rules, "
        f"{len(rules.groups)} country groups (digest `{rules.digest}`)"
    )


def save_rules(
    advisor: Advisor,
    name: str,
    text: str,
    *,
    user: str | None = None,
    audit: AuditLike | None = None,
) -> str:
    """Validate, write atomically, reload the engine; an invalid edit changes nothing."""
    engine = advisor.escalation
    rules_dir = Path(engine.folder)
    text = text if text.endswith("\n") else text + "\n"
    with _WRITE_LOCK:
        validate_rules(rules_dir, name, text)
        target = rule_path(rules_dir, name)
        old = target.read_bytes() if target.exists() else None
        new = text.encode("utf-8")
        if old == new:
            return f"No change: {name} already has this content."
        before = engine.digest
        atomic_write(target, new)
        taken = engine.reload()
        note = _record(
            audit,
            "rules_changed",
            {
                "file": name,
                "old_sha256": sha256_bytes(old),
                "new_sha256": sha256_bytes(new),
                "rules_digest_before": before,
                "rules_digest_after": engine.digest,
                "in_force": taken,
            },
            user,
        )
    if not taken:
        return (
            f"⚠️ {name} was saved but the rules could not be reloaded; the previous rules stay "
            f"in force: {md_text(engine.last_error)}{note}"
        )
    return f"✅ Saved {name}; now in force: {rules_summary(engine.rules)}.{note}"


def rules_status(advisor: Advisor) -> str:
    """Current rules, and the error when a file on disk is broken (old rules still in force)."""
    engine = advisor.escalation
    engine.refresh()
    text = f"**Rules in force:** {rules_summary(engine.rules)}."
    if engine.last_error:
        problems = "\n".join(f"- {md_text(p)}" for p in engine.last_error.split("; ") if p.strip())
        text += (
            "\n\n⚠️ **A rule file on disk is invalid; the last good rules stay in force.** "
            f"Fix or replace it:\n\n{problems}"
        )
    return text


# --------------------------------------------------------------------------- screening


def validate_screening_upload(upload: Path, max_bytes: int = SCREENING_MAX_MB * MB) -> list[Party]:
    display = upload.name
    suffix = upload.suffix.lower()
    if suffix not in {".csv", ".json"}:
        raise RulesError(f"{display}: upload the Consolidated Screening List as .csv or .json")
    size = upload.stat().st_size
    if size > max_bytes:
        raise RulesError(f"{display}: {size / MB:.1f} MB is over the {max_bytes // MB} MB limit")
    with tempfile.TemporaryDirectory(prefix="advisor-csl-") as tmp:
        copy = Path(tmp) / f"upload{suffix}"
        shutil.copyfile(upload, copy)
        try:
            return load_screening_list(copy)
        except RulesError as exc:
            raise RulesError(_relabel(exc, {str(copy): display})) from exc


def screening_summary(parties: Sequence[Party]) -> str:
    codes = Counter(code for p in parties for code in p.codes)
    lists = ", ".join(f"{code} {n}" for code, n in codes.most_common(12))
    sample = any("SAMPLE" in p.remarks for p in parties[:50])
    return f"{len(parties)} entries ({lists})" + (
        " — a SAMPLE list, not the real CSL" if sample else ""
    )


def replace_screening_list(
    advisor: Advisor,
    upload: Path,
    *,
    user: str | None = None,
    audit: AuditLike | None = None,
) -> str:
    """Validate, write atomically over ``settings.screening_path`` and refresh the screener."""
    settings = advisor.settings
    parties = validate_screening_upload(upload)
    target = Path(settings.screening_path)
    new = upload.read_bytes()
    with _WRITE_LOCK:
        old = target.read_bytes() if target.exists() else None
        atomic_write(target, new)
        screener = advisor.screener
        if screener is not None:
            screener.refresh()
            if screener.last_error:  # changed on disk between validation and now: undo
                if old is not None:
                    atomic_write(target, old)
                raise RulesError(f"not taken; the last good list is in use: {screener.last_error}")
        else:
            advisor.use_screener(Screener(target, threshold=settings.screening_threshold))
        note = _record(
            audit,
            "screening_list_changed",
            {
                "file": target.name,
                "upload": upload.name,
                "old_sha256": sha256_bytes(old),
                "new_sha256": sha256_bytes(new),
                "entries": len(parties),
            },
            user,
        )
    return f"✅ Screening list replaced: {screening_summary(parties)}.{note}"


def screening_status(advisor: Advisor) -> str:
    screener = advisor.screener
    if screener is None:
        return "No screening list is loaded (ADVISOR_SCREENING_PATH); upload one to start."
    screener.refresh()
    text = f"**List in use:** `{screener.path.name}`, {screening_summary(screener.parties)}."
    if screener.last_error:
        text += (
            "\n\n⚠️ **The list file changed but cannot be read; the last good list is in use:** "
            f"{md_text(screener.last_error)}"
        )
    return text


# --------------------------------------------------------------------------- feedback


def parse_since(text: str | None) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"since {text!r}: write the date as YYYY-MM-DD") from exc


def feedback_rows(
    audit: AuditLike | None,
    *,
    level: str | None = None,
    contains: str | None = None,
    since: str | None = None,
) -> list[list[str]]:
    """Thumbs-down answers, newest first, as table rows (see FEEDBACK_HEADERS)."""
    if audit is None:
        raise InputError("no audit trail is configured, so there is no feedback to review")
    rows: list[FeedbackRow] = audit.feedback(
        rating="down",
        since=parse_since(since),
        level=None if level in (None, "", "any") else Level(level),
        contains=(contains or "").strip() or None,
    )
    return [
        [
            r.time[:19].replace("T", " "),
            r.level or "",
            r.question or "",
            "; ".join(r.sources),
            "; ".join(x for x in (r.reason, r.comment) if x),
            r.user or "",
            r.record_id,
        ]
        for r in rows
    ]


def _csv_safe(value: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; questions are user input."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def feedback_csv(rows: Sequence[Sequence[Any]], folder: Path | None = None) -> Path:
    folder = folder or Path(tempfile.mkdtemp(prefix="advisor-feedback-"))
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"feedback-thumbs-down-{stamp}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(FEEDBACK_HEADERS)
        writer.writerows([_csv_safe(str(c)) for c in row] for row in rows)
    return path


# --------------------------------------------------------------------------- evaluation


def case_file_choices(cases_dir: Path) -> list[str]:
    if not cases_dir.is_dir():
        return []
    return [str(p) for p in sorted([*cases_dir.glob("*.yaml"), *cases_dir.glob("*.yml")])]


def report_choices(reports_dir: Path) -> list[str]:
    """Earlier runs, newest first (folder names are timestamps)."""
    if not reports_dir.is_dir():
        return []
    found = [p for p in reports_dir.iterdir() if (p / "report.json").is_file()]
    return [str(p) for p in sorted(found, key=lambda p: p.name, reverse=True)]


@dataclass
class EvalRun:
    report: dict[str, Any]
    paths: dict[str, Path]
    out_dir: Path
    audit_note: str = ""


def _new_report_dir(reports_dir: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = reports_dir / stamp
    n = 2
    while out.exists():
        out, n = reports_dir / f"{stamp}-{n}", n + 1
    return out


def run_evaluation(
    advisor: Advisor,
    case_paths: Sequence[Path | str],
    *,
    reports_dir: Path,
    baseline_path: Path | None = None,
    compare_dir: Path | None = None,
    user: str | None = None,
    audit: AuditLike | None = None,
    progress: Progress | None = None,
) -> EvalRun:
    """``advisor eval`` on the live advisor: same runner, report, gate and comparison."""
    if not case_paths:
        raise InputError("choose at least one case file, or upload one")
    cases, files = ev.load_cases(list(case_paths))
    baseline = (
        ev.load_baseline(baseline_path) if baseline_path and baseline_path.is_file() else None
    )
    other = ev.load_report(compare_dir) if compare_dir else None
    results: list[ev.CaseResult] = []
    for i, case in enumerate(cases):
        _step(progress, i / len(cases), f"Case {i + 1}/{len(cases)}: {case.id}")
        results += ev.run_cases(advisor, [case], progress=False)
    _step(progress, 0.97, "Writing the report")
    report = ev.build_report(results, advisor, files)
    report["gate"] = ev.run_gate(
        report["metrics"], results, baseline, report["produced_by"], report["scopes"]
    )
    if other is not None and compare_dir is not None:
        report["compare"] = ev.compare_reports(report, other, str(compare_dir))
    out_dir = _new_report_dir(reports_dir)
    paths = ev.write_reports(report, out_dir)
    note = _record(
        audit,
        "eval_run",
        {
            "case_files": [str(f) for f in files],
            "cases": report["summary"]["cases"],
            "passed": report["summary"]["passed"],
            "gate_passed": report["gate"]["passed"],
            "report": str(out_dir),
            "rules_hash": report["produced_by"]["rules_hash"],
            "corpus_hash": report["produced_by"]["corpus_hash"],
        },
        user,
    )
    _step(progress, 1.0, "Done")
    return EvalRun(report, paths, out_dir, note)


def summary_markdown(report: dict[str, Any]) -> str:
    s, gate = report["summary"], report.get("gate") or {}
    lines = [
        f"### {s['passed']}/{s['cases']} cases passed ({ev.fmt('pass_rate', s['pass_rate'])})",
        "",
    ]
    if gate:
        lines.append(f"**Regression gate: {'✅ PASSED' if gate['passed'] else '❌ FAILED'}**")
        if gate["prohibited_below_escalate"]:
            lines.append(
                "\n❌ Expected *prohibited*, answered below *escalate*: "
                + ", ".join(f"`{c}`" for c in gate["prohibited_below_escalate"])
            )
        lines += [f"- {n}" for n in gate.get("notes", [])]
    return "\n".join(lines)


def gate_rows(report: dict[str, Any]) -> list[list[str]]:
    """Each metric against the baseline; metrics the baseline lacks are shown ungated."""
    rows = []
    checked = set()
    for c in (report.get("gate") or {}).get("checks", []):
        key = c["metric"]
        checked.add(key)
        status = {"pass": "✅ pass", "fail": "❌ fail"}.get(c["status"], c["status"])
        rows.append(
            [
                key,
                ev.fmt(key, c["baseline"]),
                ev.fmt(key, c["current"]),
                ev.fmt(key, c["limit"]),
                status,
            ]
        )
    for key, value in report["metrics"].items():
        if key not in checked:
            rows.append([key, "n/a", ev.fmt(key, value), "n/a", "not gated"])
    return rows


def failing_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for c in report["cases"]:
        if c["passed"]:
            continue
        answer = c["answer"]
        if len(answer) > ANSWER_CHARS:
            answer = answer[:ANSWER_CHARS].rstrip() + " […]"
        rows.append(
            [
                c["id"],
                c["expected_level"],
                c["level"],
                "; ".join(c["failed_checks"]),
                c["question"],
                answer,
            ]
        )
    return rows


def charts_html(report: dict[str, Any]) -> str:
    """The report's charts (same renderer as report.html), scaled to the screen's width."""
    images = ev.charts(report)
    titles = {
        "tags": "Pass rate and level accuracy per tag",
        "confusion": "Level confusion matrix",
        "latency": "Latency distribution",
    }
    return "".join(
        f'<figure style="margin:0.5em 0"><img alt="{html.escape(titles.get(k, k))}" '
        f'src="{uri}" style="max-width:100%;height:auto"><figcaption>'
        f"{html.escape(titles.get(k, k))}</figcaption></figure>"
        for k, uri in images.items()
    )


def compare_markdown(report: dict[str, Any], other_dir: Path) -> str:
    """A finished run against an earlier one, as ``advisor eval --compare`` prints it."""
    cmp = ev.compare_reports(report, ev.load_report(other_dir), str(other_dir))
    return "\n".join(ev.compare_lines(cmp))


# --------------------------------------------------------------------------- login


def login(
    settings: Any,
    name: str,
    password: str,
    throttle: LoginThrottle,
    *,
    source: str | None = None,
    audit: AuditLike | None = None,
) -> tuple[str | None, str]:
    """(user or None, message). Users are re-read so edits to the users file apply at once.

    ``source`` is the client address: lockouts apply to this user from this address (and to
    an address that tries many names), so nobody else can lock a real user out. Failures and
    lockouts are recorded in the audit trail.
    """
    try:
        users = load_users(settings)
    except UsersConfigError as exc:
        return None, f"⚠️ The users configuration is invalid: {md_text(exc)}"
    if not users:
        return None, "No users are configured. " + HOW_TO_CONFIGURE
    name = (name or "").strip()[:64]
    wait = throttle.retry_after(name, source)
    if wait > 0:
        again = wait_text(wait)
        return None, f"⚠️ Too many failed attempts from your address; try again in {again}."
    if check_login(users, name, password):
        throttle.succeeded(name, source)
        log.info("compliance login: %s from %s", name, source)
        _record(audit, "login", {"source": source}, name)
        return name, ""
    lockout = throttle.failed(name, source)
    _record(audit, "login_failed", {"user": name, "source": source}, None)
    if lockout is None:
        return None, "⚠️ Wrong user name or password."
    detail = {"user": name, "source": source, "scope": lockout.scope, "seconds": lockout.seconds}
    _record(audit, "login_locked", {**detail, "failures": lockout.failures}, None)
    log.warning("compliance login locked: %s", detail)
    return None, (
        f"⚠️ Wrong user name or password. Too many failed attempts from your address; "
        f"try again in {wait_text(lockout.seconds)}."
    )


def users_status(settings: Any) -> str | None:
    """None when users are configured, else what to tell the visitor."""
    try:
        users = load_users(settings)
    except UsersConfigError as exc:
        return f"⚠️ The users configuration is invalid: {md_text(exc)}\n\n{HOW_TO_CONFIGURE}"
    return (
        None
        if users
        else "**No users are configured, so these tabs are locked.** " + HOW_TO_CONFIGURE
    )


# --------------------------------------------------------------------------- Gradio


def _warn(exc: BaseException) -> str:
    return f"⚠️ {md_text(exc)}"


def _unexpected(action: str, exc: BaseException) -> str:
    return f"⚠️ {action} failed and was undone: {md_text(type(exc).__name__)}: {md_text(exc)}"


def _failure(headline: str, exc: BaseException) -> str:
    """One bullet per problem: validation errors join several with "; " and wrap badly."""
    problems = [p.strip() for p in str(exc).split("; ") if p.strip()]
    return f"❌ **{headline}**\n\n" + "\n".join(f"- {md_text(p)}" for p in problems)


def build_admin_tabs(
    advisor: Advisor,
    audit: object | None = None,
    *,
    cases_dir: Path = Path("evals/cases"),
    reports_dir: Path = ev.DEFAULT_REPORTS,
    baseline_path: Path = ev.DEFAULT_BASELINE,
) -> None:
    """Add the "Compliance" and "Evaluation" tabs to the enclosing ``gr.Blocks``.

    Their contents stay hidden, and every handler refuses to act, until this browser session
    logs in; the logged-in user lives in a server-side ``gr.State`` the client cannot forge.
    ``audit`` is the app's ``AuditLog`` (typed loosely so the chat's narrower protocol fits);
    without one, changes are not recorded and there is no feedback to review.
    """
    import gradio as gr

    if audit is not None and not isinstance(audit, AuditLike):
        log.warning("%r cannot record events; the admin tabs run without an audit trail", audit)
    trail = audit if isinstance(audit, AuditLike) else None

    settings = advisor.settings
    throttle = LoginThrottle()
    sessions = AdminSessions(
        idle=float(settings.admin_idle_minutes) * 60,
        max_age=float(settings.admin_session_hours) * 3600,
    )
    locked_note = users_status(settings)
    user = gr.State(None)
    last_report = gr.State(None)

    def signed_in(token: str | None) -> str | None:
        """The session's user; a session that just timed out is recorded and ended."""
        session, ended = sessions.check(token)
        if session is not None and ended is not None:
            detail = {"reason": ended, "source": session.source}
            _record(trail, "session_expired", detail, session.user)
            raise gr.Error(
                f"You were logged out: {ended}. Log out, then log in again.", print_exception=False
            )
        return None if session is None else session.user

    def need(u: str | None) -> str:
        who = signed_in(u)
        if not who:
            raise gr.Error("Log in first: this session is not logged in.", print_exception=False)
        return who

    def login_form(prefix: str) -> tuple[Any, ...]:
        with gr.Column(elem_id=f"{prefix}-login") as box:
            gr.Markdown(locked_note or "Log in with your compliance account to use this tab.")
            with gr.Row(visible=locked_note is None):
                name = gr.Textbox(
                    label="User name", elem_id=f"{prefix}-user", max_lines=1, autofocus=False
                )
                password = gr.Textbox(
                    label="Password", type="password", elem_id=f"{prefix}-password", max_lines=1
                )
            button = gr.Button(
                "Log in",
                variant="primary",
                elem_id=f"{prefix}-login-button",
                visible=locked_note is None,
            )
            message = gr.Markdown(elem_id=f"{prefix}-login-message")
        return box, name, password, button, message

    def who_row(prefix: str) -> tuple[Any, Any]:
        with gr.Row():
            who = gr.Markdown(elem_id=f"{prefix}-who")
            logout = gr.Button("Log out", size="sm", elem_id=f"{prefix}-logout", scale=0)
        return who, logout

    # ------------------------------------------------------------------ Compliance tab
    with gr.Tab("Compliance", id="compliance-tab") as compliance_tab:
        c_box, c_name, c_pw, c_btn, c_msg = login_form("compliance")
        with gr.Column(visible=False, elem_id="compliance-content") as c_content:
            c_who, c_logout = who_row("compliance")
            with gr.Accordion("Documents", open=True):
                doc_file = gr.File(
                    label="Document to publish (PDF, Markdown or text)",
                    file_types=sorted(SUPPORTED),
                    elem_id="admin-doc-file",
                )
                with gr.Row():
                    title = gr.Textbox(
                        label="Title (optional: taken from the file)", elem_id="admin-doc-title"
                    )
                    doc_type = gr.Dropdown(
                        list(DOC_TYPES), value=None, label="Document type (optional)"
                    )
                    jurisdiction = gr.Dropdown(
                        list(JURISDICTIONS), value=None, label="Jurisdiction (optional)"
                    )
                with gr.Row():
                    topics = gr.Textbox(label="Topics (comma-separated)")
                    refs = gr.Textbox(
                        label="Source references (comma-separated, e.g. 15 CFR 734.8)"
                    )
                with gr.Row():
                    effective = gr.Textbox(label="Effective date (YYYY-MM-DD)", max_lines=1)
                    version = gr.Textbox(label="Version", max_lines=1)
                    owner = gr.Textbox(label="Owner", max_lines=1)
                replace = gr.Checkbox(label="Replace a published upload with the same file name")
                with gr.Row():
                    preview_btn = gr.Button("Check and preview", elem_id="admin-preview")
                    publish_btn = gr.Button(
                        "Publish to the index", variant="primary", elem_id="admin-publish"
                    )
                upload_result = gr.Markdown(elem_id="admin-upload-result")
                docs = gr.Dataframe(
                    headers=DOCUMENT_HEADERS,
                    interactive=False,
                    wrap=True,
                    label="Documents in the index",
                    elem_id="admin-documents",
                )
                with gr.Row():
                    retire_choice = gr.Dropdown(
                        [], label="Document to retire", elem_id="admin-retire-choice"
                    )
                    confirm = gr.Checkbox(
                        label="I understand: retiring a shipped document deletes its file "
                        "from the corpus folder",
                        elem_id="admin-retire-confirm",
                    )
                with gr.Row():
                    retire_btn = gr.Button(
                        "Retire document", variant="stop", elem_id="admin-retire"
                    )
                    sync_btn = gr.Button("Re-sync the corpus folder", elem_id="admin-sync")
                    list_btn = gr.Button("Refresh the list", elem_id="admin-refresh")
                docs_result = gr.Markdown(elem_id="admin-docs-result")
            with gr.Accordion("Escalation rules", open=False, elem_id="admin-rules") as rules_acc:
                rules_md = gr.Markdown(elem_id="admin-rules-status")
                with gr.Row():
                    rule_choice = gr.Dropdown([], label="Rule file", elem_id="admin-rule-file")
                    rule_upload = gr.File(
                        label="Or upload a rule file (YAML)", file_types=[".yaml", ".yml"]
                    )
                rule_name = gr.Textbox(
                    label="Save as (file name in the rules folder)",
                    max_lines=1,
                    elem_id="admin-rule-name",
                )
                rule_code = gr.Code(
                    language="yaml",
                    label="Rule file contents",
                    lines=18,
                    max_lines=40,
                    interactive=True,
                    elem_id="admin-rule-code",
                )
                with gr.Row():
                    validate_btn = gr.Button("Validate rules", elem_id="admin-rules-validate")
                    save_btn = gr.Button(
                        "Save and apply rules", variant="primary", elem_id="admin-rules-save"
                    )
                    check_btn = gr.Button("Check the rules on disk", elem_id="admin-rules-check")
                rules_result = gr.Markdown(elem_id="admin-rules-result")
            with gr.Accordion("Screening list", open=False, elem_id="admin-screening") as csl_acc:
                csl_md = gr.Markdown(elem_id="admin-csl-status")
                csl_file = gr.File(
                    label="New screening list (CSV or JSON export of the Consolidated Screening "
                    "List)",
                    file_types=[".csv", ".json"],
                    elem_id="admin-csl-file",
                )
                with gr.Row():
                    csl_validate = gr.Button("Validate list", elem_id="admin-csl-validate")
                    csl_replace = gr.Button(
                        "Replace the screening list", variant="primary", elem_id="admin-csl-save"
                    )
                csl_result = gr.Markdown(elem_id="admin-csl-result")
            with gr.Accordion("Feedback review", open=False, elem_id="admin-feedback"):
                with gr.Row():
                    fb_level = gr.Dropdown(
                        ["any", *(lv.value for lv in Level)], value="any", label="Level"
                    )
                    fb_text = gr.Textbox(label="Text contains", max_lines=1)
                    fb_since = gr.Textbox(label="Since (YYYY-MM-DD)", max_lines=1)
                with gr.Row():
                    fb_show = gr.Button("Show thumbs-down answers", elem_id="admin-fb-show")
                    fb_download = gr.DownloadButton(
                        "Download as CSV", visible=False, elem_id="admin-fb-download"
                    )
                fb_note = gr.Markdown(elem_id="admin-fb-note")
                fb_table = gr.Dataframe(
                    headers=FEEDBACK_HEADERS,
                    interactive=False,
                    wrap=True,
                    label="Thumbs-down answers",
                    elem_id="admin-fb-table",
                )

    # ------------------------------------------------------------------ Evaluation tab
    with gr.Tab("Evaluation", id="evaluation-tab") as evaluation_tab:
        e_box, e_name, e_pw, e_btn, e_msg = login_form("evaluation")
        with gr.Column(visible=False, elem_id="evaluation-content") as e_content:
            e_who, e_logout = who_row("evaluation")
            cases = gr.CheckboxGroup([], label="Case files", elem_id="eval-cases")
            case_upload = gr.File(
                label="Or upload a case file (YAML)",
                file_types=[".yaml", ".yml"],
                elem_id="eval-upload",
            )
            compare = gr.Dropdown(
                ["(none)"],
                value="(none)",
                label="Compare with an earlier run",
                elem_id="eval-compare",
            )
            with gr.Row():
                run_btn = gr.Button("Run evaluation", variant="primary", elem_id="eval-run")
                compare_btn = gr.Button(
                    "Compare the last run with the selected run", elem_id="eval-compare-button"
                )
            eval_summary = gr.Markdown(elem_id="eval-summary")
            gate_table = gr.Dataframe(
                headers=GATE_HEADERS,
                interactive=False,
                wrap=True,
                label="Metrics against the baseline",
                elem_id="eval-gate",
            )
            compare_md = gr.Markdown(elem_id="eval-compare-result")
            charts = gr.HTML(label="Charts", elem_id="eval-charts")
            failing = gr.Dataframe(
                headers=FAILING_HEADERS,
                interactive=False,
                wrap=True,
                label="Failing cases, worst first",
                elem_id="eval-failing",
            )
            report_files = gr.File(
                label="Report files (HTML, JSON, Markdown)",
                file_count="multiple",
                interactive=False,
                elem_id="eval-files",
            )
            with gr.Accordion("Full report (Markdown)", open=False):
                report_md = gr.Markdown(elem_id="eval-report")

    # ------------------------------------------------------------------ handlers
    def documents_view() -> tuple[Any, Any]:
        rows = document_rows(advisor)
        return rows, gr.update(choices=[r[0] for r in rows], value=None)

    def on_login(name: str, password: str, request: gr.Request) -> tuple[Any, ...]:
        client = request.client if request is not None else None
        source = client.host if client is not None else None
        u, message = login(settings, name, password, throttle, source=source, audit=trail)
        shown = u is not None
        who = f"Logged in as **{html.escape(u)}**." if u else ""
        return (
            None if u is None else sessions.open(u, source),
            "",
            "",
            gr.update(visible=not shown),
            gr.update(visible=not shown),
            gr.update(visible=shown),
            gr.update(visible=shown),
            message,
            message,
            who,
            who,
        )

    # With postponed annotations Gradio cannot resolve "gr.Request" inside this function.
    on_login.__annotations__["request"] = gr.Request

    login_outputs = [
        user,
        c_pw,
        e_pw,
        c_box,
        e_box,
        c_content,
        e_content,
        c_msg,
        e_msg,
        c_who,
        e_who,
    ]

    def after_login(u: str | None) -> tuple[Any, ...]:
        """Fill the tabs only once logged in: nothing is sent to a locked page."""
        if not u:
            return tuple(gr.skip() for _ in range(8))
        rows, retire = documents_view()
        files = rule_files(Path(advisor.escalation.folder))
        return (
            rows,
            retire,
            rules_status(advisor),
            gr.update(choices=files, value=None),
            screening_status(advisor),
            gr.update(choices=case_file_choices(cases_dir), value=[]),
            gr.update(choices=["(none)", *report_choices(reports_dir)], value="(none)"),
            "",
        )

    after_outputs = [docs, retire_choice, rules_md, rule_choice, csl_md, cases, compare, fb_note]

    for trigger, name_box, pw_box in (
        (c_btn.click, c_name, c_pw),
        (c_pw.submit, c_name, c_pw),
        (e_btn.click, e_name, e_pw),
        (e_pw.submit, e_name, e_pw),
    ):
        trigger(
            on_login,
            inputs=[name_box, pw_box],
            outputs=login_outputs,
            api_visibility="private",
        ).then(after_login, inputs=[user], outputs=after_outputs, api_visibility="private")

    def on_logout(u: str | None) -> tuple[Any, ...]:
        session = sessions.close(u)
        if session is not None:
            _record(trail, "logout", {"source": session.source}, session.user)
        hidden, shown = gr.update(visible=False), gr.update(visible=True)
        return (
            None,
            "",
            "",
            shown,
            shown,
            hidden,
            hidden,
            "Logged out.",
            "Logged out.",
            "",
            "",
            [],
            "",
            [],
            "",
            [],
        )

    for logout in (c_logout, e_logout):
        logout.click(
            on_logout,
            inputs=[user],
            outputs=[
                *login_outputs,
                fb_table,
                rule_code,
                docs,
                eval_summary,
                failing,
            ],
            api_visibility="private",
        )

    meta_inputs = [title, doc_type, jurisdiction, topics, refs, effective, version, owner]

    def on_preview(u: str | None, upload: str | None, *values: Any) -> str:
        need(u)
        if not upload:
            return "⚠️ Choose a file first."
        try:
            return (
                "**Preview (not published yet)**\n\n"
                + preview_upload(advisor, Path(upload), build_meta(*values)).markdown()
            )
        except AdvisorError as exc:
            return _warn(exc)

    def on_publish(
        u: str | None,
        upload: str | None,
        replace_it: bool,
        *values: Any,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's injection idiom
    ) -> tuple[Any, ...]:
        who = need(u)
        if not upload:
            return "⚠️ Choose a file first.", gr.skip(), gr.skip(), gr.skip()
        try:
            done = publish_document(
                advisor,
                Path(upload),
                build_meta(*values),
                replace=bool(replace_it),
                user=who,
                audit=trail,
                progress=progress,
            )
        except AdvisorError as exc:
            return _warn(exc), gr.skip(), gr.skip(), gr.skip()
        except Exception as exc:  # e.g. the embedding model failed: say so, nothing changed
            log.exception("publishing %s failed", upload)
            return _unexpected("Publishing", exc), gr.skip(), gr.skip(), gr.skip()
        rows, retire = documents_view()
        return done.markdown(), rows, retire, None

    def on_retire(
        u: str | None,
        source: str | None,
        confirmed: bool,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple[Any, ...]:
        who = need(u)
        try:
            message = retire_document(
                advisor,
                source or "",
                confirm_shipped=bool(confirmed),
                user=who,
                audit=trail,
                progress=progress,
            )
        except AdvisorError as exc:
            return _warn(exc), gr.skip(), gr.skip(), gr.skip()
        except Exception as exc:
            log.exception("retiring %s failed", source)
            return _unexpected("Retiring", exc), gr.skip(), gr.skip(), gr.skip()
        rows, retire = documents_view()
        return message, rows, retire, False

    def on_sync(
        u: str | None,
        progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008
    ) -> tuple[Any, ...]:
        who = need(u)
        progress(0.05, desc="Syncing the corpus folder")
        try:
            _, message = sync_corpus(advisor, user=who, audit=trail, progress_bar=True)
        except AdvisorError as exc:
            return _warn(exc), gr.skip(), gr.skip()
        rows, retire = documents_view()
        return message, rows, retire

    def on_list(u: str | None) -> tuple[Any, Any]:
        need(u)
        return documents_view()

    doc_outputs = [docs, retire_choice]
    preview_btn.click(
        on_preview,
        inputs=[user, doc_file, *meta_inputs],
        outputs=[upload_result],
        api_visibility="private",
    )
    publish_btn.click(
        on_publish,
        inputs=[user, doc_file, replace, *meta_inputs],
        outputs=[upload_result, *doc_outputs, doc_file],
        api_visibility="private",
    )
    retire_btn.click(
        on_retire,
        inputs=[user, retire_choice, confirm],
        outputs=[docs_result, *doc_outputs, confirm],
        api_visibility="private",
    )
    sync_btn.click(
        on_sync, inputs=[user], outputs=[docs_result, *doc_outputs], api_visibility="private"
    )
    list_btn.click(on_list, inputs=[user], outputs=doc_outputs, api_visibility="private")

    rules_dir = Path(advisor.escalation.folder)

    def on_rule_pick(u: str | None, name: str | None) -> tuple[Any, Any, Any]:
        need(u)
        if not name:
            return gr.skip(), gr.skip(), ""
        try:
            return read_rule_file(rules_dir, name), name, ""
        except AdvisorError as exc:
            return gr.skip(), gr.skip(), _warn(exc)

    def on_rule_upload(u: str | None, upload: str | None) -> tuple[Any, Any, Any]:
        need(u)
        if not upload:
            return gr.skip(), gr.skip(), gr.skip()
        path = Path(upload)
        try:
            if path.stat().st_size > RULES_MAX_BYTES:
                raise InputError(f"{path.name}: over {RULES_MAX_BYTES // MB} MB")
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, InputError) as exc:
            return gr.skip(), gr.skip(), _warn(exc)
        name = safe_name(path.name)
        name = name if RULE_FILE_NAME.match(name) else Path(name).stem + ".yaml"
        return (
            text,
            name,
            f"Loaded `{path.name}` into the editor as `{name}`: validate, then save to apply.",
        )

    def on_validate(u: str | None, name: str, text: str) -> str:
        need(u)
        try:
            ruleset = validate_rules(rules_dir, name, text or "")
        except AdvisorError as exc:
            return _failure("Not valid; nothing was changed.", exc)
        return f"✅ Valid. With this file the rules would be: {rules_summary(ruleset)}."

    def on_save(u: str | None, name: str, text: str) -> tuple[str, Any, Any]:
        who = need(u)
        try:
            message = save_rules(advisor, name, text or "", user=who, audit=trail)
        except AdvisorError as exc:
            message = _failure("Not saved: the rules in force are unchanged.", exc)
        files = rule_files(rules_dir)
        return message, rules_status(advisor), gr.update(choices=files)

    def on_check(u: str | None) -> str:
        need(u)
        return rules_status(advisor)

    rule_choice.change(
        on_rule_pick,
        inputs=[user, rule_choice],
        outputs=[rule_code, rule_name, rules_result],
        api_visibility="private",
    )
    rule_upload.upload(
        on_rule_upload,
        inputs=[user, rule_upload],
        outputs=[rule_code, rule_name, rules_result],
        api_visibility="private",
    )
    validate_btn.click(
        on_validate,
        inputs=[user, rule_name, rule_code],
        outputs=[rules_result],
        api_visibility="private",
    )
    save_btn.click(
        on_save,
        inputs=[user, rule_name, rule_code],
        outputs=[rules_result, rules_md, rule_choice],
        api_visibility="private",
    )
    check_btn.click(on_check, inputs=[user], outputs=[rules_md], api_visibility="private")

    def on_csl_validate(u: str | None, upload: str | None) -> str:
        need(u)
        if not upload:
            return "⚠️ Choose a file first."
        try:
            parties = validate_screening_upload(Path(upload))
        except AdvisorError as exc:
            return _failure("Not valid; nothing was changed.", exc)
        return f"✅ Valid: {screening_summary(parties)}."

    def on_csl_replace(u: str | None, upload: str | None) -> tuple[str, Any]:
        who = need(u)
        if not upload:
            return "⚠️ Choose a file first.", gr.skip()
        try:
            message = replace_screening_list(advisor, Path(upload), user=who, audit=trail)
        except AdvisorError as exc:
            message = _failure("Not replaced; the list in use is unchanged.", exc)
        return message, screening_status(advisor)

    csl_validate.click(
        on_csl_validate, inputs=[user, csl_file], outputs=[csl_result], api_visibility="private"
    )
    csl_replace.click(
        on_csl_replace,
        inputs=[user, csl_file],
        outputs=[csl_result, csl_md],
        api_visibility="private",
    )

    def on_feedback(u: str | None, level: str, text: str, since: str) -> tuple[Any, Any, Any]:
        need(u)
        try:
            rows = feedback_rows(trail, level=level, contains=text, since=since)
        except AdvisorError as exc:
            return [], _warn(exc), gr.update(visible=False)
        if not rows:
            return [], "No thumbs-down answers match these filters.", gr.update(visible=False)
        path = feedback_csv(rows)
        return rows, f"{len(rows)} thumbs-down answer(s).", gr.update(value=str(path), visible=True)

    for trigger in (fb_show.click, fb_text.submit, fb_since.submit):
        trigger(
            on_feedback,
            inputs=[user, fb_level, fb_text, fb_since],
            outputs=[fb_table, fb_note, fb_download],
            api_visibility="private",
        )

    def on_run(
        u: str | None,
        chosen: list[str] | None,
        uploaded: str | None,
        compare_to: str | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple[Any, ...]:
        who = need(u)
        skip = tuple(gr.skip() for _ in range(8))
        allowed = set(case_file_choices(cases_dir))
        paths: list[Path | str] = [p for p in chosen or [] if p in allowed]
        if uploaded:
            if Path(uploaded).suffix.lower() not in {".yaml", ".yml"}:
                return ("⚠️ The uploaded case file must be .yaml or .yml.", *skip)
            paths.append(Path(uploaded))
        other = compare_to if compare_to in report_choices(reports_dir) else None
        try:
            run = run_evaluation(
                advisor,
                paths,
                reports_dir=reports_dir,
                baseline_path=baseline_path,
                compare_dir=Path(other) if other else None,
                user=who,
                audit=trail,
                progress=progress,
            )
        except AdvisorError as exc:
            return (_warn(exc), *skip)
        report = run.report
        return (
            summary_markdown(report) + f"\n\nReport folder: `{run.out_dir}`" + run.audit_note,
            gate_rows(report),
            compare_markdown(report, Path(other)) if other else "",
            charts_html(report),
            failing_rows(report),
            [str(run.paths[k]) for k in ("html", "json", "md")],
            run.paths["md"].read_text(encoding="utf-8"),
            str(run.out_dir),
            gr.update(choices=["(none)", *report_choices(reports_dir)]),
        )

    run_btn.click(
        on_run,
        inputs=[user, cases, case_upload, compare],
        outputs=[
            eval_summary,
            gate_table,
            compare_md,
            charts,
            failing,
            report_files,
            report_md,
            last_report,
            compare,
        ],
        api_visibility="private",
    )

    def on_compare(u: str | None, current: str | None, compare_to: str | None) -> str:
        need(u)
        if not current:
            return "⚠️ Run an evaluation first."
        if not compare_to or compare_to not in report_choices(reports_dir):
            return "⚠️ Choose an earlier run to compare with."
        try:
            report = ev.load_report(Path(current))
            return compare_markdown(report, Path(compare_to))
        except AdvisorError as exc:
            return _warn(exc)

    compare_btn.click(
        on_compare,
        inputs=[user, last_report, compare],
        outputs=[compare_md],
        api_visibility="private",
    )

    # Opening a tab or section shows the current state (another user may have changed it).
    def on_compliance_open(u: str | None) -> tuple[Any, Any]:
        if not signed_in(u):
            return gr.skip(), gr.skip()
        rows = document_rows(advisor)
        return rows, gr.update(choices=[r[0] for r in rows])

    def on_evaluation_open(u: str | None) -> tuple[Any, Any]:
        if not signed_in(u):
            return gr.skip(), gr.skip()
        return (
            gr.update(choices=case_file_choices(cases_dir)),
            gr.update(choices=["(none)", *report_choices(reports_dir)]),
        )

    def on_section_open(status: Callable[[Advisor], str]) -> Callable[[str | None], Any]:
        return lambda u: status(advisor) if signed_in(u) else gr.skip()

    compliance_tab.select(
        on_compliance_open, inputs=[user], outputs=doc_outputs, api_visibility="private"
    )
    evaluation_tab.select(
        on_evaluation_open, inputs=[user], outputs=[cases, compare], api_visibility="private"
    )
    rules_acc.expand(
        on_section_open(rules_status), inputs=[user], outputs=[rules_md], api_visibility="private"
    )
    csl_acc.expand(
        on_section_open(screening_status), inputs=[user], outputs=[csl_md], api_visibility="private"
    )
