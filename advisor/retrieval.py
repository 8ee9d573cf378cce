"""Dense retrieval over the store, exposed as a LangChain ``BaseRetriever``."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from advisor.models import ScoredChunk
from advisor.store import ChunkStore

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


class CorpusRetriever(BaseRetriever):
    """Top-k passages with cosine scores and optional metadata filters.

    The chain calls ``retrieve`` for typed results; LangChain users call ``invoke`` and get
    ``Document`` objects whose metadata carries ``score`` and ``chunk_id``. A lexical or
    hybrid stage can later wrap ``retrieve`` without changing either contract.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: ChunkStore
    k: int = 6
    filters: dict[str, str | list[str]] | None = None

    def retrieve(
        self,
        query: str,
        *,
        k: int | None = None,
        filters: dict[str, str | list[str]] | None = None,
        vector: list[float] | None = None,
    ) -> list[ScoredChunk]:
        vector = vector if vector is not None else self.store.embed_query(query)
        return self.store.search(vector, k or self.k, where_clause(filters or self.filters))

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
