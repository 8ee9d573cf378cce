"""The regression gate and the baseline: tolerances, directions, missed prohibitions, and a
baseline made from a run (the repository's own baseline included)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from advisor.errors import InputError
from advisor.evaluation.checks import CaseResult
from advisor.evaluation.gate import (
    BASELINE_NOTES,
    DEFAULT_BASELINE,
    DEFAULT_GATE,
    Baseline,
    load_baseline,
    make_baseline,
    run_gate,
)
from tests.evaluation.builders import REPO, answer, bare_report, case, result, sample_provenance


def baseline(**overrides: dict[str, Any]) -> Baseline:
    metrics: dict[str, Any] = {
        "level_accuracy": {"value": 0.9, "better": "higher", "tolerance": 0.05},
        "under_escalation_rate": {"value": 0.0, "better": "lower", "tolerance": 0.0},
        "latency_p95_ms": {"value": 100.0, "better": "lower", "tolerance": 10.0, "factor": 3.0},
    }
    metrics.update(overrides)
    return Baseline.model_validate({"metrics": metrics})


def _results(level: str = "prohibited") -> list[CaseResult]:
    return [result(case(id="p", expected_level="prohibited"), answer(level=level))]


def test_gate_passes_within_tolerance() -> None:
    metrics = {"level_accuracy": 0.86, "under_escalation_rate": 0.0, "latency_p95_ms": 290.0}
    gate = run_gate(metrics, _results(), baseline())
    assert gate.passed, gate
    assert {c.status for c in gate.checks} == {"pass"}


def test_gate_fails_on_a_worsened_metric() -> None:
    metrics = {"level_accuracy": 0.84, "under_escalation_rate": 0.0, "latency_p95_ms": 50.0}
    gate = run_gate(metrics, _results(), baseline())
    assert not gate.passed
    assert [c.metric for c in gate.checks if c.status == "fail"] == ["level_accuracy"]
    slow = {"level_accuracy": 0.9, "under_escalation_rate": 0.0, "latency_p95_ms": 301.0}
    assert not run_gate(slow, _results(), baseline()).passed
    dangerous = {"level_accuracy": 0.9, "under_escalation_rate": 0.01, "latency_p95_ms": 1.0}
    assert not run_gate(dangerous, _results(), baseline()).passed


def test_gate_always_fails_when_prohibited_drops_below_escalate() -> None:
    metrics = {"level_accuracy": 0.99, "under_escalation_rate": 0.0, "latency_p95_ms": 1.0}
    gate = run_gate(metrics, _results("review"), baseline())
    assert gate.metrics_passed and not gate.passed
    assert gate.prohibited_below_escalate == ["p"]
    assert not run_gate(metrics, _results("none"), None).passed
    assert run_gate(metrics, _results("escalate"), None).passed


def test_gate_skips_nulls_and_ungated_metrics() -> None:
    base = baseline(
        citation_recall={"value": None, "better": "higher"},
        mention_recall={"value": 0.9, "better": "higher"},
        latency_p95_ms={"value": 1.0, "better": "lower", "gate": False},
    )
    metrics = {
        "level_accuracy": 0.9,
        "under_escalation_rate": 0.0,
        "citation_recall": 0.1,
        "mention_recall": None,
        "latency_p95_ms": 999.0,
    }
    gate = run_gate(metrics, _results(), base)
    status = {c.metric: c.status for c in gate.checks}
    assert gate.passed
    assert status["citation_recall"].startswith("skipped")
    assert status["mention_recall"].startswith("skipped")
    assert status["latency_p95_ms"] == "not gated"


def test_baseline_validation_and_update_keeps_tolerances(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"metrics": {"x": {"value": 1, "better": "up"}}}))
    with pytest.raises(InputError, match="invalid baseline"):
        load_baseline(bad)
    report = bare_report({"level_accuracy": 0.7, "latency_p50_ms": 12.0, "judged_x": 0.4})
    previous = baseline(level_accuracy={"value": 0.9, "better": "higher", "tolerance": 0.2})
    made = json.loads(make_baseline(report, previous).to_json())
    assert made["created"] == "now" and made["cases"] == 1
    assert made["metrics"]["level_accuracy"] == {
        "value": 0.7,
        "better": "higher",
        "tolerance": 0.2,
        "gate": True,
    }
    assert made["metrics"]["latency_p50_ms"]["factor"] == DEFAULT_GATE["latency_p50_ms"]["factor"]
    assert made["metrics"]["latency_p50_ms"]["better"] == "lower"
    assert made["metrics"]["judged_x"]["better"] == "higher"
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(made))
    assert load_baseline(path).metrics["level_accuracy"].value == 0.7


def test_the_repository_baseline_loads_and_passes_its_own_values() -> None:
    """evals/baseline.json may predate the hash rename: its corpus_hash is read as such."""
    path = REPO / DEFAULT_BASELINE
    raw = json.loads(path.read_text(encoding="utf-8"))
    loaded = load_baseline(path)
    assert loaded.produced_by is not None
    recorded = raw["produced_by"].get("corpus_files_sha256") or raw["produced_by"]["corpus_hash"]
    assert loaded.produced_by.corpus_files_sha256 == recorded
    assert set(loaded.metrics) == set(raw["metrics"]) and set(loaded.scopes) == set(raw["scopes"])
    metrics = {k: m.value for k, m in loaded.metrics.items()}
    scopes = {n: {k: m.value for k, m in specs.items()} for n, specs in loaded.scopes.items()}
    gate = run_gate(metrics, [], loaded, loaded.produced_by, scopes)
    assert gate.passed and gate.notes == []
    assert len(gate.checks) == len(metrics) + sum(len(s) for s in scopes.values())


def test_gate_notes_what_differs_from_the_baseline_provenance() -> None:
    metrics = {"level_accuracy": 0.9, "under_escalation_rate": 0.0, "latency_p95_ms": 1.0}
    old_key = {**sample_provenance().model_dump(), "corpus_hash": "c" * 64}
    del old_key["corpus_files_sha256"]
    base = Baseline.model_validate(
        {"metrics": baseline().model_dump()["metrics"], "produced_by": old_key}
    )
    same = run_gate(metrics, _results(), base, sample_provenance())
    assert same.passed and not [n for n in same.notes if "differ" in n]
    changed = sample_provenance(corpus_files_sha256="d" * 64, writer="openai:gpt-4o-mini")
    notes = run_gate(metrics, _results(), base, changed).notes
    assert "corpus differ from the baseline's" in notes
    assert "answer writer differ from the baseline's" in notes
    assert "rules differ from the baseline's" not in notes
    assert "case files differ from the baseline's" not in notes


def test_made_baseline_keeps_the_file_shape() -> None:
    """New metrics get direction and default tolerance only; the provenance uses the new key."""
    made = json.loads(
        make_baseline(bare_report({"level_accuracy": 0.7, "lead_recall": None})).to_json()
    )
    assert list(made) == ["notes", "created", "produced_by", "cases", "metrics", "scopes"]
    assert made["notes"] == BASELINE_NOTES
    assert made["metrics"]["level_accuracy"] == {
        "value": 0.7,
        "better": "higher",
        "tolerance": 0.01,
    }
    assert made["metrics"]["lead_recall"] == {"value": None, "better": "higher", "tolerance": 0.02}
    assert made["produced_by"]["corpus_files_sha256"] == "c" * 64
    assert "corpus_hash" not in made["produced_by"]
