"""The Escalation rules section's handlers (advisor.ui.pages.rules)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from advisor.chain import Advisor
from advisor.records.audit import AuditLog
from advisor.services.rules_admin import RulesAdmin
from advisor.ui.pages.rules import RulesPage
from tests.services.support import upload
from tests.ui.pages.support import mount, session_for, signed_in, skips_everything


@pytest.fixture
def page(advisor: Advisor, audit: AuditLog) -> RulesPage:
    session = session_for(advisor.settings)
    page = RulesPage(session, RulesAdmin(advisor, audit))
    mount(session, page)
    return page


def test_every_action_refuses_a_session_that_is_not_logged_in(
    page: RulesPage, advisor: Advisor
) -> None:
    text = (advisor.settings.rules_dir / "rules.yaml").read_text(encoding="utf-8")
    for call in (
        lambda: page.on_rule_pick(None, "rules.yaml"),
        lambda: page.on_rule_upload(None, "x.yaml"),
        lambda: page.on_validate(None, "rules.yaml", text),
        lambda: page.on_save(None, "rules.yaml", "rules: 42"),
        lambda: page.on_check(None),
    ):
        with pytest.raises(gr.Error, match="Log in first"):
            call()
    assert (advisor.settings.rules_dir / "rules.yaml").read_text(encoding="utf-8") == text
    assert skips_everything(page.on_expand(None)) and skips_everything(page.on_sign_in(None))


def test_pick_validate_and_save_through_the_page(page: RulesPage, advisor: Advisor) -> None:
    token = signed_in(page.session)
    assert page.on_rule_pick(token, None) == {page.result: ""}
    picked = page.on_rule_pick(token, "rules.yaml")
    assert "embargo-controlled-transfer" in picked[page.rule_code]
    assert picked[page.rule_name] == "rules.yaml"
    assert page.on_rule_pick(token, "../x.yaml")[page.result].startswith("⚠️ '../x.yaml'")

    refused = page.on_validate(token, "rules.yaml", "rules: 42")
    assert refused[page.result].startswith("❌ **Not valid; nothing was changed.**\n\n- ")
    valid = page.on_validate(token, "rules.yaml", picked[page.rule_code])
    assert valid[page.result].startswith("✅ Valid. With this file the rules would be: ")

    not_saved = page.on_save(token, "rules.yaml", "rules: 42")
    assert not_saved[page.result].startswith("❌ **Not saved: the rules in force are unchanged.**")
    assert not_saved[page.status].startswith("**Rules in force:**")
    assert "rules.yaml" in not_saved[page.rule_choice]["choices"]
    same = page.on_save(token, "rules.yaml", picked[page.rule_code])
    assert same[page.result] == "No change: rules.yaml already has this content."


def test_an_uploaded_file_goes_to_the_editor_not_the_disk(
    page: RulesPage, advisor: Advisor, tmp_path: Path
) -> None:
    token = signed_in(page.session)
    assert skips_everything(page.on_rule_upload(token, None))
    loaded = page.on_rule_upload(token, str(upload(tmp_path, "Extra Rules.yml", "rules: []\n")))
    assert loaded == {
        page.rule_code: "rules: []\n",
        page.rule_name: "extra-rules.yml",
        page.result: "Loaded `Extra Rules.yml` into the editor as `extra-rules.yml`: "
        "validate, then save to apply.",
    }
    assert not (advisor.settings.rules_dir / "extra-rules.yml").exists()


def test_check_expand_sign_in_and_out(page: RulesPage, advisor: Advisor) -> None:
    token = signed_in(page.session)
    (advisor.settings.rules_dir / "triggers.yaml").write_text("triggers: [\n", encoding="utf-8")
    assert "last good rules stay in force" in page.on_check(token)[page.status]
    assert "last good rules stay in force" in page.on_expand(token)[page.status]
    signed = page.on_sign_in(token)
    assert signed[page.rule_choice]["value"] is None
    assert "triggers.yaml" in signed[page.rule_choice]["choices"]
    assert page.on_sign_out() == {page.rule_code: ""}
