"""How a metric value reads in every view: report.md, report.html, the terminal, the admin tab."""

from __future__ import annotations

from advisor.evaluation.report import NEAREST_ACCEPTABLE, EvalReport, GateResult


def fmt(key: str, value: object) -> str:
    """Times (keys ending in ``_ms``) in milliseconds, ratios to four places, None as n/a."""
    if value is None:
        return "n/a"
    if key.endswith("_ms"):
        return f"{value:.1f} ms"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def fmt_delta(key: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.1f} ms" if key.endswith("_ms") else f"{value:+.4f}"


def coverage_text(gate: GateResult) -> str:
    """Which cases the gate compared, in one sentence for every view."""
    n, of = gate.compared, gate.baseline_cases
    if gate.coverage == "no shared cases":
        return "No baseline for these cases: not gated."
    if gate.coverage == "not comparable":
        return (
            "Not gated: the baseline holds whole-suite metrics only (an earlier format); "
            "subset gating needs a regenerated baseline."
        )
    if gate.coverage == "subset":
        text = f"Compared with the baseline on the {n} case(s) both have (of {of} in it)"
    elif n is None:
        text = "Compared with the baseline's whole-suite metrics"
    else:
        text = f"Whole suite: {n} case(s) compared with the baseline's accepted metrics"
    if gate.new_cases:
        text += f"; {len(gate.new_cases)} new case(s), not gated"
    return text + "."


def region_texts(report: EvalReport) -> list[str]:
    """What the confusion matrix's diagonal and the cells either side of it add up to, read
    off the matrix, beside the level rates of the report: the two must be equal."""
    conf = report.confusion
    d, below, above, total = conf.regions()

    def share(k: int) -> str:
        return "n/a" if total == 0 else fmt("", round(k / total, 4))

    def rate(key: str) -> str:
        return f"{key} {fmt(key, report.metrics.get(key))}"

    if conf.rows == NEAREST_ACCEPTABLE:
        return [
            f"on the diagonal: {d} of {total} cases ({share(d)}); {rate('level_accuracy')}",
            f"below the diagonal: {below} of {total} cases ({share(below)}); "
            + rate("under_escalation_rate"),
            f"above the diagonal: {above} of {total} cases ({share(above)}); "
            + rate("over_escalation_rate"),
        ]
    return [
        f"on the diagonal: {d} of {total} cases ({share(d)}); {rate('level_exact')}; this "
        "report's rows are expected levels, so cells off the diagonal may hold acceptable levels"
    ]
