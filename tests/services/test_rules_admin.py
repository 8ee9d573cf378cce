"""Editing the escalation rules while the app runs (advisor.services.rules_admin)."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.chain import Advisor
from advisor.errors import InputError, RulesError
from advisor.models import Level
from advisor.records.audit import AuditLog
from advisor.services.rules_admin import RulesAdmin, read_rule_file, validate_rules
from advisor.ui.render import admin as render
from tests.services.support import CRIMEA, events, upload


def test_rules_validation_names_the_real_file_and_changes_nothing(advisor: Advisor) -> None:
    rules_dir = advisor.settings.rules_dir
    text = read_rule_file(rules_dir, "rules.yaml")
    before = (rules_dir / "rules.yaml").read_bytes()
    with pytest.raises(RulesError, match=rf"{rules_dir}/rules.yaml, line \d+: not valid YAML"):
        validate_rules(rules_dir, "rules.yaml", text + "\n  - [unclosed\n")
    # Valid on its own, wrong across files: a rule naming a place no file defines.
    cross = text.replace('all: ["dest_regime:occupied_region"]', 'all: ["dest:ATLANTIS"]', 1)
    assert cross != text
    with pytest.raises(RulesError, match="unknown place 'ATLANTIS' in 'dest:ATLANTIS'") as exc:
        validate_rules(rules_dir, "rules.yaml", cross)
    assert "advisor-rules-" not in str(exc.value)
    assert (rules_dir / "rules.yaml").read_bytes() == before
    for bad in ("../rules.yaml", "rules.txt", "sub/rules.yaml", ""):
        with pytest.raises(InputError, match="not a rule file name"):
            validate_rules(rules_dir, bad, text)


def test_invalid_rules_edit_is_rejected_and_old_rules_stay(
    advisor: Advisor, audit: AuditLog
) -> None:
    rules_dir = advisor.settings.rules_dir
    text = read_rule_file(rules_dir, "rules.yaml")
    digest = advisor.escalation.digest
    broken = text.replace("level: prohibited", "level: forbidden", 1)
    with pytest.raises(RulesError, match="level"):
        RulesAdmin(advisor, audit).save("rules.yaml", broken, user="alice")
    assert read_rule_file(rules_dir, "rules.yaml") == text
    assert advisor.escalation.digest == digest
    assert advisor.ask(CRIMEA).level == Level.PROHIBITED
    assert events(audit) == []
    unchanged = RulesAdmin(advisor).save("rules.yaml", text)
    assert not unchanged.changed
    assert render.rules_saved(unchanged).startswith("No change")


def test_valid_rules_edit_takes_effect_without_restart(advisor: Advisor, audit: AuditLog) -> None:
    rules_dir = advisor.settings.rules_dir
    question = "Can I ship a router to Krym?"
    assert advisor.ask(question).level != Level.PROHIBITED
    old = read_rule_file(rules_dir, "places.yaml")
    new = old.replace('names: ["Crimea",', 'names: ["Krym", "Crimea",', 1)
    assert new != old
    saved = RulesAdmin(advisor, audit).save("places.yaml", new, user="alice")
    assert saved.changed and saved.taken and saved.file == "places.yaml"
    assert render.rules_saved(saved).startswith("✅ Saved places.yaml")
    assert advisor.ask(question).level == Level.PROHIBITED
    assert (rules_dir / "places.yaml").read_text(encoding="utf-8") == new
    assert [p.name for p in rules_dir.iterdir() if p.suffix == ".tmp"] == []
    detail = events(audit)[0]["detail"]
    assert detail["file"] == "places.yaml" and detail["in_force"] is True
    assert detail["old_sha256"] != detail["new_sha256"]
    assert detail["rules_digest_after"] == advisor.escalation.digest
    assert events(audit)[0]["event"] == "rules_changed"


def test_a_broken_file_on_disk_shows_last_error_and_keeps_old_rules(advisor: Advisor) -> None:
    service = RulesAdmin(advisor)
    assert "invalid" not in render.rules_status(service.status())
    (advisor.settings.rules_dir / "triggers.yaml").write_text("triggers: [\n", encoding="utf-8")
    status = service.status()
    shown = render.rules_status(status)
    assert "last good rules stay in force" in shown and "triggers.yaml" in shown
    assert status.error and advisor.escalation.last_error
    assert advisor.ask(CRIMEA).level == Level.PROHIBITED


def test_an_edit_the_engine_then_refuses_stays_saved_and_says_so(
    advisor: Advisor, audit: AuditLog, monkeypatch
) -> None:
    """Valid on the copies, refused on reload (another file broke in between): the edit stays
    on disk, the previous rules stay in force, and the event says it is not in force."""
    rules_dir = advisor.settings.rules_dir
    old = read_rule_file(rules_dir, "places.yaml")
    new = old.replace('names: ["Crimea",', 'names: ["Krym", "Crimea",', 1)
    digest = advisor.escalation.digest

    reload = advisor.escalation.reload

    def another_file_breaks_first() -> bool:
        (rules_dir / "triggers.yaml").write_text("triggers: [\n", encoding="utf-8")
        return reload()

    monkeypatch.setattr(advisor.escalation, "reload", another_file_breaks_first)
    saved = RulesAdmin(advisor, audit).save("places.yaml", new, user="alice")
    assert saved.changed and not saved.taken
    assert (rules_dir / "places.yaml").read_text(encoding="utf-8") == new
    assert advisor.escalation.digest == digest
    message = render.rules_saved(saved)
    assert "the previous rules stay in force" in message and "triggers.yaml" in message
    assert events(audit)[0]["detail"]["in_force"] is False


def test_an_uploaded_rule_file_gets_a_rule_file_name(tmp_path: Path) -> None:
    loaded = RulesAdmin.load_upload(upload(tmp_path, "My Rules.YML", "rules: []\n"))
    assert (loaded.original, loaded.name, loaded.text) == (
        "My Rules.YML",
        "my-rules.yml",
        "rules: []\n",
    )
    renamed = RulesAdmin.load_upload(upload(tmp_path, "notes.txt", "x: 1\n"))
    assert renamed.name == "notes.yaml"
    with pytest.raises(InputError, match="can't decode|codec"):
        RulesAdmin.load_upload(upload(tmp_path, "latin.yaml", "caf\xe9".encode("latin-1")))
