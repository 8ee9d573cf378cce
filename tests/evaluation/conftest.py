"""Fixtures of the evaluation tests: the advisor double and a fixed git commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.evaluation import provenance
from tests.evaluation.builders import FakeAdvisor, make_fake


@pytest.fixture
def fake(tmp_path: Path) -> FakeAdvisor:
    return make_fake(tmp_path)


@pytest.fixture(autouse=True)
def _no_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provenance, "git_commit", lambda: "abc123")
