"""The report's charts as PNG data URIs, so report.html and the admin tab embed them offline.

matplotlib is imported on first use (Agg backend): the suite and the CLI load without it.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

from advisor.evaluation.report import EvalReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_TAGS = 50


def _figure(width: float, height: float) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _tags_chart(report: EvalReport) -> str | None:
    """Pass rate and level accuracy of the largest tags; None when no case has a tag."""
    tags = sorted(report.tags.items(), key=lambda kv: (-kv[1].cases, kv[0]))[:MAX_TAGS]
    if not tags:
        return None
    tags.reverse()
    names = [f"{t} ({row.cases})" for t, row in tags]
    fig = _figure(8, 1.2 + 0.28 * len(tags))
    ax = fig.subplots()
    ys = range(len(tags))
    ax.barh(
        [y + 0.2 for y in ys],
        [row.pass_rate or 0 for _, row in tags],
        0.4,
        label="pass rate",
        color="#4c78a8",
    )
    ax.barh(
        [y - 0.2 for y in ys],
        [row.metrics["level_accuracy"] or 0 for _, row in tags],
        0.4,
        label="level accuracy",
        color="#f58518",
    )
    ax.set_yticks(list(ys), names, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_title("Per tag (up to 50 largest tags; cases in brackets)")
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def _confusion_chart(report: EvalReport) -> str:
    levels = report.confusion.levels
    counts = report.confusion.counts
    grid = [[counts[e][g] for g in levels] for e in levels]
    fig = _figure(5, 4.2)
    ax = fig.subplots()
    ax.imshow(grid, cmap="Blues")
    ax.set_xticks(range(len(levels)), [str(lv) for lv in levels])
    ax.set_yticks(range(len(levels)), [str(lv) for lv in levels])
    ax.set_xlabel("produced level")
    ax.set_ylabel(report.confusion.rows)
    top = max((v for row in grid for v in row), default=0)
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            color = "white" if top and v > top / 2 else "black"
            ax.text(j, i, str(v), ha="center", va="center", color=color)
    ax.set_title("Level confusion matrix")
    return _png(fig)


def _latency_chart(report: EvalReport) -> str:
    latencies = [c.latency_ms for c in report.cases]
    fig = _figure(6, 3.2)
    ax = fig.subplots()
    ax.hist(latencies or [0], bins=min(30, max(5, len(latencies) // 4)), color="#54a24b")
    for key, style in (("latency_p50_ms", "--"), ("latency_p95_ms", ":")):
        value = report.metrics.get(key)
        if value is not None:
            ax.axvline(value, color="black", linestyle=style, label=f"{key[8:11]} {value:.0f} ms")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("cases")
    ax.set_title("Latency distribution")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return _png(fig)


def charts(report: EvalReport) -> dict[str, str]:
    """Per-tag scores, confusion matrix and latency histogram, keyed tags/confusion/latency."""
    out: dict[str, str] = {}
    tags = _tags_chart(report)
    if tags is not None:
        out["tags"] = tags
    out["confusion"] = _confusion_chart(report)
    out["latency"] = _latency_chart(report)
    return out
