"""The situation extractor: roles of places, people's status, public vs non-public items."""

from __future__ import annotations

import pytest

from advisor.models import Level, Turn
from advisor.rules.escalation import EscalationEngine
from advisor.rules.situation import Situation
from advisor.text import normalise
from tests.conftest import RULES

N, R, E, P = Level.NONE, Level.REVIEW, Level.ESCALATE, Level.PROHIBITED


@pytest.fixture(scope="module")
def engine() -> EscalationEngine:
    return EscalationEngine(RULES)


def situation(engine: EscalationEngine, text: str) -> Situation:
    return engine.situation([normalise(text)])


# ---------------------------------------------------------------- destination vs nationality


@pytest.mark.parametrize(
    "text",
    [
        "Can I email the design files to a colleague in Tehran?",
        "A company in Iran wants to license our scanner.",
        "we'd ship the board to a lab at Sharif University in Iran",
        "My coauthor is based in Isfahan and wants our dataset",
        "an Iranian company asked for a quote on our router firmware",
        "Is uploading the code to a server located in Iran a problem?",
    ],
)
def test_a_place_where_things_go_is_a_destination(engine, text: str) -> None:
    s = situation(engine, text)
    assert "IR" in s.destinations and "dest_regime:embargo" in s.facts
    assert "IR" not in s.nationalities


@pytest.mark.parametrize(
    "text",
    [
        "My new PhD student is Iranian and studies here on an F-1.",
        "an Iranian postdoc in my lab wants to see the firmware",
        "Our intern is a citizen of Iran working at our Boston office.",
        "we are hiring an Iranian national as a software engineer",
        "A student from Iran joined my group this fall.",
        "she holds an Iranian passport and works in our lab",
    ],
)
def test_a_persons_citizenship_is_a_nationality(engine, text: str) -> None:
    s = situation(engine, text)
    assert "IR" in s.nationalities and "nat_regime:embargo" in s.facts
    assert "IR" not in s.destinations


@pytest.mark.parametrize(
    "text",
    [
        "I'm writing a paper about Iranian malware campaigns.",
        "We study the Iranian internet censorship system from public data.",
        "Our talk is on North Korean hacking groups.",
        "I'm building a Persian-language corpus; is that an Iran sanctions issue?",
        "A blog post on Cuban music history.",
        "Research on Iran's nuclear program using open sources.",
    ],
)
def test_subject_matter_is_only_a_topic(engine, text: str) -> None:
    s = situation(engine, text)
    assert not s.destinations and not s.nationalities, s
    assert s.topics


@pytest.mark.parametrize(
    "text",
    [
        "My colleague was born in Iran but is a U.S. citizen.",
        "She is Iranian-born and naturalized years ago.",
        "a Tehran-born engineer with US citizenship",
        "He grew up in Iran and became a naturalized US citizen.",
        "Our engineer, born in Cuba, is an American citizen.",
    ],
)
def test_birthplace_of_a_us_citizen_is_not_a_nationality(engine, text: str) -> None:
    s = situation(engine, text)
    assert "status:us_citizen" in s.facts
    assert "nat_regime:embargo" not in s.facts
    assert engine.assess(normalise(text)).level.rank <= R.rank


# ---------------------------------------------------------------- status


@pytest.mark.parametrize(
    "text",
    [
        "Our new hire has a green card. Can she see the 5E002 source?",
        "He is a lawful permanent resident from Russia.",
        "She was admitted for permanent residence last year and works on our crypto code.",
        "The engineer is an LPR (Chinese citizen) in our Texas office.",
        "my postdoc is a foreign national but holds a green card",
        "a Russian citizen who is a US permanent resident",
    ],
)
def test_permanent_residents_are_not_foreign_persons(engine, text: str) -> None:
    s = situation(engine, text)
    assert "status:permanent_resident" in s.facts
    assert "status:foreign_person" not in s.facts


@pytest.mark.parametrize(
    "text",
    [
        "She is in the process of getting a green card.",
        "He applied for a green card but it is still pending.",
        "my postdoc is waiting for her green card interview",
        "our engineer hopes to get permanent residency next year",
        "she doesn't have a green card yet, she's on an H-1B",
    ],
)
def test_green_card_applicants_are_still_foreign_persons(engine, text: str) -> None:
    s = situation(engine, text)
    assert "status:foreign_person" in s.facts
    assert "status:permanent_resident" not in s.facts


@pytest.mark.parametrize(
    "text",
    [
        "Are individuals with dual citizenship (one of which is U.S.) allowed access?",
        "a dual national with US citizenship joins the lab",
        "she holds dual nationality, American and Chinese",
    ],
)
def test_dual_nationals_with_us_citizenship_are_us_persons(engine, text: str) -> None:
    s = situation(engine, text)
    assert "status:us_citizen" in s.facts
    assert "status:foreign_person" not in s.facts


@pytest.mark.parametrize(
    "text",
    [
        "a dual national of France and Germany will see the code",
        "our dual citizen (Iranian and Canadian) postdoc",
    ],
)
def test_dual_nationals_without_us_citizenship_stay_foreign(engine, text: str) -> None:
    s = situation(engine, text)
    assert "status:us_citizen" not in s.facts
    assert "status:foreign_person" in s.facts


@pytest.mark.parametrize(
    "text",
    [
        "The visiting scholar is a refugee granted asylum here.",
        "Our developer is an asylee living in Ohio.",
        "she came as a refugee and works in our lab",
        "He is a protected individual under 8 U.S.C. 1324b.",
        "an asylee on my team wants to see the code",
    ],
)
def test_protected_individuals(engine, text: str) -> None:
    assert "status:protected_individual" in situation(engine, text).facts


@pytest.mark.parametrize(
    "text",
    [
        "We have an H-1B engineer on the team.",
        "an international student will work on the project",
        "My postdoc is on a J-1 visa.",
        "a visiting researcher from Germany joins next month",
        "one of our devs is a non-US citizen",
    ],
)
def test_foreign_persons(engine, text: str) -> None:
    assert "status:foreign_person" in situation(engine, text).facts


def test_negated_foreign_nationals_do_not_make_a_foreign_person(engine) -> None:
    s = situation(
        engine,
        "Everyone on our team is a U.S. citizen, no foreign nationals are involved and we "
        "share design documents in our Boston office.",
    )
    assert "status:foreign_person" not in s.facts
    assert "status:us_persons_only" in s.facts


# ---------------------------------------------------------------- public vs non-public


@pytest.mark.parametrize(
    "text",
    [
        "the paper came out in an IEEE journal last year",
        "it's already on arXiv",
        "We will publish all the results.",
        "the code is on a public GitHub repo",
        "slides from my talk at an open conference",
        "the results are publicly available on our website",
    ],
)
def test_public_items(engine, text: str) -> None:
    items = set(situation(engine, text).items)
    assert items & {"published", "public_code"}, items


@pytest.mark.parametrize(
    "text",
    [
        "our unpublished exploit framework",
        "the tool was never released",
        "code in our private repo",
        "proprietary source code of the sponsor",
        "confidential design documents",
    ],
)
def test_non_public_items(engine, text: str) -> None:
    items = set(situation(engine, text).items)
    assert items & {"nonpublic_code", "controlled_technology"}, items


# ---------------------------------------------------------------- levels from roles


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("Can I share my published paper with an Iranian student in my lab?", N, N),
        ("Can my Iranian F-1 student attend my graduate course on network security?", N, N),
        ("My Iranian postdoc wants to see our unpublished 4E001.c exploit technology.", P, P),
        ("Can a Cuban intern here on a J-1 work on our unpublished 5D002 crypto library?", P, P),
        ("Can I email our non-public scanner code to a developer in Tehran?", P, P),
        ("I'm travelling to Cuba for a conference. Anything I should know?", R, R),
        ("I'm taking my laptop to a workshop in Havana.", E, E),
        ("A green card holder from Russia wants our 5D002 source at our Texas office.", N, N),
        ("Can a U.S. citizen colleague in our lab see the controlled design files?", N, N),
        ("We want to collaborate with a company on the Entity List.", E, E),
        ("Do I need an export licence for this?", R, R),
        ("Can they share their results with the company?", R, R),
        ("Our sponsor wants the right to approve or block any publication.", E, E),
    ],
)
def test_levels_follow_roles(engine, text: str, low: Level, high: Level) -> None:
    result = engine.assess(normalise(text))
    assert low.rank <= result.level.rank <= high.rank, [(f.id, f.level.value) for f in result.flags]


def test_us_citizen_abroad_is_an_export_to_where_they_are(engine) -> None:
    result = engine.assess(
        normalise(
            "Can I send our unpublished 4E001.c technology to a U.S. citizen colleague in Beijing?"
        )
    )
    assert result.level.rank >= E.rank


@pytest.mark.parametrize(
    "text",
    [
        "Ir\u0430n: can I ship intrusion software to Teh\u200bran?",
        "Can I ship intrusion software to \uff34\uff45\uff48\uff52\uff41\uff4e?",
        "Can I ship intrusion software to Teh\u00adran?",
        "Can I ship intrusion software to T\u0435hran?",
    ],
)
def test_look_alike_evasion_keeps_the_level(engine, text: str) -> None:
    assert engine.assess(normalise(text)).level is P


@pytest.mark.parametrize(
    "text",
    [
        "We exploit the parallelism of GPUs in our simulation.",
        "My lab studies dental implants.",
        "We use disease surveillance data from public health agencies.",
        "I'm doing a study on Syrian hamsters.",
        "Cuba Libre cocktails after the conference",
    ],
)
def test_look_alike_words_state_nothing(engine, text: str) -> None:
    s = situation(engine, text)
    assert not {"intrusion", "surveillance"} & set(s.items)
    assert not s.destinations and not s.nationalities


def test_missing_facts_are_listed_and_answerable(engine) -> None:
    s = situation(engine, "Can I send the code to my collaborator?")
    assert "publication" in s.missing
    later = engine.assess(
        "It is published on GitHub.",
        [Turn(role="user", content="Can I send the code to my collaborator?")],
    )
    assert "publication" not in later.situation.missing


# ---------------------------------------------------------------- how people word it


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        # a classification request, not a definition question
        (
            "What is the ECCN of Sophus?",
            {"activity:ask_classification"},
            {"activity:ask_definition"},
        ),
        (
            "we need the export control classification number for csv-parser",
            {"activity:ask_classification"},
            set(),
        ),
        # "Export Control Certification Number" is a misnamed ECCN, not the I-129 certification
        (
            "Does Leptonica have an ECCN (Export Control Certification Number)?",
            {"activity:ask_classification"},
            {"activity:deemed_export_certification"},
        ),
        # ... while a definition question stays one
        (
            "What is an 'Export Control Classification Number' (ECCN)?",
            {"activity:ask_definition"},
            {"activity:ask_classification"},
        ),
        (
            "What constitutes the 'use' of a controlled commodity?",
            {"activity:ask_definition", "item:hardware"},
            set(),
        ),
        # visiting a website is not travel; a site visit abroad is
        (
            "i wanted to visit snort website and i couldn't access it",
            {"activity:block_users"},
            {"activity:travel"},
        ),
        ("I will visit the field site next month", {"activity:travel"}, set()),
        ("We want to go to Cuba as tourists", {"activity:travel"}, set()),
        ("Our international grad students want to see the data", {"activity:release"}, set()),
        # a customer buying from us is a sale, not an import
        ("A company wants to buy from us", {"activity:service"}, {"activity:import"}),
        ("We plan to buy servers from a supplier", {"activity:import", "item:hardware"}, set()),
        # protective software is not intrusion software; malware samples are
        (
            "Is exporting anti-virus and anti-malware software authorized?",
            set(),
            {"item:intrusion"},
        ),
        ("We collected malware samples for the study", {"item:intrusion"}, set()),
        ("What FOSS software is trade restricted?", {"item:public_code"}, set()),
        ("Can we ship physical items developed in the project?", {"item:hardware"}, set()),
        ("Is anything excluded from export control laws?", {"activity:ask_definition"}, set()),
        # the Automated Export System is not the cipher
        (
            "When is an ECCN required in the Automated Export System (AES)?",
            set(),
            {"item:encryption"},
        ),
        ("Our app encrypts files with AES-256", {"item:encryption"}, set()),
    ],
)
def test_everyday_wording_states_the_right_facts(
    engine, text: str, present: set[str], absent: set[str]
) -> None:
    facts = set(situation(engine, text).facts)
    assert present <= facts, present - facts
    assert not absent & facts, absent & facts


def test_weighing_both_sides_is_not_a_negation(engine) -> None:
    text = "Is this open source software subject or not to Encryption rules?"
    assert "item:encryption" in set(situation(engine, text).facts)
    denied = situation(engine, "This is not encryption software.")
    assert "item:encryption" not in set(denied.facts)


def test_the_governing_party_of_north_korea_names_the_country(engine) -> None:
    s = situation(engine, "Can we sell our router to the Workers' Party of Korea?")
    assert "KP" in {*s.destinations, *s.nationalities, *s.topics}
