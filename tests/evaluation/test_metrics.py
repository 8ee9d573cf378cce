"""Run-level metrics on hand-made answers: ratios, nulls for empty denominators, tags, confusion."""

from __future__ import annotations

from advisor.evaluation.metrics import (
    METRIC_KEYS,
    compute_metrics,
    confusion,
    percentile,
    tag_breakdown,
)
from advisor.models import Level
from tests.evaluation.builders import answer, case, chunk, cite, result


def test_metrics_on_hand_made_answers() -> None:
    c1 = case(
        id="a",
        expected_level="prohibited",
        must_mention=["Iran", "746.7|embargo"],
        must_cite=["746.7"],
        must_not_mention=["APPROVED"],
    )
    c2 = case(id="b", expected_level="review", must_mention=["classif"], must_cite=["740.17"])
    c3 = case(id="c", expected_level="none", out_of_scope=True, must_not_mention=["yes"])
    c4 = case(id="d", expected_level="none", acceptable_levels=["none", "review"])
    results = [
        # a: right level, mentions 1/2 (no 746.7, no embargo), cited, forbidden marker present
        result(
            c1,
            answer("Iran. APPROVED [1]", "prohibited", [cite(1, "746.7")], latency=100),
            [chunk("746.7")],
        ),
        # b: under-escalated, mention ok, citation retrieved but not cited
        result(c2, answer("classify it", "none", latency=200), [chunk("740.17 ENC")]),
        # c: out of scope handled; "yes" is its forbidden marker and it leaks
        result(c3, answer("no, yes", in_scope=False, latency=300)),
        # d: over-escalated, bad marker
        result(c4, answer("see [3]", "escalate", latency=400)),
    ]
    m = compute_metrics(results)
    assert list(m) == list(METRIC_KEYS)
    assert m["level_accuracy"] == 0.5
    assert m["level_exact"] == 0.5
    assert m["under_escalation_rate"] == 0.25
    assert m["over_escalation_rate"] == 0.25
    assert m["mention_recall"] == round(2 / 3, 4)
    assert m["citation_recall"] == 0.5
    assert m["retrieval_hit_rate"] == 1.0
    assert m["forbidden_rate"] == 1.0  # both guarded cases leak their marker
    assert m["out_of_scope_accuracy"] == 1.0
    assert m["citation_marker_validity"] == 0.75
    assert m["latency_p50_ms"] == 250.0
    assert m["latency_p95_ms"] == 385.0


def test_zero_denominators_are_null_not_zero() -> None:
    m = compute_metrics([result(case(), answer())])
    assert m["mention_recall"] is None
    assert m["citation_recall"] is None
    assert m["retrieval_hit_rate"] is None
    assert m["forbidden_rate"] is None
    assert m["level_accuracy"] == 1.0
    empty = compute_metrics([])
    assert all(v is None for v in empty.values())


def test_tag_breakdown_and_confusion() -> None:
    c1 = case(id="a", expected_level="prohibited", tags=["iran", "tricky"])
    c2 = case(id="b", expected_level="none", tags=["iran"])
    results = [result(c1, answer(level="review")), result(c2, answer())]
    tags = tag_breakdown(results)
    assert tags["iran"].cases == 2 and tags["iran"].pass_rate == 0.5
    assert tags["tricky"].metrics["under_escalation_rate"] == 1.0
    conf = confusion(results)
    assert conf.counts[Level.PROHIBITED][Level.REVIEW] == 1
    assert conf.counts[Level.NONE][Level.NONE] == 1
    assert sum(sum(row.values()) for row in conf.counts.values()) == 2


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
