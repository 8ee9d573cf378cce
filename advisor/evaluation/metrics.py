"""Run-level metrics: the headline numbers the gate checks, per tag and per scope.

Every ratio is None, not 0 or 1, when its denominator is empty, so an unmeasured metric is
neither a pass nor a fail.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from advisor.evaluation.checks import CaseResult
from advisor.evaluation.report import Confusion, Metrics, TagRow
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
    n = len(results)
    mentions = [ok for r in results for _, ok in r.mentions]
    leads = [ok for r in results for _, ok in r.leads]
    cited = [ok for r in results for _, ok in r.cited]
    retrieved = [ok for r in results for _, ok in r.retrieved]
    guarded = [r for r in results if r.case.must_not_mention]
    latencies = [r.latency_ms for r in results]
    metrics: Metrics = {
        "level_accuracy": ratio(sum(r.level_ok for r in results), n),
        "level_exact": ratio(sum(r.level_exact for r in results), n),
        "under_escalation_rate": ratio(sum(r.under for r in results), n),
        "over_escalation_rate": ratio(sum(r.over for r in results), n),
        "mention_recall": ratio(sum(mentions), len(mentions)),
        "lead_recall": ratio(sum(leads), len(leads)),
        "citation_recall": ratio(sum(cited), len(cited)),
        "retrieval_hit_rate": ratio(sum(retrieved), len(retrieved)),
        "forbidden_rate": ratio(sum(bool(r.forbidden) for r in guarded), len(guarded)),
        "out_of_scope_accuracy": ratio(sum(r.scope_ok for r in results), n),
        "citation_marker_validity": ratio(sum(r.markers_ok for r in results), n),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }
    for key in sorted({k for r in results for k in r.judged}):
        scores = [r.judged[key] for r in results if key in r.judged]
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
    scopes = {
        "curated": [r for r in results if REAL_WORLD not in r.case.tags],
        REAL_WORLD: [r for r in results if REAL_WORLD in r.case.tags],
    }
    return {name: compute_metrics(subset) for name, subset in scopes.items() if subset}


def confusion(results: Sequence[CaseResult]) -> Confusion:
    """Expected level (rows) against produced level (columns)."""
    counts = {e: dict.fromkeys(LEVELS, 0) for e in LEVELS}
    for r in results:
        counts[r.case.expected_level][r.level] += 1
    return Confusion(levels=list(LEVELS), counts=counts)
