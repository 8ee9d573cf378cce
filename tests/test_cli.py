from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from advisor.cli import main
from tests.conftest import RULES, TEST_CORPUS


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ADVISOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ADVISOR_CORPUS_DIR", str(TEST_CORPUS))
    monkeypatch.setenv("ADVISOR_RULES_DIR", str(RULES))
    monkeypatch.setenv("ADVISOR_MIN_RELEVANCE", "0.2")
    return tmp_path


def test_usage_errors_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2


@pytest.mark.slow
def test_ingest_ask_and_jsonl(env: Path, capsys, monkeypatch) -> None:
    assert main(["ingest", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert set(counts) == {"added", "updated", "unchanged", "removed", "documents", "chunks"}
    assert counts["added"] == 4 and counts["documents"] == 4

    assert main(["ingest", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["added"], again["unchanged"], again["chunks"]) == (0, 4, counts["chunks"])

    assert main(["ask", "--json", "Is a licence needed to send items to Crimea?"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["level"] == "prohibited" and answer["citations"]

    assert main(["ask", "Can I take my laptop to a conference in Germany?"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("[REVIEW]") and "[1] " in text

    monkeypatch.setattr(
        "sys.stdin",
        io.StringIO("What is fundamental research?\n\nCan I ship a router to Havana?\n"),
    )
    assert main(["ask", "--jsonl"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert [x["level"] for x in lines] == ["none", "prohibited"]


@pytest.mark.slow
def test_ask_errors_are_messages_not_tracebacks(env: Path, capsys) -> None:
    assert main(["ask", "   "]) == 2
    err = capsys.readouterr().err
    assert "advisor: error:" in err and "empty" in err and "Traceback" not in err


@pytest.mark.slow
def test_ingest_rebuild_and_bad_path(env: Path, capsys) -> None:
    assert main(["ingest", "--json"]) == 0
    capsys.readouterr()
    assert main(["ingest", "--rebuild", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == 4
    assert main(["ingest", str(env / "missing")]) == 2
    assert "nothing to ingest" in capsys.readouterr().err
