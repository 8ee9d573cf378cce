"""Run-level metrics on hand-made answers: ratios, nulls for empty denominators, tags, and the
confusion matrix agreeing with the level rates (generated result sets and a real run)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from advisor.evaluation.checks import CaseResult
from advisor.evaluation.metrics import (
    LEVELS,
    METRIC_KEYS,
    compute_metrics,
    confusion,
    percentile,
    ratio,
    tag_breakdown,
)
from advisor.evaluation.report import NEAREST_ACCEPTABLE, Confusion
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
    assert conf.rows == NEAREST_ACCEPTABLE
    assert conf.counts[Level.PROHIBITED][Level.REVIEW] == 1
    assert conf.counts[Level.NONE][Level.NONE] == 1
    assert sum(sum(row.values()) for row in conf.counts.values()) == 2


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5


# ---------------------------------------------------------------- matrix and rates agree


def _random_results(rng: random.Random, n: int) -> list[CaseResult]:
    """Cases with every kind of acceptable range, answered at random levels."""
    results = []
    for i in range(n):
        lo = rng.randrange(4)
        hi = rng.randrange(lo, min(lo + 2, 3) + 1)
        acceptable = [LEVELS[k] for k in range(lo, hi + 1)]
        expected = rng.choice(acceptable)
        c = case(
            id=f"c{i}",
            expected_level=expected.value,
            acceptable_levels=[lv.value for lv in acceptable] if len(acceptable) > 1 else None,
            out_of_scope=rng.random() < 0.2,
        )
        results.append(result(c, answer(level=rng.choice(LEVELS).value)))
    return results


def assert_matrix_matches_rates(conf: Confusion, metrics: dict[str, float | None]) -> None:
    """Diagonal / total = level accuracy, below = under-escalation, above = over-escalation."""
    diagonal, below, above, total = conf.regions()
    assert diagonal + below + above == total
    assert ratio(diagonal, total) == metrics["level_accuracy"]
    assert ratio(below, total) == metrics["under_escalation_rate"]
    assert ratio(above, total) == metrics["over_escalation_rate"]


@pytest.mark.parametrize("seed", range(12))
def test_confusion_regions_equal_the_level_rates(seed: int) -> None:
    rng = random.Random(seed)
    results = _random_results(rng, rng.randrange(1, 80))
    conf = confusion(results)
    assert_matrix_matches_rates(conf, compute_metrics(results))
    # Each case sits in the row of its nearest acceptable level and the column of its level,
    # on the diagonal exactly when accurate and below it exactly when under-escalated.
    for e in LEVELS:
        for g in LEVELS:
            placed = [r for r in results if r.outcome.row == e and r.level == g]
            assert conf.counts[e][g] == len(placed)
            assert all(r.level_ok == (e == g) for r in placed)
            assert all(r.under == (g.rank < e.rank) for r in placed)
            assert all(r.over == (g.rank > e.rank) for r in placed)
    # Any part of the run (a tag, a scope, a case file) agrees as well.
    part = results[: max(1, len(results) // 3)]
    assert_matrix_matches_rates(confusion(part), compute_metrics(part))


def test_an_acceptable_lower_level_is_not_shown_below_the_diagonal() -> None:
    """The problem a user found: a review case with none acceptable answered none showed as
    review->none in the matrix while under-escalation said 0. It is accurate, so it now sits
    on the diagonal; a review case answered none without none acceptable is below it."""
    tolerant = case(id="t", expected_level="review", acceptable_levels=["none", "review"])
    strict = case(id="s", expected_level="review")
    lenient = [result(tolerant, answer(level="none"))]
    conf = confusion(lenient)
    assert conf.counts[Level.NONE][Level.NONE] == 1 and conf.regions().below == 0
    assert compute_metrics(lenient)["under_escalation_rate"] == 0.0
    both = [*lenient, result(strict, answer(level="none"))]
    conf = confusion(both)
    assert conf.counts[Level.REVIEW][Level.NONE] == 1 and conf.regions().below == 1
    assert compute_metrics(both)["under_escalation_rate"] == 0.5
    over = [result(tolerant, answer(level="prohibited"))]
    assert confusion(over).counts[Level.REVIEW][Level.PROHIBITED] == 1
    assert_matrix_matches_rates(confusion(over), compute_metrics(over))


REAL_CASES = """\
- id: real-crimea
  question: "Is a licence needed to send items to Crimea?"
  expected_level: prohibited
- id: real-crimea-expected-lower
  question: "Is a licence needed to send items to Crimea?"
  expected_level: review
  acceptable_levels: [none, review]
- id: real-fr-expected-higher
  question: "What is fundamental research?"
  expected_level: escalate
  acceptable_levels: [escalate, prohibited]
- id: real-fr
  question: "What is fundamental research?"
  expected_level: review
  acceptable_levels: [none, review]
- id: real-pancakes
  question: "What is the best recipe for pancakes?"
  expected_level: none
  out_of_scope: true
"""


@pytest.mark.slow
def test_matrix_matches_rates_on_a_real_run(tmp_path: Path, real_embeddings: object) -> None:
    """The real advisor (real embeddings, Chroma and rules) on cases answered under, within
    and over their acceptable levels: the report's matrix and metrics agree."""
    from advisor.chain import build_advisor
    from advisor.evaluation.suite import run_suite
    from tests.conftest import make_settings
    from tests.evaluation.builders import write_cases

    settings = make_settings(tmp_path, min_relevance=0.2)
    advisor = build_advisor(settings, embeddings=real_embeddings)  # type: ignore[arg-type]
    cases = write_cases(tmp_path / "real.yaml", REAL_CASES)
    run = run_suite(lambda: advisor, [cases], out_dir=tmp_path / "out")
    report = run.report
    levels = {r.case.id: r.level for r in run.results}
    assert levels["real-crimea"] == Level.PROHIBITED and levels["real-fr"] == Level.NONE
    regions = report.confusion.regions()
    assert regions.total == 5 and regions.below >= 1 and regions.above >= 1
    assert_matrix_matches_rates(report.confusion, report.metrics)
    md = run.paths["md"].read_text(encoding="utf-8")
    under = report.metrics["under_escalation_rate"]
    line = f"below the diagonal: {regions.below} of 5 cases ({under:.4f}); under_escalation_rate"
    assert f"{line} {under:.4f}" in md
    assert "**under_escalation_rate**: cases whose level is below the lowest acceptable" in md
