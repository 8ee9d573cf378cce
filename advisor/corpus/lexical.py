"""Lexical retrieval beside the dense one: exact sections and ECCNs are found by their words.

A small embedding model hears "740.17(b)(2)", "5D002" or "Part 746" as noise; BM25 over the
same chunks does not. Results are fused with the dense ranking (reciprocal rank fusion),
and a chunk that carries a section or ECCN the question names exactly is always kept.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from rank_bm25 import BM25Okapi

from advisor.models import Chunk

_TOKEN = re.compile(r"[a-z0-9]+(?:\.[a-z0-9]+)*")
_SECTION = re.compile(r"\b(\d{3}\.\d{1,3}[a-z]?)(?:\([a-z0-9]+\))*")
_ECCN = re.compile(r"\b([0-9][A-E][0-9]{3})\b")
_PART = re.compile(r"\bpart\s+(\d{3})\b", re.I)
_STOP = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "i",
        "in",
        "is",
        "it",
        "its",
        "may",
        "my",
        "of",
        "on",
        "or",
        "our",
        "that",
        "the",
        "their",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "which",
        "who",
        "will",
        "with",
        "you",
        "your",
    }
)
RRF_K = 60


def tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOP]


def references(text: str) -> set[str]:
    """Sections ("740.17"), ECCNs ("5d002") and parts ("part 746") named in a text."""
    refs = {m.group(1).lower() for m in _SECTION.finditer(text)}
    refs |= {m.group(1).lower() for m in _ECCN.finditer(text)}
    refs |= {f"part {m.group(1)}" for m in _PART.finditer(text)}
    return refs


def _chunk_refs(chunk: Chunk) -> set[str]:
    label = " ".join(x for x in (chunk.section or "", chunk.heading_path or "") if x)
    refs = references(label)
    if chunk.section and "." in chunk.section:
        refs.add(f"part {chunk.section.split('.')[0]}")
    return refs


class LexicalIndex:
    """BM25 over every stored chunk, rebuilt when the store's revision changes."""

    def __init__(self, load: Callable[[], list[Chunk]], revision: Callable[[], str]) -> None:
        self._load = load
        self._revision = revision
        self._built = ""
        self._chunks: list[Chunk] = []
        self._bm25: BM25Okapi | None = None
        self._refs: list[set[str]] = []
        self._lock = threading.Lock()

    def _current(self) -> tuple[list[Chunk], BM25Okapi | None, list[set[str]]]:
        revision = self._revision()
        with self._lock:
            if revision != self._built or self._bm25 is None and self._chunks == []:
                chunks = self._load()
                corpus = [
                    tokens(f"{c.title} {c.heading_path} {c.section or ''} {c.text}") for c in chunks
                ]
                self._chunks = chunks
                self._bm25 = BM25Okapi(corpus) if corpus else None
                self._refs = [_chunk_refs(c) for c in chunks]
                self._built = revision
            return self._chunks, self._bm25, self._refs

    def search(self, query: str, k: int) -> tuple[list[Chunk], list[Chunk]]:
        """(best k by BM25, chunks whose own section or ECCN the query names exactly)."""
        chunks, bm25, refs = self._current()
        if bm25 is None:
            return [], []
        words = tokens(query)
        ranked: list[Chunk] = []
        if words:
            scores = bm25.get_scores(words)
            order = sorted(range(len(chunks)), key=lambda i: -scores[i])[:k]
            ranked = [chunks[i] for i in order if scores[i] > 0]
        named = references(query)
        exact = [c for c, r in zip(chunks, refs, strict=True) if named & r] if named else []
        return ranked, exact[:k]


def fuse(dense: list[str], lexical: list[str], pinned: list[str], k: int) -> list[str]:
    """Reciprocal rank fusion of two rankings of chunk ids; pinned ids come first."""
    score: dict[str, float] = {}
    for ranking in (dense, lexical):
        for rank, cid in enumerate(ranking):
            score[cid] = score.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
    order = sorted(score, key=lambda c: -score[c])
    head = list(dict.fromkeys(pinned[: max(1, k // 3)]))
    return (head + [c for c in order if c not in head])[:k]
