from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from advisor.cli import main
from advisor.evaluation.metrics import METRIC_KEYS
from advisor.settings import Settings
from tests.conftest import REPO, RULES, TEST_CORPUS
from tests.evaluation.builders import CASES_YAML, FakeAdvisor, make_fake, write_cases
from tests.services.test_attachments import write_pdf


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
def test_ask_about_an_attached_document(env: Path, capsys) -> None:
    pdf = write_pdf(env / "sponsor-agreement.pdf")
    assert (
        main(["ask", "--attach", str(pdf), "Can we sign this sponsored research agreement?"]) == 0
    )
    text = capsys.readouterr().out
    assert text.startswith("[ESCALATE] **Bottom line (ESCALATE):** The attached sponsor-agreement")
    assert (
        "Attached document: sponsor-agreement.pdf - p. 2 (attachment:sponsor-agreement.pdf)" in text
    )
    assert main(["ask", "--json", "--attach", str(pdf), "Is this fundamental research?"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["attachment"]["name"] == "sponsor-agreement.pdf"
    assert [c["page"] for c in answer["attachment"]["clauses"] if c["level"] == "escalate"] == [2]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "agreement.pdf",
            b"MZ\x90\x00 a renamed program",
            "named .pdf but the content is not a PDF",
        ),
        ("agreement.exe", b"MZ\x90\x00", ".exe files cannot be attached"),
        ("missing.pdf", None, "missing.pdf: the attachment cannot be read (No such file"),
    ],
)
def test_a_bad_attachment_is_a_message_before_the_index_opens(
    env: Path, capsys, name: str, content: bytes | None, message: str
) -> None:
    path = env / name
    if content is not None:
        path.write_bytes(content)
    assert main(["ask", "--attach", str(path), "Can we sign this agreement?"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"advisor: error: {name}: ") and message in err and "Traceback" not in err
    assert not (env / "data").exists()  # refused before the index or the audit trail opened


def test_ask_is_recorded_in_the_apps_audit_trail_as_cli(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same settings as the app's trail (ADVISOR_DATA_DIR here); the output is unchanged."""
    import sqlite3

    import advisor.chain
    from advisor.records.audit import AuditLog
    from tests.fakes import HashEmbeddings

    real = advisor.chain.build_advisor
    monkeypatch.setattr(
        advisor.chain, "build_advisor", lambda s: real(s, embeddings=HashEmbeddings())
    )
    monkeypatch.setattr("getpass.getuser", lambda: "dana")
    assert main(["ask", "--json", "Is a licence needed to send items to Crimea?"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["level"] == "prohibited"
    monkeypatch.setattr("sys.stdin", io.StringIO(f"What is fundamental research?\n{'x' * 5000}\n"))
    assert main(["ask", "--jsonl"]) == 2
    out = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert "error" in out[1] and "level" in out[0]

    db = env / "data" / "audit.sqlite3"
    with AuditLog(f"sqlite:///{db}") as audit:
        assert audit.verify().ok
        rows = list(audit.export_rows())
    assert [r["question"] for r in rows] == [answer["question"], out[0]["question"]]
    with sqlite3.connect(db) as conn:
        kept = conn.execute("SELECT channel, username, conversation_id FROM audit_log").fetchall()
    assert [(c, u) for c, u, _ in kept] == [("cli", "dana"), ("cli", "dana")]
    assert all(conv.startswith("cli-") for _, _, conv in kept) and kept[0][2] != kept[1][2]


@pytest.mark.slow
def test_ingest_rebuild_and_bad_path(env: Path, capsys) -> None:
    assert main(["ingest", "--json"]) == 0
    capsys.readouterr()
    assert main(["ingest", "--rebuild", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == 4
    assert main(["ingest", str(env / "missing")]) == 2
    assert "nothing to ingest" in capsys.readouterr().err


# --------------------------------------------------------------------------- advisor eval


def run_cli(argv: list[str]) -> int:
    from advisor import cli

    return cli.main(argv)


@pytest.fixture
def cli_fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """The settings ``advisor eval`` built its advisor with (an advisor double, no model)."""
    import advisor.chain
    from advisor.evaluation import provenance

    fake = make_fake(tmp_path)
    calls: list[Settings] = []

    def build(settings: Settings) -> FakeAdvisor:
        calls.append(settings)
        return fake

    monkeypatch.setattr(advisor.chain, "build_advisor", build)
    monkeypatch.setattr(provenance, "git_commit", lambda: "abc123")
    return calls


def test_cli_writes_reports_and_updates_baseline(
    cli_fake: list[Settings], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = write_cases(tmp_path / "cases.yaml", CASES_YAML)
    base = tmp_path / "baseline.json"
    argv = [
        "eval",
        "--cases",
        str(cases),
        "--out",
        str(tmp_path / "r1"),
        "--baseline",
        str(base),
        "--no-progress",
    ]
    assert run_cli([*argv, "--update-baseline"]) == 0
    saved = json.loads(base.read_text())
    assert saved["metrics"]["level_accuracy"]["value"] == 1.0 and saved["notes"]
    assert (tmp_path / "r1" / "report.html").exists()
    argv[4] = str(tmp_path / "r2")
    assert run_cli([*argv, "--compare", str(tmp_path / "r1")]) == 0
    out = capsys.readouterr().out
    assert "Regression gate: PASSED" in out and "Compared with" in out


def test_cli_exit_1_on_worsened_baseline(cli_fake: list[Settings], tmp_path: Path) -> None:
    cases = write_cases(tmp_path / "cases.yaml", CASES_YAML)
    base = tmp_path / "baseline.json"
    base.write_text(
        json.dumps(
            {
                "metrics": {
                    "latency_p50_ms": {"value": 1.0, "better": "lower", "tolerance": 0.0},
                }
            }
        )
    )
    argv = [
        "eval",
        "--cases",
        str(cases),
        "--out",
        str(tmp_path / "r"),
        "--baseline",
        str(base),
        "--no-progress",
    ]
    assert run_cli(argv) == 1
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    assert data["gate"]["checks"][0]["status"] == "fail"


def test_cli_exit_2_on_bad_input(
    cli_fake: list[Settings], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write_cases(tmp_path / "bad.yaml", '- id: x\n  question: "Q"\n  expected_level: nope\n')
    out = tmp_path / "r"
    assert run_cli(["eval", "--cases", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml:3" in err and "case 'x'" in err and "field 'expected_level'" in err
    assert not out.exists()
    good = write_cases(tmp_path / "good.yaml", CASES_YAML)
    missing = ["eval", "--cases", str(good), "--baseline", str(tmp_path / "none.json")]
    assert run_cli(missing) == 2
    assert "no such baseline" in capsys.readouterr().err
    assert cli_fake == []  # bad input fails before the advisor (and its model) is built


def test_cli_llm_option_reaches_the_advisor(
    cli_fake: list[Settings], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_cases(tmp_path / "good.yaml", CASES_YAML)
    base = tmp_path / "baseline.json"
    argv = ["eval", "--cases", str(good), "--out", str(tmp_path / "r"), "--baseline", str(base)]
    llm = [*argv, "--update-baseline", "--no-progress", "--llm", "openai:gpt-4o-mini"]
    assert run_cli(llm) == 0
    assert [s.llm for s in cli_fake] == ["openai:gpt-4o-mini"]
    out = capsys.readouterr().out
    assert f"baseline written to {base}" in out and "3/3 cases passed" in out


E2E_DOCS = {
    "fundamental-research.md": """---
title: "Fundamental research under 15 CFR 734.8"
doc_type: guidance
jurisdiction: US-EAR
topics: [fundamental-research]
source_refs: ["15 CFR 734.8"]
version: "1.0"
---
# Fundamental research under 15 CFR 734.8

## What counts as fundamental research
Under 15 CFR 734.8, technology or software that arises during or results from fundamental
research and is intended to be published is not subject to the EAR. Fundamental research is
research in science, engineering or mathematics whose results are ordinarily published and
shared broadly within the research community, with no restriction on publication.

## What breaks it
A sponsor's right to approve or veto publication, or access and dissemination restrictions,
take a project out of fundamental research under 15 CFR 734.8.
""",
    "embargoes.md": """---
title: "Embargoed destinations: Iran under 15 CFR 746.7"
doc_type: guidance
jurisdiction: US-EAR
topics: [embargoes, iran]
source_refs: ["15 CFR 746.7"]
version: "1.0"
---
# Embargoed destinations: Iran under 15 CFR 746.7

## Iran
Exports and reexports of nearly all items subject to the EAR to Iran require a licence under
15 CFR 746.7, and OFAC's Iranian Transactions and Sanctions Regulations also apply. Sending
exploit kits or intrusion software to a buyer in Iran is prohibited without authorization.
""",
}


E2E_CASES = """\
- id: e2e-iran-kit
  question: "Can I ship my exploit kit to a buyer in Tehran, Iran?"
  expected_level: prohibited
  acceptable_levels: [escalate, prohibited]
  must_cite: ["746.7"]
  must_not_mention: ["APPROVED"]
  tags: [iran]
- id: e2e-fundamental-research
  question: "What makes university research count as fundamental research under the EAR?"
  expected_level: none
  acceptable_levels: [none, review]
  must_mention: ["fundamental research"]
  must_cite: ["734.8"]
  tags: [fundamental-research]
"""


@pytest.mark.slow
def test_end_to_end_with_the_real_advisor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in E2E_DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    monkeypatch.setenv("ADVISOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ADVISOR_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("ADVISOR_RULES_DIR", str(REPO / "corpus" / "rules"))
    cases = write_cases(tmp_path / "cases.yaml", E2E_CASES)
    base = tmp_path / "baseline.json"
    first = tmp_path / "first"
    argv = [
        "eval",
        "--cases",
        str(cases),
        "--out",
        str(first),
        "--baseline",
        str(base),
        "--no-progress",
    ]
    assert run_cli([*argv, "--update-baseline"]) == 0, capsys.readouterr()
    data = json.loads((first / "report.json").read_text())
    assert list(data["metrics"]) == list(METRIC_KEYS)
    assert data["summary"]["cases"] == 2 and data["produced_by"]["writer"] == "extractive"
    assert data["produced_by"]["rules_hash"] not in ("", "unknown")
    assert data["metrics"]["level_accuracy"] == 1.0
    assert "data:image/png;base64," in (first / "report.html").read_text()

    worse = json.loads(base.read_text())
    worse["metrics"]["latency_p50_ms"] = {"value": 0.01, "better": "lower", "tolerance": 0.0}
    base.write_text(json.dumps(worse))
    argv[4] = str(tmp_path / "second")
    assert run_cli([*argv, "--compare", str(first)]) == 1
    assert "Compared with" in (tmp_path / "second" / "report.md").read_text()
