"""Run-level metrics: the headline numbers the gate checks, per tag and per scope.

Every ratio is None, not 0 or 1, when its denominator is empty, so an unmeasured metric is
neither a pass nor a fail.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from advisor.evaluation.checks import CaseResult
from advisor.evaluation.outcome import CaseOutcome
from advisor.evaluation.report import NEAREST_ACCEPTABLE, Confusion, Metrics, TagRow
from advisor.models import Level

METRIC_KEYS: tuple[str, ...] = (
    "level_accuracy",
    "level_exact",
    "under_escalation_rate",
    "over_escalation_rate",
    "mention_recall",
    "lead_recall",
    "citation_recall",
    "retrieval_hit_rate",
    "forbidden_rate",
    "out_of_scope_accuracy",
    "citation_marker_validity",
    "latency_p50_ms",
    "latency_p95_ms",
)
LOWER_IS_BETTER = frozenset(
    {
        "under_escalation_rate",
        "over_escalation_rate",
        "forbidden_rate",
        "latency_p50_ms",
        "latency_p95_ms",
    }
)
JUDGED_PREFIX = "judged_"
LEVELS: tuple[Level, ...] = tuple(sorted(Level, key=lambda lv: lv.rank))


def ratio(hits: int, total: int) -> float | None:
    """None, not 0 or 1, when nothing was measured: the gate and the reports skip it."""
    return None if total == 0 else round(hits / total, 4)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo), 1)


def compute_metrics(results: Sequence[CaseResult]) -> Metrics:
    """The headline metrics (``METRIC_KEYS``), plus ``judged_*`` only when a judge scored."""
    return outcome_metrics([r.outcome for r in results])


def _tallied(tallies: Sequence[tuple[int, int]]) -> float | None:
    return ratio(sum(h for h, _ in tallies), sum(t for _, t in tallies))


def outcome_metrics(outcomes: Sequence[CaseOutcome]) -> Metrics:
    """``compute_metrics`` over per-case outcomes: a run's, or the baseline's own records of
    the same cases, so a run on part of the suite is measured like the baseline."""
    n = len(outcomes)
    guarded = [o for o in outcomes if o.guarded]
    latencies = [o.latency_ms for o in outcomes]
    metrics: Metrics = {
        "level_accuracy": ratio(sum(o.level_ok for o in outcomes), n),
        "level_exact": ratio(sum(o.level_exact for o in outcomes), n),
        "under_escalation_rate": ratio(sum(o.under for o in outcomes), n),
        "over_escalation_rate": ratio(sum(o.over for o in outcomes), n),
        "mention_recall": _tallied([o.mentions for o in outcomes]),
        "lead_recall": _tallied([o.leads for o in outcomes]),
        "citation_recall": _tallied([o.cited for o in outcomes]),
        "retrieval_hit_rate": _tallied([o.retrieved for o in outcomes]),
        "forbidden_rate": ratio(sum(o.forbidden for o in guarded), len(guarded)),
        "out_of_scope_accuracy": ratio(sum(o.scope_ok for o in outcomes), n),
        "citation_marker_validity": ratio(sum(o.markers_ok for o in outcomes), n),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }
    for key in sorted({k for o in outcomes for k in o.judged}):
        scores = [o.judged[key] for o in outcomes if key in o.judged]
        metrics[f"{JUDGED_PREFIX}{key}"] = round(sum(scores) / len(scores), 4)
    return metrics


def tag_breakdown(results: Sequence[CaseResult]) -> dict[str, TagRow]:
    """Quality metrics per tag, so a weak topic shows up even when the total looks fine."""
    tags = sorted({t for r in results for t in r.case.tags})
    table: dict[str, TagRow] = {}
    for tag in tags:
        subset = [r for r in results if tag in r.case.tags]
        passed = sum(r.passed for r in subset)
        table[tag] = TagRow(
            cases=len(subset),
            passed=passed,
            pass_rate=ratio(passed, len(subset)),
            metrics={
                k: v for k, v in compute_metrics(subset).items() if not k.startswith("latency")
            },
        )
    return table


REAL_WORLD = "real-world"


def scope_metrics(results: Sequence[CaseResult]) -> dict[str, Metrics]:
    """The curated cases and the real-world questions measured apart: the curated set is
    held to zero under-escalation, the real-world set to its own accepted values."""
    return outcome_scope_metrics([r.outcome for r in results])


def outcome_scope_metrics(outcomes: Sequence[CaseOutcome]) -> dict[str, Metrics]:
    """``scope_metrics`` over per-case outcomes (a scope without cases is left out)."""
    scopes = {
        "curated": [o for o in outcomes if REAL_WORLD not in o.tags],
        REAL_WORLD: [o for o in outcomes if REAL_WORLD in o.tags],
    }
    return {name: outcome_metrics(subset) for name, subset in scopes.items() if subset}


def confusion(results: Sequence[CaseResult]) -> Confusion:
    """The level confusion matrix, from the same classification as the level metrics."""
    return outcome_confusion([r.outcome for r in results])


def outcome_confusion(outcomes: Sequence[CaseOutcome]) -> Confusion:
    """Rows: the acceptable level nearest to the produced one (``CaseOutcome.row``); columns:
    the produced level. Diagonal, below and above it are level accuracy, under- and
    over-escalation (``Confusion.regions``)."""
    counts = {e: dict.fromkeys(LEVELS, 0) for e in LEVELS}
    for o in outcomes:
        counts[o.row][o.level] += 1
    return Confusion(levels=list(LEVELS), counts=counts, rows=NEAREST_ACCEPTABLE)
