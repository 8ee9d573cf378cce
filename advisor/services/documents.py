"""Publishing and retiring corpus documents while the app runs.

An upload is checked, copied and loaded in a hidden staging folder before anything in the
corpus changes; publishing then moves it into ``<corpus>/uploads/`` and indexes it, and a
failure puts the files and the index back as they were. Every change is recorded in the audit
trail with the user who made it.

A document is only published with its title, effective date, version and owner, and only
after a preview of exactly that file and metadata: ``preview`` signs what it showed, and
``publish`` refuses a token that does not match the file and metadata it is given, so a
changed file or form needs a new preview whoever calls the service.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import shutil
import tempfile
import unicodedata
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import yaml
from anyascii import anyascii
from pydantic import BaseModel, ConfigDict, ValidationError

from advisor.chain import build_ingestor
from advisor.corpus.ingest import (
    FRONT_MATTER,
    PDF_SUFFIXES,
    SUPPORTED,
    TEXT_SUFFIXES,
    DocumentLimits,
    Ingestor,
    check_chunk_budget,
    load_document,
    source_name,
    title_from_name,
)
from advisor.errors import InputError, StoreError
from advisor.models import Chunk, DocMeta, DocType, IngestReport, Jurisdiction
from advisor.records.audit import EventRow
from advisor.records.sink import AuditReader, AuditSink
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
# What a published document must say about itself, as the form names the fields.
REQUIRED: tuple[tuple[str, str], ...] = (
    ("title", "title"),
    ("effective_date", "effective date"),
    ("version", "version"),
    ("owner", "owner"),
)
PREVIEW_CHUNKS = 3  # first chunks the preview shows
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_FRONT_MATTER_BYTES = 64 * 1024


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
            if not _ISO_DATE.fullmatch(meta.effective_date):
                raise ValueError(meta.effective_date)
            date.fromisoformat(meta.effective_date)
        except ValueError as exc:
            raise InputError(
                f"effective date {meta.effective_date!r}: write it as YYYY-MM-DD "
                "(for example 2026-01-31)"
            ) from exc
    try:
        DocMeta.model_validate({"title": "placeholder", **meta.sidecar()})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise InputError(f"metadata: {problems}") from exc
    return meta


def missing_fields(meta: UploadMeta, doc_meta: DocMeta, name: str) -> tuple[str, ...]:
    """The REQUIRED fields (as the form names them) that neither the form nor the file's own
    metadata (front matter, PDF title, sidecar) gives."""
    given = {
        "title": bool(meta.title) or doc_meta.title != title_from_name(name),
        "effective_date": bool(doc_meta.effective_date),
        "version": bool(doc_meta.version),
        "owner": bool(doc_meta.owner),
    }
    return tuple(label for key, label in REQUIRED if not given[key])


def missing_message(display_name: str, missing: Sequence[str]) -> str:
    them = "this field" if len(missing) == 1 else "these fields"
    return (
        f"{display_name}: cannot be published without its {', '.join(missing)}. "
        f"Fill in {them}, then check and preview again."
    )


def fingerprint(sha256: str, name: str, meta: UploadMeta) -> str:
    """What a preview vouches for: the file's bytes, the name it is stored under, the form."""
    text = "\x00".join((sha256, name, meta.model_dump_json()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChunkPreview:
    """One of the first chunks a document makes, as the preview shows it."""

    position: int
    heading_path: str
    section: str | None
    page: int | None
    text: str

    @classmethod
    def of(cls, chunk: Chunk, chars: int = 280) -> ChunkPreview:
        text = " ".join(chunk.text.split())
        cut = text if len(text) <= chars else text[:chars].rsplit(" ", 1)[0] + " …"
        return cls(chunk.position, chunk.heading_path, chunk.section_label, chunk.page, cut)


@dataclass(frozen=True)
class Existing:
    """The published document an upload would replace."""

    source: str
    title: str
    version: str
    effective_date: str
    indexed: bool


@dataclass
class Staged:
    """An upload copied and loaded in a hidden folder, before it is published.

    ``missing`` names the required fields nobody gave; ``token`` is set by a preview that
    found nothing missing, and is what ``publish`` needs for exactly this file and form.
    """

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
    sha256: str = ""
    fingerprint: str = ""
    missing: tuple[str, ...] = ()
    first_chunks: tuple[ChunkPreview, ...] = ()
    replaces: Existing | None = None
    token: str | None = None

    @property
    def ready(self) -> bool:
        return not self.missing

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
    """One indexed document, as the documents table lists it.

    ``updated`` is when it last changed: its last publish here or its file's modification
    time, whichever is later (shipped documents have no publish event). The table sorts by it,
    newest first.
    """

    source: str
    title: str
    doc_type: str
    jurisdiction: str
    version: str
    effective_date: str
    chunks: int
    origin: Literal["uploaded", "shipped"]
    owner: str = ""
    topics: tuple[str, ...] = ()
    source_refs: tuple[str, ...] = ()
    updated: datetime | None = None
    published_at: datetime | None = None
    published_by: str | None = None
    complete: bool = True

    def haystack(self) -> str:
        """What the search box looks in: title, source, topics and owner."""
        return " ".join((self.title, self.source, self.owner, *self.topics)).casefold()


@dataclass(frozen=True)
class DocumentDetail:
    """Everything known about one indexed document, for the detail view."""

    row: DocumentRow
    sha256: str | None  # of the file on disk; None when the file is gone
    file: Path


@dataclass(frozen=True)
class _FileFacts:
    """What the file says about itself beyond the index: owner, topics, references."""

    owner: str = ""
    topics: tuple[str, ...] = ()
    source_refs: tuple[str, ...] = ()
    modified: datetime | None = None


def search_rows(rows: Sequence[DocumentRow], query: str | None) -> list[DocumentRow]:
    """The rows whose title, source, topics or owner contain every word of ``query``."""
    words = (query or "").casefold().split()
    return [r for r in rows if all(w in r.haystack() for w in words)]


def newest_first(rows: Sequence[DocumentRow]) -> list[DocumentRow]:
    """By ``updated``, newest first; equal times (a fresh checkout) by source."""
    by_source = sorted(rows, key=lambda r: r.source)
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(by_source, key=lambda r: r.updated or oldest, reverse=True)


def _utc(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _texts(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(str(x).strip() for x in items if str(x).strip())


def _yaml_mapping(text: str) -> dict[str, Any]:
    """Tolerant: the file was indexed, so its metadata was valid; a broken one now reads empty
    (the next sync reports it)."""
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def read_file_facts(path: Path) -> _FileFacts:
    """Owner, topics and references from a file's front matter and sidecar, without
    extracting its text (a PDF's pages are not read)."""
    raw: dict[str, Any] = {}
    try:
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return _FileFacts()
    if path.suffix.lower() in TEXT_SUFFIXES - {".txt"}:
        try:
            with path.open("rb") as fh:
                head = fh.read(_FRONT_MATTER_BYTES).decode("utf-8", "replace")
        except OSError:
            head = ""
        match = FRONT_MATTER.match(head)
        raw = _yaml_mapping(match.group(1)) if match else {}
    sidecar = sidecar_path(path)
    if sidecar.is_file():
        with suppress(OSError, UnicodeDecodeError):
            raw |= _yaml_mapping(sidecar.read_text(encoding="utf-8"))
    owner = raw.get("owner")
    return _FileFacts(
        owner=str(owner).strip() if owner is not None else "",
        topics=_texts(raw.get("topics")),
        source_refs=_texts(raw.get("source_refs")),
        modified=modified,
    )


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
        # Signs previews; per process, so a token from elsewhere or an old run never counts.
        self._secret = secrets.token_bytes(32)
        self._facts: dict[tuple[str, int, int, int, int], _FileFacts] = {}

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
            digest = hashlib.sha256(staged.read_bytes()).hexdigest()
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
                sha256=digest,
                fingerprint=fingerprint(digest, name, meta),
                missing=missing_fields(meta, doc.meta, name),
                first_chunks=tuple(ChunkPreview.of(c) for c in chunks[:PREVIEW_CHUNKS]),
                replaces=self._existing(name),
            )
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise

    def _existing(self, name: str) -> Existing | None:
        """The upload of this file name that publishing would replace, if there is one."""
        target = self.uploads_dir / name
        source = self._source(target)
        doc = next((d for d in self.advisor.store.documents() if d["source"] == source), None)
        if doc is None and not target.exists():
            return None
        doc = doc or {}
        return Existing(
            source=source,
            title=str(doc.get("title") or ""),
            version=str(doc.get("version") or ""),
            effective_date=str(doc.get("effective_date") or ""),
            indexed=bool(doc),
        )

    def _sign(self, print_: str) -> str:
        return hmac.new(self._secret, print_.encode("ascii"), hashlib.sha256).hexdigest()

    def preview(self, upload: Path, meta: UploadMeta | None = None) -> Staged:
        """What would be indexed (pages, first chunks, warnings, what it replaces) and which
        required fields are missing; nothing is kept. When nothing is missing the result
        carries the token ``publish`` needs for exactly this file and metadata."""
        staged = self.stage(upload, meta)
        staged.cleanup()
        if not staged.ready:
            return staged
        return replace(staged, token=self._sign(staged.fingerprint))

    def _check_previewed(self, staged: Staged, token: str | None) -> None:
        """Refuse a publish that lacks metadata or a preview of exactly this file and form."""
        if staged.missing:
            raise InputError(missing_message(staged.display_name, staged.missing))
        if not token:
            raise InputError(
                f"{staged.display_name}: check and preview it first; publishing needs a "
                "preview of exactly this file and metadata"
            )
        if not hmac.compare_digest(token, self._sign(staged.fingerprint)):
            raise InputError(
                f"{staged.display_name}: the file or its metadata changed since the preview; "
                "check and preview again, then publish"
            )

    def publish(
        self,
        upload: Path,
        meta: UploadMeta | None = None,
        *,
        token: str | None = None,
        policy: ReplacePolicy = ReplacePolicy.REFUSE,
        user: str | None = None,
        progress: Progress | None = None,
    ) -> Published:
        """Store the upload under ``<corpus>/uploads/`` with a sidecar and index it.

        ``token`` is the one ``preview`` gave for this file and metadata: without it, or when
        the file or the form differ from what was previewed, nothing is published (the file's
        own problems are reported first, then missing fields, then the preview). The file is
        loaded before it is moved into place; if indexing then fails, the files and the index
        are put back as they were (an earlier version is restored, a new one removed).
        """
        with WRITE_LOCK:
            step(progress, 0.05, "Checking the file")
            self.uploads_dir.mkdir(parents=True, exist_ok=True)
            # Hidden folder beside the target: discover() skips it and os.replace stays atomic.
            work = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.uploads_dir))
            try:
                staged = self.stage(upload, meta, folder=work)
                self._check_previewed(staged, token)
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

    def rows(self, query: str | None = None) -> list[DocumentRow]:
        """The indexed documents, newest first, filtered by ``query`` (see ``search_rows``)."""
        prefix = self._source(self.uploads_dir) + "/"
        published = self._last_published()
        rows = []
        for d in self.advisor.store.documents():
            source = str(d["source"])
            facts = self._file_facts(self._path(source))
            event = published.get(source)
            at = _utc(event.time) if event else None
            rows.append(
                DocumentRow(
                    source=source,
                    title=d.get("title") or "",
                    doc_type=d.get("doc_type") or "",
                    jurisdiction=d.get("jurisdiction") or "",
                    version=d.get("version") or "",
                    effective_date=d.get("effective_date") or "",
                    chunks=int(d["chunks"]),
                    origin="uploaded" if source.startswith(prefix) else "shipped",
                    owner=facts.owner,
                    topics=facts.topics,
                    source_refs=facts.source_refs,
                    updated=max((t for t in (at, facts.modified) if t), default=None),
                    published_at=at,
                    published_by=event.user if event else None,
                    complete=bool(d.get("complete", True)),
                )
            )
        return search_rows(newest_first(rows), query)

    def detail(self, source: str) -> DocumentDetail:
        """All metadata of one indexed document, with its file's sha256."""
        source = (source or "").strip()
        row = next((r for r in self.rows() if r.source == source), None)
        if row is None:
            raise InputError(f"{source or 'that document'} is not in the index (any more)")
        path = self._path(source)
        try:
            digest: str | None = sha256_bytes(path.read_bytes())
        except OSError:
            digest = None
        return DocumentDetail(row, digest, path)

    def _path(self, source: str) -> Path:
        return (
            Path(source) if Path(source).is_absolute() else self.settings.corpus_dir.parent / source
        )

    def _file_facts(self, path: Path) -> _FileFacts:
        """Cached per version of the file and its sidecar (size and modification time), so a
        search stays cheap."""
        try:
            st = path.stat()
        except OSError:
            return _FileFacts()
        try:
            side = sidecar_path(path).stat()
            beside = (side.st_mtime_ns, side.st_size)
        except OSError:
            beside = (-1, -1)
        key = (str(path), st.st_mtime_ns, st.st_size, *beside)
        if key not in self._facts:
            if len(self._facts) > 4096:
                self._facts.clear()
            self._facts[key] = read_file_facts(path)
        return self._facts[key]

    def _last_published(self) -> dict[str, EventRow]:
        """Each source's latest ``document_published`` event (when and by whom)."""
        if not isinstance(self.audit, AuditReader):
            return {}
        try:
            events: list[EventRow] = self.audit.events(["document_published"])
        except StoreError as exc:  # the list still shows; only who published it is unknown
            log.warning("cannot read publish events from the audit trail: %s", exc)
            return {}
        return {str(e.detail.get("source")): e for e in events}

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
