from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pytest
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import RetrieversIntegrationTests

from advisor.chain import build_ingestor
from advisor.corpus.retrieval import CorpusRetriever, where_clause
from advisor.corpus.store import ChunkStore, build_embeddings, open_store
from tests.conftest import TEST_CORPUS, make_settings, shared_path
from tests.fakes import HashEmbeddings


def test_where_clause_shapes() -> None:
    assert where_clause(None) is None
    assert where_clause({"jurisdiction": "EU"}) == {"jurisdiction": {"$in": ["EU"]}}
    both = where_clause({"jurisdiction": ["EU", "UK"], "doc_type": "checklist"})
    assert both == {
        "$and": [
            {"jurisdiction": {"$in": ["EU", "UK"]}},
            {"doc_type": {"$in": ["checklist"]}},
        ]
    }
    with pytest.raises(ValueError, match="cannot filter"):
        where_clause({"owner": "x"})


def test_filters_and_scores_with_fake_embeddings(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    store = open_store(settings, HashEmbeddings(), create=True)
    build_ingestor(settings, store, progress=False).sync([TEST_CORPUS])
    retriever = CorpusRetriever(store=store, k=3)
    hits = retriever.retrieve("widget device encrypts data", filters={"doc_type": "regulation"})
    assert hits and all(h.chunk.doc_type == "regulation" for h in hits)
    assert all(-1.0 <= h.score <= 1.0 for h in hits)
    assert hits == sorted(hits, key=lambda h: -h.score)
    docs = retriever.invoke("laptop tools of trade", k=2)
    assert len(docs) == 2 and {"score", "chunk_id", "source"} <= set(docs[0].metadata)


@functools.cache
def _real_store() -> ChunkStore:
    """One real index over the test corpus for the standard LangChain suite."""
    folder = Path(tempfile.mkdtemp(prefix="advisor-retrieval-"))
    settings = make_settings(folder)
    store = open_store(settings, build_embeddings(settings), create=True)
    build_ingestor(settings, store, progress=False).sync([TEST_CORPUS])
    return store


@pytest.mark.slow
class TestCorpusRetrieverStandard(RetrieversIntegrationTests):
    """LangChain's standard retriever suite against the real model and Chroma."""

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return CorpusRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"store": _real_store(), "k": 2}

    @property
    def retriever_query_example(self) -> str:
        return "Does a sponsor approval clause break fundamental research?"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "expected_source"),
    [
        (
            "Does a sponsor approval of publications break fundamental research?",
            "fundamental-research-basics.md",
        ),
        ("Can I carry my laptop abroad as a tool of trade?", "travel-basics.md"),
        ("Is a licence needed to send items to Crimea?", "embargoes.md"),
        ("What is a widget in the test regulation?", "15-cfr-part-999-excerpt.txt"),
    ],
)
def test_real_retrieval_ranks_the_right_document_first(question: str, expected_source: str) -> None:
    hits = CorpusRetriever(store=_real_store(), k=3).retrieve(question)
    assert hits[0].chunk.source.endswith(expected_source)
    assert hits[0].score > 0.3


@pytest.mark.slow
def test_shared_regulations_crimea_question_reaches_746_6(tmp_path: Path, real_embeddings) -> None:
    regs = shared_path("data", "regulations", "15-cfr-part-746.md")
    settings = make_settings(tmp_path)
    store = open_store(settings, real_embeddings, create=True)
    build_ingestor(settings, store, progress=False).sync([regs])
    hits = CorpusRetriever(store=store, k=5).retrieve(
        "Is a licence required to export to the Crimea region of Ukraine?"
    )
    assert "746.6" in [h.chunk.section for h in hits]
