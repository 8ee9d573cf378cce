"""Screening on the real OFAC SDN list in ../shared/data/sanctions (legacy CSV + alt + add).

The list is loaded once per module through the index cache in .advisor/ (git-ignored), so a
second run pays about 0.2 s instead of a few seconds. Recall samples are drawn from the list
itself with a fixed seed: exact names, swapped order, given name + surname only, one typo,
transliteration variants, legal forms dropped and listed aliases. Innocent names are common
personal names, universities, companies and dictionary words.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable

import pytest

from advisor.screening import Party, Screener
from advisor.screening.names import name_tokens
from tests.conftest import REPO, shared_path

TARGETS = {
    "exact": 0.95,
    "swapped": 0.95,
    "given+surname": 0.90,
    "typo": 0.95,
    "transliteration": 0.90,
    "legal form dropped": 0.95,
    "alias": 0.95,
}
PER_KIND = 60


@pytest.fixture(scope="module")
def real() -> Screener:
    path = shared_path("data", "sanctions", "sdn.csv")
    return Screener(path, cache_dir=REPO / ".advisor" / "test-screening-cache")


def test_real_files_load_as_downloaded(real: Screener) -> None:
    loaded = real.loaded
    assert loaded.format == "OFAC SDN legacy CSV" and loaded.skipped == 0
    assert len(loaded.parties) == 14965
    types = Counter(p.type for p in loaded.parties)
    assert types == {"entity": 6884, "individual": 6854, "vessel": 851, "aircraft": 376}
    by_id = {p.id: p for p in loaded.parties}
    bank = by_id["sdn-306"]
    assert "NATIONAL BANK OF CUBA" in bank.alt_names and "BNC" in bank.alt_names
    assert any("Zurich" in a for a in bank.addresses)
    strukov = by_id["sdn-47819"]
    assert strukov.dates_of_birth == ("10 Sep 1958",) and strukov.nationalities == ("Russia",)
    assert {f.name for f in loaded.files} == {"sdn.csv", "alt.csv", "add.csv"}
    assert loaded.date_source.startswith("file modification time")
    aliases = sum(len(p.alt_names) for p in loaded.parties)
    assert aliases > 20000  # alt.csv (minus rows of unknown entries) plus remarks a.k.a.


def _real_rows(name: str) -> list[str]:
    text = shared_path("data", "sanctions", name).read_text("latin-1")
    return [ln for ln in text.splitlines() if ln.strip() and ln.strip() != "\x1a"]


@pytest.mark.parametrize(("name", "rows"), [("alt.csv", 20260), ("add.csv", 24776)])
def test_real_companion_files_are_joined_and_unknown_entries_ignored(
    real: Screener, name: str, rows: int
) -> None:
    assert len(_real_rows(name)) == rows
    known = {p.id for p in real.parties}
    unknown = {f"sdn-{ln.split(',', 1)[0]}" for ln in _real_rows(name)} - known
    assert unknown  # the README says a few rows belong to entries not in this sdn.csv
    assert all(p.id in known for p in real.parties)


def test_real_questions_name_strukov(real: Screener) -> None:
    flags = real("We were asked to host Konstantin Strukov for a lab visit; is that OK?")
    assert any(f.id == "listed-party:sdn-47819" for f in flags)


# --------------------------------------------------------------------------- recall


def _person(p: Party) -> tuple[list[str], list[str]] | None:
    if p.type != "individual" or "," not in p.name:
        return None
    last, _, given = p.name.partition(",")
    return last.split(), given.split()


def _typo(rng: random.Random, name: str) -> str:
    words = name.split()
    i = max(range(len(words)), key=lambda k: len(words[k]))
    w = words[i]
    if len(w) < 5:
        return name
    j = rng.randrange(1, len(w) - 1)
    letter = rng.choice([c for c in "aeioubcdgkmnrst" if c != w[j].lower()])
    words[i] = w[:j] + (letter.upper() if w[j].isupper() else letter) + w[j + 1 :]
    return " ".join(words)


# The test's own transliteration variants (what another writer would produce), not the
# matcher's: the matcher compares parts phonetically and has no such table.
VARIANTS = [
    (r"ks", "x"),
    (r"x", "ks"),
    (r"iy\b", "i"),
    (r"ey\b", "ei"),
    (r"yu", "iu"),
    (r"ya", "ia"),
    (r"kh", "h"),
    (r"ou", "u"),
    (r"oo", "u"),
    (r"ee", "i"),
    (r"q", "k"),
    (r"\bmoham+ad\b", "muhammad"),
    (r"\bmuham+ad\b", "mohammed"),
    (r"\bmoham+ed\b", "muhammad"),
    (r"\byusuf\b", "yousef"),
    (r"\bhusayn\b", "hussein"),
    (r"\bhusse?in\b", "husayn"),
    (r"\bali\b", "aly"),
    (r"sh", "ch"),
    (r"\bzh", "j"),
    (r"dj", "j"),
    (r"ph", "f"),
]
CYRILLIC = str.maketrans(
    {
        "a": "а",
        "b": "б",
        "v": "в",
        "g": "г",
        "d": "д",
        "e": "е",
        "z": "з",
        "i": "и",
        "k": "к",
        "l": "л",
        "m": "м",
        "n": "н",
        "o": "о",
        "p": "п",
        "r": "р",
        "s": "с",
        "t": "т",
        "u": "у",
        "f": "ф",
        "c": "ц",
        "y": "ы",
    }
)


def _cyrillic(word: str) -> str:
    w = word.lower()
    for latin, cyr in (
        ("shch", "щ"),
        ("kh", "х"),
        ("zh", "ж"),
        ("ch", "ч"),
        ("sh", "ш"),
        ("yu", "ю"),
        ("ya", "я"),
        ("iy", "ий"),
        ("yy", "ый"),
    ):
        w = w.replace(latin, cyr)
    return w.translate(CYRILLIC).capitalize()


def _transliterated(p: Party, rng: random.Random) -> str | None:
    parts = _person(p)
    if parts is None:
        return None
    last, given = parts
    words = [*given, *last]
    if any("RUSSIA" in prog or "UKRAINE" in prog for prog in p.programs) and rng.random() < 0.3:
        return " ".join(_cyrillic(w) for w in words)
    for k in rng.sample(range(len(words)), len(words)):
        low = words[k].lower()
        for pattern, repl in VARIANTS:
            changed = re.sub(pattern, repl, low, count=1)
            if changed != low:
                words[k] = changed.capitalize()
                return " ".join(words)
    return None


LEGAL = re.compile(
    r",?\s*\b(LIMITED LIABILITY COMPANY|OPEN JOINT STOCK COMPANY|CLOSED JOINT STOCK COMPANY|"
    r"PUBLIC JOINT STOCK COMPANY|JOINT STOCK COMPANY|OBSHCHESTVO S OGRANICHENNOI "
    r"OTVETSTVENNOSTYU|AKTSIONERNOE OBSHCHESTVO|S\.A\. DE C\.V\.|S\. DE R\.L\. DE C\.V\.|"
    r"CO\., LTD\.|COMPANY LIMITED|L\.L\.C\.|LLC|OOO|OJSC|PJSC|CJSC|JSC|GMBH|S\.A\.|LTD\.|"
    r"LIMITED|INC\.|FZE|FZCO|PTE\. LTD\.)(?=\W|$)",
)


def _without_legal_form(p: Party) -> str | None:
    if p.type != "entity":
        return None
    stripped = re.sub(r"\s+", " ", LEGAL.sub("", p.name)).strip(" ,")
    if stripped == p.name or len(name_tokens(stripped)) < 1 or len(stripped) < 4:
        return None
    return stripped


def _alias(p: Party, rng: random.Random) -> str | None:
    multi = [a for a in p.alt_names if len(name_tokens(a)) >= 2]
    if not multi:
        return None
    alias = rng.choice(multi)
    if p.type == "individual" and "," in alias:
        last, _, given = alias.partition(",")
        return f"{given.strip()} {last.strip()}"
    return alias


def _samples(parties: list[Party], kind: str, rng: random.Random) -> list[tuple[str, Party]]:
    makers: dict[str, Callable[[Party], str | None]] = {
        "exact": lambda p: p.name,
        "swapped": lambda p: (
            " ".join([*parts[1], *parts[0]]) if (parts := _person(p)) and parts[1] else None
        ),
        "given+surname": lambda p: (
            f"{parts[1][0]} {' '.join(parts[0])}"
            if (parts := _person(p)) and len(name_tokens(" ".join(parts[1]))) >= 2
            else None
        ),
        "typo": lambda p: (
            t if (t := _typo(rng, p.name.replace(",", ""))) != p.name.replace(",", "") else None
        ),
        "transliteration": lambda p: _transliterated(p, rng),
        "legal form dropped": _without_legal_form,
        "alias": lambda p: _alias(p, rng),
    }
    out: list[tuple[str, Party]] = []
    for p in rng.sample(parties, len(parties)):
        query = makers[kind](p)
        if query and len(query) <= 300:
            out.append((query, p))
        if len(out) == PER_KIND:
            break
    return out


def _recall(real: Screener, kind: str) -> tuple[float, list[str]]:
    rng = random.Random(f"screening-{kind}")
    samples = _samples(real.parties, kind, rng)
    assert len(samples) == PER_KIND
    missed = [q for q, p in samples if p.id not in {m.party.id for m in real.screen(q)}]
    return 1 - len(missed) / len(samples), missed


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(TARGETS))
def test_recall_on_seeded_samples(real: Screener, kind: str) -> None:
    recall, missed = _recall(real, kind)
    print(f"recall[{kind}] = {recall:.3f}; missed: {missed}")
    assert recall >= TARGETS[kind], missed


@pytest.mark.slow
def test_questions_naming_people_by_given_name_and_surname_flag(real: Screener) -> None:
    rng = random.Random("screening-questions")
    samples = _samples(real.parties, "given+surname", rng)
    template = "A visiting scholar, {name}, asked for our radar code. May we share it?"
    missed = [
        q
        for q, p in samples
        if f"listed-party:{p.id}" not in {f.id for f in real(template.format(name=q.title()))}
    ]
    print(f"question recall[given+surname] = {1 - len(missed) / len(samples):.3f}")
    assert 1 - len(missed) / len(samples) >= 0.9, missed


# --------------------------------------------------------------------------- false alarms

COMMON_NAMES = [
    "John Smith",
    "Emily Johnson",
    "Michael Brown",
    "Sarah Davis",
    "David Wilson",
    "Jennifer Taylor",
    "James Anderson",
    "Laura Thomas",
    "Robert Jackson",
    "Anna Schmidt",
    "Thomas Müller",
    "Sophie Martin",
    "Lucas Bernard",
    "Giulia Rossi",
    "Hiroshi Tanaka",
    "Yuki Sato",
    "Priya Sharma",
    "Rahul Gupta",
    "Maria Garcia",
    "Olivia Williams",
]
UNIVERSITIES = [
    "Imperial College London",
    "University of Toronto",
    "ETH Zurich",
    "Massachusetts Institute of Technology",
    "Stanford University",
    "University of Cambridge",
    "Tsinghua University",
    "University of Tokyo",
    "Technical University of Munich",
    "Sorbonne University",
    "University of Melbourne",
    "Seoul National University",
    "McGill University",
    "University of Cape Town",
    "Indian Institute of Science",
]
COMPANIES = [
    "Siemens AG",
    "Toyota Motor Corporation",
    "Nestle S.A.",
    "Samsung Electronics Co., Ltd.",
    "Microsoft Corporation",
    "BASF SE",
    "Unilever PLC",
    "Sony Group Corporation",
    "Volkswagen AG",
    "Nokia Oyj",
    "Ericsson AB",
    "Philips N.V.",
    "Airbus SE",
    "Infosys Limited",
    "Shopify Inc.",
]
WORDS = [
    "Harmony",
    "Window",
    "Garden",
    "Bicycle",
    "Thunder",
    "Lantern",
    "Meadow",
    "Pencil",
    "Mountain",
    "Orchard",
]
INNOCENT = COMMON_NAMES + UNIVERSITIES + COMPANIES + WORDS
ORG_QUESTIONS = [
    "Can I share our simulation code with the {org} team?",
    "The Forest Ecology group at {org} wants our drone imagery. Is that fine?",
    "We plan a joint paper with colleagues from {org} on wind turbines.",
]


@pytest.mark.slow
def test_false_alarms_on_innocent_names(real: Screener) -> None:
    assert len(INNOCENT) == 60
    hits = {n: [m.party.name for m in real.screen(n)] for n in INNOCENT}
    false = {n: h for n, h in hits.items() if h}
    print(f"false positives: {len(false)} of {len(INNOCENT)}: {false}")
    assert len(false) <= 3, false


@pytest.mark.slow
@pytest.mark.parametrize("template", ORG_QUESTIONS)
def test_no_innocent_organisation_in_a_question_is_flagged(real: Screener, template: str) -> None:
    flagged = {}
    for org in UNIVERSITIES + COMPANIES:
        flags = [f for f in real(template.format(org=org)) if f.id.startswith("listed-party:")]
        if flags:
            flagged[org] = [f.reason[:80] for f in flags]
    assert flagged == {}
