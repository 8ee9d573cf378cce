"""The regression gate: accepted metrics (the baseline), making one from a run, and checking
a run against it. A case expected at ``prohibited`` answered below ``escalate`` fails the gate
whatever the baseline says."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from advisor.errors import InputError
from advisor.evaluation.checks import CaseResult
from advisor.evaluation.metrics import LOWER_IS_BETTER
from advisor.evaluation.report import (
    EvalReport,
    GateCheck,
    GateResult,
    GateStatus,
    Metrics,
    Provenance,
)

DEFAULT_BASELINE = Path("evals/baseline.json")

# Defaults written by --update-baseline for metrics the baseline does not describe yet.
# Levels come from deterministic rules, so dangerous metrics get no slack; retrieval-dependent
# ones tolerate about one case of floating-point noise across machines.
DEFAULT_GATE: dict[str, dict[str, float]] = {
    "level_accuracy": {"tolerance": 0.01},
    "level_exact": {"tolerance": 0.02},
    "under_escalation_rate": {"tolerance": 0.0},
    "over_escalation_rate": {"tolerance": 0.02},
    "mention_recall": {"tolerance": 0.01},
    "lead_recall": {"tolerance": 0.02},
    "citation_recall": {"tolerance": 0.02},
    "retrieval_hit_rate": {"tolerance": 0.02},
    "forbidden_rate": {"tolerance": 0.0},
    "out_of_scope_accuracy": {"tolerance": 0.01},
    "citation_marker_validity": {"tolerance": 0.0},
    "latency_p50_ms": {"tolerance": 500.0, "factor": 5.0},
    "latency_p95_ms": {"tolerance": 1000.0, "factor": 5.0},
}
DEFAULT_JUDGED_TOLERANCE = 0.05
BASELINE_NOTES = [
    "Accepted metrics of `advisor eval --cases evals/cases` with the extractive writer; "
    "regenerate with --update-baseline after an intended change and commit the diff.",
    "The gate fails when a metric is worse than `value` by more than its allowance: for "
    "`better: higher` the floor is value - tolerance; for `better: lower` the ceiling is "
    "max(value + tolerance, value * factor) when `factor` is set, else value + tolerance. "
    "Null values are skipped; set `gate: false` to report a metric without gating it.",
    "Escalation levels come from deterministic rules, so under_escalation_rate, forbidden_rate "
    "and citation_marker_validity have zero tolerance; retrieval-dependent metrics allow about "
    "one case (1/132 = 0.0076) of embedding noise between machines.",
    "Latency is noisy: on one shared machine two identical runs differed 3.3x in p50. It only "
    "fails when it is more than 5x the baseline and more than 500 ms (p50) / 1000 ms (p95) over "
    "it, which catches a model loaded or the corpus re-embedded per question, not jitter. On "
    "much slower CI hardware, set `gate: false` on the latency entries.",
    "Independently of this file, the gate always fails when a case expected at `prohibited` "
    "comes out below `escalate`.",
]


class BaselineMetric(BaseModel):
    """Accepted value of one metric and how much worse a run may be before the gate fails."""

    model_config = ConfigDict(extra="forbid")

    value: float | None
    better: Literal["higher", "lower"]
    tolerance: float = Field(0.0, ge=0.0)
    factor: float | None = Field(None, ge=1.0)
    gate: bool = True

    def limit(self) -> float | None:
        """The worst value that still passes."""
        if self.value is None:
            return None
        if self.better == "higher":
            floor = self.value - self.tolerance
            return min(floor, self.value / self.factor) if self.factor else floor
        ceiling = self.value + self.tolerance
        return max(ceiling, self.value * self.factor) if self.factor else ceiling


class Baseline(BaseModel):
    """evals/baseline.json; keys added by hand are allowed (and dropped by --update-baseline)."""

    model_config = ConfigDict(extra="allow")

    notes: str | list[str] = ""
    created: str | None = None
    produced_by: Provenance | None = None
    cases: int | None = None
    metrics: dict[str, BaselineMetric]
    scopes: dict[str, dict[str, BaselineMetric]] = Field(default_factory=dict)

    def to_json(self) -> str:
        """Only the keys given, in the order of the fields, so the committed diff stays small:
        a metric new to the baseline gets no ``gate`` key, a kept one keeps all of its keys."""
        return json.dumps(self.model_dump(mode="json", exclude_unset=True), indent=2) + "\n"


def load_baseline(path: Path) -> Baseline:
    try:
        return Baseline.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read baseline: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise InputError(f"{path}: invalid baseline: {problems}") from exc


def write_baseline(baseline: Baseline, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(baseline.to_json())
    return path


def make_baseline(report: EvalReport, previous: Baseline | None = None) -> Baseline:
    """A baseline from a run; tolerances, directions and notes edited by hand are kept."""
    return Baseline(
        notes=previous.notes if previous and previous.notes else BASELINE_NOTES,
        created=report.created,
        produced_by=report.produced_by,
        cases=report.summary.cases,
        metrics=_baseline_metrics(report.metrics, previous.metrics if previous else {}),
        scopes={
            name: _baseline_metrics(values, previous.scopes.get(name, {}) if previous else {})
            for name, values in report.scopes.items()
        },
    )


def _baseline_metrics(
    values: Metrics, previous: Mapping[str, BaselineMetric]
) -> dict[str, BaselineMetric]:
    metrics: dict[str, BaselineMetric] = {}
    for key, value in values.items():
        old = previous.get(key)
        if old is not None:
            kept = old.model_dump(exclude_none=True, exclude={"value"})
        else:
            kept = {
                "better": "lower" if key in LOWER_IS_BETTER else "higher",
                **DEFAULT_GATE.get(key, {"tolerance": DEFAULT_JUDGED_TOLERANCE}),
            }
        metrics[key] = BaselineMetric.model_validate({"value": value, **kept})
    return metrics


def _checks(
    metrics: Mapping[str, float | None], specs: Mapping[str, BaselineMetric], prefix: str = ""
) -> list[GateCheck]:
    checks: list[GateCheck] = []
    for key, spec in specs.items():
        current = metrics.get(key)
        limit = spec.limit()
        status: GateStatus = "pass"
        if not spec.gate:
            status = "not gated"
        elif current is None or limit is None:
            status = "skipped (no data)"
        elif (current < limit - 1e-9) if spec.better == "higher" else (current > limit + 1e-9):
            status = "fail"
        checks.append(
            GateCheck(
                metric=prefix + key,
                baseline=spec.value,
                current=current,
                limit=None if limit is None else round(limit, 4),
                better=spec.better,
                status=status,
            )
        )
    return checks


def _provenance_notes(before: Provenance, now: Provenance) -> list[str]:
    """Why a difference from the baseline may not be a regression."""
    differs = (
        ("case files", before.case_files != now.case_files),
        ("corpus", before.corpus_files_sha256 != now.corpus_files_sha256),
        ("rules", before.rules_hash != now.rules_hash),
        ("answer writer", before.writer != now.writer),
    )
    return [f"{what} differ from the baseline's" for what, differ in differs if differ]


def run_gate(
    metrics: Mapping[str, float | None],
    results: Sequence[CaseResult],
    baseline: Baseline | None,
    produced_by: Provenance | None = None,
    scopes: Mapping[str, Mapping[str, float | None]] | None = None,
) -> GateResult:
    """Compare a run with the baseline, overall and per scope (curated, real-world); a
    missed prohibition fails regardless of tolerances."""
    checks: list[GateCheck] = []
    notes: list[str] = []
    if baseline is None:
        notes.append("no baseline: only the prohibited-case check ran")
    else:
        checks = _checks(metrics, baseline.metrics)
        for name, specs in baseline.scopes.items():
            if scopes and name in scopes:
                checks += _checks(scopes[name], specs, prefix=f"{name}.")
        notes += [
            f"{k}: not in the baseline, not gated" for k in metrics if k not in baseline.metrics
        ]
        if produced_by is not None and baseline.produced_by is not None:
            notes += _provenance_notes(baseline.produced_by, produced_by)
    missed = [r.case.id for r in results if r.prohibited_missed]
    metrics_ok = all(c.status != "fail" for c in checks)
    return GateResult(
        passed=metrics_ok and not missed,
        metrics_passed=metrics_ok,
        prohibited_below_escalate=missed,
        checks=checks,
        notes=notes,
    )
