"""The handlers behind the Compliance and Evaluation tabs, without a browser.

Fake embeddings everywhere; the corpus, rules and screening list are copies in tmp_path, so
nothing here touches the repository's files.
"""

from __future__ import annotations

import csv
import shutil
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from advisor.chain import Advisor, build_advisor
from advisor.errors import InputError, RulesError
from advisor.models import Answer, Citation, Level
from advisor.records.audit import AuditLog
from advisor.records.auth import LoginThrottle, hash_password
from advisor.ui import admin
from tests.conftest import REPO, RULES, TEST_CORPUS, make_settings, shared_path
from tests.fakes import HashEmbeddings

SAMPLE_CSL = REPO / "corpus" / "screening" / "consolidated-screening-list-sample.csv"
CRIMEA = "Is a licence needed to send items to Crimea?"
ZORBLAX = (
    "# Zorblax guide\n\n## Shipping zorblax widgets\n"
    "A zorblax widget may be exported to Canada without a licence under test rule 999.7 "
    "when it is shipped by sea.\n"
)


@pytest.fixture
def advisor(tmp_path: Path) -> Advisor:
    shutil.copytree(TEST_CORPUS, tmp_path / "corpus")
    shutil.copytree(RULES, tmp_path / "rules")
    shutil.copyfile(SAMPLE_CSL, tmp_path / "csl.csv")
    settings = make_settings(
        tmp_path,
        corpus_dir=tmp_path / "corpus",
        rules_dir=tmp_path / "rules",
        screening_path=tmp_path / "csl.csv",
    )
    return build_advisor(settings, embeddings=HashEmbeddings())


@pytest.fixture
def audit(tmp_path: Path):
    log = AuditLog(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    yield log
    log.close()


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


# --------------------------------------------------------------------------- upload checks


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.docx", b"PK\x03\x04 word", "cannot be published"),
        ("noextension", b"hello", "cannot be published"),
        ("fake.pdf", b"just some text, not a PDF", "not a PDF"),
        ("renamed.md", b"%PDF-1.7\n...", "content is a PDF"),
        ("binary.txt", b"abc\x00\x01\x02", "binary content"),
        ("latin1.md", "Caf\xe9 export".encode("latin-1"), "not UTF-8"),
        ("empty.md", b"", "empty"),
    ],
)
def test_upload_type_is_checked_by_name_and_content(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        admin.check_upload(upload(tmp_path, name, content), name, 1_000_000)


def test_upload_size_limit(tmp_path: Path, advisor: Advisor, monkeypatch) -> None:
    big = upload(tmp_path, "big.md", "word " * 5000)
    with pytest.raises(InputError, match="over the upload limit of 0 MB"):
        admin.check_upload(big, "big.md", 1000)
    huge = upload(tmp_path, "huge.md", "word " * 250_000)
    advisor.settings = advisor.settings.model_copy(update={"max_upload_mb": 1})
    before = index_state(advisor)
    with pytest.raises(InputError, match="upload limit"):
        admin.publish_document(advisor, huge, {})
    assert index_state(advisor) == before
    assert admin.max_upload_bytes(SimpleNamespace(max_upload_mb=3)) == 3 * admin.MB


def test_broken_pdf_is_refused_before_anything_is_stored(tmp_path: Path, advisor: Advisor) -> None:
    broken = upload(tmp_path, "broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage")
    before = index_state(advisor)
    with pytest.raises(InputError, match=r"broken\.pdf: (not a readable PDF|no page has a text)"):
        admin.publish_document(advisor, broken, {})
    assert index_state(advisor) == before
    uploads = admin.uploads_dir(advisor)
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_encrypted_pdf_gets_a_clear_message(tmp_path: Path, advisor: Advisor) -> None:
    sample = shared_path("data", "pdf-samples", "libreoffice-writer-password.pdf")
    locked = upload(tmp_path, sample.name, sample.read_bytes())
    with pytest.raises(InputError, match="libreoffice-writer-password.pdf: the PDF is password"):
        admin.preview_upload(advisor, locked, {})


def test_metadata_form_is_validated() -> None:
    meta = admin.build_meta(
        "Guide", "checklist", "EU", "travel, laptops", ["15 CFR 740.14"], "2026-01-31", "3", ""
    )
    assert meta == {
        "title": "Guide",
        "doc_type": "checklist",
        "jurisdiction": "EU",
        "topics": ["travel", "laptops"],
        "source_refs": ["15 CFR 740.14"],
        "effective_date": "2026-01-31",
        "version": "3",
    }
    assert admin.build_meta() == {}
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        admin.build_meta(effective_date="31/01/2026")
    with pytest.raises(InputError, match="doc_type"):
        admin.build_meta(doc_type="novel")


def test_safe_names() -> None:
    assert admin.safe_name("../../etc/My Report (final).PDF") == "my-report-final.pdf"
    assert admin.safe_name("README.md") == "readme-doc.md"
    assert admin.safe_name(".hidden.md") == "hidden.md"
    assert admin.safe_name("Ünïcödé  guide.md") == "unicode-guide.md"
    assert admin.safe_name("файл.md") == "fayl.md"  # transliterated, not dropped to "md"
    assert admin.safe_name("合同.pdf") == "hetong.pdf"
    assert admin.safe_name("x.meta.yaml.md") == "x.meta.yaml.md"
    assert admin.safe_name("???.txt") == "document.txt"


# --------------------------------------------------------------------------- preview and publish


def test_preview_reports_pages_chunks_and_warnings(tmp_path: Path, advisor: Advisor) -> None:
    pdf = two_page_pdf(tmp_path / "memo.pdf")
    staged = admin.preview_upload(advisor, upload(tmp_path, "Memo.pdf", pdf.read_bytes()), {})
    assert (staged.name, staged.pages, staged.chunks) == ("memo.pdf", 1, 1)
    assert staged.warnings == ["Memo.pdf: page 2 has no text layer (scanned image?)"]
    text = staged.markdown()
    assert "1 page(s) with text, 1 chunk(s)" in text and "page 2 has no text" in text
    assert "Quibbleton" in text
    assert not staged.folder.exists()  # nothing kept
    assert not admin.uploads_dir(advisor).exists()
    md = upload(tmp_path, "guide.md", ZORBLAX)
    staged = admin.preview_upload(advisor, md, admin.build_meta(title="Zorblax", version="2"))
    assert (staged.title, staged.doc_meta.version, staged.warnings) == ("Zorblax", "2", [])


def test_publish_ask_and_retire(tmp_path: Path, advisor: Advisor, audit: AuditLog) -> None:
    md = upload(tmp_path, "Zorblax Guide.md", ZORBLAX)
    meta = admin.build_meta(
        title="Zorblax shipping guide", version="1.0", effective_date="2026-05-01", owner="ECO"
    )
    done = admin.publish_document(advisor, md, meta, user="alice", audit=audit)
    assert done.source == "corpus/uploads/zorblax-guide.md"
    target = advisor.settings.corpus_dir / "uploads" / "zorblax-guide.md"
    sidecar = target.with_name("zorblax-guide.md.meta.yaml")
    assert target.read_text(encoding="utf-8") == ZORBLAX
    assert yaml.safe_load(sidecar.read_text(encoding="utf-8"))["owner"] == "ECO"
    assert {p.name for p in target.parent.iterdir()} == {target.name, sidecar.name}
    row = next(r for r in admin.document_rows(advisor) if r[0] == done.source)
    assert row[1:] == [
        "Zorblax shipping guide",
        "guidance",
        "general",
        "1.0",
        "2026-05-01",
        1,
        "uploaded",
    ]
    answer = advisor.ask("Can a zorblax widget be exported to Canada without a licence?")
    cited = next(c for c in answer.citations if c.source == done.source)
    assert cited.version == "1.0"

    with pytest.raises(InputError, match="already published"):
        admin.publish_document(advisor, md, meta)
    newer = admin.publish_document(advisor, md, {**meta, "version": "1.1"}, replace=True)
    assert newer.replaced and newer.report.updated == 1
    assert advisor.ask("zorblax widget exported to Canada").citations[0].version == "1.1"

    message = admin.retire_document(advisor, done.source, user="alice", audit=audit)
    assert "Retired" in message and "removed from the index" in message
    assert not target.exists() and not sidecar.exists()
    assert done.source not in advisor.store.document_hashes()
    answer = advisor.ask("Can a zorblax widget be exported to Canada without a licence?")
    assert all(c.source != done.source for c in answer.citations)
    # A full sync does not bring it back.
    report, _ = admin.sync_corpus(advisor)
    assert done.source not in advisor.store.document_hashes() and report.added == 0

    recorded = events(audit)
    assert [e["event"] for e in recorded] == ["document_published", "document_retired"]
    assert recorded[0]["user"] == "alice"
    assert recorded[0]["detail"]["source"] == done.source
    assert recorded[0]["detail"]["chunks"] == 1
    assert recorded[1]["detail"]["shipped"] is False
    assert audit.verify().ok


def test_failed_publish_leaves_the_index_and_files_as_they_were(
    tmp_path: Path, advisor: Advisor, monkeypatch
) -> None:
    md = upload(tmp_path, "guide.md", ZORBLAX)
    first = admin.publish_document(advisor, md, {"version": "1"})
    before = index_state(advisor)
    target = advisor.settings.corpus_dir / "uploads" / "guide.md"
    old_files = {p.name: p.read_bytes() for p in target.parent.iterdir()}

    def broken(texts: list[str]) -> list[list[float]]:
        raise RuntimeError("embedding service down")

    monkeypatch.setattr(advisor.store.embeddings, "embed_documents", broken)
    newer = upload(tmp_path, "guide.md", ZORBLAX.replace("Canada", "Mexico"))
    with pytest.raises(RuntimeError, match="embedding service down"):
        admin.publish_document(advisor, newer, {"version": "2"}, replace=True)
    assert index_state(advisor) == before
    assert {p.name: p.read_bytes() for p in target.parent.iterdir()} == old_files

    fresh = upload(tmp_path, "other.md", ZORBLAX)
    with pytest.raises(RuntimeError, match="embedding service down"):
        admin.publish_document(advisor, fresh, {})
    assert index_state(advisor) == before
    assert not (target.parent / "other.md").exists()
    assert first.source in advisor.store.document_hashes()


def test_retire_refuses_outside_unknown_and_unconfirmed_shipped(
    advisor: Advisor, audit: AuditLog
) -> None:
    before = index_state(advisor)
    with pytest.raises(InputError, match="outside the corpus folder"):
        admin.retire_document(advisor, "corpus/../../etc/passwd")
    with pytest.raises(InputError, match="outside the corpus folder"):
        admin.retire_document(advisor, "/etc/passwd")
    with pytest.raises(InputError, match="not in the index"):
        admin.retire_document(advisor, "corpus/guidance/nothing-here.md")
    with pytest.raises(InputError, match="choose a document"):
        admin.retire_document(advisor, " ")
    shipped = "corpus/guidance/travel-basics.md"
    with pytest.raises(InputError, match="shipped document"):
        admin.retire_document(advisor, shipped)
    assert index_state(advisor) == before
    path = advisor.settings.corpus_dir / "guidance" / "travel-basics.md"
    assert path.exists()
    admin.retire_document(advisor, shipped, confirm_shipped=True, user="bob", audit=audit)
    assert not path.exists() and shipped not in advisor.store.document_hashes()
    assert events(audit)[0]["detail"]["shipped"] is True


def test_retire_restores_the_file_when_the_index_fails(advisor: Advisor, monkeypatch) -> None:
    shipped = "corpus/guidance/travel-basics.md"
    path = advisor.settings.corpus_dir / "guidance" / "travel-basics.md"

    def broken(source: str) -> None:
        raise RuntimeError("index locked")

    monkeypatch.setattr(advisor.store, "delete_document", broken)
    with pytest.raises(RuntimeError, match="index locked"):
        admin.retire_document(advisor, shipped, confirm_shipped=True)
    assert path.exists() and shipped in advisor.store.document_hashes()
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []


def test_sync_picks_up_files_added_on_disk(advisor: Advisor, audit: AuditLog) -> None:
    extra = advisor.settings.corpus_dir / "guidance" / "new-note.md"
    extra.write_text("# New note\n\nExports of gizmos need a licence.\n", encoding="utf-8")
    report, message = admin.sync_corpus(advisor, user="alice", audit=audit)
    assert report.added == 1 and "added 1" in message
    assert events(audit)[0]["event"] == "corpus_synced"


# --------------------------------------------------------------------------- rules


def test_rules_validation_names_the_real_file_and_changes_nothing(advisor: Advisor) -> None:
    rules_dir = advisor.settings.rules_dir
    text = admin.read_rule_file(rules_dir, "rules.yaml")
    before = (rules_dir / "rules.yaml").read_bytes()
    with pytest.raises(RulesError, match=rf"{rules_dir}/rules.yaml, line \d+: not valid YAML"):
        admin.validate_rules(rules_dir, "rules.yaml", text + "\n  - [unclosed\n")
    # Valid on its own, wrong across files: a rule naming a place no file defines.
    cross = text.replace('all: ["dest_regime:occupied_region"]', 'all: ["dest:ATLANTIS"]', 1)
    assert cross != text
    with pytest.raises(RulesError, match="unknown place 'ATLANTIS' in 'dest:ATLANTIS'") as exc:
        admin.validate_rules(rules_dir, "rules.yaml", cross)
    assert "advisor-rules-" not in str(exc.value)
    assert (rules_dir / "rules.yaml").read_bytes() == before
    for bad in ("../rules.yaml", "rules.txt", "sub/rules.yaml", ""):
        with pytest.raises(InputError, match="not a rule file name"):
            admin.validate_rules(rules_dir, bad, text)


def test_invalid_rules_edit_is_rejected_and_old_rules_stay(
    advisor: Advisor, audit: AuditLog
) -> None:
    rules_dir = advisor.settings.rules_dir
    text = admin.read_rule_file(rules_dir, "rules.yaml")
    digest = advisor.escalation.digest
    broken = text.replace("level: prohibited", "level: forbidden", 1)
    with pytest.raises(RulesError, match="level"):
        admin.save_rules(advisor, "rules.yaml", broken, user="alice", audit=audit)
    assert admin.read_rule_file(rules_dir, "rules.yaml") == text
    assert advisor.escalation.digest == digest
    assert advisor.ask(CRIMEA).level == Level.PROHIBITED
    assert events(audit) == []
    assert admin.save_rules(advisor, "rules.yaml", text).startswith("No change")


def test_valid_rules_edit_takes_effect_without_restart(advisor: Advisor, audit: AuditLog) -> None:
    rules_dir = advisor.settings.rules_dir
    question = "Can I ship a router to Krym?"
    assert advisor.ask(question).level != Level.PROHIBITED
    old = admin.read_rule_file(rules_dir, "places.yaml")
    new = old.replace('names: ["Crimea",', 'names: ["Krym", "Crimea",', 1)
    assert new != old
    message = admin.save_rules(advisor, "places.yaml", new, user="alice", audit=audit)
    assert message.startswith("✅ Saved places.yaml")
    assert advisor.ask(question).level == Level.PROHIBITED
    assert (rules_dir / "places.yaml").read_text(encoding="utf-8") == new
    assert [p.name for p in rules_dir.iterdir() if p.suffix == ".tmp"] == []
    detail = events(audit)[0]["detail"]
    assert detail["file"] == "places.yaml" and detail["in_force"] is True
    assert detail["old_sha256"] != detail["new_sha256"]
    assert detail["rules_digest_after"] == advisor.escalation.digest
    assert events(audit)[0]["event"] == "rules_changed"


def test_a_broken_file_on_disk_shows_last_error_and_keeps_old_rules(advisor: Advisor) -> None:
    assert "invalid" not in admin.rules_status(advisor)
    (advisor.settings.rules_dir / "triggers.yaml").write_text("triggers: [\n", encoding="utf-8")
    status = admin.rules_status(advisor)
    assert "last good rules stay in force" in status and "triggers.yaml" in status
    assert advisor.escalation.last_error
    assert advisor.ask(CRIMEA).level == Level.PROHIBITED


# --------------------------------------------------------------------------- screening


def test_screening_list_is_validated_then_replaced(
    tmp_path: Path, advisor: Advisor, audit: AuditLog
) -> None:
    screener = advisor.screener
    assert screener.screen("Harbin Institute of Technology")  # type: ignore[union-attr]
    missing_column = upload(tmp_path, "new-list.csv", "name,programs\nAcme,EAR\n")
    with pytest.raises(RulesError, match="new-list.csv, line 1, field source"):
        admin.replace_screening_list(advisor, missing_column)
    with pytest.raises(RulesError, match="as .csv or .json"):
        admin.validate_screening_upload(upload(tmp_path, "list.xlsx", b"PK"))
    assert screener.screen("Harbin Institute of Technology")  # type: ignore[union-attr]

    good = upload(
        tmp_path,
        "csl.json",
        '{"results": [{"name": "Zyxwv Photonics Research Institute", '
        '"source": "Entity List (EL) - Bureau of Industry and Security", "country": "CN"}]}',
    )
    assert admin.validate_screening_upload(good)[0].name == "Zyxwv Photonics Research Institute"
    message = admin.replace_screening_list(advisor, good, user="alice", audit=audit)
    assert message.startswith("✅ Screening list replaced: 1 entries (EL 1)")
    assert advisor.screener is screener
    assert screener.screen("Zyxwv Photonics Research Institute")  # type: ignore[union-attr]
    assert not screener.screen("Harbin Institute of Technology")  # type: ignore[union-attr]
    flags = advisor.ask("May I send code to Zyxwv Photonics Research Institute?").flags
    assert any(f.id.startswith("listed-party:") for f in flags)
    assert "1 entries" in admin.screening_status(advisor)
    detail = events(audit)[0]["detail"]
    assert detail["entries"] == 1 and detail["old_sha256"] != detail["new_sha256"]


def test_screening_status_shows_a_broken_list_on_disk(advisor: Advisor) -> None:
    advisor.settings.screening_path.write_text("name,source\n", encoding="utf-8")
    status = admin.screening_status(advisor)
    assert "last good list is in use" in status and "no entries" in status


# --------------------------------------------------------------------------- feedback


def _answer(question: str, level: Level, source: str) -> Answer:
    return Answer(
        question=question,
        answer="Bottom line. [1]",
        level=level,
        citations=[Citation(n=1, doc_id="d", title="T", source=source, text="x", score=0.9)],
    )


def test_feedback_table_filters_and_csv_export(tmp_path: Path, audit: AuditLog) -> None:
    ids: list[str] = []
    for question, level, source in (
        ('=HYPERLINK("http://evil") Can I ship to Crimea?', Level.PROHIBITED, "corpus/a.md"),
        ("Can I take my laptop to Germany?", Level.REVIEW, "corpus/b.md"),
        ("Is teaching a course fundamental research?", Level.NONE, "corpus/c.md"),
    ):
        record = audit.record_answer(
            _answer(question, level, source),
            conversation_id="c1",
            user="dora",
            corpus_hash="h",
            rules_hash="r",
        )
        assert record is not None
        ids.append(record)
    audit.add_feedback(ids[0], "down", "wrong level; should say escalate", "erin")
    audit.add_feedback(ids[1], "down", "laptop advice was vague", None)
    audit.add_feedback(ids[2], "up", None, "erin")

    rows = admin.feedback_rows(audit)
    assert [r[1] for r in rows] == ["review", "prohibited"]  # newest first, thumbs-down only
    assert rows[1][2].startswith("=HYPERLINK") and rows[1][3] == "corpus/a.md"
    assert rows[1][4] == "wrong level; should say escalate" and rows[1][5] == "erin"
    assert rows[1][6] == ids[0]
    assert [r[1] for r in admin.feedback_rows(audit, level="prohibited")] == ["prohibited"]
    assert admin.feedback_rows(audit, level="any", contains="LAPTOP")[0][1] == "review"
    assert admin.feedback_rows(audit, since="2999-01-01") == []
    assert len(admin.feedback_rows(audit, since="2000-01-01")) == 2
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        admin.feedback_rows(audit, since="yesterday")
    with pytest.raises(InputError, match="no audit trail"):
        admin.feedback_rows(None)

    path = admin.feedback_csv(rows, tmp_path)
    with path.open(encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh))
    assert table[0] == admin.FEEDBACK_HEADERS
    assert len(table) == 3
    assert table[2][2].startswith("'=HYPERLINK")  # spreadsheet formula defused
    assert table[1][4] == "laptop advice was vague"


# --------------------------------------------------------------------------- evaluation

TINY_CASES = """\
- id: tiny-crimea
  question: "Is a licence needed to send items to Crimea?"
  expected_level: prohibited
  tags: [tiny]
- id: tiny-wrong-on-purpose
  question: "Is a licence needed to send items to Crimea?"
  expected_level: none
  tags: [tiny]
"""


def test_evaluation_run_report_gate_and_compare(
    tmp_path: Path, advisor: Advisor, audit: AuditLog
) -> None:
    cases = tmp_path / "cases" / "tiny.yaml"
    cases.parent.mkdir()
    cases.write_text(TINY_CASES, encoding="utf-8")
    assert admin.case_file_choices(tmp_path / "cases") == [str(cases)]
    reports = tmp_path / "reports"
    steps: list[tuple[float, str]] = []
    run = admin.run_evaluation(
        advisor,
        [cases],
        reports_dir=reports,
        baseline_path=REPO / "evals" / "baseline.json",
        user="alice",
        audit=audit,
        progress=lambda fraction, desc="": steps.append((fraction, desc)),
    )
    assert steps[0] == (0.0, "Case 1/2: tiny-crimea") and steps[-1] == (1.0, "Done")
    assert {p.name for p in run.out_dir.iterdir()} == {"report.json", "report.md", "report.html"}
    report = run.report
    assert report["summary"]["cases"] == 2 and report["summary"]["passed"] == 1
    assert "1/2 cases passed" in admin.summary_markdown(report)
    gate = {row[0]: row for row in admin.gate_rows(report)}
    assert gate["level_accuracy"][2] == "0.5000"
    assert gate["level_accuracy"][4] == "❌ fail"
    failing = admin.failing_rows(report)
    assert [r[0] for r in failing] == ["tiny-wrong-on-purpose"]
    assert "over-escalated" in failing[0][3] and "Bottom line" in failing[0][5]
    charts = admin.charts_html(report)
    assert charts.count("<img") == 3 and 'alt="Level confusion matrix"' in charts
    assert admin.report_choices(reports) == [str(run.out_dir)]
    event = events(audit)[0]
    assert event["event"] == "eval_run" and event["detail"]["cases"] == 2

    again = admin.run_evaluation(advisor, [cases], reports_dir=reports, compare_dir=run.out_dir)
    assert again.out_dir != run.out_dir and "compare" in again.report
    assert "No case flipped" in admin.compare_markdown(again.report, run.out_dir)
    assert admin.report_choices(reports)[0] == str(again.out_dir)

    with pytest.raises(InputError, match="choose at least one"):
        admin.run_evaluation(advisor, [], reports_dir=reports)
    bad = tmp_path / "bad.yaml"
    bad.write_text("- id: x\n  question: q\n  expected_level: maybe\n", encoding="utf-8")
    with pytest.raises(InputError, match="expected_level"):
        admin.run_evaluation(advisor, [bad], reports_dir=reports)


# --------------------------------------------------------------------------- login


def test_login_function(monkeypatch) -> None:
    encoded = hash_password("correct horse battery", iterations=200_000)
    throttle = LoginThrottle(limit=2, window=60)
    settings = SimpleNamespace(admin_users=f"alice:{encoded}")
    assert admin.login(settings, " alice ", "correct horse battery", throttle) == ("alice", "")
    assert admin.login(settings, "alice", "nope", throttle) == (
        None,
        "⚠️ Wrong user name or password.",
    )
    admin.login(settings, "alice", "nope", throttle)
    assert (
        "Too many failed attempts"
        in admin.login(settings, "alice", "correct horse battery", throttle)[1]
    )
    assert admin.users_status(settings) is None
    assert "No users are configured" in (admin.users_status(SimpleNamespace()) or "")
    broken = SimpleNamespace(admin_users="alice:plaintext")
    assert "invalid" in (admin.users_status(broken) or "")
    assert admin.login(broken, "alice", "plaintext", throttle)[0] is None


def test_tabs_build_inside_blocks(advisor: Advisor, audit: AuditLog, tmp_path: Path) -> None:
    import gradio as gr

    with gr.Blocks() as demo:
        admin.build_admin_tabs(advisor, audit, reports_dir=tmp_path / "reports")
    config = demo.get_config_file()
    labels = {c["props"].get("label") for c in config["components"]}
    assert {"Compliance", "Evaluation", "Password", "Rule file contents"} <= labels
    for component in config["components"]:
        if component["type"] in ("textbox", "dropdown", "file", "checkbox", "code", "dataframe"):
            assert component["props"].get("label"), component


def test_every_action_refuses_a_session_that_is_not_logged_in(
    advisor: Advisor, tmp_path: Path
) -> None:
    """The hidden column is only cosmetic: each handler checks the server-side login state."""
    import gradio as gr

    with gr.Blocks() as demo:
        admin.build_admin_tabs(advisor, None, reports_dir=tmp_path / "reports")
    open_to_all = {"on_login", "after_login", "on_logout", "on_compliance_open"}
    open_to_all |= {"on_evaluation_open", "<lambda>"}  # these return nothing when logged out
    guarded = [f for f in demo.fns.values() if f.fn and f.fn.__name__ not in open_to_all]
    names = {f.fn.__name__ for f in guarded}
    assert {"on_publish", "on_retire", "on_sync", "on_save", "on_csl_replace", "on_run"} <= names
    before = index_state(advisor)
    for f in guarded:
        with pytest.raises(gr.Error, match="Log in first"):
            f.fn(*[None] * len(f.inputs))
    assert index_state(advisor) == before
    for f in demo.fns.values():
        if f.fn and f.fn.__name__ in {"after_login", "<lambda>"}:
            assert all(x is gr.skip() or isinstance(x, dict) for x in _as_tuple(f.fn(None)))


def _as_tuple(value: object) -> tuple:
    return value if isinstance(value, tuple) else (value,)
