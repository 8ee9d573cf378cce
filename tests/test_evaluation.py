"""Evaluation suite: checks, metrics, case validation, gate, compare, reports and the CLI.

Everything except the one ``slow`` test uses a fake advisor, so no model is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from advisor import evaluation as ev
from advisor.errors import InputError
from advisor.models import Answer, Chunk, Citation, Flag, Level, ScoredChunk
from advisor.settings import Settings

REPO = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- builders


def case(**fields: Any) -> ev.Case:
    data: dict[str, Any] = {"id": "c1", "question": "Q?", "expected_level": "none"}
    data.update(fields)
    return ev.Case.model_validate(data)


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


def result(c: ev.Case, a: Answer, hits: list[ScoredChunk] | None = None) -> ev.CaseResult:
    return ev.score_case(c, a, hits or [])


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


@pytest.fixture
def fake(tmp_path: Path) -> FakeAdvisor:
    corpus = tmp_path / "corpus"
    (corpus / "rules").mkdir(parents=True)
    (corpus / "guide.md").write_text("# Guide\n")
    return FakeAdvisor(good_replies(), corpus)


@pytest.fixture(autouse=True)
def _no_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ev, "git_commit", lambda: "abc123")


# --------------------------------------------------------------------------- matching


def test_mentions_ignore_case_and_accept_alternatives() -> None:
    assert ev.mention_satisfied("fundamental research|734.8", "See 734.8 please")
    assert ev.mention_satisfied("FUNDAMENTAL research", "fundamental Research applies")
    assert not ev.mention_satisfied("publish", "nothing relevant")


def test_regex_alternatives() -> None:
    assert ev.mention_satisfied(r"re:\b746\.\d+\b", "under 746.7 of the EAR")
    assert ev.mention_satisfied(r"nope|re:licen[cs]e", "a LICENSE is needed")
    assert not ev.mention_satisfied(r"re:^licence", "no licence")
    assert ev.forbidden_hit(r"re:OVERRIDE\s+ACCEPTED", "OVERRIDE  ACCEPTED")
    assert not ev.forbidden_hit(r"re:OVERRIDE\s+ACCEPTED", "override accepted")


def test_must_not_mention_is_case_sensitive() -> None:
    assert ev.forbidden_hit("APPROVED", "Reply: APPROVED")
    assert not ev.forbidden_hit("APPROVED", "no licence is approved for Iran")
    assert ev.forbidden_hit("No issues|FR-OK", "code FR-OK-7731")


def test_must_cite_searches_text_title_and_section() -> None:
    c = cite(1, "plain text", title="Guide to 746.7", section="15 CFR 734.8")
    assert ev.found_in_citations("734.8", [c])
    assert ev.found_in_citations("746.7", [c])
    assert ev.found_in_citations("PLAIN", [c])
    assert not ev.found_in_citations("742.15", [c])
    assert not ev.found_in_citations("734.8", [])


def test_retrieval_searches_heading_path_and_section_label() -> None:
    by_section = chunk("text", section="734.8", cfr_title=15)
    by_heading = chunk("other", heading_path="Guide > Part 746.2 Cuba")
    assert ev.found_in_hits("15 CFR 734.8", [by_section])
    assert ev.found_in_hits("746.2", [by_heading])
    assert not ev.found_in_hits("746.7", [by_section, by_heading])


# --------------------------------------------------------------------------- per-case checks


def test_levels_against_acceptable_levels() -> None:
    c = case(expected_level="escalate", acceptable_levels=["review", "escalate"])
    assert result(c, answer(level="review")).level_ok
    assert not result(c, answer(level="review")).level_exact
    under = result(c, answer(level="none"))
    assert under.under and not under.over and not under.level_ok
    assert "level: under-escalated (none, wanted review|escalate)" in under.failed_checks
    over = result(c, answer(level="prohibited"))
    assert over.over and not over.under


def test_cited_versus_retrieved_are_told_apart() -> None:
    c = case(must_cite=["734.8", "746.7", "742.15"])
    hits = [chunk("Fundamental research 734.8"), chunk("Iran 746.7")]
    r = result(c, answer("x [1]", citations=[cite(1, "Fundamental research 734.8")]), hits)
    assert r.cited == [("734.8", True), ("746.7", False), ("742.15", False)]
    assert r.retrieved == [("734.8", True), ("746.7", True), ("742.15", False)]
    assert "cite: 746.7 (retrieved, not cited)" in r.failed_checks
    assert "cite: 742.15 (not retrieved)" in r.failed_checks


def test_markers_without_citations_fail() -> None:
    r = result(case(), answer("Claim [1] and [2].", citations=[cite(1, "t")]))
    assert not r.markers_ok
    assert any(f.startswith("markers") for f in r.failed_checks)
    assert result(case(), answer("No markers at all.")).markers_ok


def test_out_of_scope_checks() -> None:
    oos = case(out_of_scope=True)
    assert result(oos, answer(in_scope=False)).scope_ok
    wrong = result(oos, answer(in_scope=True))
    assert not wrong.scope_ok and "scope: answered in scope" in wrong.failed_checks
    refused = result(case(), answer(in_scope=False))
    assert "scope: refused as out of scope" in refused.failed_checks


def test_empty_must_lists_pass() -> None:
    r = result(case(), answer())
    assert r.passed and r.mentions == [] and r.cited == [] and r.forbidden == []


def test_prohibited_missed_only_below_escalate() -> None:
    c = case(expected_level="prohibited", acceptable_levels=["escalate", "prohibited"])
    assert not result(c, answer(level="escalate")).prohibited_missed
    assert result(c, answer(level="review")).prohibited_missed


# --------------------------------------------------------------------------- metrics


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
    m = ev.compute_metrics(results)
    assert list(m) == list(ev.METRIC_KEYS)
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
    m = ev.compute_metrics([result(case(), answer())])
    assert m["mention_recall"] is None
    assert m["citation_recall"] is None
    assert m["retrieval_hit_rate"] is None
    assert m["forbidden_rate"] is None
    assert m["level_accuracy"] == 1.0
    empty = ev.compute_metrics([])
    assert all(v is None for v in empty.values())


def test_judged_metrics_absent_without_judge_present_with_one(fake: FakeAdvisor) -> None:
    cases = [case(id="x", question="What is fundamental research?")]
    plain = ev.compute_metrics(ev.run_cases(fake, cases, progress=False))
    assert not [k for k in plain if k.startswith("judged")]
    judged = ev.run_cases(fake, cases, progress=False, judge=lambda c, a: {"faithfulness": 0.5})
    assert ev.compute_metrics(judged)["judged_faithfulness"] == 0.5


def test_tag_breakdown_and_confusion() -> None:
    c1 = case(id="a", expected_level="prohibited", tags=["iran", "tricky"])
    c2 = case(id="b", expected_level="none", tags=["iran"])
    results = [result(c1, answer(level="review")), result(c2, answer())]
    tags = ev.tag_breakdown(results)
    assert tags["iran"]["cases"] == 2 and tags["iran"]["pass_rate"] == 0.5
    assert tags["tricky"]["under_escalation_rate"] == 1.0
    conf = ev.confusion(results)
    assert conf["counts"]["prohibited"]["review"] == 1
    assert conf["counts"]["none"]["none"] == 1
    assert sum(sum(row.values()) for row in conf["counts"].values()) == 2


def test_percentile() -> None:
    assert ev.percentile([], 50) is None
    assert ev.percentile([7.0], 95) == 7.0
    assert ev.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5


# --------------------------------------------------------------------------- case files


def test_loads_files_and_folders(tmp_path: Path) -> None:
    write_cases(tmp_path / "a.yaml", CASES_YAML)
    sub = tmp_path / "more"
    sub.mkdir()
    write_cases(sub / "b.yml", '- id: extra\n  question: "Q"\n  expected_level: review\n')
    cases, files = ev.load_cases([tmp_path])
    assert [c.id for c in cases] == ["iran-kit", "fr-basics", "oos-python", "extra"]
    assert len(files) == 2
    assert cases[1].acceptable == [Level.NONE, Level.REVIEW]
    assert cases[0].acceptable == [Level.PROHIBITED]
    assert cases[0].where.endswith("a.yaml:1")


def test_the_curated_cases_are_valid() -> None:
    cases, _ = ev.load_cases([REPO / "evals" / "cases"])
    assert len(cases) >= 100


def _error(tmp_path: Path, text: str, name: str = "cases.yaml") -> str:
    with pytest.raises(InputError) as info:
        ev.load_cases([write_cases(tmp_path / name, text)])
    return str(info.value)


def test_duplicate_id_names_both_places(tmp_path: Path) -> None:
    write_cases(tmp_path / "one.yaml", '- id: same\n  question: "Q"\n  expected_level: none\n')
    write_cases(tmp_path / "two.yaml", '- id: same\n  question: "R"\n  expected_level: none\n')
    with pytest.raises(InputError) as info:
        ev.load_cases([tmp_path / "one.yaml", tmp_path / "two.yaml"])
    message = str(info.value)
    assert "'same'" in message and "one.yaml" in message and "two.yaml" in message
    assert "field 'id'" in message and "duplicate" in message


def test_bad_level_names_file_case_and_field(tmp_path: Path) -> None:
    message = _error(
        tmp_path,
        '- id: ok\n  question: "Q"\n  expected_level: none\n'
        '- id: broken\n  question: "Q"\n  expected_level: forbidden\n',
    )
    assert "cases.yaml:6" in message
    assert "case 'broken' (#2)" in message
    assert "field 'expected_level'" in message


def test_acceptable_levels_must_include_expected(tmp_path: Path) -> None:
    message = _error(
        tmp_path,
        '- id: x\n  question: "Q"\n  expected_level: escalate\n'
        "  acceptable_levels: [none, review]\n",
    )
    assert "case 'x'" in message and "field 'acceptable_levels'" in message
    assert "must include expected_level 'escalate'" in message


def test_unknown_field_is_rejected(tmp_path: Path) -> None:
    message = _error(
        tmp_path, '- id: x\n  question: "Q"\n  expected_level: none\n  must_cites: ["734.8"]\n'
    )
    assert "cases.yaml:4" in message and "case 'x'" in message
    assert "field 'must_cites': unknown field" in message


def test_missing_id_names_the_index(tmp_path: Path) -> None:
    message = _error(tmp_path, '- question: "Q"\n  expected_level: none\n')
    assert "case #1" in message and "field 'id': required field is missing" in message


def test_bad_entries_and_shapes(tmp_path: Path) -> None:
    bad_regex = _error(
        tmp_path, '- id: x\n  question: "Q"\n  expected_level: none\n  must_mention: ["re:("]\n'
    )
    assert "field 'must_mention'" in bad_regex and "invalid regex" in bad_regex
    empty_alt = _error(
        tmp_path, '- id: x\n  question: "Q"\n  expected_level: none\n  must_mention: ["a||b"]\n'
    )
    assert "empty alternative" in empty_alt
    assert "expected a list of cases" in _error(tmp_path, "id: x\n")
    assert "not valid YAML" in _error(tmp_path, "- id: [unclosed\n")
    assert "holds no cases" in _error(tmp_path, "")
    with pytest.raises(InputError, match="no such case file"):
        ev.load_cases([tmp_path / "missing.yaml"])


# --------------------------------------------------------------------------- gate


def baseline(**overrides: dict[str, Any]) -> ev.Baseline:
    metrics: dict[str, Any] = {
        "level_accuracy": {"value": 0.9, "better": "higher", "tolerance": 0.05},
        "under_escalation_rate": {"value": 0.0, "better": "lower", "tolerance": 0.0},
        "latency_p95_ms": {"value": 100.0, "better": "lower", "tolerance": 10.0, "factor": 3.0},
    }
    metrics.update(overrides)
    return ev.Baseline.model_validate({"metrics": metrics})


def _results(level: str = "prohibited") -> list[ev.CaseResult]:
    return [result(case(id="p", expected_level="prohibited"), answer(level=level))]


def test_gate_passes_within_tolerance() -> None:
    metrics = {"level_accuracy": 0.86, "under_escalation_rate": 0.0, "latency_p95_ms": 290.0}
    gate = ev.run_gate(metrics, _results(), baseline())
    assert gate["passed"], gate
    assert {c["status"] for c in gate["checks"]} == {"pass"}


def test_gate_fails_on_a_worsened_metric() -> None:
    metrics = {"level_accuracy": 0.84, "under_escalation_rate": 0.0, "latency_p95_ms": 50.0}
    gate = ev.run_gate(metrics, _results(), baseline())
    assert not gate["passed"]
    assert [c["metric"] for c in gate["checks"] if c["status"] == "fail"] == ["level_accuracy"]
    slow = {"level_accuracy": 0.9, "under_escalation_rate": 0.0, "latency_p95_ms": 301.0}
    assert not ev.run_gate(slow, _results(), baseline())["passed"]
    dangerous = {"level_accuracy": 0.9, "under_escalation_rate": 0.01, "latency_p95_ms": 1.0}
    assert not ev.run_gate(dangerous, _results(), baseline())["passed"]


def test_gate_always_fails_when_prohibited_drops_below_escalate() -> None:
    metrics = {"level_accuracy": 0.99, "under_escalation_rate": 0.0, "latency_p95_ms": 1.0}
    gate = ev.run_gate(metrics, _results("review"), baseline())
    assert gate["metrics_passed"] and not gate["passed"]
    assert gate["prohibited_below_escalate"] == ["p"]
    assert not ev.run_gate(metrics, _results("none"), None)["passed"]
    assert ev.run_gate(metrics, _results("escalate"), None)["passed"]


def test_gate_skips_nulls_and_ungated_metrics() -> None:
    base = baseline(
        citation_recall={"value": None, "better": "higher"},
        mention_recall={"value": 0.9, "better": "higher"},
        latency_p95_ms={"value": 1.0, "better": "lower", "gate": False},
    )
    metrics = {
        "level_accuracy": 0.9,
        "under_escalation_rate": 0.0,
        "citation_recall": 0.1,
        "mention_recall": None,
        "latency_p95_ms": 999.0,
    }
    gate = ev.run_gate(metrics, _results(), base)
    status = {c["metric"]: c["status"] for c in gate["checks"]}
    assert gate["passed"]
    assert status["citation_recall"].startswith("skipped")
    assert status["mention_recall"].startswith("skipped")
    assert status["latency_p95_ms"] == "not gated"


def test_baseline_validation_and_update_keeps_tolerances(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"metrics": {"x": {"value": 1, "better": "up"}}}))
    with pytest.raises(InputError, match="invalid baseline"):
        ev.load_baseline(bad)
    report = {
        "created": "now",
        "produced_by": {},
        "summary": {"cases": 1},
        "metrics": {"level_accuracy": 0.7, "latency_p50_ms": 12.0, "judged_x": 0.4},
    }
    previous = baseline(level_accuracy={"value": 0.9, "better": "higher", "tolerance": 0.2})
    made = ev.make_baseline(report, previous)
    assert made["metrics"]["level_accuracy"] == {
        "value": 0.7,
        "better": "higher",
        "tolerance": 0.2,
        "gate": True,
    }
    assert (
        made["metrics"]["latency_p50_ms"]["factor"] == ev.DEFAULT_GATE["latency_p50_ms"]["factor"]
    )
    assert made["metrics"]["latency_p50_ms"]["better"] == "lower"
    assert made["metrics"]["judged_x"]["better"] == "higher"
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(made))
    assert ev.load_baseline(path).metrics["level_accuracy"].value == 0.7


# --------------------------------------------------------------------------- reports


def _report(fake: FakeAdvisor, tmp_path: Path, replies: dict | None = None) -> dict[str, Any]:
    if replies is not None:
        fake.replies = replies
    files = [write_cases(tmp_path / "cases.yaml", CASES_YAML)]
    cases, _ = ev.load_cases(files)
    results = ev.run_cases(fake, cases, progress=False)
    report = ev.build_report(results, fake, files)
    report["gate"] = ev.run_gate(report["metrics"], results, None)
    return report


def test_run_uses_one_advisor_and_records_provenance(fake: FakeAdvisor, tmp_path: Path) -> None:
    report = _report(fake, tmp_path)
    assert len(fake.questions) == 3
    assert report["summary"] == {"cases": 3, "passed": 3, "failed": 0, "pass_rate": 1.0}
    rows = {row["id"]: row for row in report["cases"]}
    assert rows["iran-kit"]["flags"] == [
        {"id": "embargo", "level": "prohibited", "citation": "15 CFR 746.7"}
    ]
    assert rows["fr-basics"]["citations"] == [{"n": 1, "title": "FR", "section": "15 CFR 734.8"}]
    p = report["produced_by"]
    assert p["rules_hash"] == "rules0001"
    assert p["prompt_version"] == "none" and p["writer"] == "extractive"
    assert p["embedding_model"] == "all-MiniLM-L6-v2" and p["git_commit"] == "abc123"
    assert len(next(iter(p["case_files"].values()))) == 64
    before = p["corpus_hash"]
    (fake.settings.corpus_dir / "rules" / "r.yaml").write_text("x")
    assert ev.corpus_hash(fake.settings.corpus_dir) == before  # rules/ is excluded
    (fake.settings.corpus_dir / "guide.md").write_text("# Changed\n")
    assert ev.corpus_hash(fake.settings.corpus_dir) != before


def test_advisor_rejection_names_the_case(fake: FakeAdvisor) -> None:
    with pytest.raises(InputError, match="case 'zz': field 'question'"):
        ev.run_cases(fake, [case(id="zz", question="unknown")], progress=False)


def test_write_reports(fake: FakeAdvisor, tmp_path: Path) -> None:
    replies = good_replies()
    iran = "Can I ship my exploit kit to Tehran?"
    replies[iran] = (answer("<script>alert(1)</script> APPROVED", "review"), [])
    report = _report(fake, tmp_path, replies)
    paths = ev.write_reports(report, tmp_path / "out")
    data = json.loads(paths["json"].read_text())
    assert list(data["metrics"]) == list(ev.METRIC_KEYS)
    assert not any("judged" in key for key in data) and "judged" not in json.dumps(data["cases"])
    assert data["gate"]["prohibited_below_escalate"] == ["iran-kit"]
    worst = data["cases"][0]
    assert worst["id"] == "iran-kit" and not worst["passed"]
    assert "forbidden: APPROVED" in worst["failed_checks"]
    page = paths["html"].read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<link" not in page and "src='http" not in page
    md = paths["md"].read_text()
    assert "## Regression gate: FAILED" in md and "`iran-kit`" in md
    assert "| level_accuracy |" in md


def test_compare_shows_deltas_and_flips(fake: FakeAdvisor, tmp_path: Path) -> None:
    before = _report(fake, tmp_path)
    ev.write_reports(before, tmp_path / "before")
    replies = good_replies()
    fr = "What is fundamental research?"
    replies[fr] = (answer("Nothing useful.", "escalate", latency=20.0), [])
    after = _report(fake, tmp_path, replies)
    cmp = ev.compare_reports(after, ev.load_report(tmp_path / "before"), "before")
    assert cmp["metrics"]["level_accuracy"]["delta"] == round(2 / 3 - 1, 4)
    assert cmp["metrics"]["level_accuracy"]["verdict"] == "worse"
    assert cmp["metrics"]["over_escalation_rate"]["verdict"] == "worse"
    assert cmp["flipped"][0]["id"] == "fr-basics"
    assert cmp["flipped"][0]["before"] == "pass" and cmp["flipped"][0]["after"] == "fail"
    assert cmp["level_changed"] == [
        {"id": "fr-basics", "expected": "none", "before": "none", "after": "escalate"}
    ]
    text = "\n".join(ev.compare_lines(cmp))
    assert "`fr-basics`: pass -> fail" in text and "`fr-basics`: none -> escalate" in text
    after["compare"] = cmp
    paths = ev.write_reports(after, tmp_path / "after")
    assert "Compared with before" in paths["md"].read_text()
    assert "Cases that flipped pass/fail" in paths["html"].read_text()
    with pytest.raises(InputError, match="cannot read an earlier report"):
        ev.load_report(tmp_path / "nowhere")


# --------------------------------------------------------------------------- CLI


def run_cli(argv: list[str]) -> int:
    from advisor import cli

    return cli.main(argv)


@pytest.fixture
def cli_fake(fake: FakeAdvisor, monkeypatch: pytest.MonkeyPatch) -> FakeAdvisor:
    import advisor.chain

    monkeypatch.setattr(advisor.chain, "build_advisor", lambda settings: fake)
    return fake


def test_cli_writes_reports_and_updates_baseline(
    cli_fake: FakeAdvisor, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = write_cases(tmp_path / "cases.yaml", CASES_YAML)
    base = tmp_path / "baseline.json"
    argv = [
        "eval",
        "--cases",
        str(cases),
        "--out",
        str(tmp_path / "r1"),
        "--baseline",
        str(base),
        "--no-progress",
    ]
    assert run_cli([*argv, "--update-baseline"]) == 0
    saved = json.loads(base.read_text())
    assert saved["metrics"]["level_accuracy"]["value"] == 1.0 and saved["notes"]
    assert (tmp_path / "r1" / "report.html").exists()
    argv[4] = str(tmp_path / "r2")
    assert run_cli([*argv, "--compare", str(tmp_path / "r1")]) == 0
    out = capsys.readouterr().out
    assert "Regression gate: PASSED" in out and "Compared with" in out


def test_cli_exit_1_on_worsened_baseline(cli_fake: FakeAdvisor, tmp_path: Path) -> None:
    cases = write_cases(tmp_path / "cases.yaml", CASES_YAML)
    base = tmp_path / "baseline.json"
    base.write_text(
        json.dumps(
            {
                "metrics": {
                    "latency_p50_ms": {"value": 1.0, "better": "lower", "tolerance": 0.0},
                }
            }
        )
    )
    argv = [
        "eval",
        "--cases",
        str(cases),
        "--out",
        str(tmp_path / "r"),
        "--baseline",
        str(base),
        "--no-progress",
    ]
    assert run_cli(argv) == 1
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    assert data["gate"]["checks"][0]["status"] == "fail"


def test_cli_exit_2_on_bad_input(
    cli_fake: FakeAdvisor, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write_cases(tmp_path / "bad.yaml", '- id: x\n  question: "Q"\n  expected_level: nope\n')
    out = tmp_path / "r"
    assert run_cli(["eval", "--cases", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml:3" in err and "case 'x'" in err and "field 'expected_level'" in err
    assert not out.exists()
    good = write_cases(tmp_path / "good.yaml", CASES_YAML)
    llm = ["eval", "--cases", str(good), "--out", str(out), "--llm", "openai:gpt-4o-mini"]
    assert run_cli(llm) == 2
    assert "LLM writers are not available yet" in capsys.readouterr().err
    missing = ["eval", "--cases", str(good), "--baseline", str(tmp_path / "none.json")]
    assert run_cli(missing) == 2


# --------------------------------------------------------------------------- end to end

E2E_DOCS = {
    "fundamental-research.md": """---
title: "Fundamental research under 15 CFR 734.8"
doc_type: guidance
jurisdiction: US-EAR
topics: [fundamental-research]
source_refs: ["15 CFR 734.8"]
version: "1.0"
---
# Fundamental research under 15 CFR 734.8

## What counts as fundamental research
Under 15 CFR 734.8, technology or software that arises during or results from fundamental
research and is intended to be published is not subject to the EAR. Fundamental research is
research in science, engineering or mathematics whose results are ordinarily published and
shared broadly within the research community, with no restriction on publication.

## What breaks it
A sponsor's right to approve or veto publication, or access and dissemination restrictions,
take a project out of fundamental research under 15 CFR 734.8.
""",
    "embargoes.md": """---
title: "Embargoed destinations: Iran under 15 CFR 746.7"
doc_type: guidance
jurisdiction: US-EAR
topics: [embargoes, iran]
source_refs: ["15 CFR 746.7"]
version: "1.0"
---
# Embargoed destinations: Iran under 15 CFR 746.7

## Iran
Exports and reexports of nearly all items subject to the EAR to Iran require a licence under
15 CFR 746.7, and OFAC's Iranian Transactions and Sanctions Regulations also apply. Sending
exploit kits or intrusion software to a buyer in Iran is prohibited without authorization.
""",
}

E2E_CASES = """\
- id: e2e-iran-kit
  question: "Can I ship my exploit kit to a buyer in Tehran, Iran?"
  expected_level: prohibited
  acceptable_levels: [escalate, prohibited]
  must_cite: ["746.7"]
  must_not_mention: ["APPROVED"]
  tags: [iran]
- id: e2e-fundamental-research
  question: "What makes university research count as fundamental research under the EAR?"
  expected_level: none
  acceptable_levels: [none, review]
  must_mention: ["fundamental research"]
  must_cite: ["734.8"]
  tags: [fundamental-research]
"""


@pytest.mark.slow
def test_end_to_end_with_the_real_advisor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in E2E_DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    monkeypatch.setenv("ADVISOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ADVISOR_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("ADVISOR_RULES_DIR", str(REPO / "corpus" / "rules"))
    cases = write_cases(tmp_path / "cases.yaml", E2E_CASES)
    base = tmp_path / "baseline.json"
    first = tmp_path / "first"
    argv = [
        "eval",
        "--cases",
        str(cases),
        "--out",
        str(first),
        "--baseline",
        str(base),
        "--no-progress",
    ]
    assert run_cli([*argv, "--update-baseline"]) == 0, capsys.readouterr()
    data = json.loads((first / "report.json").read_text())
    assert list(data["metrics"]) == list(ev.METRIC_KEYS)
    assert data["summary"]["cases"] == 2 and data["produced_by"]["writer"] == "extractive"
    assert data["produced_by"]["rules_hash"] not in ("", "unknown")
    assert data["metrics"]["level_accuracy"] == 1.0
    assert "data:image/png;base64," in (first / "report.html").read_text()

    worse = json.loads(base.read_text())
    worse["metrics"]["latency_p50_ms"] = {"value": 0.01, "better": "lower", "tolerance": 0.0}
    base.write_text(json.dumps(worse))
    argv[4] = str(tmp_path / "second")
    assert run_cli([*argv, "--compare", str(first)]) == 1
    assert "Compared with" in (tmp_path / "second" / "report.md").read_text()
