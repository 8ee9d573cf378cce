"""Comparing two runs: metric deltas in the metric's direction, flipped cases, level changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.errors import InputError
from advisor.evaluation.compare import compare_reports, metric_delta
from advisor.evaluation.render_markdown import compare_lines
from advisor.evaluation.report import load_report
from advisor.evaluation.suite import write_reports
from tests.evaluation.builders import FakeAdvisor, answer, good_replies, make_report


def test_compare_shows_deltas_and_flips(fake: FakeAdvisor, tmp_path: Path) -> None:
    before = make_report(fake, tmp_path)
    write_reports(before, tmp_path / "before")
    replies = good_replies()
    fr = "What is fundamental research?"
    replies[fr] = (answer("Nothing useful.", "escalate", latency=20.0), [])
    after = make_report(fake, tmp_path, replies)
    cmp = compare_reports(after, load_report(tmp_path / "before"), "before")
    assert cmp.metrics["level_accuracy"].delta == round(2 / 3 - 1, 4)
    assert cmp.metrics["level_accuracy"].verdict == "worse"
    assert cmp.metrics["over_escalation_rate"].verdict == "worse"
    assert cmp.flipped[0].id == "fr-basics"
    assert cmp.flipped[0].before == "pass" and cmp.flipped[0].after == "fail"
    assert [x.model_dump(mode="json") for x in cmp.level_changed] == [
        {"id": "fr-basics", "expected": "none", "before": "none", "after": "escalate"}
    ]
    text = "\n".join(compare_lines(cmp))
    assert "`fr-basics`: pass -> fail" in text and "`fr-basics`: none -> escalate" in text
    after.compare = cmp
    paths = write_reports(after, tmp_path / "after")
    assert "Compared with before" in paths["md"].read_text()
    assert "Cases that flipped pass/fail" in paths["html"].read_text()
    with pytest.raises(InputError, match="cannot read an earlier report"):
        load_report(tmp_path / "nowhere")


def test_metric_delta_follows_the_direction_of_the_metric() -> None:
    assert metric_delta("latency_p50_ms", 10.0, 20.0).verdict == "worse"
    assert metric_delta("level_accuracy", 0.5, 0.6).verdict == "better"
    assert metric_delta("level_accuracy", 0.5, 0.5).verdict == "same"
    assert metric_delta("level_accuracy", None, 0.5).model_dump() == {
        "before": None,
        "after": 0.5,
        "delta": None,
        "verdict": "n/a",
    }


def test_added_and_removed_cases(fake: FakeAdvisor, tmp_path: Path) -> None:
    before = make_report(fake, tmp_path)
    after = before.model_copy(deep=True)
    after.cases[0].id = "brand-new"
    cmp = compare_reports(after, before, "before")
    assert cmp.added == ["brand-new"] and cmp.removed == [before.cases[0].id]
    assert cmp.other_produced_by == before.produced_by and cmp.other_created == before.created
    assert "Cases added: `brand-new`" in "\n".join(compare_lines(cmp))
