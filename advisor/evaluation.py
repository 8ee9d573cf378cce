"""Evaluation suite: run YAML cases through the app's Advisor, score them, report, and gate CI.

``advisor eval`` loads cases (schema: ``Case``), runs each through the same ``Advisor`` the app
uses, writes report.json/.md/.html, and exits 1 when the regression gate fails: a metric worse
than ``evals/baseline.json`` by more than its tolerance, or any case expected at ``prohibited``
answered below ``escalate``. Metric and check functions are pure so they can be unit-tested on
hand-made answers.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from advisor.errors import InputError
from advisor.models import Answer, Citation, Level, ScoredChunk

if TYPE_CHECKING:
    from advisor.settings import Settings

DEFAULT_BASELINE = Path("evals/baseline.json")
DEFAULT_REPORTS = Path("evals/reports")

METRIC_KEYS: tuple[str, ...] = (
    "level_accuracy",
    "level_exact",
    "under_escalation_rate",
    "over_escalation_rate",
    "mention_recall",
    "lead_recall",
    "citation_recall",
    "retrieval_hit_rate",
    "forbidden_rate",
    "out_of_scope_accuracy",
    "citation_marker_validity",
    "latency_p50_ms",
    "latency_p95_ms",
)
LOWER_IS_BETTER = frozenset(
    {
        "under_escalation_rate",
        "over_escalation_rate",
        "forbidden_rate",
        "latency_p50_ms",
        "latency_p95_ms",
    }
)
JUDGED_PREFIX = "judged_"
# report.md must fit a pull-request comment (GitHub caps them at 65,536 characters).
MD_ANSWERS = 10
MD_ANSWER_CHARS = 1500
LEVELS: tuple[Level, ...] = tuple(sorted(Level, key=lambda lv: lv.rank))

# Defaults written by --update-baseline for metrics the baseline does not describe yet.
# Levels come from deterministic rules, so dangerous metrics get no slack; retrieval-dependent
# ones tolerate about one case of floating-point noise across machines.
DEFAULT_GATE: dict[str, dict[str, Any]] = {
    "level_accuracy": {"tolerance": 0.01},
    "level_exact": {"tolerance": 0.02},
    "under_escalation_rate": {"tolerance": 0.0},
    "over_escalation_rate": {"tolerance": 0.02},
    "mention_recall": {"tolerance": 0.01},
    "lead_recall": {"tolerance": 0.02},
    "citation_recall": {"tolerance": 0.02},
    "retrieval_hit_rate": {"tolerance": 0.02},
    "forbidden_rate": {"tolerance": 0.0},
    "out_of_scope_accuracy": {"tolerance": 0.01},
    "citation_marker_validity": {"tolerance": 0.0},
    "latency_p50_ms": {"tolerance": 500.0, "factor": 5.0},
    "latency_p95_ms": {"tolerance": 1000.0, "factor": 5.0},
}
DEFAULT_JUDGED_TOLERANCE = 0.05
BASELINE_NOTES = [
    "Accepted metrics of `advisor eval --cases evals/cases` with the extractive writer; "
    "regenerate with --update-baseline after an intended change and commit the diff.",
    "The gate fails when a metric is worse than `value` by more than its allowance: for "
    "`better: higher` the floor is value - tolerance; for `better: lower` the ceiling is "
    "max(value + tolerance, value * factor) when `factor` is set, else value + tolerance. "
    "Null values are skipped; set `gate: false` to report a metric without gating it.",
    "Escalation levels come from deterministic rules, so under_escalation_rate, forbidden_rate "
    "and citation_marker_validity have zero tolerance; retrieval-dependent metrics allow about "
    "one case (1/132 = 0.0076) of embedding noise between machines.",
    "Latency is noisy: on one shared machine two identical runs differed 3.3x in p50. It only "
    "fails when it is more than 5x the baseline and more than 500 ms (p50) / 1000 ms (p95) over "
    "it, which catches a model loaded or the corpus re-embedded per question, not jitter. On "
    "much slower CI hardware, set `gate: false` on the latency entries.",
    "Independently of this file, the gate always fails when a case expected at `prohibited` "
    "comes out below `escalate`.",
]

Judge = Callable[["Case", Answer], Mapping[str, float]]


# --------------------------------------------------------------------------- cases


def _check_entries(values: list[str]) -> list[str]:
    """Reject entries that would match everything or crash at scoring time."""
    for i, entry in enumerate(values):
        for alt in entry.split("|"):
            if alt.strip() == "" or alt == "re:":
                raise ValueError(f"entry {i} ({entry!r}) has an empty alternative")
            if alt.startswith("re:"):
                try:
                    re.compile(alt[3:])
                except re.error as exc:
                    raise ValueError(
                        f"entry {i} ({entry!r}): invalid regex {alt[3:]!r}: {exc}"
                    ) from exc
    return values


class Case(BaseModel):
    """One evaluation case: the YAML contract evaluators write against (unknown keys are errors).

    ``must_mention``, ``must_cite`` and ``must_not_mention`` entries hold ``|``-separated
    alternatives; one starting with ``re:`` is a regular expression (it cannot contain ``|``).
    Only ``must_not_mention`` is case-sensitive: its entries are exact forbidden markers.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, pattern=r"^\S+$")
    question: str = Field(min_length=1)
    expected_level: Level
    acceptable_levels: list[Level] | None = None
    must_mention: list[str] = Field(default_factory=list)
    must_cite: list[str] = Field(default_factory=list)
    must_not_mention: list[str] = Field(default_factory=list)
    lead_must_mention: list[str] = Field(
        default_factory=list,
        description="Alternatives that must appear in the answer's bottom line (its lead).",
    )
    out_of_scope: bool = False
    tags: list[str] = Field(default_factory=list)
    source: str | None = Field(None, description="Where a real-world question was published (URL).")

    _file: str = PrivateAttr(default="")
    _line: int | None = PrivateAttr(default=None)

    @field_validator("question")
    @classmethod
    def _question_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the question is blank")
        return value.strip()

    @field_validator("acceptable_levels")
    @classmethod
    def _includes_expected(cls, value: list[Level] | None, info: ValidationInfo) -> Any:
        expected = info.data.get("expected_level")
        if value is not None and expected is not None and expected not in value:
            raise ValueError(f"must include expected_level '{expected.value}'")
        return None if value is None else list(dict.fromkeys(value))

    @field_validator("must_mention", "must_cite", "must_not_mention", "lead_must_mention")
    @classmethod
    def _entries(cls, value: list[str]) -> list[str]:
        return _check_entries(value)

    @property
    def acceptable(self) -> list[Level]:
        return self.acceptable_levels or [self.expected_level]

    @property
    def where(self) -> str:
        """``file:line`` for messages, so a failing case is found at once."""
        return f"{self._file}:{self._line}" if self._line else self._file or "<cases>"


def _show(path: Path) -> str:
    """Paths relative to the working directory when possible: stable across checkouts."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def discover_case_files(paths: Sequence[Path | str]) -> list[Path]:
    """Files as given, folders searched recursively for *.yaml / *.yml, in a stable order."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"})
            if not found:
                raise InputError(f"{_show(path)}: no *.yaml case files in this folder")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{raw}: no such case file or folder")
    return list(dict.fromkeys(files))


def _node_lines(text: str) -> list[tuple[int, dict[str, int]]]:
    """Line of each list item and of each of its keys, for error messages."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.SequenceNode):
        return []
    lines = []
    for item in root.value:
        keys: dict[str, int] = {}
        if isinstance(item, yaml.MappingNode):
            keys = {
                str(k.value): k.start_mark.line + 1
                for k, _ in item.value
                if isinstance(k, yaml.ScalarNode)
            }
        lines.append((item.start_mark.line + 1, keys))
    return lines


def _describe_error(err: Mapping[str, Any]) -> tuple[str, str]:
    loc = [str(p) for p in err.get("loc", ())]
    name = loc[0] if loc else "<case>"
    shown = name + "".join(f"[{p}]" for p in loc[1:])
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        allowed = ", ".join(Case.model_fields)
        return name, f"field '{shown}': unknown field (allowed: {allowed})"
    if kind == "missing":
        return name, f"field '{shown}': required field is missing"
    message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    return name, f"field '{shown}': {message}"


def load_case_file(path: Path) -> list[Case]:
    """Parse and validate one file; every problem names the file, the case and the field."""
    shown = _show(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{shown}: cannot read case file: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"{shown}{at}: not valid YAML: {problem}") from exc
    if data is None:
        raise InputError(f"{shown}: the file holds no cases")
    if not isinstance(data, list):
        raise InputError(
            f"{shown}: expected a list of cases (items starting with '- id: ...'), "
            f"got a {type(data).__name__}"
        )
    lines = _node_lines(text)
    cases: list[Case] = []
    problems: list[str] = []
    for index, item in enumerate(data):
        line, key_lines = lines[index] if index < len(lines) else (None, {})
        label = f"case #{index + 1}"
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            label = f"case '{item['id']}' (#{index + 1})"
        if not isinstance(item, dict):
            problems.append(
                f"{shown}:{line}: {label}: expected a mapping of fields, got {type(item).__name__}"
            )
            continue
        try:
            case = Case.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors():
                name, message = _describe_error(err)
                problems.append(f"{shown}:{key_lines.get(name, line)}: {label}: {message}")
            continue
        case._file, case._line = shown, line
        cases.append(case)
    if problems:
        raise InputError("invalid case file:\n  " + "\n  ".join(problems))
    return cases


def load_cases(paths: Sequence[Path | str]) -> tuple[list[Case], list[Path]]:
    """All cases of all files and folders given, ids unique across them."""
    files = discover_case_files(paths)
    cases: list[Case] = []
    seen: dict[str, Case] = {}
    for path in files:
        for case in load_case_file(path):
            if case.id in seen:
                raise InputError(
                    f"{case.where}: case '{case.id}': field 'id': duplicate id, "
                    f"already used at {seen[case.id].where}"
                )
            seen[case.id] = case
            cases.append(case)
    if not cases:
        raise InputError("no cases found in " + ", ".join(str(p) for p in paths))
    return cases, files


# --------------------------------------------------------------------------- checks


def matches(entry: str, text: str, *, case_sensitive: bool) -> bool:
    """True when any ``|``-separated alternative occurs in text (``re:`` = regex search)."""
    flags = 0 if case_sensitive else re.IGNORECASE
    folded = text if case_sensitive else text.casefold()
    for alt in entry.split("|"):
        if alt.startswith("re:"):
            if re.search(alt[3:], text, flags):
                return True
        elif (alt if case_sensitive else alt.casefold()) in folded:
            return True
    return False


def mention_satisfied(entry: str, answer_text: str) -> bool:
    """must_mention is about content, so it ignores case."""
    return matches(entry, answer_text, case_sensitive=False)


def forbidden_hit(entry: str, answer_text: str) -> bool:
    """must_not_mention entries are exact markers (e.g. "APPROVED"): case matters."""
    return matches(entry, answer_text, case_sensitive=True)


def found_in_citations(entry: str, citations: Sequence[Citation]) -> bool:
    return any(
        matches(entry, part, case_sensitive=False)
        for c in citations
        for part in (c.text, c.title, c.section or "")
    )


def found_in_hits(entry: str, hits: Sequence[ScoredChunk]) -> bool:
    """Searches every retrieved passage, cited or not, to tell retrieval from writing."""
    return any(
        matches(entry, part, case_sensitive=False)
        for h in hits
        for part in (h.chunk.text, h.chunk.title, h.chunk.section_label or "", h.chunk.heading_path)
    )


@dataclass
class CaseResult:
    """One case's answer and the outcome of every check on it."""

    case: Case
    answer: Answer
    latency_ms: float
    mentions: list[tuple[str, bool]]
    cited: list[tuple[str, bool]]
    retrieved: list[tuple[str, bool]]
    forbidden: list[str]
    markers_ok: bool
    passages: list[dict[str, Any]] = field(default_factory=list)
    leads: list[tuple[str, bool]] = field(default_factory=list)
    judged: dict[str, float] = field(default_factory=dict)

    @property
    def level(self) -> Level:
        return self.answer.level

    @property
    def level_ok(self) -> bool:
        return self.level in self.case.acceptable

    @property
    def level_exact(self) -> bool:
        return self.level == self.case.expected_level

    @property
    def under(self) -> bool:
        return self.level.rank < min(lv.rank for lv in self.case.acceptable)

    @property
    def over(self) -> bool:
        return self.level.rank > max(lv.rank for lv in self.case.acceptable)

    @property
    def scope_ok(self) -> bool:
        return self.answer.in_scope == (not self.case.out_of_scope)

    @property
    def prohibited_missed(self) -> bool:
        """The one error the gate never tolerates."""
        return (
            self.case.expected_level == Level.PROHIBITED and self.level.rank < Level.ESCALATE.rank
        )

    @property
    def failed_checks(self) -> list[str]:
        failed: list[str] = []
        if not self.level_ok:
            kind = "under-escalated" if self.under else "over-escalated"
            allowed = "|".join(lv.value for lv in self.case.acceptable)
            failed.append(f"level: {kind} ({self.level.value}, wanted {allowed})")
        failed += [f"mention: {entry}" for entry, ok in self.mentions if not ok]
        retrieved = dict(self.retrieved)
        failed += [f"lead: {entry}" for entry, ok in self.leads if not ok]
        for entry, ok in self.cited:
            if not ok:
                why = "retrieved, not cited" if retrieved.get(entry) else "not retrieved"
                failed.append(f"cite: {entry} ({why})")
        failed += [f"forbidden: {entry}" for entry in self.forbidden]
        if not self.scope_ok:
            failed.append(
                "scope: answered in scope"
                if self.answer.in_scope
                else "scope: refused as out of scope"
            )
        if not self.markers_ok:
            failed.append("markers: [n] without a citation")
        return failed

    @property
    def passed(self) -> bool:
        return not self.failed_checks

    @property
    def severity(self) -> tuple[int, ...]:
        """Sort key, worst first: missed prohibitions, under-escalation, leaks, then the rest."""
        floor = min(lv.rank for lv in self.case.acceptable)
        ceiling = max(lv.rank for lv in self.case.acceptable)
        return (
            int(self.prohibited_missed),
            max(0, floor - self.level.rank),
            len(self.forbidden),
            int(not self.scope_ok),
            max(0, self.level.rank - ceiling),
            len(self.failed_checks),
        )


def score_case(
    case: Case,
    answer: Answer,
    hits: Sequence[ScoredChunk],
    latency_ms: float | None = None,
    judged: Mapping[str, float] | None = None,
) -> CaseResult:
    """All checks of one case on one answer; pure, so tests can use hand-made answers."""
    from advisor.writing.answer import markers_valid  # the answer module pulls numpy and langchain

    return CaseResult(
        case=case,
        answer=answer,
        latency_ms=float(answer.latency_ms if latency_ms is None else latency_ms),
        mentions=[(e, mention_satisfied(e, answer.answer)) for e in case.must_mention],
        leads=[(e, mention_satisfied(e, answer.bottom_line)) for e in case.lead_must_mention],
        cited=[(e, found_in_citations(e, answer.citations)) for e in case.must_cite],
        retrieved=[(e, found_in_hits(e, hits)) for e in case.must_cite],
        forbidden=[e for e in case.must_not_mention if forbidden_hit(e, answer.answer)],
        markers_ok=markers_valid(answer.answer, answer.citations),
        passages=[
            {
                "title": h.chunk.title,
                "section": h.chunk.section_label or h.chunk.heading_path or None,
                "score": round(h.score, 4),
            }
            for h in hits
        ],
        judged=dict(judged or {}),
    )


# --------------------------------------------------------------------------- metrics


def ratio(hits: int, total: int) -> float | None:
    """None, not 0 or 1, when nothing was measured: the gate and the reports skip it."""
    return None if total == 0 else round(hits / total, 4)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo), 1)


def compute_metrics(results: Sequence[CaseResult]) -> dict[str, float | None]:
    """The headline metrics (``METRIC_KEYS``), plus ``judged_*`` only when a judge scored."""
    n = len(results)
    mentions = [ok for r in results for _, ok in r.mentions]
    leads = [ok for r in results for _, ok in r.leads]
    cited = [ok for r in results for _, ok in r.cited]
    retrieved = [ok for r in results for _, ok in r.retrieved]
    guarded = [r for r in results if r.case.must_not_mention]
    latencies = [r.latency_ms for r in results]
    metrics: dict[str, float | None] = {
        "level_accuracy": ratio(sum(r.level_ok for r in results), n),
        "level_exact": ratio(sum(r.level_exact for r in results), n),
        "under_escalation_rate": ratio(sum(r.under for r in results), n),
        "over_escalation_rate": ratio(sum(r.over for r in results), n),
        "mention_recall": ratio(sum(mentions), len(mentions)),
        "lead_recall": ratio(sum(leads), len(leads)),
        "citation_recall": ratio(sum(cited), len(cited)),
        "retrieval_hit_rate": ratio(sum(retrieved), len(retrieved)),
        "forbidden_rate": ratio(sum(bool(r.forbidden) for r in guarded), len(guarded)),
        "out_of_scope_accuracy": ratio(sum(r.scope_ok for r in results), n),
        "citation_marker_validity": ratio(sum(r.markers_ok for r in results), n),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }
    for key in sorted({k for r in results for k in r.judged}):
        scores = [r.judged[key] for r in results if key in r.judged]
        metrics[f"{JUDGED_PREFIX}{key}"] = round(sum(scores) / len(scores), 4)
    return metrics


def tag_breakdown(results: Sequence[CaseResult]) -> dict[str, dict[str, Any]]:
    """Quality metrics per tag, so a weak topic shows up even when the total looks fine."""
    tags = sorted({t for r in results for t in r.case.tags})
    table: dict[str, dict[str, Any]] = {}
    for tag in tags:
        subset = [r for r in results if tag in r.case.tags]
        metrics = compute_metrics(subset)
        row: dict[str, Any] = {
            "cases": len(subset),
            "passed": sum(r.passed for r in subset),
            "pass_rate": ratio(sum(r.passed for r in subset), len(subset)),
        }
        row.update({k: v for k, v in metrics.items() if not k.startswith("latency")})
        table[tag] = row
    return table


REAL_WORLD = "real-world"


def scope_metrics(results: Sequence[CaseResult]) -> dict[str, dict[str, float | None]]:
    """The curated cases and the real-world questions measured apart: the curated set is
    held to zero under-escalation, the real-world set to its own accepted values."""
    scopes = {
        "curated": [r for r in results if REAL_WORLD not in r.case.tags],
        REAL_WORLD: [r for r in results if REAL_WORLD in r.case.tags],
    }
    return {name: compute_metrics(subset) for name, subset in scopes.items() if subset}


def confusion(results: Sequence[CaseResult]) -> dict[str, Any]:
    """Expected level (rows) against produced level (columns)."""
    counts = {e.value: {g.value: 0 for g in LEVELS} for e in LEVELS}
    for r in results:
        counts[r.case.expected_level.value][r.level.value] += 1
    return {"levels": [lv.value for lv in LEVELS], "counts": counts}


# --------------------------------------------------------------------------- running


class AdvisorLike(Protocol):
    """What the runner needs; ``advisor.chain.Advisor`` and test fakes both fit."""

    settings: Settings
    escalation: Any

    def ask_traced(self, question: str) -> Any: ...


def run_cases(
    advisor: AdvisorLike,
    cases: Sequence[Case],
    progress: bool = True,
    judge: Judge | None = None,
) -> list[CaseResult]:
    """Ask every case through one advisor (the model loads once); ``judge`` adds scored metrics.

    Latency is the advisor's own ``answer.latency_ms`` when it reports one, else wall time.
    """
    from tqdm import tqdm

    results: list[CaseResult] = []
    for case in tqdm(cases, desc="eval", unit="case", disable=not progress, file=sys.stderr):
        started = time.perf_counter()
        try:
            traced = advisor.ask_traced(case.question)
        except InputError as exc:
            raise InputError(
                f"{case.where}: case '{case.id}': field 'question': rejected by the advisor: {exc}"
            ) from exc
        wall = round((time.perf_counter() - started) * 1000, 1)
        answer: Answer = traced.answer
        judged = judge(case, answer) if judge is not None else None
        results.append(score_case(case, answer, traced.hits, answer.latency_ms or wall, judged))
    return results


# --------------------------------------------------------------------------- provenance


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def corpus_hash(corpus_dir: Path) -> str:
    """Content hash of the documents (rules/ and screening/ are versioned separately)."""
    if not corpus_dir.is_dir():
        return "missing"
    digest = hashlib.sha256()
    for path in sorted(corpus_dir.rglob("*")):
        rel = path.relative_to(corpus_dir)
        if not path.is_file() or rel.parts[0] in {"rules", "screening"}:
            continue
        if any(part.startswith(".") for part in rel.parts):
            continue
        digest.update(rel.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def git_commit() -> str:
    """The code version that produced a report; "unknown" outside a git checkout."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else "unknown"


def _single(values: Iterable[str], default: str) -> str:
    found = sorted(set(values))
    return ", ".join(found) if found else default


def provenance(
    advisor: AdvisorLike, results: Sequence[CaseResult], case_files: Sequence[Path]
) -> dict[str, Any]:
    """What produced a report, so two reports can be told apart and reproduced."""
    settings = advisor.settings
    return {
        "corpus_hash": corpus_hash(Path(settings.corpus_dir)),
        "rules_hash": str(advisor.escalation.digest),
        "prompt_version": _single((r.answer.prompt_version or "none" for r in results), "none"),
        "embedding_model": str(settings.embedding_model),
        "writer": _single((r.answer.model for r in results), str(settings.llm)),
        "git_commit": git_commit(),
        "case_files": {_show(p): sha256_file(p) for p in case_files},
        "settings": {
            k: getattr(settings, k, None)
            for k in ("top_k", "min_relevance", "chunk_size", "chunk_overlap")
        },
    }


def case_row(r: CaseResult) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": r.case.id,
        "file": r.case.where,
        "question": r.case.question,
        "tags": r.case.tags,
        "expected_level": r.case.expected_level.value,
        "acceptable_levels": [lv.value for lv in r.case.acceptable],
        "level": r.level.value,
        "passed": r.passed,
        "failed_checks": r.failed_checks,
        "out_of_scope": r.case.out_of_scope,
        "in_scope": r.answer.in_scope,
        "answer": r.answer.answer,
        "flags": [
            {"id": f.id, "level": f.level.value, "citation": f.citation} for f in r.answer.flags
        ],
        "citations": [
            {"n": c.n, "title": c.title, "section": c.section} for c in r.answer.citations
        ],
        "retrieved": r.passages,
        "checks": {
            "mention": [{"entry": e, "ok": ok} for e, ok in r.mentions],
            "cite": [{"entry": e, "ok": ok} for e, ok in r.cited],
            "retrieval": [{"entry": e, "ok": ok} for e, ok in r.retrieved],
            "forbidden_hits": r.forbidden,
            "markers_valid": r.markers_ok,
        },
        "latency_ms": r.latency_ms,
    }
    if r.judged:
        row["judged"] = r.judged
    return row


def build_report(
    results: Sequence[CaseResult], advisor: AdvisorLike, case_files: Sequence[Path]
) -> dict[str, Any]:
    """The report as data; report.json is this dict, the md/html views render it."""
    ordered = sorted(results, key=lambda r: tuple(-x for x in r.severity))
    passed = sum(r.passed for r in results)
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "produced_by": provenance(advisor, results, case_files),
        "summary": {
            "cases": len(results),
            "passed": passed,
            "failed": len(results) - passed,
            "pass_rate": ratio(passed, len(results)),
        },
        "metrics": compute_metrics(results),
        "scopes": scope_metrics(results),
        "tags": tag_breakdown(results),
        "confusion": confusion(results),
        "cases": [case_row(r) for r in ordered],
    }


# --------------------------------------------------------------------------- gate


class BaselineMetric(BaseModel):
    """Accepted value of one metric and how much worse a run may be before the gate fails."""

    model_config = ConfigDict(extra="forbid")

    value: float | None
    better: Literal["higher", "lower"]
    tolerance: float = Field(0.0, ge=0.0)
    factor: float | None = Field(None, ge=1.0)
    gate: bool = True

    def limit(self) -> float | None:
        """The worst value that still passes."""
        if self.value is None:
            return None
        if self.better == "higher":
            floor = self.value - self.tolerance
            return min(floor, self.value / self.factor) if self.factor else floor
        ceiling = self.value + self.tolerance
        return max(ceiling, self.value * self.factor) if self.factor else ceiling


class Baseline(BaseModel):
    model_config = ConfigDict(extra="allow")

    notes: str | list[str] = ""
    produced_by: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, BaselineMetric]
    scopes: dict[str, dict[str, BaselineMetric]] = Field(default_factory=dict)


def load_baseline(path: Path) -> Baseline:
    try:
        return Baseline.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read baseline: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise InputError(f"{path}: invalid baseline: {problems}") from exc


def make_baseline(report: Mapping[str, Any], previous: Baseline | None = None) -> dict[str, Any]:
    """A baseline from a run; tolerances, directions and notes edited by hand are kept."""
    metrics = _baseline_metrics(report["metrics"], previous.metrics if previous else {})
    scopes = {
        name: _baseline_metrics(values, previous.scopes.get(name, {}) if previous else {})
        for name, values in report.get("scopes", {}).items()
    }
    produced = report["produced_by"]
    return {
        "notes": previous.notes if previous and previous.notes else BASELINE_NOTES,
        "created": report["created"],
        "produced_by": produced,
        "cases": report["summary"]["cases"],
        "metrics": metrics,
        "scopes": scopes,
    }


def _baseline_metrics(
    values: Mapping[str, float | None], previous: Mapping[str, BaselineMetric]
) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    for key, value in values.items():
        old = previous.get(key)
        if old is not None:
            entry = old.model_dump(exclude_none=True)
        else:
            entry = {
                "better": "lower" if key in LOWER_IS_BETTER else "higher",
                **DEFAULT_GATE.get(key, {"tolerance": DEFAULT_JUDGED_TOLERANCE}),
            }
        entry["value"] = value
        metrics[key] = {"value": value, **{k: v for k, v in entry.items() if k != "value"}}
    return metrics


def _checks(
    metrics: Mapping[str, float | None], specs: Mapping[str, BaselineMetric], prefix: str = ""
) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []
    for key, spec in specs.items():
        current = metrics.get(key)
        limit = spec.limit()
        check = {
            "metric": prefix + key,
            "baseline": spec.value,
            "current": current,
            "limit": None if limit is None else round(limit, 4),
            "better": spec.better,
            "status": "pass",
        }
        if not spec.gate:
            check["status"] = "not gated"
        elif current is None or limit is None:
            check["status"] = "skipped (no data)"
        elif (current < limit - 1e-9) if spec.better == "higher" else (current > limit + 1e-9):
            check["status"] = "fail"
        checks.append(check)
    return checks


def run_gate(
    metrics: Mapping[str, float | None],
    results: Sequence[CaseResult],
    baseline: Baseline | None,
    produced_by: Mapping[str, Any] | None = None,
    scopes: Mapping[str, Mapping[str, float | None]] | None = None,
) -> dict[str, Any]:
    """Compare a run with the baseline, overall and per scope (curated, real-world); a
    missed prohibition fails regardless of tolerances."""
    checks: list[dict[str, Any]] = []
    notes: list[str] = []
    if baseline is None:
        notes.append("no baseline: only the prohibited-case check ran")
    else:
        checks = _checks(metrics, baseline.metrics)
        for name, specs in baseline.scopes.items():
            if scopes and name in scopes:
                checks += _checks(scopes[name], specs, prefix=f"{name}.")
        notes += [
            f"{k}: not in the baseline, not gated" for k in metrics if k not in baseline.metrics
        ]
        before = baseline.produced_by
        if produced_by and before:
            for key, what in (
                ("case_files", "case files"),
                ("corpus_hash", "corpus"),
                ("rules_hash", "rules"),
                ("writer", "answer writer"),
            ):
                if key in before and before.get(key) != produced_by.get(key):
                    notes.append(f"{what} differ from the baseline's")
    missed = [r.case.id for r in results if r.prohibited_missed]
    metrics_ok = all(c["status"] != "fail" for c in checks)
    return {
        "passed": metrics_ok and not missed,
        "metrics_passed": metrics_ok,
        "prohibited_below_escalate": missed,
        "checks": checks,
        "notes": notes,
    }


# --------------------------------------------------------------------------- compare


def load_report(folder: Path) -> dict[str, Any]:
    path = folder / "report.json" if folder.is_dir() else folder
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read an earlier report: {exc}") from exc
    if not isinstance(data, dict) or "metrics" not in data or "cases" not in data:
        raise InputError(f"{path}: not a report.json written by advisor eval")
    return data


def compare_reports(
    current: Mapping[str, Any], other: Mapping[str, Any], label: str
) -> dict[str, Any]:
    """Metric deltas and the cases that changed between an earlier run (other) and this one."""
    deltas: dict[str, dict[str, Any]] = {}
    for key in dict.fromkeys([*other["metrics"], *current["metrics"]]):
        before, after = other["metrics"].get(key), current["metrics"].get(key)
        delta = None if before is None or after is None else round(after - before, 4)
        verdict = "same"
        if delta is None:
            verdict = "n/a"
        elif abs(delta) > 1e-9:
            worse = delta > 0 if key in LOWER_IS_BETTER else delta < 0
            verdict = "worse" if worse else "better"
        deltas[key] = {"before": before, "after": after, "delta": delta, "verdict": verdict}
    old = {c["id"]: c for c in other["cases"]}
    new = {c["id"]: c for c in current["cases"]}
    flipped, levels = [], []
    for cid in (c for c in new if c in old):
        a, b = old[cid], new[cid]
        if a["passed"] != b["passed"]:
            flipped.append(
                {
                    "id": cid,
                    "before": "pass" if a["passed"] else "fail",
                    "after": "pass" if b["passed"] else "fail",
                    "failed_checks": b["failed_checks"],
                }
            )
        if a["level"] != b["level"]:
            levels.append(
                {
                    "id": cid,
                    "expected": b["expected_level"],
                    "before": a["level"],
                    "after": b["level"],
                }
            )
    return {
        "other": label,
        "other_created": other.get("created"),
        "other_produced_by": other.get("produced_by", {}),
        "metrics": deltas,
        "flipped": flipped,
        "level_changed": levels,
        "added": [c for c in new if c not in old],
        "removed": [c for c in old if c not in new],
    }


# --------------------------------------------------------------------------- rendering


def fmt(key: str, value: Any) -> str:
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


def _md(text: Any) -> str:
    """One table cell: pipes escaped, no line breaks."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}text\n{text}\n{ticks}"


def compare_lines(cmp: Mapping[str, Any]) -> list[str]:
    """Markdown for the comparison; also what the CLI prints."""
    lines = [
        f"## Compared with {_md(cmp['other'])} ({cmp.get('other_created') or 'unknown date'})",
        "",
        "| metric | before | after | delta | |",
        "|---|---|---|---|---|",
    ]
    for key, d in cmp["metrics"].items():
        lines.append(
            f"| {key} | {fmt(key, d['before'])} | {fmt(key, d['after'])} | "
            f"{fmt_delta(key, d['delta'])} | {d['verdict']} |"
        )
    lines.append("")
    if cmp["flipped"]:
        lines += ["**Cases that flipped pass/fail**", ""]
        lines += [
            f"- `{c['id']}`: {c['before']} -> {c['after']}"
            + (f" ({_md('; '.join(c['failed_checks']))})" if c["failed_checks"] else "")
            for c in cmp["flipped"]
        ]
        lines.append("")
    if cmp["level_changed"]:
        lines += ["**Cases whose level changed**", ""]
        lines += [
            f"- `{c['id']}`: {c['before']} -> {c['after']} (expected {c['expected']})"
            for c in cmp["level_changed"]
        ]
        lines.append("")
    if not cmp["flipped"] and not cmp["level_changed"]:
        lines += ["No case flipped pass/fail or changed level.", ""]
    for what in ("added", "removed"):
        if cmp[what]:
            lines += [f"Cases {what}: " + ", ".join(f"`{c}`" for c in cmp[what]), ""]
    return lines


def gate_lines(gate: Mapping[str, Any]) -> list[str]:
    verdict = "PASSED" if gate["passed"] else "FAILED"
    lines = [f"## Regression gate: {verdict}", ""]
    if gate["prohibited_below_escalate"]:
        lines.append(
            "**Cases expected at prohibited answered below escalate:** "
            + ", ".join(f"`{c}`" for c in gate["prohibited_below_escalate"])
        )
        lines.append("")
    if gate["checks"]:
        lines += ["| metric | baseline | current | limit | status |", "|---|---|---|---|---|"]
        for c in gate["checks"]:
            key = c["metric"]
            status = f"**{c['status']}**" if c["status"] == "fail" else c["status"]
            lines.append(
                f"| {key} | {fmt(key, c['baseline'])} | {fmt(key, c['current'])} | "
                f"{fmt(key, c['limit'])} ({'min' if c['better'] == 'higher' else 'max'}) "
                f"| {status} |"
            )
        lines.append("")
    lines += [f"- {_md(n)}" for n in gate.get("notes", [])]
    if gate.get("notes"):
        lines.append("")
    return lines


def render_markdown(report: Mapping[str, Any]) -> str:
    """A summary short enough for a pull-request comment; details live in report.html."""
    s, p = report["summary"], report["produced_by"]
    lines = [
        "# Evaluation report",
        "",
        f"{s['passed']}/{s['cases']} cases passed ({fmt('pass_rate', s['pass_rate'])}); "
        f"created {report['created']}.",
        "",
        f"Writer `{p['writer']}`, prompt `{p['prompt_version']}`, embeddings "
        f"`{p['embedding_model']}`, corpus `{p['corpus_hash'][:12]}`, rules "
        f"`{p['rules_hash']}`, commit `{p['git_commit'][:12]}`.",
        "",
    ]
    if "gate" in report:
        lines += gate_lines(report["gate"])
    lines += ["## Metrics", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {fmt(k, v)} |" for k, v in report["metrics"].items()]
    lines.append("")
    if "compare" in report:
        lines += compare_lines(report["compare"])
    levels = report["confusion"]["levels"]
    lines += [
        "## Level confusion (rows: expected, columns: produced)",
        "",
        "| expected \\ produced | " + " | ".join(levels) + " |",
        "|---" * (len(levels) + 1) + "|",
    ]
    for e in levels:
        counts = report["confusion"]["counts"][e]
        lines.append(f"| {e} | " + " | ".join(str(counts[g]) for g in levels) + " |")
    lines += [
        "",
        "## Per tag",
        "",
        "| tag | cases | pass rate | level acc. | under-esc. | mention | citation | retrieval |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for tag, t in report["tags"].items():
        lines.append(
            f"| {_md(tag)} | {t['cases']} | {fmt('', t['pass_rate'])} | "
            f"{fmt('', t['level_accuracy'])} | {fmt('', t['under_escalation_rate'])} | "
            f"{fmt('', t['mention_recall'])} | {fmt('', t['citation_recall'])} | "
            f"{fmt('', t['retrieval_hit_rate'])} |"
        )
    failing = [c for c in report["cases"] if not c["passed"]]
    lines += ["", f"## Failing cases ({len(failing)}), worst first", ""]
    if failing:
        lines += ["| case | expected | got | failed checks |", "|---|---|---|---|"]
        lines += [
            f"| `{c['id']}` | {c['expected_level']} | {c['level']} | "
            f"{_md('; '.join(c['failed_checks']))} |"
            for c in failing
        ]
        shown = failing[:MD_ANSWERS]
        lines += [
            "",
            f"<details><summary>Answers of the {len(shown)} worst failing cases "
            "(all answers are in report.html)</summary>",
            "",
        ]
        for c in shown:
            text = c["answer"]
            if len(text) > MD_ANSWER_CHARS:
                text = text[:MD_ANSWER_CHARS].rstrip() + " [...]"
            lines += [f"### {c['id']}", "", f"> {_md(c['question'])}", "", _fence(text), ""]
        lines.append("</details>")
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def charts(report: Mapping[str, Any]) -> dict[str, str]:
    """Per-tag scores, confusion matrix and latency histogram as embeddable PNG data URIs."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    out: dict[str, str] = {}
    tags = sorted(report["tags"].items(), key=lambda kv: (-kv[1]["cases"], kv[0]))[:50]
    if tags:
        tags.reverse()
        names = [f"{t} ({row['cases']})" for t, row in tags]
        fig = Figure(figsize=(8, 1.2 + 0.28 * len(tags)))
        ax = fig.subplots()
        ys = range(len(tags))
        ax.barh(
            [y + 0.2 for y in ys],
            [row["pass_rate"] or 0 for _, row in tags],
            0.4,
            label="pass rate",
            color="#4c78a8",
        )
        ax.barh(
            [y - 0.2 for y in ys],
            [row["level_accuracy"] or 0 for _, row in tags],
            0.4,
            label="level accuracy",
            color="#f58518",
        )
        ax.set_yticks(list(ys), names, fontsize=8)
        ax.set_xlim(0, 1)
        ax.set_title("Per tag (up to 50 largest tags; cases in brackets)")
        ax.legend(loc="lower right", fontsize=8)
        out["tags"] = _png(fig)
    levels = report["confusion"]["levels"]
    counts = report["confusion"]["counts"]
    grid = [[counts[e][g] for g in levels] for e in levels]
    fig = Figure(figsize=(5, 4.2))
    ax = fig.subplots()
    ax.imshow(grid, cmap="Blues")
    ax.set_xticks(range(len(levels)), levels)
    ax.set_yticks(range(len(levels)), levels)
    ax.set_xlabel("produced level")
    ax.set_ylabel("expected level")
    top = max((v for row in grid for v in row), default=0)
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            ax.text(
                j,
                i,
                str(v),
                ha="center",
                va="center",
                color="white" if top and v > top / 2 else "black",
            )
    ax.set_title("Level confusion matrix")
    out["confusion"] = _png(fig)
    latencies = [c["latency_ms"] for c in report["cases"]]
    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
    ax.hist(latencies or [0], bins=min(30, max(5, len(latencies) // 4)), color="#54a24b")
    for key, style in (("latency_p50_ms", "--"), ("latency_p95_ms", ":")):
        value = report["metrics"].get(key)
        if value is not None:
            ax.axvline(value, color="black", linestyle=style, label=f"{key[8:11]} {value:.0f} ms")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("cases")
    ax.set_title("Latency distribution")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    out["latency"] = _png(fig)
    return out


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
vertical-align:top;text-align:left}th{background:#f3f3f3}.fail{color:#b00020;font-weight:bold}
.pass{color:#1b7f3b}pre{white-space:pre-wrap;background:#f7f7f7;padding:8px;margin:0}
img{max-width:100%}code{background:#f3f3f3;padding:0 3px}
"""


def _table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Cells must already be escaped (they may hold markup made here)."""
    out = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows]
    return "\n".join(out) + "</table>"


def _span(text: str, bad: bool) -> str:
    return f"<span class='{'fail' if bad else ''}'>{html.escape(text)}</span>"


def render_html(report: Mapping[str, Any]) -> str:
    """Self-contained page (inline CSS, base64 charts); every value from a run is escaped."""
    e = html.escape
    s, p = report["summary"], report["produced_by"]
    img = charts(report)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Evaluation report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Evaluation report</h1>",
        f"<p>{s['passed']}/{s['cases']} cases passed; created {e(report['created'])}.</p>",
        "<h2>Produced by</h2>",
        _table(
            ["what", "value"],
            [
                [e(k), f"<code>{e(json.dumps(v) if isinstance(v, dict) else str(v))}</code>"]
                for k, v in p.items()
            ],
        ),
    ]
    if "gate" in report:
        g = report["gate"]
        cls = "pass" if g["passed"] else "fail"
        parts.append(
            f"<h2>Regression gate: <span class='{cls}'>"
            f"{'PASSED' if g['passed'] else 'FAILED'}</span></h2>"
        )
        if g["prohibited_below_escalate"]:
            parts.append(
                "<p class='fail'>Cases expected at prohibited answered below escalate: "
                + e(", ".join(g["prohibited_below_escalate"]))
                + "</p>"
            )
        if g["checks"]:
            parts.append(
                _table(
                    ["metric", "baseline", "current", "limit", "status"],
                    [
                        [
                            e(c["metric"]),
                            e(fmt(c["metric"], c["baseline"])),
                            e(fmt(c["metric"], c["current"])),
                            e(fmt(c["metric"], c["limit"])),
                            _span(c["status"], c["status"] == "fail"),
                        ]
                        for c in g["checks"]
                    ],
                )
            )
        parts += [f"<p>{e(n)}</p>" for n in g.get("notes", [])]
    parts += [
        "<h2>Metrics</h2>",
        _table(["metric", "value"], [[e(k), e(fmt(k, v))] for k, v in report["metrics"].items()]),
    ]
    if "compare" in report:
        c = report["compare"]
        parts.append(f"<h2>Compared with {e(str(c['other']))}</h2>")
        parts.append(
            _table(
                ["metric", "before", "after", "delta", ""],
                [
                    [
                        e(k),
                        e(fmt(k, d["before"])),
                        e(fmt(k, d["after"])),
                        e(fmt_delta(k, d["delta"])),
                        _span(d["verdict"], d["verdict"] == "worse"),
                    ]
                    for k, d in c["metrics"].items()
                ],
            )
        )
        if c["flipped"]:
            parts.append("<h3>Cases that flipped pass/fail</h3>")
            parts.append(
                _table(
                    ["case", "before", "after", "failed checks"],
                    [
                        [
                            e(f["id"]),
                            e(f["before"]),
                            e(f["after"]),
                            e("; ".join(f["failed_checks"])),
                        ]
                        for f in c["flipped"]
                    ],
                )
            )
        if c["level_changed"]:
            parts.append("<h3>Cases whose level changed</h3>")
            parts.append(
                _table(
                    ["case", "expected", "before", "after"],
                    [
                        [e(x["id"]), e(x["expected"]), e(x["before"]), e(x["after"])]
                        for x in c["level_changed"]
                    ],
                )
            )
        for what in ("added", "removed"):
            if c[what]:
                parts.append(f"<p>Cases {what}: {e(', '.join(c[what]))}</p>")
    parts += [
        "<h2>Charts</h2>",
        *(f"<p><img alt='{e(name)}' src='{uri}'></p>" for name, uri in img.items()),
        "<h2>Per tag</h2>",
        _table(
            [
                "tag",
                "cases",
                "pass rate",
                "level acc.",
                "under-esc.",
                "mention",
                "citation",
                "retrieval",
            ],
            [
                [e(t), str(r["cases"])]
                + [
                    e(fmt("", r[k]))
                    for k in (
                        "pass_rate",
                        "level_accuracy",
                        "under_escalation_rate",
                        "mention_recall",
                        "citation_recall",
                        "retrieval_hit_rate",
                    )
                ]
                for t, r in report["tags"].items()
            ],
        ),
    ]
    failing = [c for c in report["cases"] if not c["passed"]]
    parts.append(f"<h2>Failing cases ({len(failing)}), worst first</h2>")
    if failing:
        parts.append(
            _table(
                ["case", "expected", "got", "failed checks", "question and answer"],
                [
                    [
                        f"<code>{e(c['id'])}</code><br><small>{e(c['file'])}</small>",
                        e(c["expected_level"]),
                        e(c["level"]),
                        "<br>".join(e(x) for x in c["failed_checks"]),
                        f"<p><b>Q:</b> {e(c['question'])}</p><details><summary>answer, "
                        f"{len(c['citations'])} citation(s)</summary><pre>{e(c['answer'])}</pre>"
                        + "".join(
                            f"<div>[{x['n']}] {e(x['title'])}"
                            f"{' - ' + e(x['section']) if x['section'] else ''}</div>"
                            for x in c["citations"]
                        )
                        + "</details>",
                    ]
                    for c in failing
                ],
            )
        )
    else:
        parts.append("<p>None.</p>")
    parts += [
        "<h2>All cases</h2>",
        _table(
            ["case", "expected", "got", "result", "latency"],
            [
                [
                    e(c["id"]),
                    e(c["expected_level"]),
                    e(c["level"]),
                    "<span class='pass'>pass</span>"
                    if c["passed"]
                    else "<span class='fail'>fail</span>",
                    e(fmt("_ms", c["latency_ms"])),
                ]
                for c in report["cases"]
            ],
        ),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_reports(report: Mapping[str, Any], out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / "report.json",
        "md": out_dir / "report.md",
        "html": out_dir / "report.html",
    }
    paths["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    paths["md"].write_text(render_markdown(report), "utf-8")
    paths["html"].write_text(render_html(report), "utf-8")
    return paths
