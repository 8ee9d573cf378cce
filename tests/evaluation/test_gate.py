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
    CASE_RESULTS_NOTE,
    DEFAULT_BASELINE,
    DEFAULT_GATE,
    REGENERATE,
    SUBSET_LATENCY_NOTE,
    Baseline,
    gate_outcomes,
    load_baseline,
    make_baseline,
    run_gate,
)
from advisor.evaluation.metrics import outcome_metrics, outcome_scope_metrics
from tests.evaluation.builders import (
    REPO,
    FakeAdvisor,
    answer,
    bare_report,
    case,
    good_replies,
    result,
    run_files,
    sample_provenance,
    split_cases,
    write_cases,
)


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
    """evals/baseline.json may predate the hash rename (corpus_hash) and per-case results;
    when it has them, they add up to its accepted metrics and gate the whole suite."""
    path = REPO / DEFAULT_BASELINE
    raw = json.loads(path.read_text(encoding="utf-8"))
    loaded = load_baseline(path)
    assert loaded.produced_by is not None
    recorded = raw["produced_by"].get("corpus_files_sha256") or raw["produced_by"]["corpus_hash"]
    assert loaded.produced_by.corpus_files_sha256 == recorded
    assert set(loaded.metrics) == set(raw["metrics"]) and set(loaded.scopes) == set(raw["scopes"])
    metrics = {k: m.value for k, m in loaded.metrics.items()}
    scopes = {n: {k: m.value for k, m in specs.items()} for n, specs in loaded.scopes.items()}
    records = loaded.case_results
    gate = gate_outcomes(metrics, records, loaded, loaded.produced_by, scopes)
    assert gate.passed and gate.coverage == "whole suite"
    assert gate.notes == [] and gate.level_changed == []
    assert len(gate.checks) == len(metrics) + sum(len(s) for s in scopes.values())
    if records:  # a baseline regenerated since subset gating
        assert len(records) == loaded.cases
        quality = [k for k in metrics if not k.startswith("latency")]
        recomputed = outcome_metrics(list(records.values()))
        assert {k: recomputed[k] for k in quality} == {k: metrics[k] for k in quality}
        by_scope = outcome_scope_metrics(list(records.values()))
        for name, values in scopes.items():
            assert {k: by_scope[name][k] for k in quality} == {k: values[k] for k in quality}


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


# ---------------------------------------------------------------- per-case baselines, subsets


def _per_case_baseline(fake: FakeAdvisor, files: list[Path], replies: dict | None = None):
    results, report = run_files(fake, files, replies)
    outcomes = {r.case.id: r.outcome for r in results}
    return make_baseline(report, None, outcomes), make_baseline(report)


def _gate(fake: FakeAdvisor, files: list[Path], base: Baseline, replies: dict | None = None):
    results, report = run_files(fake, files, replies)
    return run_gate(report.metrics, results, base, report.produced_by, report.scopes)


def _over_on_fr() -> dict:
    replies = good_replies()
    replies["What is fundamental research?"] = (answer("Stop.", "escalate"), [])
    return replies


def test_whole_suite_gate_is_the_same_with_per_case_results(
    fake: FakeAdvisor, tmp_path: Path
) -> None:
    """Per-case results change nothing for a run on exactly the baseline's cases."""
    files = list(split_cases(tmp_path / "cases"))
    new_format, old_format = _per_case_baseline(fake, files)
    for replies in (good_replies(), _over_on_fr()):
        new = _gate(fake, files, new_format, replies)
        old = _gate(fake, files, old_format, replies)
        assert new.checks == old.checks and new.notes == old.notes
        assert new.passed == old.passed and new.metrics_passed == old.metrics_passed
        assert new.coverage == old.coverage == "whole suite"
        assert new.compared == old.compared == 3 and new.compared_cases == []
    assert not _gate(fake, files, new_format, _over_on_fr()).passed


def test_a_subset_is_gated_on_the_same_cases_of_the_baseline(
    fake: FakeAdvisor, tmp_path: Path
) -> None:
    """The problem a user found: one case file compared with whole-suite values FAILED
    although nothing changed. Against the same cases it passes, and a real change fails."""
    a, b = split_cases(tmp_path / "cases")
    base, old_format = _per_case_baseline(fake, [a, b], _over_on_fr())
    assert base.metrics["level_accuracy"].value == round(2 / 3, 4)
    same = _gate(fake, [a], base, _over_on_fr())
    assert same.passed and same.verdict == "PASSED" and same.coverage == "subset"
    assert same.compared == 2 and same.baseline_cases == 3
    assert same.compared_cases == ["iran-kit", "fr-basics"] and same.new_cases == []
    accuracy = next(c for c in same.checks if c.metric == "level_accuracy")
    assert accuracy.baseline == accuracy.current == 0.5 and accuracy.status == "pass"
    assert "case files differ from the baseline's" not in same.notes  # a.yaml is unchanged
    # The whole-suite values would have failed it: that was the bug.
    whole_suite_checks = run_gate(
        run_files(fake, [a], _over_on_fr())[1].metrics, [], old_format
    ).checks
    assert any(c.status == "fail" for c in whole_suite_checks)

    better = _gate(fake, [a], base, good_replies())
    assert better.passed and better.level_changed[0].after == "none"
    worse_base, _ = _per_case_baseline(fake, [a, b])
    worse = _gate(fake, [a], worse_base, _over_on_fr())
    assert not worse.passed and worse.verdict == "FAILED"
    failed = {c.metric for c in worse.checks if c.status == "fail"}
    assert {"level_accuracy", "over_escalation_rate", "curated.level_accuracy"} <= failed
    assert [(c.id, c.before, c.after) for c in worse.level_changed] == [
        ("fr-basics", "none", "escalate")
    ]


def test_cases_the_baseline_lacks_are_new_not_gated(fake: FakeAdvisor, tmp_path: Path) -> None:
    a, b = split_cases(tmp_path / "cases")
    base, _ = _per_case_baseline(fake, [a, b])
    extra = write_cases(
        tmp_path / "more.yaml",
        '- id: brand-new\n  question: "What is fundamental research?"\n'
        "  expected_level: prohibited\n",
    )
    mixed = _gate(fake, [b, extra], base)
    assert mixed.coverage == "subset" and mixed.compared_cases == ["oos-python"]
    assert mixed.new_cases == ["brand-new"] and mixed.compared == 1
    # Not gated on its metrics, but a missed prohibition fails whatever the baseline says.
    assert mixed.metrics_passed and not mixed.passed
    assert mixed.prohibited_below_escalate == ["brand-new"]
    assert any("new ones included" in n for n in mixed.notes)

    harmless = write_cases(
        tmp_path / "harmless.yaml",
        '- id: brand-new\n  question: "What is fundamental research?"\n'
        "  expected_level: escalate\n",
    )
    alone = _gate(fake, [harmless], base)
    assert alone.passed and alone.verdict == "NOT GATED" and not alone.gated
    assert alone.coverage == "no shared cases" and alone.checks == []
    assert alone.notes[0].startswith("no baseline for these cases: not gated")
    assert alone.new_cases == ["brand-new"] and alone.compared == 0


def test_a_subset_of_an_old_format_baseline_is_not_gated(fake: FakeAdvisor, tmp_path: Path) -> None:
    """Without per-case results only the whole suite compares like with like: part of it
    says so and names the command that regenerates the baseline."""
    a, b = split_cases(tmp_path / "cases")
    _, old_format = _per_case_baseline(fake, [a, b])
    part = _gate(fake, [a], old_format)
    assert part.passed and part.verdict == "NOT GATED" and part.coverage == "not comparable"
    assert part.checks == [] and REGENERATE in part.notes[0]
    assert "holds whole-suite metrics only" in part.notes[0]
    results, report = run_files(fake, [a, b])
    tagged = run_gate(report.metrics, results, old_format, report.produced_by, filtered=True)
    assert tagged.coverage == "not comparable"
    whole = _gate(fake, [a, b], old_format)
    assert whole.coverage == "whole suite" and whole.checks and whole.passed


def test_per_case_results_are_one_line_each_and_read_back(
    fake: FakeAdvisor, tmp_path: Path
) -> None:
    files = list(split_cases(tmp_path / "cases"))
    base, _ = _per_case_baseline(fake, files)
    text = base.to_json()
    lines = text.splitlines()
    rows = [line for line in lines if line.startswith('    "') and line.endswith(("}", "},"))]
    assert [json.loads("{" + r.rstrip(",") + "}").popitem()[0] for r in rows] == [
        "iran-kit",
        "fr-basics",
        "oos-python",
    ]
    data = json.loads(text)
    assert list(data) == [
        "notes",
        "created",
        "produced_by",
        "cases",
        "metrics",
        "scopes",
        "case_results",
    ]
    assert data["case_results"]["oos-python"] == {
        "file": data["case_results"]["oos-python"]["file"],
        "tags": ["out-of-scope"],
        "expected_level": "none",
        "acceptable_levels": ["none"],
        "level": "none",
        "latency_ms": 10.0,
    }
    assert data["case_results"]["iran-kit"]["mentions"] == [2, 2]
    assert CASE_RESULTS_NOTE in data["notes"] and REGENERATE in CASE_RESULTS_NOTE
    path = tmp_path / "baseline.json"
    path.write_text(text)
    assert load_baseline(path) == base
    # Notes edited by hand are kept; the per-case note is added once.
    results, report = run_files(fake, files)
    edited = Baseline.model_validate({**base.model_dump(), "notes": ["ours"]})
    again = make_baseline(report, edited, {r.case.id: r.outcome for r in results})
    assert again.notes == ["ours", CASE_RESULTS_NOTE]
    assert make_baseline(report, again, {}).notes == ["ours", CASE_RESULTS_NOTE]


def test_latency_is_gated_on_the_whole_suite_only(fake: FakeAdvisor, tmp_path: Path) -> None:
    """A subset's percentiles are a few cases (and the run's first question loads the model):
    shown with their limits, not gated; the whole suite still fails when it is slow."""
    a, b = split_cases(tmp_path / "cases")
    base, _ = _per_case_baseline(fake, [a, b])
    slow = good_replies()
    for question, (reply, hits) in list(slow.items()):
        slow[question] = (reply.model_copy(update={"latency_ms": 60_000.0}), hits)
    part = _gate(fake, [a], base, slow)
    latency = {c.metric: c for c in part.checks if "latency" in c.metric}
    assert set(latency) == {
        "latency_p50_ms",
        "latency_p95_ms",
        "curated.latency_p50_ms",
        "curated.latency_p95_ms",
    }
    assert {c.status for c in latency.values()} == {"not gated"}
    assert latency["latency_p95_ms"].current == 60_000.0 and part.passed
    assert SUBSET_LATENCY_NOTE in part.notes
    whole = _gate(fake, [a, b], base, slow)
    assert not whole.passed and "latency_p95_ms" in {
        c.metric for c in whole.checks if c.status == "fail"
    }
    assert SUBSET_LATENCY_NOTE not in whole.notes
