"""Asking every case through one advisor: the app's own ``Advisor``, or a test double."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from advisor.errors import InputError
from advisor.evaluation.cases import Case
from advisor.evaluation.checks import CaseResult, score_case
from advisor.models import Answer, ScoredChunk

if TYPE_CHECKING:
    from advisor.settings import Settings

Judge = Callable[[Case, Answer], Mapping[str, float]]
"""Scores one answer (e.g. an LLM judge); its keys become ``judged_*`` metrics."""

CaseStarted = Callable[[int, Case], None]
"""Told the index of each case before it is asked, for progress shown elsewhere."""


class TracedLike(Protocol):
    """An answer with every passage retrieved for it (``advisor.chain.Traced``)."""

    @property
    def answer(self) -> Answer: ...

    @property
    def hits(self) -> Sequence[ScoredChunk]: ...


class RulesLike(Protocol):
    """The escalation rules, known by their digest (``EscalationEngine``)."""

    @property
    def digest(self) -> str: ...


class AdvisorLike(Protocol):
    """What the suite needs; ``advisor.chain.Advisor`` and test fakes both fit."""

    @property
    def settings(self) -> Settings: ...

    @property
    def escalation(self) -> RulesLike: ...

    def ask_traced(self, question: str) -> TracedLike: ...


def run_cases(
    advisor: AdvisorLike,
    cases: Sequence[Case],
    progress: bool = True,
    judge: Judge | None = None,
    on_case: CaseStarted | None = None,
) -> list[CaseResult]:
    """Ask every case through one advisor (the model loads once); ``judge`` adds scored metrics.

    ``progress`` draws a terminal bar; ``on_case`` reports each case to another display.
    Latency is the advisor's own ``answer.latency_ms`` when it reports one, else wall time.
    """
    from tqdm import tqdm

    results: list[CaseResult] = []
    bar = tqdm(cases, desc="eval", unit="case", disable=not progress, file=sys.stderr)
    for index, case in enumerate(bar):
        if on_case is not None:
            on_case(index, case)
        started = time.perf_counter()
        try:
            traced = advisor.ask_traced(case.question)
        except InputError as exc:
            raise InputError(
                f"{case.where}: case '{case.id}': field 'question': rejected by the advisor: {exc}"
            ) from exc
        wall = round((time.perf_counter() - started) * 1000, 1)
        answer = traced.answer
        judged = judge(case, answer) if judge is not None else None
        results.append(score_case(case, answer, traced.hits, answer.latency_ms or wall, judged))
    return results
