"""Fixtures of the admin page tests (see tests/services/support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from advisor.chain import Advisor
from advisor.records.audit import AuditLog
from tests.services.support import make_advisor


@pytest.fixture
def advisor(tmp_path: Path) -> Advisor:
    return make_advisor(tmp_path)


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[AuditLog]:
    log = AuditLog(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    yield log
    log.close()
