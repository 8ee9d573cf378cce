"""The typed report: what report.json holds, written and read back unchanged, and reports
written before the corpus hash was renamed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.errors import InputError
from advisor.evaluation.cases import load_cases
from advisor.evaluation.report import EvalReport, TagRow, load_report, write_report_json
from advisor.evaluation.runner import run_cases
from advisor.evaluation.suite import build_report
from tests.evaluation.builders import CASES_YAML, FakeAdvisor, make_report, write_cases

REPORT_KEYS = ["created", "produced_by", "summary", "metrics", "scopes", "tags", "confusion"]
CASE_KEYS = [
    "id",
    "file",
    "question",
    "tags",
    "expected_level",
    "acceptable_levels",
    "level",
    "passed",
    "failed_checks",
    "out_of_scope",
    "in_scope",
    "answer",
    "flags",
    "citations",
    "retrieved",
    "checks",
    "latency_ms",
]
PROVENANCE_KEYS = [
    "corpus_files_sha256",
    "rules_hash",
    "prompt_version",
    "embedding_model",
    "writer",
    "git_commit",
    "case_files",
    "settings",
]


def test_written_report_reads_back_equal(fake: FakeAdvisor, tmp_path: Path) -> None:
    report = make_report(fake, tmp_path)
    path = write_report_json(report, tmp_path / "report.json")
    again = load_report(path)
    assert again == report
    assert again.to_json() == path.read_text(encoding="utf-8")
    assert load_report(tmp_path) == report  # the folder works too


def test_json_keeps_the_keys_and_order_of_earlier_reports(
    fake: FakeAdvisor, tmp_path: Path
) -> None:
    data = json.loads(make_report(fake, tmp_path).to_json())
    assert list(data) == [*REPORT_KEYS, "cases", "gate"]
    assert list(data["produced_by"]) == PROVENANCE_KEYS
    assert list(data["produced_by"]["settings"]) == [
        "top_k",
        "min_relevance",
        "chunk_size",
        "chunk_overlap",
    ]
    assert list(data["cases"][0]) == CASE_KEYS
    assert list(data["cases"][0]["checks"]) == [
        "mention",
        "cite",
        "retrieval",
        "forbidden_hits",
        "markers_valid",
    ]
    iran = data["tags"]["iran"]
    assert list(iran)[:4] == ["cases", "passed", "pass_rate", "level_accuracy"]
    assert "metrics" not in iran and not any(k.startswith("latency") for k in iran)
    assert data["confusion"]["levels"] == ["none", "review", "escalate", "prohibited"]
    assert data["confusion"]["counts"]["prohibited"]["prohibited"] == 1
    assert data["confusion"]["rows"] == "nearest acceptable level"
    assert list(data["gate"]) == [
        "passed",
        "metrics_passed",
        "prohibited_below_escalate",
        "checks",
        "notes",
        "coverage",
        "gated",
        "compared",
        "baseline_cases",
        "compared_cases",
        "new_cases",
        "level_changed",
    ]


def test_judged_scores_and_absent_parts(fake: FakeAdvisor, tmp_path: Path) -> None:
    files = [write_cases(tmp_path / "cases.yaml", CASES_YAML)]
    cases, _ = load_cases(files)
    judged = run_cases(fake, cases, progress=False, judge=lambda c, a: {"faithfulness": 0.5})
    report = build_report(judged, fake, files)
    data = json.loads(report.to_json())
    assert "gate" not in data and "compare" not in data
    assert data["cases"][0]["judged"] == {"faithfulness": 0.5}
    assert data["metrics"]["judged_faithfulness"] == 0.5
    assert data["tags"]["iran"]["judged_faithfulness"] == 0.5
    assert EvalReport.model_validate(data) == report


def test_tag_row_reads_flat_and_nested() -> None:
    flat = TagRow.model_validate({"cases": 2, "passed": 1, "pass_rate": 0.5, "lead_recall": None})
    assert flat.metrics == {"lead_recall": None}
    assert TagRow.model_validate(flat.model_dump(mode="json")) == flat
    assert TagRow(cases=1, passed=1, pass_rate=1.0, metrics={"x": 1.0}).model_dump() == {
        "cases": 1,
        "passed": 1,
        "pass_rate": 1.0,
        "x": 1.0,
    }


def test_reads_reports_written_before_the_hash_rename(fake: FakeAdvisor, tmp_path: Path) -> None:
    data = json.loads(make_report(fake, tmp_path).to_json())
    digest = data["produced_by"].pop("corpus_files_sha256")
    data["produced_by"] = {"corpus_hash": digest, **data["produced_by"]}
    del data["scopes"]  # reports before scopes existed
    del data["confusion"]["rows"]  # reports whose matrix rows were expected levels
    data["gate"] = {k: data["gate"][k] for k in list(data["gate"])[:5]}  # before subset gating
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data), encoding="utf-8")
    report = load_report(old)
    assert report.produced_by.corpus_files_sha256 == digest and report.scopes == {}
    assert report.confusion.rows == "expected level"
    assert report.gate is not None and report.gate.coverage == "whole suite"
    assert report.gate.verdict == "PASSED" and report.gate.new_cases == []
    rewritten = json.loads(report.to_json())
    assert rewritten["produced_by"]["corpus_files_sha256"] == digest
    assert "corpus_hash" not in rewritten["produced_by"]


def test_load_report_refuses_what_is_not_a_report(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read an earlier report"):
        load_report(tmp_path / "nowhere")
    odd = tmp_path / "odd.json"
    odd.write_text('{"metrics": {}}')
    with pytest.raises(InputError, match="not a report.json written by advisor eval"):
        load_report(odd)
    broken = tmp_path / "broken.json"
    broken.write_text('{"metrics": {}, "cases": [{"id": 1}]}')
    with pytest.raises(InputError, match="not a report.json written by advisor eval: "):
        load_report(broken)
