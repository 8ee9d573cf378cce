"""The evaluation report as a typed model: what report.json holds and every view renders.

The JSON keys are the contract with existing reports and baselines, so the models mirror
them field for field (in their order); ``EvalReport.to_json`` writes exactly that shape and
``load_report`` reads reports written by earlier versions too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)

from advisor.errors import InputError
from advisor.models import Level

Metrics = dict[str, float | None]
"""Metric name to value; None when nothing was measured (the gate and the views skip it)."""


class RunSettings(BaseModel):
    """The settings that change retrieval, so two runs with different ones are told apart."""

    top_k: int
    min_relevance: float
    chunk_size: int
    chunk_overlap: int


class Provenance(BaseModel):
    """What produced a report, so two reports can be told apart and reproduced."""

    corpus_files_sha256: str = Field(
        validation_alias=AliasChoices("corpus_files_sha256", "corpus_hash"),
        description="SHA-256 over the corpus document files (not the index manifest digest "
        "that audit rows call corpus_hash); reports before the rename used that key.",
    )
    rules_hash: str
    prompt_version: str
    embedding_model: str
    writer: str
    git_commit: str
    case_files: dict[str, str] = Field(description="Case file to the SHA-256 of its bytes.")
    settings: RunSettings


class Summary(BaseModel):
    cases: int
    passed: int
    failed: int
    pass_rate: float | None


class TagRow(BaseModel):
    """Quality metrics of the cases with one tag; in JSON the metrics sit beside the counts."""

    cases: int
    passed: int
    pass_rate: float | None
    metrics: Metrics = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _gather_metrics(cls, data: Any) -> Any:
        if isinstance(data, dict) and "metrics" not in data:
            counts = {k: data[k] for k in ("cases", "passed", "pass_rate") if k in data}
            return {**counts, "metrics": {k: v for k, v in data.items() if k not in counts}}
        return data

    @model_serializer(mode="wrap")
    def _flatten_metrics(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        metrics = data.pop("metrics")
        return {**data, **metrics}


ConfusionRows = Literal["expected level", "nearest acceptable level"]
EXPECTED: ConfusionRows = "expected level"
NEAREST_ACCEPTABLE: ConfusionRows = "nearest acceptable level"


class Regions(NamedTuple):
    """The confusion matrix cut along its diagonal; divided by ``total`` they are level
    accuracy (``diagonal``), under-escalation (``below``) and over-escalation (``above``)."""

    diagonal: int
    below: int
    above: int
    total: int


class Confusion(BaseModel):
    """Produced level (columns) against the row level of each case: in reports written since
    the matrix and the rates share one classification, the acceptable level nearest to the
    produced one (``rows`` says which; older reports used the expected level)."""

    levels: list[Level]
    counts: dict[Level, dict[Level, int]]
    rows: ConfusionRows = EXPECTED

    @property
    def corner(self) -> str:
        """The matrix's top-left cell: what the rows are, against the produced columns."""
        return ("acceptable" if self.rows == NEAREST_ACCEPTABLE else "expected") + " \\ produced"

    def regions(self) -> Regions:
        rank = {lv: i for i, lv in enumerate(self.levels)}
        cells = [(rank[r], rank[c], n) for r, row in self.counts.items() for c, n in row.items()]
        return Regions(
            diagonal=sum(n for r, c, n in cells if r == c),
            below=sum(n for r, c, n in cells if c < r),
            above=sum(n for r, c, n in cells if c > r),
            total=sum(n for _, _, n in cells),
        )


class Passage(BaseModel):
    """One passage retrieved for a case, cited or not."""

    title: str
    section: str | None
    score: float


class FlagRow(BaseModel):
    id: str
    level: Level
    citation: str


class CitationRow(BaseModel):
    n: int
    title: str
    section: str | None


class EntryCheck(BaseModel):
    entry: str
    ok: bool


class CaseChecks(BaseModel):
    mention: list[EntryCheck]
    cite: list[EntryCheck]
    retrieval: list[EntryCheck]
    forbidden_hits: list[str]
    markers_valid: bool


class CaseRow(BaseModel):
    """One case's outcome as the report shows it; ``judged`` is written only when a judge
    scored the case, so reports of judge-less runs carry no empty placeholders."""

    id: str
    file: str
    question: str
    tags: list[str]
    expected_level: Level
    acceptable_levels: list[Level]
    level: Level
    passed: bool
    failed_checks: list[str]
    out_of_scope: bool
    in_scope: bool
    answer: str
    flags: list[FlagRow]
    citations: list[CitationRow]
    retrieved: list[Passage]
    checks: CaseChecks
    latency_ms: float
    judged: dict[str, float] = Field(default_factory=dict)

    @model_serializer(mode="wrap")
    def _omit_unjudged(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not self.judged:
            data.pop("judged", None)
        return data


class LevelChange(BaseModel):
    id: str
    expected: Level
    before: Level
    after: Level


GateStatus = Literal["pass", "fail", "not gated", "skipped (no data)"]


class GateCheck(BaseModel):
    """One metric against its accepted value; ``limit`` is the worst value that passes."""

    metric: str
    baseline: float | None
    current: float | None
    limit: float | None
    better: Literal["higher", "lower"]
    status: GateStatus


Coverage = Literal["whole suite", "subset", "no shared cases", "not comparable"]
"""Which cases the metrics were gated on: every case of the baseline (its accepted values,
as before subsets were gated), the cases the run shares with the baseline's per-case
results, none (no case of the run is in the baseline), or none because the baseline holds
whole-suite metrics only (the format before per-case results) and the run is part of it."""


class GateResult(BaseModel):
    """``passed`` needs every gated metric within its limit and no missed prohibition.

    The fields after ``notes`` say which cases were compared; reports written before subset
    gating lack them and read as a whole-suite gate.
    """

    passed: bool
    metrics_passed: bool
    prohibited_below_escalate: list[str]
    checks: list[GateCheck]
    notes: list[str]
    coverage: Coverage = "whole suite"
    gated: bool = Field(True, description="False when no metric could be compared.")
    compared: int | None = Field(None, description="Cases compared with the baseline.")
    baseline_cases: int | None = None
    compared_cases: list[str] = Field(
        default_factory=list, description="Their ids, for a subset (not for the whole suite)."
    )
    new_cases: list[str] = Field(
        default_factory=list, description="Cases of the run the baseline lacks: not gated."
    )
    level_changed: list[LevelChange] = Field(
        default_factory=list, description="Compared cases whose level differs from the baseline's."
    )

    @property
    def verdict(self) -> Literal["PASSED", "FAILED", "NOT GATED"]:
        """FAILED wins; NOT GATED when nothing could be compared and nothing failed."""
        if not self.passed:
            return "FAILED"
        return "PASSED" if self.gated else "NOT GATED"


Verdict = Literal["same", "n/a", "worse", "better"]


class MetricDelta(BaseModel):
    before: float | None
    after: float | None
    delta: float | None
    verdict: Verdict


class FlippedCase(BaseModel):
    id: str
    before: Literal["pass", "fail"]
    after: Literal["pass", "fail"]
    failed_checks: list[str]


class Comparison(BaseModel):
    """An earlier run (``other``) against this one: metric deltas and the cases that moved."""

    other: str
    other_created: str | None
    other_produced_by: Provenance
    metrics: dict[str, MetricDelta]
    flipped: list[FlippedCase]
    level_changed: list[LevelChange]
    added: list[str]
    removed: list[str]


class EvalReport(BaseModel):
    """The report of one ``advisor eval`` run; ``gate`` and ``compare`` are added by the suite
    and left out of the JSON when absent, as before."""

    created: str
    produced_by: Provenance
    summary: Summary
    metrics: Metrics
    scopes: dict[str, Metrics] = Field(default_factory=dict)
    tags: dict[str, TagRow]
    confusion: Confusion
    cases: list[CaseRow]
    gate: GateResult | None = None
    compare: Comparison | None = None

    @model_serializer(mode="wrap")
    def _omit_absent_parts(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for key in ("gate", "compare"):
            if data.get(key) is None:
                data.pop(key, None)
        return data

    @property
    def failing(self) -> list[CaseRow]:
        """Failing cases, worst first (the cases are stored in that order)."""
        return [c for c in self.cases if not c.passed]

    def to_json(self) -> str:
        """report.json's text: Python's own float formatting, non-ASCII kept readable."""
        return json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def write_report_json(report: EvalReport, path: Path) -> Path:
    path.write_text(report.to_json(), "utf-8")
    return path


def load_report(folder: Path) -> EvalReport:
    """An earlier report.json, given its folder or the file itself."""
    path = folder / "report.json" if folder.is_dir() else folder
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read an earlier report: {exc}") from exc
    if not isinstance(data, dict) or "metrics" not in data or "cases" not in data:
        raise InputError(f"{path}: not a report.json written by advisor eval")
    try:
        return EvalReport.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise InputError(f"{path}: not a report.json written by advisor eval: {problems}") from exc
