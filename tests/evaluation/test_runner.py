"""Asking cases through an advisor: judged metrics, and rejections that name the case."""

from __future__ import annotations

import pytest

from advisor.errors import InputError
from advisor.evaluation.metrics import compute_metrics
from advisor.evaluation.runner import run_cases
from tests.evaluation.builders import FakeAdvisor, case


def test_judged_metrics_absent_without_judge_present_with_one(fake: FakeAdvisor) -> None:
    cases = [case(id="x", question="What is fundamental research?")]
    plain = compute_metrics(run_cases(fake, cases, progress=False))
    assert not [k for k in plain if k.startswith("judged")]
    judged = run_cases(fake, cases, progress=False, judge=lambda c, a: {"faithfulness": 0.5})
    assert compute_metrics(judged)["judged_faithfulness"] == 0.5


def test_advisor_rejection_names_the_case(fake: FakeAdvisor) -> None:
    with pytest.raises(InputError, match="case 'zz': field 'question'"):
        run_cases(fake, [case(id="zz", question="unknown")], progress=False)
