"""Dense retrieval over the store, exposed as a LangChain ``BaseRetriever``."""

from __future__ import annotations

from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from advisor.corpus.lexical import LexicalIndex, fuse
from advisor.corpus.store import ChunkStore
from advisor.models import Chunk, ScoredChunk

FILTER_FIELDS = ("jurisdiction", "doc_type")


def where_clause(filters: dict[str, str | list[str]] | None) -> dict[str, Any] | None:
    """Chroma ``where`` from simple field filters; a list means any of these values."""
    clauses: list[dict[str, Any]] = []
    for field, value in (filters or {}).items():
        if field not in FILTER_FIELDS:
            raise ValueError(f"cannot filter on {field!r}; use one of {', '.join(FILTER_FIELDS)}")
        values = [value] if isinstance(value, str) else list(value)
        if values:
            clauses.append({field: {"$in": values}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _allowed(chunks: list[Chunk], filters: dict[str, str | list[str]] | None) -> list[Chunk]:
    """The field filters applied to chunks found outside Chroma."""
    if not filters:
        return chunks
    wanted = {f: {v} if isinstance(v, str) else set(v) for f, v in filters.items() if v}
    return [c for c in chunks if all(getattr(c, f) in vals for f, vals in wanted.items())]


class CorpusRetriever(BaseRetriever):
    """Top-k passages with cosine scores and optional metadata filters.

    The chain calls ``retrieve`` for typed results; LangChain users call ``invoke`` and get
    ``Document`` objects whose metadata carries ``score`` and ``chunk_id``. With a
    ``lexical`` index the dense and BM25 rankings are fused and exact section or ECCN
    matches are kept; scores stay cosine similarities either way.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: ChunkStore
    k: int = 6
    filters: dict[str, str | list[str]] | None = None
    lexical: LexicalIndex | None = None

    def retrieve(
        self,
        query: str,
        *,
        k: int | None = None,
        filters: dict[str, str | list[str]] | None = None,
        vector: list[float] | None = None,
    ) -> list[ScoredChunk]:
        vector = vector if vector is not None else self.store.embed_query(query)
        k = k or self.k
        where = filters or self.filters
        if self.lexical is None:
            return self.store.search(vector, k, where_clause(where))
        dense = self.store.search(vector, k * 3, where_clause(where))
        ranked, exact = self.lexical.search(query, k * 3)
        ranked, exact = _allowed(ranked, where), _allowed(exact, where)
        order = fuse([h.chunk.id for h in dense], [c.id for c in ranked], [c.id for c in exact], k)
        return self._scored(order, vector, dense, [*ranked, *exact])

    def _scored(
        self, order: list[str], vector: list[float], dense: list[ScoredChunk], found: list[Chunk]
    ) -> list[ScoredChunk]:
        """Fused order, each passage with its cosine score (from the stored vector when only
        the lexical index found it), so relevance thresholds keep their meaning."""
        known = {h.chunk.id: h for h in dense}
        chunks = {c.id: c for c in found}
        missing = [cid for cid in order if cid not in known]
        stored = self.store.vectors(missing)
        qv = np.asarray(vector, dtype=np.float32)
        out: list[ScoredChunk] = []
        for cid in order:
            if cid in known:
                out.append(known[cid])
            elif cid in stored:
                v = np.asarray(stored[cid], dtype=np.float32)
                cos = float(v @ qv / (np.linalg.norm(v) * np.linalg.norm(qv) + 1e-9))
                out.append(ScoredChunk(chunk=chunks[cid], score=round(cos, 4)))
        return out

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        filters: dict[str, str | list[str]] | None = None,
        **_: Any,
    ) -> list[Document]:
        return [
            Document(
                id=hit.chunk.id,
                page_content=hit.chunk.text,
                metadata={
                    **hit.chunk.model_dump(exclude={"text"}, exclude_none=True),
                    "chunk_id": hit.chunk.id,
                    "score": hit.score,
                },
            )
            for hit in self.retrieve(query, k=k, filters=filters)
        ]
