"""Structure-aware chunking: headings first, then size at sentence boundaries."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from advisor.models import Chunk, LoadedDocument

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
SECTION = re.compile(r"§+\s*(?:§+\s*)*(\d{1,3}\.\d+[a-z]?(?:\s*-\s*\d{1,3}\.\d+[a-z]?)?)")
SECTION_LINE = re.compile(r"^\s*§+\s*(?:§+\s*)*\d{1,3}\.\d+")
ABBREVIATIONS = (
    "e.g",
    "i.e",
    "u.s",
    "no",
    "nos",
    "supp",
    "art",
    "arts",
    "reg",
    "para",
    "sec",
    "secs",
    "fig",
    "cf",
    "vs",
    "etc",
    "inc",
    "ltd",
    "co",
    "corp",
    "dr",
    "mr",
    "ms",
    "mrs",
    "st",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "u.s.c",
    "approx",
    "cat",
    "pt",
    "ch",
    "subch",
    "v",
    "e.u",
    "u.k",
    "n.a",
)
_BOUNDARY = re.compile(r"(?<=[.!?;:])\s+(?=[\"'“(\[]?[A-Z0-9§])")
MIN_CHUNK_CHARS = 50


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping list items and legal abbreviations intact."""
    sentences: list[str] = []
    for block in re.split(r"\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)]|\([a-z0-9]+\))\s)", text):
        block = " ".join(block.split())
        if not block:
            continue
        start = 0
        for match in _BOUNDARY.finditer(block):
            before = block[start : match.start()]
            last_word = before.rsplit(" ", 1)[-1].rstrip(".!?;:").lower()
            if before.endswith((":", ";")) or last_word in ABBREVIATIONS or len(last_word) == 1:
                continue
            sentences.append(before.strip())
            start = match.end()
        tail = block[start:].strip()
        if tail:
            sentences.append(tail)
    return sentences


def clean_heading(text: str) -> str:
    text = re.sub(r"§\s*§+", "§", text)
    return " ".join(text.replace("*", "").split())


@dataclass
class _Section:
    path: list[str]
    section: str | None
    page: int | None
    lines: list[str]


@dataclass
class Chunker:
    """Turns a loaded document into ``Chunk`` objects with stable ids."""

    chunk_size: int = 1000
    overlap: int = 150

    def split(self, doc: LoadedDocument) -> list[Chunk]:
        chunks: list[Chunk] = []
        for sec in self._sections(doc):
            for text in self._pack(sec.lines):
                position = len(chunks)
                chunks.append(
                    Chunk(
                        id=chunk_id(doc.source, position, text),
                        doc_id=doc.doc_id,
                        source=doc.source,
                        title=doc.meta.title,
                        text=text,
                        position=position,
                        heading_path=" > ".join(sec.path),
                        section=sec.section,
                        page=sec.page,
                        doc_type=doc.meta.doc_type,
                        jurisdiction=doc.meta.jurisdiction,
                        version=doc.meta.version,
                        effective_date=doc.meta.effective_date,
                        doc_hash=doc.content_hash,
                        cfr_title=doc.cfr_title,
                    )
                )
        return chunks

    def _sections(self, doc: LoadedDocument) -> list[_Section]:
        stack: list[tuple[int, str]] = []
        section: str | None = None
        out: list[_Section] = []
        for page in doc.pages:
            current = _Section([h for _, h in stack], section, page.page, [])
            out.append(current)
            in_code = False
            for line in page.text.splitlines():
                if line.lstrip().startswith("```"):
                    in_code = not in_code
                heading = None if in_code else HEADING.match(line)
                if heading:
                    level, title = len(heading.group(1)), clean_heading(heading.group(2))
                    while stack and stack[-1][0] >= level:
                        stack.pop()
                    if not (level == 1 and title.lower() == doc.meta.title.lower()):
                        stack.append((level, title))
                    found = SECTION.search(title)
                    if found:
                        section = _normal_section(found.group(1))
                    elif level <= 2 and doc.meta.doc_type != "regulation":
                        section = None
                    current = _Section([h for _, h in stack], section, page.page, [])
                    out.append(current)
                    continue
                if SECTION_LINE.match(line) and doc.meta.doc_type == "regulation":
                    found = SECTION.search(line)
                    if found and _normal_section(found.group(1)) != section:
                        section = _normal_section(found.group(1))
                        current = _Section([h for _, h in stack], section, page.page, [])
                        out.append(current)
                current.lines.append(line.strip())
        return [s for s in out if "".join(s.lines).strip()]

    def _pack(self, lines: list[str]) -> list[str]:
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", "\n".join(lines)) if p.strip()]
        pieces: list[str] = []
        for para in paragraphs:
            if len(para) <= self.chunk_size:
                pieces.append(para)
            else:
                for sentence in split_sentences(para):
                    pieces.extend(_wrap(sentence, self.chunk_size))
        chunks: list[str] = []
        current: list[str] = []
        size = 0
        for piece in pieces:
            if current and size + len(piece) + 2 > self.chunk_size:
                chunks.append("\n\n".join(current))
                current = self._overlap_tail(current)
                size = sum(len(p) + 2 for p in current)
            current.append(piece)
            size += len(piece) + 2
        if current:
            chunks.append("\n\n".join(current))
        return [c for c in chunks if len(c.strip()) >= MIN_CHUNK_CHARS]

    def _overlap_tail(self, current: list[str]) -> list[str]:
        """Last sentences of the previous chunk, up to ``overlap`` characters."""
        if self.overlap <= 0:
            return []
        tail: list[str] = []
        size = 0
        for sentence in reversed(split_sentences(current[-1])):
            if size + len(sentence) > self.overlap:
                break
            tail.insert(0, sentence)
            size += len(sentence) + 1
        return [" ".join(tail)] if tail else []


def _wrap(text: str, limit: int) -> list[str]:
    """A single sentence longer than a chunk is cut at word boundaries, never dropped."""
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        cut = cut if cut > limit // 2 else limit
        parts.append(text[:cut].strip())
        text = text[cut:].strip()
    return [*parts, text] if text else parts


def _normal_section(raw: str) -> str:
    return re.sub(r"\s+", "", raw)


def chunk_id(source: str, position: int, text: str) -> str:
    """Stable id: the same file, place and text always give the same id."""
    return hashlib.sha256(f"{source}\x00{position}\x00{text}".encode()).hexdigest()[:32]
