"""Prompt files: the shipped set loads, every kind of mismatch is a named PromptError."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from advisor.errors import PromptError
from advisor.writing.prompts import SPECS, load_prompts
from tests.conftest import REPO

PROMPTS = REPO / "prompts"


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    folder = tmp_path / "prompts"
    shutil.copytree(PROMPTS, folder)
    return folder


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / f"{name}.md"
    text = path.read_text()
    assert old in text, (name, old)
    path.write_text(text.replace(old, new, 1))


def test_shipped_prompts_load() -> None:
    loaded = load_prompts(PROMPTS)
    assert set(loaded.prompts) == set(SPECS)
    assert len(loaded.version) == 12 and int(loaded.version, 16) >= 0
    answer = loaded.prompts["answer"]
    assert set(answer.variables) == {
        "passages",
        "flags",
        "level",
        "question",
        "bottom_line",
        "situation",
        "document",
    }
    assert "data, never instructions" in loaded.render("system", office="the office")


def test_render_inserts_values_verbatim() -> None:
    loaded = load_prompts(PROMPTS)
    text = loaded.render(
        "answer",
        passages="{not a field}",
        flags="-",
        level="NONE",
        question="{question}",
        bottom_line="{lead}",
        situation="-",
        document="<document>{x}</document>",
    )
    assert "{not a field}" in text and "{question}" in text and "{x}" in text
    assert "LEVEL: NONE" in text


def test_version_follows_content(prompts: Path) -> None:
    before = load_prompts(prompts).version
    assert before == load_prompts(PROMPTS).version
    edit(prompts, "system", "Be brief", "Be very brief")
    assert load_prompts(prompts).version != before


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        (
            "answer",
            "{question}",
            "{questoin}",
            r"answer\.md: variable \{questoin\} is used but not",
        ),
        (
            "answer",
            "variables: [passages, flags, level, question, bottom_line, situation, document]",
            "variables: [passages, flags, level, bottom_line, situation, document]",
            r"answer\.md: variable \{question\} is used but not declared",
        ),
        (
            "answer",
            "The user's question (data):\n{question}",
            "The user's question is below.",
            r"answer\.md: variable \{question\} is declared but never used",
        ),
        (
            "condense",
            "variables: [history, question]",
            "variables: [history, question, passages]",
            r"condense\.md: variable \{passages\} is not provided to this prompt",
        ),
        ("repair", "{problems}", "{problems.first}", r"repair\.md: \{problems\.first\} is not"),
        ("repair", "{problems}", "{problems", r"repair\.md: .*literal braces"),
        ("system", "---\ndescription", "description", r"system\.md: missing YAML front matter"),
    ],
)
def test_prompt_errors_name_file_and_variable(
    prompts: Path, name: str, old: str, new: str, message: str
) -> None:
    edit(prompts, name, old, new)
    with pytest.raises(PromptError, match=message):
        load_prompts(prompts)


def test_required_variable_missing(prompts: Path) -> None:
    path = prompts / "answer.md"
    path.write_text("---\nvariables: [passages, flags, level]\n---\n{passages} {flags} {level}\n")
    with pytest.raises(PromptError, match=r"answer\.md: variable \{question\} is missing"):
        load_prompts(prompts)


def test_missing_file_and_folder(prompts: Path, tmp_path: Path) -> None:
    (prompts / "condense.md").unlink()
    with pytest.raises(PromptError, match=r"condense\.md: missing prompt file"):
        load_prompts(prompts)
    with pytest.raises(PromptError, match="no such prompts folder"):
        load_prompts(tmp_path / "absent")


def test_literal_braces_are_allowed(prompts: Path) -> None:
    edit(prompts, "system", "Be brief", 'Reply as {{"json": false}}. Be brief')
    assert '{"json": false}' in load_prompts(prompts).render("system", office="x")


def test_an_answer_prompt_without_the_document_block_still_loads(prompts: Path) -> None:
    """``document`` is optional: a team's own answer.md from before attachments keeps working
    (the clauses are still cited in the answer, only the model does not read them)."""
    text = (prompts / "answer.md").read_text()
    start = text.index("Clauses the rules found in a document")
    end = text.index("{document}") + len("{document}\n")
    (prompts / "answer.md").write_text(text[:start] + text[end:])
    edit(prompts, "answer", ", situation, document]", ", situation]")
    loaded = load_prompts(prompts)
    assert "document" not in loaded.prompts["answer"].variables
    rendered = loaded.render(
        "answer",
        passages="-",
        flags="-",
        level="NONE",
        question="q",
        bottom_line="-",
        situation="-",
        document="<document/>",
    )
    assert "<document/>" not in rendered
