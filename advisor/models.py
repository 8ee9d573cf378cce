"""Typed data passed between the pipeline stages."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from advisor.rules.situation import Situation

DocType = Literal["guidance", "checklist", "template", "regulation", "faq"]
Jurisdiction = Literal["US-EAR", "US-ITAR", "US-OFAC", "EU", "UK", "Wassenaar", "general"]


class Level(StrEnum):
    """Escalation levels, ordered from harmless to stop-now."""

    NONE = "none"
    REVIEW = "review"
    ESCALATE = "escalate"
    PROHIBITED = "prohibited"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def highest(cls, levels: list[Level]) -> Level:
        return max(levels, key=lambda lv: lv.rank, default=cls.NONE)


_RANK = {Level.NONE: 0, Level.REVIEW: 1, Level.ESCALATE: 2, Level.PROHIBITED: 3}


class DocMeta(BaseModel):
    """Front matter of a corpus document; every field is optional except what loaders infer."""

    model_config = ConfigDict(extra="forbid")

    title: str
    doc_type: DocType = "guidance"
    jurisdiction: Jurisdiction = "general"
    topics: list[str] = Field(default_factory=list)
    source_refs: list[str] = Field(default_factory=list)
    effective_date: str | None = None
    version: str | None = None
    owner: str | None = None


class Page(BaseModel):
    """A unit of loaded text: a PDF page, the whole body of a text document, or one
    paragraph of an attached Word or text file (which has no pages to cite)."""

    text: str
    page: int | None = None
    paragraph: int | None = None


class LoadedDocument(BaseModel):
    """A file read from disk, before chunking."""

    source: str
    doc_id: str
    content_hash: str
    meta: DocMeta
    pages: list[Page]
    warnings: list[str] = Field(default_factory=list)
    cfr_title: int | None = None


class Chunk(BaseModel):
    """A retrievable passage with everything a citation needs."""

    id: str
    doc_id: str
    source: str
    title: str
    text: str
    position: int
    heading_path: str = ""
    section: str | None = None
    page: int | None = None
    doc_type: str = "guidance"
    jurisdiction: str = "general"
    version: str | None = None
    effective_date: str | None = None
    doc_hash: str = ""
    cfr_title: int | None = None

    @property
    def section_label(self) -> str | None:
        """ "15 CFR 746.8" when the chunk sits under a regulation section heading."""
        if self.section is None:
            return None
        return f"{self.cfr_title} CFR {self.section}" if self.cfr_title else f"§ {self.section}"


class ScoredChunk(BaseModel):
    chunk: Chunk
    score: float


class Flag(BaseModel):
    """One reason for an escalation level, traceable to a rule and a regulation."""

    id: str
    level: Level
    reason: str
    citation: str
    next_step: str = ""
    matched: list[str] = Field(default_factory=list)
    answer: str = Field("", description="The rule's direct answer, used for the bottom line.")


class Citation(BaseModel):
    """A passage the answer cites as ``[n]``."""

    n: int
    doc_id: str
    chunk_id: str = ""
    title: str
    section: str | None = None
    page: int | None = None
    source: str
    text: str
    score: float
    version: str | None = None
    effective_date: str | None = None

    def location(self) -> list[str]:
        """Where the passage sits: section, page, version and effective date, when known."""
        return [
            x
            for x in (
                self.section,
                f"page {self.page}" if self.page else None,
                f"version {self.version}" if self.version else None,
                f"effective {self.effective_date}" if self.effective_date else None,
            )
            if x
        ]


class Turn(BaseModel):
    """One earlier message of the conversation."""

    role: Literal["user", "assistant"]
    content: str


AttachmentKind = Literal["pdf", "docx", "text"]


class Attachment(BaseModel):
    """A document attached to one question: read and checked like an upload, analysed as
    data, never stored in the corpus. ``pages`` holds what is analysed: a PDF's pages (with
    their real numbers), or a Word or text file's paragraphs (``page`` set only when Word
    recorded where its pages broke)."""

    name: str = Field(description="Display name, as the user's file was called.")
    sha256: str
    kind: AttachmentKind
    pages: list[Page]
    page_count: int = Field(0, description="Pages in the file; 0 when the format has none.")
    notes: list[str] = Field(
        default_factory=list, description="What was not read: pages without text, truncation."
    )
    truncated: bool = Field(False, description="Only the first part of the file is analysed.")


class AttachmentClause(BaseModel):
    """A clause of an attachment that the rules react to, where it is, and why."""

    text: str
    page: int | None = None
    paragraph: int | None = None
    level: Level
    flags: list[str] = Field(default_factory=list, description="Ids of the flags it raises.")
    about: list[str] = Field(default_factory=list, description="What the rules found in it.")
    chunk_id: str = Field("", description="The chunk_id of its citation.")
    n: int | None = Field(None, description="Its [n] in the answer's citations.")

    def location(self) -> str:
        """ "page 2", "paragraph 14" or "page 3, paragraph 14": what a reader can find."""
        parts = [f"page {self.page}"] if self.page else []
        if self.paragraph:
            parts.append(f"paragraph {self.paragraph}")
        return ", ".join(parts) or "the document"


class AttachmentSummary(BaseModel):
    """What an answer says about the attachment it was asked with."""

    name: str
    sha256: str
    kind: AttachmentKind
    pages: int = Field(0, description="Pages in the file; 0 when the format has none.")
    clauses: list[AttachmentClause] = Field(default_factory=list)
    analysed: int = Field(0, description="Clauses (sentences) the rules were run on.")
    truncated: bool = Field(False, description="Only the first part of the file was analysed.")


class Answer(BaseModel):
    """The fixed JSON contract evaluators and integrations read."""

    question: str
    answer: str
    bottom_line: str = Field(
        "", description="One or two sentences that answer the question asked, with [n]."
    )
    level: Level
    flags: list[Flag] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    in_scope: bool = True
    model: str = "extractive"
    latency_ms: float = 0.0
    fallback: bool = False
    prompt_version: str | None = None
    situation: Situation = Field(default_factory=Situation)
    missing: list[str] = Field(
        default_factory=list, description="Facts the answer depends on, asked as questions."
    )
    determination: str | None = Field(None, description="Id of the curated determination used.")
    notes: list[str] = Field(default_factory=list, description="Operational warnings.")
    attachment: AttachmentSummary | None = Field(
        None, description="The document asked about, and the clauses the rules found in it."
    )


class IngestReport(BaseModel):
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    documents: int = 0
    chunks: int = 0
    skipped: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    repaired: list[str] = Field(default_factory=list)  # sources found half-written, redone
