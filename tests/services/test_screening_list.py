"""Replacing the screening list while the app runs (advisor.services.screening_list)."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.chain import Advisor
from advisor.errors import RulesError
from advisor.records.audit import AuditLog
from advisor.services.screening_list import ScreeningListAdmin, validate_screening_upload
from advisor.ui.render import admin as render
from tests.services.support import events, upload

ZYXWV = (
    '{"results": [{"name": "Zyxwv Photonics Research Institute", '
    '"source": "Entity List (EL) - Bureau of Industry and Security", "country": "CN"}]}'
)


def test_screening_list_is_validated_then_replaced(
    tmp_path: Path, advisor: Advisor, audit: AuditLog
) -> None:
    screener = advisor.screener
    assert screener.screen("Harbin Institute of Technology")  # type: ignore[union-attr]
    missing_column = upload(tmp_path, "new-list.csv", "name,programs\nAcme,EAR\n")
    with pytest.raises(RulesError, match="new-list.csv, line 1, field source"):
        ScreeningListAdmin(advisor).replace(missing_column)
    with pytest.raises(RulesError, match="as .csv or .json"):
        validate_screening_upload(upload(tmp_path, "list.xlsx", b"PK"))
    assert screener.screen("Harbin Institute of Technology")  # type: ignore[union-attr]

    good = upload(tmp_path, "csl.json", ZYXWV)
    assert validate_screening_upload(good)[0].name == "Zyxwv Photonics Research Institute"
    service = ScreeningListAdmin(advisor, audit)
    replaced = service.replace(good, user="alice")
    assert render.list_replaced(replaced).startswith("✅ Screening list replaced: 1 entries (EL 1)")
    assert advisor.screener is screener
    assert screener.screen("Zyxwv Photonics Research Institute")  # type: ignore[union-attr]
    assert not screener.screen("Harbin Institute of Technology")  # type: ignore[union-attr]
    flags = advisor.ask("May I send code to Zyxwv Photonics Research Institute?").flags
    assert any(f.id.startswith("listed-party:") for f in flags)
    assert "1 entries" in render.list_status(service.status())
    detail = events(audit)[0]["detail"]
    assert detail["entries"] == 1 and detail["old_sha256"] != detail["new_sha256"]


def test_screening_status_shows_a_broken_list_on_disk(advisor: Advisor) -> None:
    advisor.settings.screening_path.write_text("name,source\n", encoding="utf-8")
    status = ScreeningListAdmin(advisor).status()
    shown = render.list_status(status)
    assert "last good list is in use" in shown and "no entries" in shown
    assert status.error


def test_a_list_the_screener_then_refuses_is_put_back(
    tmp_path: Path, advisor: Advisor, audit: AuditLog, monkeypatch
) -> None:
    """Valid on the copy, refused by the screener (the file changed in between): the old file
    is restored, the last good list stays, and nothing is recorded as changed."""
    target = advisor.settings.screening_path
    old = target.read_bytes()
    screener = advisor.screener
    assert screener is not None
    monkeypatch.setattr(type(screener), "last_error", property(lambda self: "truncated file"))
    with pytest.raises(RulesError, match="not taken; the last good list is in use: truncated"):
        ScreeningListAdmin(advisor, audit).replace(upload(tmp_path, "csl.json", ZYXWV))
    assert target.read_bytes() == old
    assert events(audit) == []


def test_the_first_list_starts_a_screener(tmp_path: Path, advisor: Advisor) -> None:
    advisor.use_screener(None)
    service = ScreeningListAdmin(advisor)
    assert "No screening list is loaded" in render.list_status(service.status())
    service.replace(upload(tmp_path, "csl.json", ZYXWV))
    assert advisor.screener is not None
    assert advisor.screener.screen("Zyxwv Photonics Research Institute")
