"""Publishing and retiring corpus documents while the app runs.

An upload is checked, copied and loaded in a hidden staging folder before anything in the
corpus changes; publishing then moves it into ``<corpus>/uploads/`` and indexes it, and a
failure puts the files and the index back as they were. Every change is recorded in the audit
trail with the user who made it.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import yaml
from anyascii import anyascii
from pydantic import BaseModel, ConfigDict, ValidationError

from advisor.chain import build_ingestor
from advisor.corpus.ingest import (
    PDF_SUFFIXES,
    SUPPORTED,
    DocumentLimits,
    Ingestor,
    check_chunk_budget,
    load_document,
    source_name,
)
from advisor.errors import InputError
from advisor.models import DocMeta, DocType, IngestReport, Jurisdiction
from advisor.records.sink import AuditSink
from advisor.services.events import Progress, record_event, step
from advisor.services.files import WRITE_LOCK, inside, relabel, sha256_bytes
from advisor.settings import Settings
from advisor.yamlfile import sidecar_path

if TYPE_CHECKING:
    from advisor.chain import Advisor

log = logging.getLogger(__name__)

MB = 1024 * 1024
DEFAULT_MAX_UPLOAD_MB = 20
UPLOADS = "uploads"
DOC_TYPES: tuple[str, ...] = get_args(DocType)
JURISDICTIONS: tuple[str, ...] = get_args(Jurisdiction)


class ReplacePolicy(Enum):
    """What publishing does when an upload of the same file name is already published."""

    REFUSE = "refuse"  # say so, change nothing
    REPLACE = "replace"  # publish the new version in its place

    @classmethod
    def of(cls, replace: bool) -> ReplacePolicy:
        return cls.REPLACE if replace else cls.REFUSE


class RetirePolicy(Enum):
    """Which documents retiring may delete: a shipped document's file is part of the
    repository's corpus, so deleting it needs the officer's explicit confirmation."""

    UPLOADS_ONLY = "uploads-only"
    INCLUDING_SHIPPED = "including-shipped"

    @classmethod
    def of(cls, confirmed: bool) -> RetirePolicy:
        return cls.INCLUDING_SHIPPED if confirmed else cls.UPLOADS_ONLY


class UploadMeta(BaseModel):
    """The sidecar metadata an officer filled in; empty fields are left to the loader."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = ""
    doc_type: str = ""
    jurisdiction: str = ""
    topics: tuple[str, ...] = ()
    source_refs: tuple[str, ...] = ()
    effective_date: str = ""
    version: str = ""
    owner: str = ""

    def sidecar(self) -> dict[str, Any]:
        """The fields to write to ``x.meta.yaml``: only those filled in."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self if v}


def max_upload_bytes(settings: Settings) -> int:
    return int(float(settings.max_upload_mb or DEFAULT_MAX_UPLOAD_MB) * MB)


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


def check_upload(path: Path, display_name: str, max_bytes: int) -> Literal["pdf", "text"]:
    """Refuse a file before anything is stored: name and content must agree, size in limit.

    PDF validity (encryption, text layer) is checked by loading it.
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
    _check_text(path.read_bytes(), display_name, suffix)
    return "text"


def _check_text(data: bytes, display_name: str, suffix: str) -> None:
    if b"\x00" in data:
        raise InputError(f"{display_name}: binary content in a {suffix} file; expected text")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{display_name}: not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from exc


def _split_list(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(str(x).strip() for x in items if str(x).strip())


def build_meta(
    title: str | None = None,
    doc_type: str | None = None,
    jurisdiction: str | None = None,
    topics: str | Sequence[str] | None = None,
    source_refs: str | Sequence[str] | None = None,
    effective_date: str | None = None,
    version: str | None = None,
    owner: str | None = None,
) -> UploadMeta:
    """The sidecar metadata from form fields, checked as the loader will check it."""
    meta = UploadMeta(
        title=(title or "").strip(),
        doc_type=(doc_type or "").strip(),
        jurisdiction=(jurisdiction or "").strip(),
        topics=_split_list(topics),
        source_refs=_split_list(source_refs),
        effective_date=(effective_date or "").strip(),
        version=(version or "").strip(),
        owner=(owner or "").strip(),
    )
    if meta.effective_date:
        try:
            date.fromisoformat(meta.effective_date)
        except ValueError as exc:
            raise InputError(
                f"effective date {meta.effective_date!r}: write it as YYYY-MM-DD"
            ) from exc
    try:
        DocMeta.model_validate({"title": "placeholder", **meta.sidecar()})
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
    meta: UploadMeta
    title: str
    doc_meta: DocMeta
    pages: int
    chunks: int
    warnings: list[str]
    excerpt: str

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass(frozen=True)
class Published:
    source: str
    staged: Staged
    report: IngestReport
    replaced: bool
    sha256: str | None
    audit_failure: str | None = None


@dataclass(frozen=True)
class Retired:
    source: str
    title: str | None
    shipped: bool
    removed: bool  # False when the file was on disk but not in the index
    sha256: str | None
    audit_failure: str | None = None


@dataclass(frozen=True)
class Synced:
    report: IngestReport
    audit_failure: str | None = None


@dataclass(frozen=True)
class DocumentRow:
    """One indexed document, as the documents table lists it."""

    source: str
    title: str
    doc_type: str
    jurisdiction: str
    version: str
    effective_date: str
    chunks: int
    origin: Literal["uploaded", "shipped"]


@dataclass
class _Swap:
    """A new file moved into place with the previous file and sidecar kept aside, so a
    failed index write can put everything back."""

    target: Path
    backup: Path
    moved: list[Path]

    @classmethod
    def into_place(cls, staged: Staged, target: Path, backup: Path) -> _Swap:
        backup.mkdir()
        sidecar = sidecar_path(target)
        moved = [p for p in (target, sidecar) if p.exists()]
        for p in moved:
            os.replace(p, backup / p.name)
        if sidecar_path(staged.path).exists():
            os.replace(sidecar_path(staged.path), sidecar)
        os.replace(staged.path, target)
        return cls(target, backup, moved)

    def undo(self) -> None:
        for p in (self.target, sidecar_path(self.target)):
            with suppress(FileNotFoundError):
                p.unlink()
        for p in self.moved:
            os.replace(self.backup / p.name, p)


class DocumentService:
    """Stage, preview, publish, retire and sync the corpus of one advisor."""

    def __init__(self, advisor: Advisor, audit: AuditSink | None = None) -> None:
        self.advisor = advisor
        self.audit = audit

    @property
    def settings(self) -> Settings:
        return self.advisor.settings

    @property
    def uploads_dir(self) -> Path:
        return self.settings.corpus_dir / UPLOADS

    def _ingestor(self, progress_bar: bool = False) -> Ingestor:
        return build_ingestor(self.settings, self.advisor.store, progress=progress_bar)

    def _source(self, path: Path) -> str:
        return source_name(path, self.settings.corpus_dir.parent)

    def stage(
        self, upload: Path, meta: UploadMeta | None = None, folder: Path | None = None
    ) -> Staged:
        """Check, copy and load an upload in ``folder`` (a new hidden temp folder by default).

        Raises InputError with the user's file name in the message; nothing is left behind.
        """
        meta = meta or UploadMeta()
        display = upload.name
        check_upload(upload, display, max_upload_bytes(self.settings))
        limits = DocumentLimits.from_settings(self.settings)
        name = safe_name(display)
        work = folder or Path(tempfile.mkdtemp(prefix=".staging-"))
        try:
            staged = work / name
            shutil.copyfile(upload, staged)
            if meta.sidecar():
                text = yaml.safe_dump(meta.sidecar(), allow_unicode=True)
                sidecar_path(staged).write_text(text, encoding="utf-8")
            try:
                doc = load_document(staged, self.settings.corpus_dir.parent, limits)
            except InputError as exc:
                raise InputError(relabel(exc, {str(staged): display})) from exc
            chunks = self._ingestor().chunker.split(doc)
            check_chunk_budget(display, chunks, limits)
            if not chunks:
                raise InputError(f"{display}: no text to index")
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
                warnings=[relabel(w, {str(staged): display}) for w in doc.warnings],
                excerpt=doc.pages[0].text.strip()[:600],
            )
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise

    def preview(self, upload: Path, meta: UploadMeta | None = None) -> Staged:
        """What would be indexed (pages, chunks, warnings); nothing is kept."""
        staged = self.stage(upload, meta)
        staged.cleanup()
        return staged

    def publish(
        self,
        upload: Path,
        meta: UploadMeta | None = None,
        *,
        policy: ReplacePolicy = ReplacePolicy.REFUSE,
        user: str | None = None,
        progress: Progress | None = None,
    ) -> Published:
        """Store the upload under ``<corpus>/uploads/`` with a sidecar and index it.

        The file is loaded before it is moved into place; if indexing then fails, the files and
        the index are put back as they were (an earlier version is restored, a new one removed).
        """
        with WRITE_LOCK:
            step(progress, 0.05, "Checking the file")
            self.uploads_dir.mkdir(parents=True, exist_ok=True)
            # Hidden folder beside the target: discover() skips it and os.replace stays atomic.
            work = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.uploads_dir))
            try:
                staged = self.stage(upload, meta, folder=work)
                target = self.uploads_dir / staged.name
                existed = target.exists()
                if existed and policy is ReplacePolicy.REFUSE:
                    raise InputError(
                        f"{staged.name} is already published; tick “Replace” to publish a new "
                        "version, or rename the file"
                    )
                step(progress, 0.3, "Storing the file")
                swap = _Swap.into_place(staged, target, work / ".previous")
                step(progress, 0.5, "Embedding and indexing")
                report = self._index(swap, existed)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            step(progress, 0.95, "Recording")
            done = self._record_published(staged, target, report, existed, user)
        step(progress, 1.0, "Done")
        return done

    def _index(self, swap: _Swap, existed: bool) -> IngestReport:
        """Index the new file; on any failure put the files back and repair the index entry."""
        ingestor = self._ingestor()
        try:
            report = ingestor.sync([swap.target])
            if report.skipped:
                raise InputError(report.skipped[0])
        except BaseException:
            swap.undo()
            _restore_index(ingestor, swap.target, self._source(swap.target), existed)
            raise
        return report

    def _record_published(
        self, staged: Staged, target: Path, report: IngestReport, existed: bool, user: str | None
    ) -> Published:
        source = self._source(target)
        digest = sha256_bytes(target.read_bytes())
        detail = {
            "source": source,
            "title": staged.title,
            "version": staged.doc_meta.version,
            "effective_date": staged.doc_meta.effective_date,
            "sha256": digest,
            "chunks": staged.chunks,
            "replaced": existed,
        }
        failure = record_event(self.audit, "document_published", detail, user)
        return Published(source, staged, report, existed, digest, failure)

    def rows(self) -> list[DocumentRow]:
        prefix = self._source(self.uploads_dir) + "/"
        return [
            DocumentRow(
                source=str(d["source"]),
                title=d.get("title") or "",
                doc_type=d.get("doc_type") or "",
                jurisdiction=d.get("jurisdiction") or "",
                version=d.get("version") or "",
                effective_date=d.get("effective_date") or "",
                chunks=int(d["chunks"]),
                origin="uploaded" if str(d["source"]).startswith(prefix) else "shipped",
            )
            for d in self.advisor.store.documents()
        ]

    def _retirable(self, source: str, policy: RetirePolicy) -> tuple[Path, bool]:
        """The file behind ``source`` and whether it is shipped; refuses what may not go."""
        corpus = self.settings.corpus_dir
        path = Path(source) if Path(source).is_absolute() else corpus.parent / source
        path = Path(os.path.abspath(path))
        if not inside(path, corpus):
            raise InputError(
                f"{source} is outside the corpus folder ({corpus}); only documents "
                "inside it can be retired here"
            )
        if source not in self.advisor.store.document_hashes() and not path.exists():
            raise InputError(f"{source} is not in the index")
        shipped = not inside(path, self.uploads_dir)
        if shipped and policy is RetirePolicy.UPLOADS_ONLY:
            raise InputError(
                f"{source} is a shipped document: retiring it deletes its file from the corpus "
                "folder. Tick the confirmation box to go ahead."
            )
        return path, shipped

    def retire(
        self,
        source: str,
        *,
        policy: RetirePolicy = RetirePolicy.UPLOADS_ONLY,
        user: str | None = None,
        progress: Progress | None = None,
    ) -> Retired:
        """Delete a document's file (and sidecar) and drop it from the index, or change nothing.

        Only files inside the corpus folder can be retired; deleting a shipped document's file
        is right (a later sync would otherwise bring it back) but needs INCLUDING_SHIPPED.
        """
        source = (source or "").strip()
        if not source:
            raise InputError("choose a document to retire")
        with WRITE_LOCK:
            step(progress, 0.1, "Checking")
            path, shipped = self._retirable(source, policy)
            files = [p for p in (path, sidecar_path(path)) if p.is_file() or p.is_symlink()]
            digest = sha256_bytes(path.read_bytes()) if path.is_file() else None
            docs = self.advisor.store.documents()
            title: str | None = next((d["title"] for d in docs if d["source"] == source), "")
            removed = self._remove(source, path, files, progress)
            detail = {"source": source, "title": title, "sha256": digest, "shipped": shipped}
            failure = record_event(self.audit, "document_retired", detail, user)
        step(progress, 1.0, "Done")
        return Retired(source, title, shipped, removed, digest, failure)

    def _remove(
        self, source: str, path: Path, files: list[Path], progress: Progress | None
    ) -> bool:
        """Move the files aside (hidden, same folder so the move is atomic), drop the index
        entry, and put the files back if the index refuses: a failure changes nothing."""
        here = path.parent if path.parent.is_dir() else self.settings.corpus_dir
        trash = Path(tempfile.mkdtemp(prefix=".retiring-", dir=here))
        try:
            for p in files:
                os.replace(p, trash / p.name)
            step(progress, 0.5, "Removing from the index")
            try:
                return self._ingestor().remove(source)
            except BaseException:
                for p in files:
                    os.replace(trash / p.name, p)
                raise
        finally:
            shutil.rmtree(trash, ignore_errors=True)

    def sync(self, *, user: str | None = None, progress_bar: bool = False) -> Synced:
        """Incremental sync of the whole corpus folder, as ``advisor ingest`` does."""
        with WRITE_LOCK:
            report = self._ingestor(progress_bar).sync([self.settings.corpus_dir])
            counts = {"added", "updated", "unchanged", "removed", "documents", "chunks"}
            detail = report.model_dump(include=counts) | {"skipped": report.skipped[:20]}
            failure = record_event(self.audit, "corpus_synced", detail, user)
        return Synced(report, failure)


def _restore_index(ingestor: Ingestor, target: Path, source: str, existed: bool) -> None:
    """After a failed publish: re-sync the restored old version, or drop a half-written new one."""
    try:
        if existed:
            ingestor.sync([target])
        else:
            ingestor.remove(source)
    except Exception:
        log.exception("could not restore the index entry of %s; run a sync", source)
