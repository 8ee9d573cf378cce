"""Loaders (Markdown, text, PDF) and the incremental sync of the corpus into the store."""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pypdf import PageObject, PdfReader, apply_configuration
from pypdf.errors import LimitReachedError, PdfReadError, PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, StreamObject
from tqdm import tqdm

from advisor.corpus.chunking import Chunker
from advisor.corpus.store import ChunkStore, DocumentState
from advisor.errors import InputError
from advisor.models import Chunk, DocMeta, IngestReport, LoadedDocument, Page
from advisor.settings import Settings
from advisor.yamlfile import sidecar_path

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED = TEXT_SUFFIXES | PDF_SUFFIXES
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)
CFR_FILE = re.compile(r"(?P<title>\d+)-cfr-part-(?P<part>\d+)", re.IGNORECASE)
CFR_JURISDICTION = {15: "US-EAR", 22: "US-ITAR", 31: "US-OFAC"}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MB = 1024 * 1024
PDF_ERRORS = (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError)


class DocumentLimits(BaseModel):
    """Budgets on the work one file may cause, checked while reading it, never after.

    A 13 kB PDF can decompress to megabytes of text operators that take minutes to extract
    and thousands of chunks to embed; over a budget the file is skipped with the reason.
    """

    max_pdf_pages: int = 500
    max_pdf_content_bytes: int = 10 * MB
    max_chars: int = 2_000_000
    max_chunks: int = 3000

    @classmethod
    def from_settings(cls, settings: Settings) -> DocumentLimits:
        return cls(
            max_pdf_pages=settings.max_pdf_pages,
            max_pdf_content_bytes=int(settings.max_pdf_content_mb * MB),
            max_chars=settings.max_document_chars,
            max_chunks=settings.max_chunks_per_document,
        )


class _YamlLoader(yaml.SafeLoader):
    """Safe YAML that keeps dates as written, so ``2026-13-45`` is our clear error, not
    a ``ValueError`` from deep inside the YAML library."""

    yaml_implicit_resolvers = {
        first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def _mapping(text: str, where: str) -> dict[str, Any]:
    """Parse front matter or a sidecar; every failure names the file."""
    try:
        data = yaml.load(text, Loader=_YamlLoader) or {}  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise InputError(f"{where} is not valid YAML ({exc})") from exc
    except RecursionError as exc:
        raise InputError(f"{where} is nested too deeply to read") from exc
    if not isinstance(data, dict):
        raise InputError(f"{where} must be a mapping of field: value")
    return data


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_name(path: Path, base: Path) -> str:
    """Path as shown in citations and hashed into ids: relative to ``base`` when inside it.

    ``base`` is the project folder (the corpus folder's parent), so a file gets the same
    name whichever root or working directory it was ingested from.
    """
    resolved = path.resolve()
    try:
        return resolved.relative_to(base.resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def _sidecar_meta(path: Path) -> dict[str, Any]:
    """``report.pdf.meta.yaml`` carries metadata for files that cannot hold front matter."""
    sidecar = sidecar_path(path)
    if not sidecar.exists():
        return {}
    try:
        text = sidecar.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{sidecar}: the metadata file cannot be read ({exc})") from exc
    return _mapping(text, f"{sidecar}: metadata")


def title_from_name(name: str) -> str:
    """The title a document gets when neither its metadata nor a sidecar gives one."""
    return Path(name).stem.replace("-", " ").replace("_", " ").strip().capitalize()


def _meta(path: Path, raw: dict[str, Any]) -> DocMeta:
    raw = {k: v for k, v in raw.items() if v is not None}
    cfr = CFR_FILE.search(path.stem)
    if cfr:
        title_no = int(cfr["title"])
        raw.setdefault("title", f"{title_no} CFR Part {cfr['part']}")
        raw.setdefault("doc_type", "regulation")
        raw.setdefault("jurisdiction", CFR_JURISDICTION.get(title_no, "general"))
    raw.setdefault("title", title_from_name(path.name))
    for key in ("effective_date", "version"):
        if key in raw:
            raw[key] = str(raw[key]).strip()
    if "effective_date" in raw:
        _check_date(path, raw["effective_date"])
    for key in ("topics", "source_refs"):
        if isinstance(raw.get(key), str):
            raw[key] = [raw[key]]
    try:
        return DocMeta.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise InputError(f"{path}: invalid front matter ({problems})") from exc


def _check_date(path: Path, value: str) -> None:
    try:
        if not ISO_DATE.fullmatch(value):
            raise ValueError(value)
        date.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{path}: effective_date {value!r} is not a date; write it as YYYY-MM-DD"
        ) from None


def _load_text(path: Path, data: bytes, limits: DocumentLimits) -> tuple[dict, list[Page]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if len(text) > limits.max_chars:
        raise InputError(_too_much_text(path, limits))
    raw: dict = {}
    match = FRONT_MATTER.match(text) if path.suffix.lower() != ".txt" else None
    if match:
        raw = _mapping(match.group(1), f"{path}: front matter")
        text = text[match.end() :]
    if not text.strip():
        raise InputError(f"{path}: the document has no text")
    return raw, [Page(text=text)]


def _too_much_text(path: Path, limits: DocumentLimits, where: str = "") -> str:
    return (
        f"{path}: more than {limits.max_chars:,} characters of text{where} "
        "(ADVISOR_MAX_DOCUMENT_CHARS); not read. Split the document or raise the limit"
    )


def _stream_bytes(obj: Any) -> int:
    """Decompressed size of a content stream or an array of them (pypdf caps each stream)."""
    obj = obj.get_object()
    if isinstance(obj, StreamObject):
        return len(obj.get_data())
    if isinstance(obj, ArrayObject):
        return sum(_stream_bytes(part) for part in obj)
    return 0


def _page_content_bytes(page: PageObject) -> int:
    """What extracting the page's text has to interpret: its content and its form XObjects."""
    size = _stream_bytes(page["/Contents"]) if "/Contents" in page else 0
    resources = page.get("/Resources")
    resources = resources.get_object() if resources is not None else None
    xobjects = resources.get("/XObject") if isinstance(resources, DictionaryObject) else None
    xobjects = xobjects.get_object() if xobjects is not None else None
    if not isinstance(xobjects, DictionaryObject):
        return size
    for ref in xobjects.values():
        form = ref.get_object()
        if isinstance(form, StreamObject) and form.get("/Subtype") == "/Form":
            size += len(form.get_data())
    return size


def _check_pdf_budget(path: Path, reader: PdfReader, limits: DocumentLimits) -> None:
    """Pages and decompressed content, before any text is extracted: both are cheap to
    measure, while extraction costs about a second per 500 kB of operators."""
    count = len(reader.pages)
    if count > limits.max_pdf_pages:
        raise InputError(
            f"{path}: {count:,} pages is over the limit of {limits.max_pdf_pages:,} "
            "(ADVISOR_MAX_PDF_PAGES); not read. Split the document or raise the limit"
        )
    total = 0
    budget = limits.max_pdf_content_bytes
    for number, page in enumerate(reader.pages, start=1):
        try:
            total += _page_content_bytes(page)
        except LimitReachedError:
            total = budget + 1
        except PDF_ERRORS:
            continue  # extraction reports the unreadable page
        if total > budget:
            raise InputError(
                f"{path}: the page content decompresses to more than {budget / MB:g} MB "
                f"by page {number} (ADVISOR_MAX_PDF_CONTENT_MB); not read, it would "
                "take too long to read. A PDF this dense is unusual: check where it came from"
            )


def _extract_pages(
    path: Path, reader: PdfReader, warnings: list[str], limits: DocumentLimits
) -> list[Page]:
    pages: list[Page] = []
    chars = 0
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = page.extract_text() or ""
        except LimitReachedError:
            raise
        except PDF_ERRORS as exc:
            warnings.append(f"{path}: page {number} could not be read ({exc})")
            continue
        chars += len(text)
        if chars > limits.max_chars:
            raise InputError(_too_much_text(path, limits, f" by page {number}"))
        if text.strip():
            pages.append(Page(text=text, page=number))
        else:
            warnings.append(f"{path}: page {number} has no text layer (scanned image?)")
    return pages


def _load_pdf(
    path: Path, data: bytes, warnings: list[str], limits: DocumentLimits
) -> tuple[dict, list[Page]]:
    stream_cap = limits.max_pdf_content_bytes + 1
    try:
        # pypdf's own caps stop one huge stream early; ours count across the document.
        with apply_configuration(
            zlib_maximum_output_length=stream_cap,
            lzw_maximum_output_length=stream_cap,
            run_length_maximum_output_length=stream_cap,
            brotli_maximum_output_length=stream_cap,
        ):
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise InputError(
                    f"{path}: the PDF is password-protected; save an unprotected copy and try again"
                )
            _check_pdf_budget(path, reader, limits)
            pages = _extract_pages(path, reader, warnings, limits)
            title = None
            try:
                title = reader.metadata.title if reader.metadata else None
            except PDF_ERRORS:
                warnings.append(f"{path}: unreadable PDF metadata ignored")
    except InputError:
        raise
    except LimitReachedError as exc:
        raise InputError(
            f"{path}: a stream decompresses past the limit of "
            f"{limits.max_pdf_content_bytes / MB:g} MB (ADVISOR_MAX_PDF_CONTENT_MB); "
            f"not read ({exc})"
        ) from exc
    except PDF_ERRORS as exc:
        raise InputError(f"{path}: not a readable PDF ({exc})") from exc
    if not pages:
        raise InputError(f"{path}: no page has a text layer, so nothing can be cited")
    raw: dict = {"title": title.strip()} if isinstance(title, str) and title.strip() else {}
    return raw, pages


def read_pdf(
    label: str, data: bytes, limits: DocumentLimits, warnings: list[str]
) -> tuple[list[Page], int]:
    """The text pages of a PDF held in memory and its page count, with the checks and budgets
    of ingestion; errors and ``warnings`` name ``label``. Attachments are read through here."""
    pages = _load_pdf(Path(label), data, warnings, limits)[1]
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        reader.decrypt("")  # succeeded once already, or _load_pdf had refused the file
    return pages, len(reader.pages)


def load_document(path: Path, base: Path, limits: DocumentLimits | None = None) -> LoadedDocument:
    """Read one file into a ``LoadedDocument``; raises ``InputError`` naming the file."""
    limits = limits or DocumentLimits()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise InputError(f"{path}: unsupported file type {suffix or '(none)'}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc
    warnings: list[str] = []
    if suffix in PDF_SUFFIXES:
        raw, pages = _load_pdf(path, data, warnings, limits)
    else:
        raw, pages = _load_text(path, data, limits)
    raw = {**raw, **_sidecar_meta(path)}
    meta = _meta(path, raw)
    source = source_name(path, base)
    cfr = CFR_FILE.search(path.stem)
    return LoadedDocument(
        source=source,
        doc_id=hashlib.sha1(source.encode()).hexdigest()[:16],
        content_hash=content_hash(data + repr(sorted(raw.items())).encode()),
        meta=meta,
        pages=pages,
        warnings=warnings,
        cfr_title=int(cfr["title"]) if cfr else None,
    )


def check_chunk_budget(label: str, chunks: list[Chunk], limits: DocumentLimits) -> None:
    if len(chunks) > limits.max_chunks:
        raise InputError(
            f"{label}: {len(chunks):,} chunks is over the limit of {limits.max_chunks:,} "
            "per document (ADVISOR_MAX_CHUNKS_PER_DOCUMENT); not ingested. Split the document"
        )


def discover(paths: Iterable[Path]) -> Iterator[Path]:
    """Yield every loadable file; READMEs are for maintainers, not answers."""
    for root in paths:
        if root.is_file():
            yield root
            continue
        for path in sorted(root.rglob("*")):
            if (
                path.is_file()
                and path.suffix.lower() in SUPPORTED
                and path.name.lower() != "readme.md"
                and not any(part.startswith(".") for part in path.relative_to(root).parts)
            ):
                yield path


@dataclass
class Ingestor:
    """Keeps the store in step with files on disk, re-embedding only what changed.

    A sync holds the store's cross-process writer lock throughout, and repairs documents a
    killed earlier write left incomplete (reported in ``IngestReport.repaired``).
    """

    store: ChunkStore
    chunker: Chunker
    base: Path
    progress: bool = True
    limits: DocumentLimits = field(default_factory=DocumentLimits)

    def chunks_for(self, doc: LoadedDocument) -> list[Chunk]:
        """The document's chunks, within the per-document budget."""
        chunks = self.chunker.split(doc)
        check_chunk_budget(doc.source, chunks, self.limits)
        return chunks

    def sync(self, roots: list[Path], *, rebuild: bool = False) -> IngestReport:
        missing = [str(r) for r in roots if not r.exists()]
        if missing:
            raise InputError(f"nothing to ingest at {', '.join(missing)}")
        with self.store.writing(f"ingest of {', '.join(str(r) for r in roots)}"):
            return self._sync(roots, rebuild)

    def _sync(self, roots: list[Path], rebuild: bool) -> IngestReport:
        report = IngestReport()
        if rebuild:
            self.store.reset()
        states = self.store.document_states()
        seen: set[str] = set()
        files = list(discover(roots))
        bar = tqdm(files, desc="ingest", unit="doc", disable=not self.progress or len(files) < 5)
        for path in bar:
            source = self._sync_file(path, states, report)
            if source is not None:
                seen.add(source)
        scopes = [source_name(r, self.base) for r in roots]
        for source in states:
            if source not in seen and any(_in_scope(source, scope) for scope in scopes):
                self.store.delete_document(source)
                report.removed += 1
        report.documents, report.chunks = self.store.counts()
        return report

    def _sync_file(
        self, path: Path, states: dict[str, DocumentState], report: IngestReport
    ) -> str | None:
        """Bring one file's chunks up to date; returns the source it keeps in the index.

        A file that cannot be used is skipped with its reason, and its indexed version (if
        any) is kept: one bad file never stops the rest or loses what was there.
        """
        source = source_name(path, self.base)
        kept = source if source in states else None
        try:
            doc = load_document(path, self.base, self.limits)
            state = states.get(doc.source)
            if state is not None and state.complete and state.doc_hash == doc.content_hash:
                report.unchanged += 1
                report.warnings.extend(doc.warnings)
                return doc.source
            chunks = self.chunks_for(doc)
        except InputError as exc:
            log.warning("%s", exc)
            report.skipped.append(str(exc))
            return kept
        except Exception as exc:  # a loader bug on one odd file must not stop the others
            log.exception("unexpected error while reading %s", path)
            report.skipped.append(f"{path}: could not be read ({type(exc).__name__}: {exc})")
            return kept
        report.warnings.extend(doc.warnings)
        self.store.replace_document(doc.source, chunks)
        _count(report, state, doc, len(chunks))
        return doc.source

    def remove(self, source: str) -> bool:
        """Retire one document by its source name; True when it was in the index."""
        with self.store.writing(f"removing {source}"):
            if source not in self.store.document_hashes():
                return False
            self.store.delete_document(source)
        return True


def _count(
    report: IngestReport, state: DocumentState | None, doc: LoadedDocument, chunks: int
) -> None:
    """Added, updated, repaired, or (chunks written before counts were kept) just checked."""
    if state is None:
        report.added += 1
        return
    same = state.hashes == {doc.content_hash}
    if not state.expected and same and state.stored == chunks:
        report.unchanged += 1  # complete all along; now it carries its chunk count
        return
    report.updated += 1
    # Without recorded counts (an index from before they were kept) only a shortfall tells.
    if (not state.complete and state.expected) or (not state.expected and same):
        report.repaired.append(doc.source)
        report.warnings.append(
            f"{doc.source}: the index held {state.stored} chunk(s) left by an interrupted "
            f"write; re-ingested, it now has {chunks}"
        )


def _in_scope(source: str, scope: str) -> bool:
    """Whether a source name lies under a scope's source name (both relative to the base)."""
    if scope in ("", "."):
        return not source.startswith("/")
    return source == scope or source.startswith(scope.rstrip("/") + "/")
