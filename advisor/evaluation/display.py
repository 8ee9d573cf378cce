"""How a metric value reads in every view: report.md, report.html, the terminal, the admin tab."""

from __future__ import annotations


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
