"""The charts: one per view, embeddable offline."""

from __future__ import annotations

from pathlib import Path

from advisor.evaluation.charts import charts
from tests.evaluation.builders import FakeAdvisor, make_report


def test_three_png_charts_and_no_tag_chart_without_tags(fake: FakeAdvisor, tmp_path: Path) -> None:
    report = make_report(fake, tmp_path)
    images = charts(report)
    assert list(images) == ["tags", "confusion", "latency"]
    assert all(uri.startswith("data:image/png;base64,") for uri in images.values())
    untagged = report.model_copy(update={"tags": {}})
    assert list(charts(untagged)) == ["confusion", "latency"]
