"""What the admin service and page tests share: an advisor on copies of the test corpus, the
rules and the sample screening list in tmp_path (fake embeddings), and small helpers."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from advisor.chain import Advisor, build_advisor
from advisor.records.audit import AuditLog
from tests.conftest import REPO, RULES, TEST_CORPUS, make_settings
from tests.fakes import HashEmbeddings

SAMPLE_CSL = REPO / "corpus" / "screening" / "consolidated-screening-list-sample.csv"
CRIMEA = "Is a licence needed to send items to Crimea?"
ZORBLAX = (
    "# Zorblax guide\n\n## Shipping zorblax widgets\n"
    "A zorblax widget may be exported to Canada without a licence under test rule 999.7 "
    "when it is shipped by sea.\n"
)


def make_advisor(tmp_path: Path, **overrides: object) -> Advisor:
    """Nothing here touches the repository's files: every file it may change is a copy."""
    shutil.copytree(TEST_CORPUS, tmp_path / "corpus")
    shutil.copytree(RULES, tmp_path / "rules")
    shutil.copyfile(SAMPLE_CSL, tmp_path / "csl.csv")
    settings = make_settings(
        tmp_path,
        corpus_dir=tmp_path / "corpus",
        rules_dir=tmp_path / "rules",
        screening_path=tmp_path / "csl.csv",
        **overrides,
    )
    return build_advisor(settings, embeddings=HashEmbeddings())


def upload(tmp_path: Path, name: str, content: bytes | str) -> Path:
    """A file as Gradio hands it over: its original name in a folder of its own."""
    folder = tmp_path / "gradio-upload" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def events(audit: AuditLog) -> list[dict]:
    return [r for r in audit.export_rows() if r["kind"] == "event"]


def index_state(advisor: Advisor) -> tuple[dict[str, str], tuple[int, int]]:
    return advisor.store.document_hashes(), advisor.store.counts()


def two_page_pdf(path: Path) -> Path:
    """Page 1 has text, page 2 none: the preview must warn about page 2."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, "Quibbleton export memo. Quibbleton sensors ship under test rule 999.8.")
    pdf.add_page()
    pdf.output(str(path))
    return path
