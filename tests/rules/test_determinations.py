"""Curated determinations: validated on load, matched by meaning and by facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.errors import RulesError
from advisor.models import Level
from advisor.rules.determinations import (
    DeterminationIndex,
    load_determination_file,
    load_determinations,
)
from advisor.rules.escalation import EscalationEngine, RuleSet
from advisor.text import normalise
from tests.conftest import REPO, RULES

FOLDER = REPO / "corpus" / "determinations"


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return RuleSet.load(RULES)


def test_the_library_loads_and_is_large_enough(rules: RuleSet) -> None:
    entries = load_determinations(FOLDER, set(rules.places), set(rules.groups))
    assert len(entries) >= 150
    assert len({e.id for e in entries}) == len(entries)
    levels = {e.level for e in entries}
    assert levels == set(Level)
    for entry in entries:
        for doc in entry.documents:
            assert (REPO / "corpus" / doc).exists(), (entry.id, doc)
        if entry.status in ("unverified", "changing"):
            assert entry.as_of


GOOD = """determinations:
  - id: sample-entry
    topic: deemed-exports
    jurisdiction: US-EAR
    questions:
      - "Can a green card holder see our code?"
      - "is an LPR a foreign person"
      - "does a permanent resident need a licence"
    applies_when: {all: ["status:permanent_resident"]}
    verdict: allowed
    answer: "No licence is needed: a permanent resident is not a foreign person (15 CFR 772.1)."
    level: none
    citations: ["15 CFR 772.1"]
"""


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (("status:permanent_resident", "status:martian"), "unknown status"),
        (("(15 CFR 772.1).", "(see the rules)."), "must name the section"),
        (("level: none", "level: maybe"), "line 12"),
        (("verdict: allowed", "verdict: perhaps"), "verdict"),
    ],
)
def test_bad_entries_are_reported_with_file_and_line(
    tmp_path: Path, rules: RuleSet, change: tuple[str, str], needle: str
) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(GOOD.replace(*change), encoding="utf-8")
    with pytest.raises(RulesError, match=needle) as info:
        load_determinations(tmp_path, set(rules.places), set(rules.groups))
    assert "d.yaml" in str(info.value)


def test_duplicate_ids_across_files_are_rejected(tmp_path: Path, rules: RuleSet) -> None:
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(RulesError, match="duplicate determination id"):
        load_determinations(tmp_path, set(rules.places), set(rules.groups))


def test_settled_rules_must_exist_and_need_facts(tmp_path: Path, rules: RuleSet) -> None:
    ids = {r.id for r in rules.rules}
    path = tmp_path / "d.yaml"
    settling = GOOD + '    settles: ["embargo-mention"]\n'
    path.write_text(settling, encoding="utf-8")
    [entry] = load_determinations(tmp_path, set(rules.places), set(rules.groups), None, ids)
    assert entry.settles == ["embargo-mention"]
    path.write_text(settling.replace("embargo-mention", "no-such-rule"), encoding="utf-8")
    with pytest.raises(RulesError, match="settles unknown rule 'no-such-rule'"):
        load_determinations(tmp_path, set(rules.places), set(rules.groups), None, ids)
    open_entry = settling.replace('{all: ["status:permanent_resident"]}', "{}")
    path.write_text(open_entry, encoding="utf-8")
    with pytest.raises(RulesError, match="must name the facts"):
        load_determinations(tmp_path, set(rules.places), set(rules.groups), None, ids)


def test_the_shipped_library_settles_only_known_rules(rules: RuleSet) -> None:
    ids = {r.id for r in rules.rules}
    entries = load_determinations(FOLDER, set(rules.places), set(rules.groups), None, ids)
    settling = [e for e in entries if e.settles]
    assert settling, "the library uses settles"
    for entry in settling:
        assert entry.applies_when.all, entry.id  # a settling entry states its situation
        # Listed parties and controlled items are never settled away.
        assert any("party:listed" in n or "party:denied" in n for n in entry.applies_when.none)
        assert any("item:controlled_technology" in n for n in entry.applies_when.none), entry.id


def test_broken_yaml_and_impossible_dates(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text("determinations: [unclosed", encoding="utf-8")
    with pytest.raises(RulesError, match="not valid YAML"):
        load_determination_file(path)
    path.write_text(GOOD + "    as_of: 2026-13-45\n", encoding="utf-8")
    with pytest.raises(RulesError):
        load_determination_file(path)


@pytest.fixture(scope="module")
def matcher(real_embeddings, tmp_path_factory):
    """One engine and one index for the module: embedding every phrasing once, not per case."""
    cache = tmp_path_factory.mktemp("phrasings")
    engine = EscalationEngine(RULES, embeddings=real_embeddings)
    rules = engine.rules
    entries = load_determinations(
        FOLDER, set(rules.places), set(rules.groups), None, {r.id for r in rules.rules}
    )
    return engine, DeterminationIndex(entries, real_embeddings, cache_dir=cache), cache


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "Can a green-card holder on my team look at our export controlled source code?",
            "de-green-card-holder-not-foreign-person",
        ),
        (
            "is it ok to put our crypto library up on github as open source?",
            "enc-public-open-source-crypto-not-subject",
        ),
        (
            "Our sponsor wants to approve every paper before we submit it. Does that matter?",
            "fr-sponsor-approval-or-veto-breaks-it",
        ),
        # a classification request for a public component, with and without cryptography
        (
            "Our legal team needs the ECCN of your JSON parser before we ship our app with it.",
            "pub-eccn-of-open-source-component",
        ),
        (
            "Which ECCN applies to the cipher suites in the open-source TLS library we bundle?",
            "enc-eccn-of-open-source-crypto-component",
        ),
        ("What does ECCN mean?", "proc-what-is-an-eccn-and-the-ccl"),
        (
            "Is it fine to wire money to relatives in a sanctioned country through an exchange "
            "office abroad?",
            "emb-indirect-dealings-through-third-country",
        ),
        (
            "Does the licence question change if we upload the design files instead of "
            "shipping them on a drive?",
            "shp-method-of-export-does-not-change-licence",
        ),
    ],
)
def test_the_fitting_determination_is_found(matcher, question: str, expected: str) -> None:
    engine, index, cache = matcher
    text = normalise(question)
    assessment = engine.assess(text)
    match = index.best(
        index.embeddings.embed_query(text),
        set(assessment.situation.facts),
        assessment.level,
        assessment.situation.jurisdictions,
        assessment.flags,
    )
    assert match is not None and match.determination.id == expected
    assert match.determination.level.rank >= assessment.level.rank or match.settled
    assert list(cache.glob("phrasings-*.npy")), "phrasing vectors are cached on disk"


@pytest.mark.slow
def test_a_determination_never_answers_below_the_rules(matcher) -> None:
    engine, index, _ = matcher
    text = "Can I send our unpublished exploit framework to a developer in Tehran?"
    assessment = engine.assess(text)
    assert assessment.level is Level.PROHIBITED
    match = index.best(
        index.embeddings.embed_query(text),
        set(assessment.situation.facts),
        assessment.level,
        assessment.situation.jurisdictions,
        assessment.flags,
    )
    assert match is None or match.determination.level is Level.PROHIBITED
