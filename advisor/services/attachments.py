"""Documents attached to a question: checked like uploads, read like corpus files, never stored.

A user asks "can we sign this?" with the sponsor agreement attached. The file is refused
before anything is read when its name and content disagree, it is too big, empty or
password-protected (the upload checks of ``advisor.services.documents``); a PDF's text is
extracted with the corpus loader's budgets (``advisor.corpus.ingest.read_pdf``), a Word file's
with python-docx, paragraph by paragraph. Nothing is written anywhere: the ``Attachment`` lives
for one question, and its text is data for the rules (``advisor.rules.clauses``), never
instructions.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import docx
from docx.document import Document as DocxDocument
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from advisor.corpus.ingest import DocumentLimits, read_pdf
from advisor.errors import InputError
from advisor.models import Attachment, AttachmentKind, Page
from advisor.services.documents import check_upload
from advisor.settings import Settings
from advisor.text import normalise

MB = 1024 * 1024
KINDS: dict[str, AttachmentKind] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".txt": "text",
    ".md": "text",
    ".markdown": "text",
}
ACCEPTED = "attach a PDF, a Word document (.docx) or a text file (.txt, .md)"
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an encrypted .docx, or a legacy .doc
_DOCX_ERRORS = (KeyError, ValueError, TypeError, OSError, zipfile.BadZipFile, SyntaxError)


class AttachmentReader:
    """Reads one attachment into an ``Attachment``; every refusal is an ``InputError`` that
    names the file and says what to do, and the question it came with is not touched."""

    def __init__(self, settings: Settings) -> None:
        self.max_mb = settings.max_attachment_mb
        self.max_bytes = int(settings.max_attachment_mb * MB)
        self.max_pages = settings.max_attachment_pages
        self.max_chars = settings.max_attachment_chars
        self.limits = DocumentLimits.from_settings(settings)

    def read(self, path: Path, display_name: str) -> Attachment:
        """Check and read ``path``; ``display_name`` is what the user's file was called."""
        name = display(display_name, path)
        kind = self._check(path, name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{name}: the attachment cannot be read ({exc.strerror})") from exc
        notes: list[str] = []
        count = 0
        if kind == "pdf":
            pages, count = read_pdf(name, data, self.limits, notes)
        elif kind == "docx":
            pages, count = docx_paragraphs(name, data, self.limits)
        else:
            pages = text_paragraphs(data.decode("utf-8-sig"))
        # The rules read what the question's text would be: NFKC ("ﬁ" is "fi"), no invisible
        # characters, look-alike letters folded (advisor.text.normalise).
        pages = [p.model_copy(update={"text": _clean(p.text)}) for p in pages]
        if not any(p.text.strip() for p in pages):
            raise InputError(f"{name}: the document has no text to read")
        kept, cut = self._bounded(pages, count)
        if cut:
            notes.append(f"{name}: {cut}")
        return Attachment(
            name=name,
            sha256=hashlib.sha256(data).hexdigest(),
            kind=kind,
            pages=kept,
            page_count=count,
            notes=notes,
            truncated=bool(cut),
        )

    def _check(self, path: Path, name: str) -> AttachmentKind:
        suffix = Path(name).suffix.lower()
        kind = KINDS.get(suffix)
        if kind is None:
            shown = f"{suffix} files" if suffix else "files without an extension"
            raise InputError(f"{name}: {shown} cannot be attached; {ACCEPTED}")
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise InputError(f"{name}: the attachment cannot be read ({exc.strerror})") from exc
        if size > self.max_bytes:
            shown = f"{size / MB:.1f} MB" if size >= MB / 10 else f"{size / 1024:.0f} kB"
            raise InputError(
                f"{name}: {shown} is over the attachment limit of {self.max_mb:g} MB "
                "(ADVISOR_MAX_ATTACHMENT_MB)"
            )
        if kind != "docx":  # the upload checks: empty, PDF header, UTF-8 text
            check_upload(path, name, self.max_bytes)
            return kind
        if size == 0:
            raise InputError(f"{name}: the file is empty")
        with path.open("rb") as fh:
            head = fh.read(8)
        if head.startswith(_OLE):
            raise InputError(
                f"{name}: the Word file is password-protected or in the old .doc format; "
                "save an unprotected .docx copy and attach that"
            )
        if not head.startswith(_ZIP):
            what = "a PDF; name the file .pdf" if head.startswith(b"%PDF-") else "not a Word file"
            raise InputError(f"{name}: named .docx but the content is {what}")
        return kind

    def _bounded(self, pages: list[Page], count: int) -> tuple[list[Page], str]:
        """The first pages within the analysis budget, and what was left out, if anything:
        a long document is analysed in part, and the answer says so."""
        kept: list[Page] = []
        chars = 0
        for page in pages:
            if page.page is not None and page.page > self.max_pages:
                return kept, (
                    f"only pages 1-{self.max_pages} of {count} were analysed "
                    "(ADVISOR_MAX_ATTACHMENT_PAGES)"
                )
            room = self.max_chars - chars
            if len(page.text) > room:
                cut = page.text[:room].rsplit(None, 1)[0] if room > 0 else ""
                if cut.strip():
                    kept.append(page.model_copy(update={"text": cut}))
                where = f" (up to {_where(kept[-1])})" if kept else ""
                return kept, (
                    f"only the first {self.max_chars:,} characters{where} were analysed "
                    "(ADVISOR_MAX_ATTACHMENT_CHARS)"
                )
            kept.append(page)
            chars += len(page.text)
        return kept, ""


def _where(page: Page) -> str:
    if page.page is not None:
        return f"page {page.page}"
    return f"paragraph {page.paragraph}"


def _clean(text: str) -> str:
    return normalise(re.sub("[\ud800-\udfff]", "\ufffd", text), "the attachment")


def display(name: str, path: Path) -> str:
    """The name shown in answers: the file's own name, without folders or invisible tricks."""
    base = Path((name or "").replace("\\", "/")).name.strip() or path.name
    shown = normalise(base, "the file name")
    return re.sub(r"[\x00-\x1f\x7f]+", " ", shown).strip()[:120] or "attachment"


def text_paragraphs(text: str) -> list[Page]:
    """A text file's paragraphs (blocks between blank lines), numbered from 1."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))]
    return [Page(text=b, paragraph=i) for i, b in enumerate((b for b in blocks if b), start=1)]


def _check_zip(name: str, data: bytes, limits: DocumentLimits) -> None:
    """A .docx is a zip: one that unpacks to far more than it weighs is refused unread."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"{name}: not a readable Word file (damaged zip: {exc})") from exc
    if not any(i.filename == "word/document.xml" for i in infos):
        raise InputError(f"{name}: not a Word document (it has no word/document.xml)")
    budget = limits.max_pdf_content_bytes
    if any(i.file_size > budget for i in infos) or sum(i.file_size for i in infos) > 4 * budget:
        raise InputError(
            f"{name}: the Word file unpacks to more than {4 * budget / MB:g} MB, which a real "
            "document of its size does not; check where it came from"
        )


def docx_paragraphs(name: str, data: bytes, limits: DocumentLimits) -> tuple[list[Page], int]:
    """A Word document's non-empty paragraphs (body and table cells, in order), numbered from
    1, and its page count. Pages are known only where Word recorded its own page breaks when it
    last saved the file; otherwise ``page`` stays None and citations name the paragraph."""
    _check_zip(name, data, limits)
    try:
        document = docx.Document(io.BytesIO(data))
        found = list(_paragraphs(document))
    except (PackageNotFoundError, *_DOCX_ERRORS) as exc:
        raise InputError(f"{name}: not a readable Word document ({exc})") from exc
    breaks = 0
    rows: list[tuple[str, int]] = []
    for paragraph in found:
        rendered = paragraph.rendered_page_breaks
        before = rendered[0].preceding_paragraph_fragment if rendered else None
        opens_page = bool(rendered) and (before is None or not before.text.strip())
        text = " ".join(paragraph.text.split())
        if text:
            rows.append((text, breaks + opens_page))
        breaks += len(rendered)
    paged = breaks > 0
    pages = [
        Page(text=text, page=broken + 1 if paged else None, paragraph=i)
        for i, (text, broken) in enumerate(rows, start=1)
    ]
    return pages, breaks + 1 if paged else 0


def _paragraphs(container: DocxDocument | _Cell) -> Iterator[Paragraph]:
    """Paragraphs in reading order, into tables; a merged cell is read once (the set keeps
    its XML element alive, so the element is found again by identity)."""
    seen: set[object] = set()
    for block in container.iter_inner_content():
        if isinstance(block, Paragraph):
            yield block
        elif isinstance(block, Table):
            for row in block.rows:
                for cell in row.cells:
                    if cell._tc not in seen:
                        seen.add(cell._tc)
                        yield from _paragraphs(cell)
