"""Case files: loading files and folders, and errors that name the file, case and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.errors import InputError
from advisor.evaluation.cases import load_cases, select_cases
from advisor.models import Level
from tests.evaluation.builders import CASES_YAML, REPO, write_cases


def test_loads_files_and_folders(tmp_path: Path) -> None:
    write_cases(tmp_path / "a.yaml", CASES_YAML)
    sub = tmp_path / "more"
    sub.mkdir()
    write_cases(sub / "b.yml", '- id: extra\n  question: "Q"\n  expected_level: review\n')
    cases, files = load_cases([tmp_path])
    assert [c.id for c in cases] == ["iran-kit", "fr-basics", "oos-python", "extra"]
    assert len(files) == 2
    assert cases[1].acceptable == [Level.NONE, Level.REVIEW]
    assert cases[0].acceptable == [Level.PROHIBITED]
    assert cases[0].where.endswith("a.yaml:1")


def test_the_curated_cases_are_valid() -> None:
    cases, _ = load_cases([REPO / "evals" / "cases"])
    assert len(cases) >= 100


def _error(tmp_path: Path, text: str, name: str = "cases.yaml") -> str:
    with pytest.raises(InputError) as info:
        load_cases([write_cases(tmp_path / name, text)])
    return str(info.value)


def test_duplicate_id_names_both_places(tmp_path: Path) -> None:
    write_cases(tmp_path / "one.yaml", '- id: same\n  question: "Q"\n  expected_level: none\n')
    write_cases(tmp_path / "two.yaml", '- id: same\n  question: "R"\n  expected_level: none\n')
    with pytest.raises(InputError) as info:
        load_cases([tmp_path / "one.yaml", tmp_path / "two.yaml"])
    message = str(info.value)
    assert "'same'" in message and "one.yaml" in message and "two.yaml" in message
    assert "field 'id'" in message and "duplicate" in message


def test_bad_level_names_file_case_and_field(tmp_path: Path) -> None:
    message = _error(
        tmp_path,
        '- id: ok\n  question: "Q"\n  expected_level: none\n'
        '- id: broken\n  question: "Q"\n  expected_level: forbidden\n',
    )
    assert "cases.yaml:6" in message
    assert "case 'broken' (#2)" in message
    assert "field 'expected_level'" in message


def test_acceptable_levels_must_include_expected(tmp_path: Path) -> None:
    message = _error(
        tmp_path,
        '- id: x\n  question: "Q"\n  expected_level: escalate\n'
        "  acceptable_levels: [none, review]\n",
    )
    assert "case 'x'" in message and "field 'acceptable_levels'" in message
    assert "must include expected_level 'escalate'" in message


def test_acceptable_levels_must_be_consecutive(tmp_path: Path) -> None:
    """A gap would make a level neither accurate, nor under, nor over-escalated."""
    message = _error(
        tmp_path,
        '- id: x\n  question: "Q"\n  expected_level: none\n  acceptable_levels: [none, escalate]\n',
    )
    assert "case 'x'" in message and "field 'acceptable_levels'" in message
    assert "must be consecutive levels (none < review < escalate < prohibited)" in message
    assert "got none, escalate" in message


def test_select_cases_by_tag(tmp_path: Path) -> None:
    cases, _ = load_cases([write_cases(tmp_path / "a.yaml", CASES_YAML)])
    assert select_cases(cases, []) == cases and select_cases(cases, [" ", ""]) == cases
    assert [c.id for c in select_cases(cases, ["iran"])] == ["iran-kit"]
    both = select_cases(cases, [" embargo ", "out-of-scope"])
    assert [c.id for c in both] == ["iran-kit", "oos-python"]
    with pytest.raises(InputError) as info:
        select_cases(cases, ["iran", "iarn"])
    assert "no case has the tag(s) iarn" in str(info.value)
    assert "embargo, fundamental-research, iran, out-of-scope" in str(info.value)
    assert cases[0].case_file.endswith("a.yaml")


def test_unknown_field_is_rejected(tmp_path: Path) -> None:
    message = _error(
        tmp_path, '- id: x\n  question: "Q"\n  expected_level: none\n  must_cites: ["734.8"]\n'
    )
    assert "cases.yaml:4" in message and "case 'x'" in message
    assert "field 'must_cites': unknown field" in message


def test_missing_id_names_the_index(tmp_path: Path) -> None:
    message = _error(tmp_path, '- question: "Q"\n  expected_level: none\n')
    assert "case #1" in message and "field 'id': required field is missing" in message


def test_bad_entries_and_shapes(tmp_path: Path) -> None:
    bad_regex = _error(
        tmp_path, '- id: x\n  question: "Q"\n  expected_level: none\n  must_mention: ["re:("]\n'
    )
    assert "field 'must_mention'" in bad_regex and "invalid regex" in bad_regex
    empty_alt = _error(
        tmp_path, '- id: x\n  question: "Q"\n  expected_level: none\n  must_mention: ["a||b"]\n'
    )
    assert "empty alternative" in empty_alt
    assert "expected a list of cases" in _error(tmp_path, "id: x\n")
    assert "not valid YAML" in _error(tmp_path, "- id: [unclosed\n")
    assert "holds no cases" in _error(tmp_path, "")
    with pytest.raises(InputError, match="no such case file"):
        load_cases([tmp_path / "missing.yaml"])
