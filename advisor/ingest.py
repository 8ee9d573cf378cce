"""Loaders (Markdown, text, PDF) and the incremental sync of the corpus into the store."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError
from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError
from tqdm import tqdm

from advisor.chunking import Chunker
from advisor.errors import InputError
from advisor.models import DocMeta, IngestReport, LoadedDocument, Page
from advisor.store import ChunkStore

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED = TEXT_SUFFIXES | PDF_SUFFIXES
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)
CFR_FILE = re.compile(r"(?P<title>\d+)-cfr-part-(?P<part>\d+)", re.IGNORECASE)
CFR_JURISDICTION = {15: "US-EAR", 22: "US-ITAR", 31: "US-OFAC"}


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


def _sidecar_meta(path: Path) -> dict:
    """``report.pdf.meta.yaml`` carries metadata for files that cannot hold front matter."""
    sidecar = path.with_name(path.name + ".meta.yaml")
    if not sidecar.exists():
        return {}
    data = yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise InputError(f"{sidecar}: metadata must be a mapping of field: value")
    return data


def _meta(path: Path, raw: dict) -> DocMeta:
    raw = {k: v for k, v in raw.items() if v is not None}
    cfr = CFR_FILE.search(path.stem)
    if cfr:
        title_no = int(cfr["title"])
        raw.setdefault("title", f"{title_no} CFR Part {cfr['part']}")
        raw.setdefault("doc_type", "regulation")
        raw.setdefault("jurisdiction", CFR_JURISDICTION.get(title_no, "general"))
    raw.setdefault("title", path.stem.replace("-", " ").replace("_", " ").strip().capitalize())
    for key in ("effective_date", "version"):
        if key in raw:
            raw[key] = str(raw[key])
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


def _load_text(path: Path, data: bytes) -> tuple[dict, list[Page]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    raw: dict = {}
    match = FRONT_MATTER.match(text) if path.suffix.lower() != ".txt" else None
    if match:
        try:
            raw = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as exc:
            raise InputError(f"{path}: front matter is not valid YAML ({exc})") from exc
        if not isinstance(raw, dict):
            raise InputError(f"{path}: front matter must be a mapping of field: value")
        text = text[match.end() :]
    if not text.strip():
        raise InputError(f"{path}: the document has no text")
    return raw, [Page(text=text)]


def _load_pdf(path: Path, data: bytes, warnings: list[str]) -> tuple[dict, list[Page]]:
    import io

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(
                f"{path}: the PDF is password-protected; save an unprotected copy to ingest it"
            )
        pages: list[Page] = []
        for number, page in enumerate(reader.pages, start=1):
            try:
                text = page.extract_text() or ""
            except (PyPdfError, ValueError, KeyError, TypeError) as exc:
                warnings.append(f"{path}: page {number} could not be read ({exc})")
                continue
            if text.strip():
                pages.append(Page(text=text, page=number))
            else:
                warnings.append(f"{path}: page {number} has no text layer (scanned image?)")
        title = None
        try:
            title = reader.metadata.title if reader.metadata else None
        except (PyPdfError, ValueError, KeyError, TypeError):
            warnings.append(f"{path}: unreadable PDF metadata ignored")
    except InputError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise InputError(f"{path}: not a readable PDF ({exc})") from exc
    if not pages:
        raise InputError(f"{path}: no page has a text layer, so nothing can be cited")
    raw: dict = {"title": title.strip()} if isinstance(title, str) and title.strip() else {}
    return raw, pages


def load_document(path: Path, base: Path) -> LoadedDocument:
    """Read one file into a ``LoadedDocument``; raises ``InputError`` naming the file."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise InputError(f"{path}: unsupported file type {suffix or '(none)'}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc
    warnings: list[str] = []
    if suffix in PDF_SUFFIXES:
        raw, pages = _load_pdf(path, data, warnings)
    else:
        raw, pages = _load_text(path, data)
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
    """Keeps the store in step with files on disk, re-embedding only what changed."""

    store: ChunkStore
    chunker: Chunker
    base: Path
    progress: bool = True

    def sync(self, roots: list[Path], *, rebuild: bool = False) -> IngestReport:
        report = IngestReport()
        if rebuild:
            self.store.reset()
        missing = [str(r) for r in roots if not r.exists()]
        if missing:
            raise InputError(f"nothing to ingest at {', '.join(missing)}")
        known = self.store.document_hashes()
        seen: set[str] = set()
        files = list(discover(roots))
        bar = tqdm(files, desc="ingest", unit="doc", disable=not self.progress or len(files) < 5)
        for path in bar:
            source = source_name(path, self.base)
            try:
                doc = load_document(path, self.base)
            except InputError as exc:
                log.warning("%s", exc)
                report.skipped.append(str(exc))
                if source in known:
                    seen.add(source)
                continue
            report.warnings.extend(doc.warnings)
            seen.add(doc.source)
            previous = known.get(doc.source)
            if previous == doc.content_hash:
                report.unchanged += 1
                continue
            chunks = self.chunker.split(doc)
            self.store.replace_document(doc.source, chunks)
            if previous is None:
                report.added += 1
            else:
                report.updated += 1
        scopes = [source_name(r, self.base) for r in roots]
        for source in known:
            if source not in seen and any(_within(source, scope) for scope in scopes):
                self.store.delete_document(source)
                report.removed += 1
        report.documents, report.chunks = self.store.counts()
        return report

    def remove(self, source: str) -> bool:
        """Retire one document by its source name; True when it was in the index."""
        if source not in self.store.document_hashes():
            return False
        self.store.delete_document(source)
        return True


def _within(source: str, scope: str) -> bool:
    if scope in ("", "."):
        return not source.startswith("/")
    return source == scope or source.startswith(scope.rstrip("/") + "/")
