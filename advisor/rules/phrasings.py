"""Facts found by meaning: example phrasings matched against a question's clauses.

Vocabulary patterns miss paraphrases ("the sponsor may block any paper", "a company on the
Entity List"). Each fact may list example phrasings in the rule files (``phrasings:``); a
clause whose embedding is close enough to one of them states the fact. The matcher only
adds facts. A clause with a negation cue does not state a negatable fact.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field

from advisor.text import asking_cue

_CLAUSE = re.compile(r"(?<=[.!?;:])\s+|\n+|,\s+(?=(?:but|and|or|so|while|because|if)\b)")
_NEGATION = re.compile(
    r"\b(?:not|no|never|without|none|nobody|nothing|isn't|aren't|won't|don't|doesn't|didn't|"
    r"hasn't|haven't|cannot|can't|neither|nor)\b",
    re.I,
)
MAX_CLAUSES = 8
log = logging.getLogger(__name__)


class Embedder(Protocol):
    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...


class PrefetchEmbeddings(Embeddings):
    """Embeddings with a bounded memo that a caller fills in one batch.

    The rules embed one text's clauses per call; a document's hundreds of sentences embedded
    that way take several times longer than in one batch. ``prefetch`` embeds them together,
    and the per-clause calls then find them here. Vectors are exactly the wrapped model's.
    """

    def __init__(self, inner: Embeddings, size: int = 8192, batch: int = 256) -> None:
        self.inner = inner
        self.size = size
        self.batch = batch
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def _keep(self, texts: list[str], vectors: list[list[float]]) -> None:
        with self._lock:
            for text, vector in zip(texts, vectors, strict=True):
                self._memo[text] = np.asarray(vector, dtype=np.float32)
                self._memo.move_to_end(text)
            while len(self._memo) > self.size:
                self._memo.popitem(last=False)

    def prefetch(self, texts: Iterable[str]) -> None:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        for start in range(0, len(missing), self.batch):
            part = missing[start : start + self.batch]
            self._keep(part, self.inner.embed_documents(part))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            found = {t: self._memo[t] for t in texts if t in self._memo}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        fresh: dict[str, list[float]] = {}
        if missing:
            fresh = dict(zip(missing, self.inner.embed_documents(missing), strict=True))
            self._keep(list(fresh), list(fresh.values()))
        return [fresh[t] if t in fresh else found[t].tolist() for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def embed_cached(embeddings: Embedder, texts: list[str], cache_dir: Path | None) -> np.ndarray:
    """Unit-length embeddings of fixed texts, kept on disk by a hash of the texts so that a
    restart does not embed hundreds of example phrasings again."""
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    # The model's own class names the cache, not a memo wrapped around it.
    model = embeddings.inner if isinstance(embeddings, PrefetchEmbeddings) else embeddings
    key = hashlib.sha256("\0".join([type(model).__name__, *texts]).encode()).hexdigest()
    path = cache_dir / f"phrasings-{key[:20]}.npy" if cache_dir else None
    if path is not None and path.exists():
        try:
            cached = np.load(path, allow_pickle=False)
            if cached.shape[0] == len(texts):
                return cached
        except (OSError, ValueError):
            log.warning("phrasing cache %s unreadable; embedding again", path)
    matrix = np.asarray(embeddings.embed_documents(texts), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-9
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, matrix, allow_pickle=False)
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("phrasing cache not written: %s", exc)
    return matrix


class PhrasingSpec(BaseModel):
    """Example phrasings of one fact, as people write them."""

    model_config = ConfigDict(extra="forbid")

    fact: str
    examples: list[str] = Field(min_length=3)
    threshold: float = Field(0.7, ge=0.4, le=0.95)
    negatable: bool = True


def clauses(texts: Sequence[str], limit: int = MAX_CLAUSES) -> list[str]:
    """Sentences and their larger parts, newest text first, at most ``limit`` (bounded work)."""
    out: list[str] = []
    for text in reversed(list(texts)):
        for piece in _CLAUSE.split(text):
            piece = piece.strip()
            if len(piece.split()) >= 3:
                out.append(piece[:400])
    return list(dict.fromkeys(out))[:limit]


class FactMatcher:
    """Example phrasings embedded once; clauses matched by cosine similarity."""

    def __init__(
        self, embeddings: Embedder, specs: list[PhrasingSpec], cache_dir: Path | None = None
    ) -> None:
        self.embeddings = embeddings
        self.specs = specs
        self.cache_dir = cache_dir
        self._matrix: np.ndarray | None = None
        self._owners: list[int] = []
        self._lock = threading.Lock()

    def _examples(self) -> tuple[np.ndarray, list[int]]:
        with self._lock:
            if self._matrix is None:
                texts = [e for spec in self.specs for e in spec.examples]
                self._owners = [i for i, spec in enumerate(self.specs) for _ in spec.examples]
                self._matrix = embed_cached(self.embeddings, texts, self.cache_dir)
            return self._matrix, self._owners

    def scores(self, texts: Sequence[str]) -> list[tuple[str, str, float]]:
        """(fact, clause, similarity) for every fact a clause states."""
        if not self.specs:
            return []
        parts = clauses(texts)
        if not parts:
            return []
        matrix, owners = self._examples()
        vectors = np.asarray(self.embeddings.embed_documents(parts), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9
        sims = vectors @ matrix.T
        found: dict[str, tuple[str, float]] = {}
        for row, clause in enumerate(parts):
            negated = bool(_NEGATION.search(_without_asking(clause)))
            best: dict[int, float] = {}
            for col in np.flatnonzero(sims[row] >= 0.4):
                owner = owners[col]
                best[owner] = max(best.get(owner, 0.0), float(sims[row, col]))
            for owner, score in best.items():
                spec = self.specs[owner]
                if score < spec.threshold or (negated and spec.negatable):
                    continue
                if score > found.get(spec.fact, ("", 0.0))[1]:
                    found[spec.fact] = (clause, score)
        return [(fact, clause, score) for fact, (clause, score) in found.items()]

    def facts(self, texts: Sequence[str]) -> set[str]:
        return {fact for fact, _, _ in self.scores(texts)}


def _without_asking(clause: str) -> str:
    """The clause without the contraction of an inverted negative question."""
    cue = asking_cue(clause)
    return clause if cue is None else re.sub(re.escape(cue), "", clause, count=1, flags=re.I)
