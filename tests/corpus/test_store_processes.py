"""Two real processes on one embedded index: a long-running reader (the app's situation) and
the `advisor ingest` CLI writing to it (finding 3, second half)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO, RULES, TEST_CORPUS

ADVISOR = str(Path(sys.executable).parent / "advisor")

READER = textwrap.dedent(
    """
    import json, sys
    from advisor.settings import Settings, configure_offline
    from advisor.corpus.store import ChunkStore, build_embeddings, make_client, open_store
    configure_offline()
    settings = Settings().resolved()
    embeddings = build_embeddings(settings)
    if sys.argv[1] == "stale":  # what every process did before: keep its first client
        store = ChunkStore(
            make_client(settings), settings.collection, embeddings, settings.embedding_model
        )
    else:
        store = open_store(settings, embeddings)
    print("ready", flush=True)
    for line in sys.stdin:
        query = line.strip()
        hits = store.search(store.embed_query(query), 3)
        docs = [d["source"] for d in store.documents()]
        print(json.dumps({"hits": [h.chunk.source for h in hits], "docs": docs}), flush=True)
    """
)

NEW_DOC = """---
title: Quantum sensor shipments
---
# Quantum sensor shipments

Shipping a cryogenic quantum magnetometer to a partner laboratory needs a classification
under the Commerce Control List before it leaves the country; the magnetometer's
sensitivity decides whether category 6A applies.
"""
QUERY = "cryogenic quantum magnetometer shipment classification"


def _env(data: Path, corpus: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ADVISOR_DATA_DIR": str(data),
        "ADVISOR_CORPUS_DIR": str(corpus),
        "ADVISOR_RULES_DIR": str(RULES),
    }


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [ADVISOR, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return done


def _ask(reader: subprocess.Popen[str], query: str) -> dict[str, list[str]]:
    assert reader.stdin is not None and reader.stdout is not None
    reader.stdin.write(query + "\n")
    reader.stdin.flush()
    return json.loads(reader.stdout.readline())


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["reopen", "stale"])
def test_a_running_reader_retrieves_what_the_cli_ingested(tmp_path: Path, mode: str) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(TEST_CORPUS, corpus)
    env = _env(tmp_path / "data", corpus)
    _cli(env, "ingest", "--json")
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, mode],
        env=env,
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "ready"
        before = _ask(reader, QUERY)
        assert "corpus/guidance/quantum.md" not in before["hits"]

        (corpus / "guidance" / "quantum.md").write_text(NEW_DOC, encoding="utf-8")
        assert json.loads(_cli(env, "ingest", "--json").stdout)["added"] == 1

        after = _ask(reader, QUERY)
    finally:
        reader.kill()
        reader.wait()
    # Chroma's embedded client reads metadata fresh, so the document is *listed* either way;
    # its vectors stay in the old in-memory index unless the reader reopens its client.
    assert "corpus/guidance/quantum.md" in after["docs"]
    if mode == "reopen":
        assert after["hits"][0] == "corpus/guidance/quantum.md"
    else:
        assert "corpus/guidance/quantum.md" not in after["hits"]
