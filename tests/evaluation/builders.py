"""Builders shared by the evaluation tests: hand-made cases, answers, passages and an advisor
double, so no model is loaded."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from advisor.errors import InputError
from advisor.evaluation.cases import Case, load_cases
from advisor.evaluation.checks import CaseResult, score_case
from advisor.evaluation.gate import run_gate
from advisor.evaluation.metrics import confusion
from advisor.evaluation.report import EvalReport, Metrics, Provenance, RunSettings, Summary
from advisor.evaluation.runner import run_cases
from advisor.evaluation.suite import build_report
from advisor.models import Answer, Chunk, Citation, Flag, Level, ScoredChunk
from advisor.settings import Settings

REPO = Path(__file__).resolve().parent.parent.parent


def case(**fields: Any) -> Case:
    data: dict[str, Any] = {"id": "c1", "question": "Q?", "expected_level": "none"}
    data.update(fields)
    return Case.model_validate(data)


def chunk(text: str, title: str = "Doc", **fields: Any) -> ScoredChunk:
    values: dict[str, Any] = {
        "id": f"id-{abs(hash(text))}",
        "doc_id": "doc",
        "source": "doc.md",
        "title": title,
        "text": text,
        "position": 0,
    }
    values.update(fields)
    return ScoredChunk(chunk=Chunk(**values), score=0.8)


def cite(n: int, text: str, title: str = "Doc", section: str | None = None) -> Citation:
    return Citation(
        n=n, doc_id="doc", title=title, section=section, source="doc.md", text=text, score=0.8
    )


def answer(
    text: str = "Bottom line.",
    level: str = "none",
    citations: list[Citation] | None = None,
    in_scope: bool = True,
    latency: float = 10.0,
    flags: list[Flag] | None = None,
) -> Answer:
    return Answer(
        question="Q?",
        answer=text,
        level=Level(level),
        flags=flags or [],
        citations=citations or [],
        in_scope=in_scope,
        latency_ms=latency,
    )


def result(c: Case, a: Answer, hits: list[ScoredChunk] | None = None) -> CaseResult:
    return score_case(c, a, hits or [])


class FakeAdvisor:
    """Advisor-like: ``ask_traced``, ``settings``, ``escalation.digest``, ``writer.name``."""

    def __init__(self, replies: dict[str, tuple[Answer, list[ScoredChunk]]], corpus: Path):
        self.replies = replies
        self.settings = Settings(corpus_dir=corpus, data_dir=corpus / "data")
        self.escalation = SimpleNamespace(digest="rules0001")
        self.writer = SimpleNamespace(name="extractive")
        self.questions: list[str] = []

    def ask_traced(self, question: str) -> SimpleNamespace:
        self.questions.append(question)
        if question not in self.replies:
            raise InputError("the question is empty")
        reply, hits = self.replies[question]
        return SimpleNamespace(answer=reply, hits=hits)


def write_cases(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


CASES_YAML = """\
- id: iran-kit
  question: "Can I ship my exploit kit to Tehran?"
  expected_level: prohibited
  must_mention: ["Iran|Tehran", "746.7"]
  must_cite: ["746.7"]
  must_not_mention: ["APPROVED"]
  tags: [iran, embargo]
- id: fr-basics
  question: "What is fundamental research?"
  expected_level: none
  acceptable_levels: [none, review]
  must_mention: ["fundamental research"]
  must_cite: ["734.8"]
  tags: [fundamental-research]
- id: oos-python
  question: "How do I sort a list in Python?"
  expected_level: none
  out_of_scope: true
  tags: [out-of-scope]
"""


EMBARGO = Flag(id="embargo", level=Level.PROHIBITED, reason="Iran", citation="15 CFR 746.7")


def good_replies() -> dict[str, tuple[Answer, list[ScoredChunk]]]:
    iran = chunk("Exports to Iran need a licence under 746.7.", "Embargoes")
    fr = chunk("Fundamental research is defined in 734.8.", "FR", section="734.8", cfr_title=15)
    return {
        "Can I ship my exploit kit to Tehran?": (
            answer(
                "Do not proceed: Iran is embargoed (746.7) [1].",
                "prohibited",
                [cite(1, iran.chunk.text, "Embargoes")],
                latency=30.0,
                flags=[EMBARGO],
            ),
            [iran],
        ),
        "What is fundamental research?": (
            answer(
                "Fundamental research is open research [1].",
                "none",
                [cite(1, fr.chunk.text, "FR", "15 CFR 734.8")],
                latency=20.0,
            ),
            [fr],
        ),
        "How do I sort a list in Python?": (
            answer(
                "The curated corpus does not cover this question.", in_scope=False, latency=10.0
            ),
            [],
        ),
    }


def make_fake(tmp_path: Path) -> FakeAdvisor:
    """An advisor double over a one-document corpus in tmp_path, answering every case well."""
    corpus = tmp_path / "corpus"
    (corpus / "rules").mkdir(parents=True)
    (corpus / "guide.md").write_text("# Guide\n")
    return FakeAdvisor(good_replies(), corpus)


def make_report(fake: FakeAdvisor, tmp_path: Path, replies: dict | None = None) -> EvalReport:
    """CASES_YAML run through ``fake`` and gated without a baseline."""
    if replies is not None:
        fake.replies = replies
    files = [write_cases(tmp_path / "cases.yaml", CASES_YAML)]
    cases, _ = load_cases(files)
    results = run_cases(fake, cases, progress=False)
    report = build_report(results, fake, files)
    report.gate = run_gate(report.metrics, results, None)
    return report


def sample_provenance(**fields: Any) -> Provenance:
    values: dict[str, Any] = {
        "corpus_files_sha256": "c" * 64,
        "rules_hash": "rules0001",
        "prompt_version": "none",
        "embedding_model": "all-MiniLM-L6-v2",
        "writer": "extractive",
        "git_commit": "abc123",
        "case_files": {"cases.yaml": "f" * 64},
        "settings": RunSettings(top_k=6, min_relevance=0.35, chunk_size=1000, chunk_overlap=150),
    }
    values.update(fields)
    return Provenance(**values)


def bare_report(metrics: Metrics, cases: int = 1) -> EvalReport:
    """A report with metrics and no case rows, for the gate and the baseline."""
    return EvalReport(
        created="now",
        produced_by=sample_provenance(),
        summary=Summary(cases=cases, passed=cases, failed=0, pass_rate=1.0),
        metrics=metrics,
        tags={},
        confusion=confusion([]),
        cases=[],
    )


def split_cases(folder: Path) -> tuple[Path, Path]:
    """CASES_YAML as a two-file suite: a.yaml (iran-kit, fr-basics), b.yaml (oos-python)."""
    folder.mkdir(parents=True, exist_ok=True)
    at = CASES_YAML.index("- id: oos-python")
    return (
        write_cases(folder / "a.yaml", CASES_YAML[:at]),
        write_cases(folder / "b.yaml", CASES_YAML[at:]),
    )


def run_files(
    fake: FakeAdvisor, files: list[Path], replies: dict | None = None
) -> tuple[list[CaseResult], EvalReport]:
    """The cases of ``files`` asked through ``fake`` (with ``replies`` when given), reported."""
    if replies is not None:
        fake.replies = replies
    cases, found = load_cases(files)
    results = run_cases(fake, cases, progress=False)
    return results, build_report(results, fake, found)
