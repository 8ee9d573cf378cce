"""What produced a report: corpus files, rules, writer, embeddings, code version, case files."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from advisor.evaluation.cases import shown_path
from advisor.evaluation.checks import CaseResult
from advisor.evaluation.report import Provenance, RunSettings
from advisor.evaluation.runner import AdvisorLike


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def corpus_files_sha256(corpus_dir: Path) -> str:
    """Content hash of the document files (rules/ and screening/ are versioned separately).

    Not the index manifest digest the audit trail records: this one changes with any edit
    to a document file, ingested or not.
    """
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
) -> Provenance:
    """What produced a report, so two reports can be told apart and reproduced."""
    settings = advisor.settings
    return Provenance(
        corpus_files_sha256=corpus_files_sha256(Path(settings.corpus_dir)),
        rules_hash=advisor.escalation.digest,
        prompt_version=_single((r.answer.prompt_version or "none" for r in results), "none"),
        embedding_model=settings.embedding_model,
        writer=_single((r.answer.model for r in results), settings.llm),
        git_commit=git_commit(),
        case_files={shown_path(p): sha256_file(p) for p in case_files},
        settings=RunSettings(
            top_k=settings.top_k,
            min_relevance=settings.min_relevance,
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
        ),
    )
