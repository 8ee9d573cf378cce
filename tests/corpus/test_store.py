from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from advisor.chain import build_ingestor
from advisor.corpus.retrieval import CorpusRetriever
from advisor.corpus.store import make_client, open_store
from advisor.errors import StoreError
from tests.conftest import TEST_CORPUS, make_settings
from tests.fakes import HashEmbeddings


def test_asking_before_ingest_says_how_to_build_the_index(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with pytest.raises(StoreError, match="advisor ingest"):
        open_store(settings, HashEmbeddings(), create=False)


def test_model_mismatch_is_a_clear_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    open_store(settings, HashEmbeddings(dim=64), create=True)
    with pytest.raises(StoreError, match="--rebuild"):
        open_store(settings, HashEmbeddings(dim=32), create=False)
    other = settings.model_copy(update={"embedding_model": "/models/other"})
    with pytest.raises(StoreError, match="/models/other"):
        open_store(other, HashEmbeddings(dim=64), create=False)


def test_locked_store_gives_a_clear_error_and_keeps_data(tmp_path: Path) -> None:
    """Chroma 1.x serialises writers itself, so a lock cannot be provoked from outside;
    the translation of the sqlite error it raises when one happens is tested here."""
    settings = make_settings(tmp_path)
    store = open_store(settings, HashEmbeddings(), create=True)
    build_ingestor(settings, store, progress=False).sync([TEST_CORPUS])
    before = store.counts()
    real = store.collection

    class Locked:
        def __getattr__(self, name: str):
            return getattr(real, name)

        def delete(self, **_: object) -> None:
            raise sqlite3.OperationalError("database is locked")

    store.collection = Locked()  # type: ignore[assignment]
    with pytest.raises(StoreError, match="locked by another process"):
        store.delete_document("corpus/guidance/travel-basics.md")
    store.collection = real
    assert store.counts() == before


def test_failed_embedding_leaves_the_old_version(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    fake = HashEmbeddings()
    store = open_store(settings, fake, create=True)
    ingestor = build_ingestor(settings, store, progress=False)
    ingestor.sync([TEST_CORPUS])
    before = store.counts()
    hit = store.search(fake.embed_query("laptop"), 1)[0].chunk
    edited = hit.model_copy(update={"id": "edited", "text": hit.text + " Edited."})
    fake.embed_documents = lambda texts: (_ for _ in ()).throw(RuntimeError("model crashed"))  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        store.replace_document(hit.source, [edited])
    assert store.counts() == before
    assert store.document_states()[hit.source].complete


def test_bad_chroma_url(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a URL"):
        make_client(make_settings(tmp_path, chroma_url="nonsense"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path):
    """A real `chroma run` on loopback, stopped after the test."""
    port = _free_port()
    chroma = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("chroma server did not start within 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.slow
def test_server_mode_ingest_and_retrieve(
    tmp_path: Path, chroma_server: str, real_embeddings
) -> None:
    settings = make_settings(tmp_path, chroma_url=chroma_server)
    store = open_store(settings, real_embeddings, create=True)
    report = build_ingestor(settings, store, progress=False).sync([TEST_CORPUS])
    assert report.added == 4
    again = open_store(settings, real_embeddings, create=False)
    assert again.counts() == (4, report.chunks)
    hits = CorpusRetriever(store=again, k=2).retrieve("Crimea licence requirement")
    assert hits[0].chunk.source == "corpus/guidance/embargoes.md"
    assert not (tmp_path / "data" / "chroma").exists()


def test_every_committed_write_bumps_the_generation(tmp_path: Path) -> None:
    from advisor.corpus.locks import Generation

    settings = make_settings(tmp_path)
    store = open_store(settings, HashEmbeddings(), create=True)
    generation = Generation(settings.data_dir)
    first = generation.read()
    build_ingestor(settings, store, progress=False).sync([TEST_CORPUS])
    second = generation.read()
    assert second != first and int(second.split()[0]) >= 4
    assert store.refresh() is False  # its own writes need no reopening


def test_readers_in_threads_survive_reopening(tmp_path: Path) -> None:
    """Another process's commit (a bumped generation) reopens the client under the searches
    of other threads: none of them may run on a closed client."""
    import threading

    from advisor.corpus.locks import Generation

    settings = make_settings(tmp_path)
    fake = HashEmbeddings()
    store = open_store(settings, fake, create=True)
    build_ingestor(settings, store, progress=False).sync([TEST_CORPUS])
    vector = fake.embed_query("laptop border search")
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                assert store.search(vector, 2)
                assert store.counts()[0] == 4
            except BaseException as exc:  # collected for the assertion below
                errors.append(exc)
                return

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    clients = {id(store.client)}
    for _ in range(15):
        Generation(settings.data_dir).bump()
        time.sleep(0.05)
        clients.add(id(store.client))
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert len(clients) > 1
