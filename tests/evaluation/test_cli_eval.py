"""``advisor eval`` on part of the suite: one case file or a tag, gated on the same cases.

(The other ``advisor eval`` tests are in tests/test_cli.py; these sit with the evaluation
tests because they pin the subset gate.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import advisor.chain
from advisor import cli
from tests.evaluation.builders import FakeAdvisor, split_cases


@pytest.fixture
def built(fake: FakeAdvisor, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []

    def build(settings: object) -> FakeAdvisor:
        calls.append(settings)
        return fake

    monkeypatch.setattr(advisor.chain, "build_advisor", build)
    return calls


def test_one_case_file_and_a_tag_are_gated_on_the_same_cases(
    built: list[object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = split_cases(tmp_path / "cases")
    base = tmp_path / "baseline.json"
    common = ["eval", "--baseline", str(base), "--no-progress"]
    whole = [*common, "--cases", str(tmp_path / "cases"), "--out", str(tmp_path / "w")]
    assert cli.main([*whole, "--update-baseline"]) == 0
    assert "baseline written to" in capsys.readouterr().out
    assert len(json.loads(base.read_text())["case_results"]) == 3

    assert cli.main([*common, "--cases", str(a), "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "## Regression gate: PASSED" in out
    assert "Compared with the baseline on the 2 case(s) both have (of 3 in it)." in out
    assert "Compared cases (2): `iran-kit`, `fr-basics`" in out

    tagged = [*common, "--cases", str(a), str(b), "--tag", "iran", "--out", str(tmp_path / "t")]
    assert cli.main(tagged) == 0
    assert "only the cases tagged iran: 1 of 3" in capsys.readouterr().out

    assert cli.main([*tagged, "--update-baseline"]) == 2
    assert "run it without a tag filter" in capsys.readouterr().err
    assert cli.main([*common, "--cases", str(a), "--tag", "nope"]) == 2
    assert "no case has the tag(s) nope" in capsys.readouterr().err
    assert len(built) == 3  # the refused runs never built an advisor
