"""Real processes on one data dir: killed ingests (finding 4), concurrent ingests (finding 3),
bad corpus files under `ingest`, `ask` and `serve` (finding 6)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import chromadb
import httpx
import numpy as np
import pytest
from chromadb.config import Settings as ChromaSettings

from tests.conftest import REPO, RULES, TEST_CORPUS, running_app, shared_path

ADVISOR = str(Path(sys.executable).parent / "advisor")
BIG = "15-cfr-part-734.md"  # 85 chunks: 22 batches of 4
SMALL = "15-cfr-part-736.md"


def _env(data: Path, corpus: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "ADVISOR_DATA_DIR": str(data),
        "ADVISOR_CORPUS_DIR": str(corpus),
        "ADVISOR_RULES_DIR": str(RULES),
        **extra,
    }


def _index(data: Path) -> dict[str, Any]:
    """Everything stored, read with a plain Chroma client (closed again at once)."""
    client = chromadb.PersistentClient(
        path=str(data / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    try:
        got = client.get_collection("export_advisor").get(
            include=["documents", "metadatas", "embeddings"]
        )
    finally:
        client.close()
    return {
        i: (d, m, np.asarray(e))
        for i, d, m, e in zip(
            got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
        )
    }


@pytest.fixture(scope="module")
def regulations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = tmp_path_factory.mktemp("kill") / "corpus"
    (corpus / "regulations").mkdir(parents=True)
    for name in (SMALL, BIG):
        shutil.copy(shared_path("data", "regulations", name), corpus / "regulations" / name)
    return corpus


@pytest.fixture(scope="module")
def clean_index(regulations: Path) -> dict[str, Any]:
    """What an uninterrupted ingest of the same corpus stores."""
    data = regulations.parent / "clean"
    done = subprocess.run(
        [ADVISOR, "ingest", "--json"],
        env=_env(data, regulations),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    return _index(data)


def _ingest_until(data: Path, corpus: Path, batches: int) -> None:
    """Start `advisor -v ingest` and SIGKILL it once it logged ``batches`` writes of BIG."""
    proc = subprocess.Popen(
        [ADVISOR, "-v", "ingest"],
        env=_env(data, corpus, ADVISOR_INGEST_BATCH_SIZE="4"),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen = 0
    try:
        for line in proc.stderr:
            if f"{BIG}: stored" in line:
                seen += 1
                if seen == batches:
                    os.kill(proc.pid, signal.SIGKILL)
                    break
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert seen == batches, "the ingest finished before it could be killed"


@pytest.mark.slow
@pytest.mark.parametrize("batches", [1, 4, 9, 15, 20])
def test_a_killed_ingest_is_repaired_by_the_next_sync(
    tmp_path: Path, regulations: Path, clean_index: dict[str, Any], batches: int
) -> None:
    data = tmp_path / "data"
    _ingest_until(data, regulations, batches)
    partial = _index(data)
    assert 0 < len(partial) < len(clean_index), "the kill did not land in the middle of a write"

    done = subprocess.run(
        [ADVISOR, "ingest", "--json"],
        env=_env(data, regulations),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    assert f"regulations/{BIG}: the index held" in done.stderr
    assert json.loads(done.stdout)["chunks"] == len(clean_index)

    repaired = _index(data)
    assert set(repaired) == set(clean_index)
    for chunk_id, (text, meta, vector) in repaired.items():
        want_text, want_meta, want_vector = clean_index[chunk_id]
        assert (text, meta) == (want_text, want_meta)
        assert np.allclose(vector, want_vector, atol=1e-4)


def _small_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    shutil.copytree(TEST_CORPUS, corpus)
    shutil.copy(shared_path("data", "regulations", SMALL), corpus / "regulations" / SMALL)
    return corpus


@pytest.mark.slow
@pytest.mark.parametrize(("wait", "held"), [("600", False), ("2", True)])
def test_three_concurrent_ingests_never_hang(tmp_path: Path, wait: str, held: bool) -> None:
    """Writers queue on the lock; with a short wait and the lock held elsewhere (here by the
    test itself, so the outcome does not depend on how fast the machine is) they give up
    with the message instead of hanging."""
    from advisor.corpus.locks import WriteLock

    corpus = _small_corpus(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    env = _env(data, corpus, ADVISOR_INGEST_LOCK_TIMEOUT=wait)
    holder = WriteLock(data, 5.0).hold("a test holding the lock") if held else nullcontext()
    with holder:
        procs = [
            subprocess.Popen(
                [ADVISOR, "ingest", "--json"],
                env=env,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        outcomes = [p.communicate(timeout=900) for p in procs]  # a hang fails here
    succeed = 0 if held else 3
    codes = [p.returncode for p in procs]
    assert codes.count(0) == succeed, outcomes
    for code, (_, err) in zip(codes, outcomes, strict=True):
        if code != 0:
            assert code == 2 and "another ingest is running (pid " in err and "Traceback" not in err

    started = time.monotonic()
    again = subprocess.run(
        [ADVISOR, "ingest", "--json"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    expected = (5, 0, 0) if held else (0, 0, 5)
    assert (report["added"], report["updated"], report["unchanged"]) == expected
    assert len(_index(data)) == report["chunks"]
    asked = subprocess.run(
        [ADVISOR, "ask", "--json", "Is a licence needed to send items to Crimea?"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["citations"]
    assert time.monotonic() - started < 600


BAD_FILES = {
    "bad-date.md": "---\ntitle: Bad date\neffective_date: 2026-13-45\n---\n# Bad date\n\nText.\n",
    "bad-yaml.md": "---\ntitle: [unclosed\n---\n# Bad YAML\n\nText.\n",
    "memo.md": "# Memo\n\nA memo whose sidecar is broken, about export licences.\n",
}


def _corpus_with_bad_files(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    shutil.copytree(TEST_CORPUS, corpus)
    for name, text in BAD_FILES.items():
        (corpus / "guidance" / name).write_text(text, encoding="utf-8")
    (corpus / "guidance" / "memo.md.meta.yaml").write_text("title: [broken\n", encoding="utf-8")
    return corpus


@pytest.mark.slow
def test_bad_corpus_files_do_not_stop_ingest_or_ask(tmp_path: Path) -> None:
    corpus = _corpus_with_bad_files(tmp_path)
    env = _env(tmp_path / "data", corpus)
    done = subprocess.run(
        [ADVISOR, "ingest", "--json"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["added"] == 4
    assert "Traceback" not in done.stderr
    for name, reason in [
        ("bad-date.md", "2026-13-45"),
        ("bad-yaml.md", "not valid YAML"),
        ("memo.md.meta.yaml", "not valid YAML"),
    ]:
        assert any(name in line and reason in line for line in done.stderr.splitlines()), name
    asked = subprocess.run(
        [ADVISOR, "ask", "--json", "Is a licence needed to send items to Crimea?"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["citations"]


@pytest.mark.slow
def test_bad_corpus_files_do_not_stop_serve(tmp_path: Path) -> None:
    corpus = _corpus_with_bad_files(tmp_path)
    env = {
        "ADVISOR_DATA_DIR": str(tmp_path / "data"),
        "ADVISOR_CORPUS_DIR": str(corpus),
        "ADVISOR_RULES_DIR": str(RULES),
    }
    with running_app(env, REPO, tmp_path / "app.log") as url:
        from gradio_client import Client

        answer = Client(url, verbose=False).predict(
            "Is a licence needed to send items to Crimea?", api_name="/ask"
        )
        assert httpx.get(url, timeout=10).status_code == 200
    data = answer if isinstance(answer, dict) else json.loads(answer)
    assert data["citations"]
