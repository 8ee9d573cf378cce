"""Two runs side by side: metric deltas and the cases that flipped or changed level."""

from __future__ import annotations

from advisor.evaluation.metrics import LOWER_IS_BETTER
from advisor.evaluation.report import (
    Comparison,
    EvalReport,
    FlippedCase,
    LevelChange,
    MetricDelta,
    Verdict,
)


def metric_delta(key: str, before: float | None, after: float | None) -> MetricDelta:
    """``worse`` follows the metric's direction (a higher latency is worse)."""
    delta = None if before is None or after is None else round(after - before, 4)
    verdict: Verdict = "same"
    if delta is None:
        verdict = "n/a"
    elif abs(delta) > 1e-9:
        worse = delta > 0 if key in LOWER_IS_BETTER else delta < 0
        verdict = "worse" if worse else "better"
    return MetricDelta(before=before, after=after, delta=delta, verdict=verdict)


def compare_reports(current: EvalReport, other: EvalReport, label: str) -> Comparison:
    """Metric deltas and the cases that changed between an earlier run (other) and this one."""
    deltas = {
        key: metric_delta(key, other.metrics.get(key), current.metrics.get(key))
        for key in dict.fromkeys([*other.metrics, *current.metrics])
    }
    old = {c.id: c for c in other.cases}
    new = {c.id: c for c in current.cases}
    flipped: list[FlippedCase] = []
    levels: list[LevelChange] = []
    for cid in (c for c in new if c in old):
        a, b = old[cid], new[cid]
        if a.passed != b.passed:
            flipped.append(
                FlippedCase(
                    id=cid,
                    before="pass" if a.passed else "fail",
                    after="pass" if b.passed else "fail",
                    failed_checks=b.failed_checks,
                )
            )
        if a.level != b.level:
            levels.append(
                LevelChange(id=cid, expected=b.expected_level, before=a.level, after=b.level)
            )
    return Comparison(
        other=label,
        other_created=other.created,
        other_produced_by=other.produced_by,
        metrics=deltas,
        flipped=flipped,
        level_changed=levels,
        added=[c for c in new if c not in old],
        removed=[c for c in old if c not in new],
    )
