"""Restricted-party screening on the bundled SAMPLE: names, questions, CSL layouts, reload, CLI.

Official OFAC layouts, bad rows, the cache and list freshness are in test_screening_formats.py;
the real SDN list in test_screening_real.py.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from advisor.errors import InputError, RulesError
from advisor.models import Level
from advisor.screening import (
    Screener,
    list_code,
    load_screening_list,
    normalise_name,
    screener_from_settings,
)
from tests.conftest import make_settings

SAMPLE = (
    Path(__file__).resolve().parent.parent.parent
    / "corpus"
    / "screening"
    / "consolidated-screening-list-sample.csv"
)
EL = "Entity List (EL) - Bureau of Industry and Security"
SDN = "Specially Designated Nationals (SDN) - Treasury Department"


@pytest.fixture(scope="module")
def screener() -> Screener:
    return Screener(SAMPLE, threshold=88)


# --------------------------------------------------------------------------- names

HITS = [
    # (typed name, primary name expected among the matches, list code)
    ("Harbin Institute of Technology", "Harbin Institute of Technology", "EL"),
    ("HARBIN INSTITUTE OF TECHNOLOGY", "Harbin Institute of Technology", "EL"),
    ("Harbin Inst. of Tech.", "Harbin Institute of Technology", "EL"),
    ("Hárbín Institute of Technology", "Harbin Institute of Technology", "EL"),
    ("Harbin Institue of Technology", "Harbin Institute of Technology", "EL"),
    ("Harbin Gongye Daxue", "Harbin Institute of Technology", "EL"),
    ("HIT", "Harbin Institute of Technology", "EL"),
    ("Harbin Engineering Univ.", "Harbin Engineering University", "EL"),
    ("huawei technologies co ltd", "Huawei Technologies Co., Ltd.", "EL"),
    ("Huawei Technologies Co., Ltd.", "Huawei Technologies Co., Ltd.", "EL"),
    ("HUAWEI", "Huawei Technologies Co., Ltd.", "EL"),
    ("NUDT", "National University of Defense Technology", "EL"),
    ("National Univ. of Defense Tech.", "National University of Defense Technology", "EL"),
    (
        "National University of Defence Technology",
        "National University of Defense Technology",
        "EL",
    ),
    ("Beijing Univ. of Aeronautics & Astronautics", "Beihang University", "EL"),
    ("BUAA", "Beihang University", "EL"),
    ("Northwestern Polytechnic University", "Northwestern Polytechnical University", "EL"),
    ("Sichuan Univ", "Sichuan University", "EL"),
    ("Hikvision", "Hangzhou Hikvision Digital Technology Co., Ltd.", "EL"),
    ("Hik Vision", "Hangzhou Hikvision Digital Technology Co., Ltd.", "EL"),
    (
        "Hangzhou Hikvision Digital Technology Co Ltd",
        "Hangzhou Hikvision Digital Technology Co., Ltd.",
        "EL",
    ),
    ("iFlytek", "iFlytek Co., Ltd.", "EL"),
    ("SenseTime", "Beijing SenseTime Technology Development Co., Ltd.", "EL"),
    ("Positive Technologies", "Positive Technologies", "SDN"),
    ("Positive Tech", "Positive Technologies", "EL"),
    (
        "Moscow Institute of Physics & Technology",
        "Moscow Institute of Physics and Technology",
        "EL",
    ),
    ("Bauman Moscow State Technical University", "Bauman Moscow State Technical University", "EL"),
    ("NSO Group", "NSO Group Technologies Ltd.", "EL"),
    ("Candiru Ltd", "Candiru", "EL"),
    ("Intellexa SA", "Intellexa S.A.", "EL"),
    ("COSEINC", "Computer Security Initiative Consultancy PTE. LTD.", "EL"),
    (
        "Computer Security Initiative Consultancy Pte Ltd",
        "Computer Security Initiative Consultancy PTE. LTD.",
        "EL",
    ),
    ("Islamic Revolutionary Guards Corps", "Islamic Revolutionary Guard Corps", "SDN"),
    ("IRGC", "Islamic Revolutionary Guard Corps", "SDN"),
    ("Reconnaissance General Bureau", "Reconnaissance General Bureau", "SDN"),
    ("GRU", "Main Intelligence Directorate", "SDN"),
    ("Glavnoe Razvedyvatel'noe Upravlenie", "Main Intelligence Directorate", "SDN"),
]


@pytest.mark.parametrize(("query", "primary", "code"), HITS)
def test_hits(screener: Screener, query: str, primary: str, code: str) -> None:
    matches = screener.screen(query)
    found = {(m.party.name, c) for m in matches for c in m.party.codes}
    assert (primary, code) in found, [m.to_dict() for m in matches]
    assert all(m.score >= 88 for m in matches)


NEAR_MISSES = [
    "Harvard Institute of Technology",
    "Harbin Noodle Company",
    "Positive Psychology Center",
    "Beijing Normal University",
    "Massachusetts Institute of Technology",
    "MIT",
    "Moscow State University",
    "Harbin",
    "Sichuan Airlines",
    "Institute of Technology",
    "National University of Singapore",
    "Technical University of Munich",
    "General Bureau of Statistics",
    "Harbin Medical University",
    "Harbin University of Science and Technology",
    "Beijing Institute of Technology",
    "Nanjing University of Aeronautics and Astronautics",
    "University of Tehran",
    "Northwestern University",
]


@pytest.mark.parametrize("query", NEAR_MISSES)
def test_near_misses_do_not_match(screener: Screener, query: str) -> None:
    assert screener.screen(query) == []


def test_near_miss_shows_below_threshold_only(screener: Screener) -> None:
    assert screener.screen("Beihang") == []
    near = screener.screen("Beihang", threshold=60)
    assert near and near[0].party.name == "Beihang University" and near[0].score < 88


COUNTRY = [
    # (query, country, expected primary name, score change, note fragment)
    ("Positive Technologies", "RU", "Positive Technologies", 0.0, "agrees"),
    ("Positive Tech", "RU", "Positive Technologies", 5.0, "agrees"),
    ("Positive Technologies", "CN", "Positive Technologies", -10.0, "differs"),
    ("Intellexa", "IE", "Intellexa Limited", 0.0, "agrees"),
    ("Intellexa", "gr", "Intellexa S.A.", 0.0, "agrees"),
    ("Huawei", "US", "Huawei Technologies Co., Ltd.", -10.0, "differs"),
]


@pytest.mark.parametrize(("query", "country", "name", "delta", "note"), COUNTRY)
def test_country_raises_or_lowers_the_score(
    screener: Screener, query: str, country: str, name: str, delta: float, note: str
) -> None:
    plain = {m.party.name: m for m in screener.screen(query, threshold=50)}
    given = {m.party.name: m for m in screener.screen(query, country=country, threshold=50)}
    assert given[name].score == pytest.approx(min(100.0, plain[name].score + delta))
    assert any(note in n and country.upper() in n for n in given[name].notes)
    assert plain[name].notes == ()


def test_details_move_a_near_hit_across_the_threshold(tmp_path: Path) -> None:
    path = tmp_path / "csl.csv"
    _write_csv(
        path,
        [
            {
                "name": "Zyxwv Photonics Research Institute",
                "source": EL,
                "addresses": "12 Optics Road, Wuhan, CN",
            },
            {
                "name": "KOVALSKY, Pyotr Andreyevich",
                "source": SDN,
                "type": "Individual",
                "dates_of_birth": "10 Sep 1958",
                "nationalities": "RU",
            },
        ],
    )
    screener = Screener(path, max_age_days=100_000)
    base = screener.screen("Zyxwv Fotonics Research Institute", threshold=50)[0].score
    assert 85 <= base < 100
    lowered = screener.screen("Zyxwv Fotonics Research Institute", country="US", threshold=50)
    assert lowered[0].score == pytest.approx(base - 10)
    assert screener.screen("Zyxwv Fotonics Research Institute", country="US", threshold=88) == []
    (raised,) = screener.screen(
        "Zyxwv Fotonics Research Institute", country="CN", address="Wuhan", threshold=50
    )
    assert raised.score == pytest.approx(min(100.0, base + 5 + 4))
    assert any("Wuhan" in n for n in raised.notes)
    (person,) = screener.screen("Pyotr Kovalsky", dob="1958-09-10")
    assert any("date of birth agrees" in n for n in person.notes)
    assert screener.screen("Pyotr Kovalsky", dob="1990") == [] or all(
        "differs" in " ".join(m.notes) for m in screener.screen("Pyotr Kovalsky", dob="1990")
    )
    (year,) = screener.screen("Pyotr Kovalsky", dob="1958", threshold=50)
    assert any("year of birth agrees" in n for n in year.notes)
    (other,) = screener.screen("Pyotr Kovalsky", dob="1990", threshold=50)
    assert other.score < person.score - 15 and any("differs" in n for n in other.notes)
    with pytest.raises(InputError, match="date of birth"):
        screener.screen("Pyotr Kovalsky", dob="last spring")


@pytest.mark.parametrize(
    ("query", "country"),
    [
        ("", None),
        ("   ", None),
        ("Huawei", "China"),
        ("Huawei", "C1"),
        ("x" * 301, None),
        ("---", None),
    ],
)
def test_bad_input(screener: Screener, query: str, country: str | None) -> None:
    with pytest.raises(InputError):
        screener.screen(query, country=country)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Huawei Technologies Co., Ltd.", "huawei technology"),
        ("Harbin Inst. of Tech.", "harbin institute technology"),
        ("Intellexa S.A.", "intellexa"),
        ("AO Positive Technologies", "positive technology"),
        ("Moscow Institute of Physics & Technology", "moscow institute physics technology"),
        ("Zürich Univ.", "zurich university"),
        ("OOO", "ooo"),
    ],
)
def test_normalise_name(raw: str, normal: str) -> None:
    assert normalise_name(raw) == normal


@pytest.mark.parametrize(
    ("source", "code"),
    [
        (EL, "EL"),
        (SDN, "SDN"),
        ("Military End User (MEU) List - Bureau of Industry and Security", "MEU"),
        ("Specially designated nationals", "SDN"),
    ],
)
def test_list_code(source: str, code: str) -> None:
    assert list_code(source) == code


# --------------------------------------------------------------------------- questions

QUESTIONS = [
    # (question, expected level or None, expected matched primary names)
    (
        "Can I share my fuzzer with a PhD student at Harbin Institute of Technology?",
        Level.ESCALATE,
        {"Harbin Institute of Technology"},
    ),
    (
        "Can I share my fuzzer with the IRGC?",
        Level.PROHIBITED,
        {"Islamic Revolutionary Guard Corps"},
    ),
    ("Can I share my fuzzer with a PhD student at MIT?", None, set()),
    (
        "We plan a joint paper with researchers from NUDT and Beihang University.",
        Level.ESCALATE,
        {"National University of Defense Technology", "Beihang University"},
    ),
    (
        "A postdoc from the Reconnaissance General Bureau wants our code.",
        Level.PROHIBITED,
        {"Reconnaissance General Bureau"},
    ),
    (
        "Is it OK to demo our exploit at Positive Technologies' conference?",
        Level.PROHIBITED,
        {"Positive Technologies"},
    ),
    # A coined company name (no dictionary word) flags alone; a buyer's question is still
    # about a listed party, whatever the level the rules give a purchase.
    (
        "Our lab bought Hikvision cameras for the testbed.",
        Level.ESCALATE,
        {"Hangzhou Hikvision Digital Technology Co., Ltd."},
    ),
    (
        "Our lab bought Hikvision cameras from a reseller in China for the testbed.",
        Level.ESCALATE,
        {"Hangzhou Hikvision Digital Technology Co., Ltd."},
    ),
    (
        "I met someone from huawei technologies at a conference.",
        Level.ESCALATE,
        {"Huawei Technologies Co., Ltd."},
    ),
    (
        "Professor Li Wei of Harbin Inst. of Tech. asked for our code.",
        Level.ESCALATE,
        {"Harbin Institute of Technology"},
    ),
    (
        "A visitor from Intellexa S.A. asked about our exploit chain.",
        Level.ESCALATE,
        {"Intellexa S.A.", "Intellexa Limited"},
    ),
    ("I work with HEU on underwater acoustics.", None, set()),
    ("I work with HEU in Harbin on acoustics.", Level.ESCALATE, {"Harbin Engineering University"}),
    ("hit the button twice to start the fuzzer", None, set()),
    ("Hit rate of the fuzzer is low; can I publish it?", None, set()),
    ("The positive psychology center wants our dataset.", None, set()),
    ("Harvard Institute of Technology invited me to speak.", None, set()),
    ("Can I send code to a student at the University of Tehran?", None, set()),
    ("Collaboration with the Beijing Normal University on teaching.", None, set()),
    ("My GRU model takes RGB images; can I open-source it?", None, set()),
    ("Does the MIT licence allow commercial use?", None, set()),
]


@pytest.mark.parametrize(("question", "level", "names"), QUESTIONS)
def test_flags_for_text(
    screener: Screener, question: str, level: Level | None, names: set[str]
) -> None:
    flags = screener.flags_for_text(question)
    matched = {m.party.name for m in screener.matches_in_text(question)}
    assert matched == names
    if level is None:
        assert flags == []
        return
    assert Level.highest([f.level for f in flags]) == level
    for flag in flags:
        assert flag.id.startswith("listed-party:")
        assert flag.level.rank >= Level.ESCALATE.rank
        assert flag.next_step.startswith("Do not proceed")
        assert "score" in flag.reason and flag.matched


def test_flag_contents(screener: Screener) -> None:
    (flag,) = screener.flags_for_text("Can I share data with Harbin Institute of Technology?")
    assert flag.id == "listed-party:harbin-institute-of-technology-el"
    assert flag.level == Level.ESCALATE
    assert "Entity List (EL)" in flag.reason and "100/100" in flag.reason
    assert "744.11" in flag.citation and "Supplement No. 4 to Part 744" in flag.citation
    (sdn,) = screener.flags_for_text("Would the IRGC be a problem?")
    assert sdn.level == Level.PROHIBITED
    assert "50%" in sdn.citation and "embargo" in sdn.reason
    assert screener("Would the IRGC be a problem?") == [sdn]


def test_embargoed_country_is_prohibited_even_off_sdn(tmp_path: Path) -> None:
    path = tmp_path / "csl.csv"
    _write_csv(path, [{"name": "Tehran Quantum Optics Lab", "source": EL, "country": "IR"}])
    (flag,) = Screener(path).flags_for_text("A student from Tehran Quantum Optics Lab asked.")
    assert flag.level == Level.PROHIBITED and "embargo" in flag.reason


# --------------------------------------------------------------------------- layouts


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    fields = sorted({k for row in rows for k in row})
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def test_csv_layout_with_extra_columns(tmp_path: Path) -> None:
    path = tmp_path / "csl.csv"
    _write_csv(
        path,
        [
            {
                "_id": "abc123",
                "name": "Example Photonics Co., Ltd.",
                "source": EL,
                "alt_names": "ExPho; Example Optics",
                "addresses": "1 Road, Wuhan, CN; 2 Street, HK",
                "programs": "EAR; X",
                "federal_register_notice": "00 FR 0000",
                "vessel_flag": "",
            }
        ],
    )
    (party,) = load_screening_list(path)
    assert party.id == "abc123"
    assert party.alt_names == ("ExPho", "Example Optics")
    assert party.countries == ("CN", "HK")
    assert party.programs == ("EAR", "X")
    match = Screener(path).screen("Example Optics")[0]
    assert match.matched_name == "Example Optics" and match.party.country == "CN"


@pytest.mark.parametrize("wrapped", [True, False])
def test_json_layouts(tmp_path: Path, wrapped: bool) -> None:
    records = [
        {
            "id": "j1",
            "name": "Example Avionics LLC",
            "source": SDN,
            "alt_names": ["ExAv Systems"],
            "programs": ["RUSSIA-EO14024"],
            "addresses": [{"address": "1 Street", "city": "Kazan", "country": "RU"}],
            "entity_number": 123,
            "extra": {"nested": True},
        }
    ]
    path = tmp_path / "csl.json"
    path.write_text(json.dumps({"results": records} if wrapped else records), encoding="utf-8")
    screener = Screener(path)
    (match,) = screener.screen("Example Avionics", country="RU")
    assert match.party.programs == ("RUSSIA-EO14024",) and match.prohibited
    assert screener.screen("ExAv Systems")[0].matched_name == "ExAv Systems"


MALFORMED = [
    # (file name, content, substrings the error must contain): nothing usable remains
    ("no-name.csv", f"source,alt_names\n{EL},Foo\n", ["no-name.csv", "line 1", "field name"]),
    ("no-source.csv", "name,alt_names\nFoo,Bar\n", ["no-source.csv", "line 1", "field source"]),
    ("blank-source.csv", "name,source\nFoo,\n", ["line 2", "field source", "no entries"]),
    ("empty.csv", "", ["empty.csv", "empty"]),
    ("ctrl-z.csv", "\x1a\r\n", ["ctrl-z.csv", "empty"]),
    ("blank.json", "  \n", ["blank.json", "empty"]),
    ("header-only.csv", "name,source\n", ["header-only.csv", "no entries"]),
    ("broken.json", '{"results": [\n {"name": "X", ', ["broken.json", "line 2", "JSON"]),
    ("shape.json", '{"items": []}', ["shape.json", "field results"]),
    ("type.json", json.dumps([{"name": 5, "source": EL}]), ["record 1", "field name"]),
    ("scalar.json", json.dumps([7]), ["record 1", "no entries"]),
]


@pytest.mark.parametrize(("filename", "content", "expected"), MALFORMED)
def test_malformed_files(tmp_path: Path, filename: str, content: str, expected: list[str]) -> None:
    path = tmp_path / filename
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RulesError) as info:
        load_screening_list(path)
    for part in expected:
        assert part in str(info.value)


BAD_ROWS = [
    # (file name, content, good entries left, substring of the first problem)
    ("blank-name.csv", f"name,source\nFoo,{EL}\n,{EL}\nBar,{EL}\n", 2, "line 3, field name"),
    (
        "record.json",
        json.dumps({"results": [{"name": "X", "source": EL}, {"source": EL}]}),
        1,
        "record 2 (results[1]), field name",
    ),
    ("scalar.json", json.dumps([{"name": "X", "source": EL}, 7]), 1, "record 2"),
]


@pytest.mark.parametrize(("filename", "content", "good", "problem"), BAD_ROWS)
def test_bad_rows_are_reported_and_skipped(
    tmp_path: Path, filename: str, content: str, good: int, problem: str
) -> None:
    from advisor.screening import load_list

    path = tmp_path / filename
    path.write_text(content, encoding="utf-8")
    loaded = load_list(path)
    assert len(loaded.parties) == good and loaded.skipped == 1
    assert problem in loaded.problems[0] and "skipped" in loaded.problems[0]
    screener = Screener(path)
    assert any("1 bad rows were skipped" in w for w in screener.warnings())


def test_hot_reload_keeps_last_good_list(tmp_path: Path) -> None:
    path = tmp_path / "csl.csv"
    _write_csv(path, [{"name": "Alpha Photonics Institute", "source": EL}])
    screener = Screener(path, max_age_days=100_000)
    assert screener.screen("Alpha Photonics Institute")

    _write_csv(
        path,
        [
            {"name": "Alpha Photonics Institute", "source": EL},
            {"name": "Beta Cyber Range Ltd", "source": SDN},
        ],
    )
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    assert screener.screen("Beta Cyber Range") and screener.last_error is None

    path.write_text("alt_names\nnothing\n", encoding="utf-8")
    flags = screener.flags_for_text("A postdoc from Beta Cyber Range asked for code.")
    assert [f.level for f in flags] == [Level.PROHIBITED]
    assert screener.last_error and "field name" in screener.last_error
    assert len(screener.parties) == 2

    _write_csv(path, [{"name": "Gamma Systems", "source": EL}])
    os.utime(path, ns=(2_000_000_000, 2_000_000_000))
    assert screener.screen("Gamma Systems") and not screener.screen("Beta Cyber Range")
    assert screener.last_error is None


def test_sample_is_labelled() -> None:
    parties = load_screening_list(SAMPLE)
    assert 15 <= len(parties) <= 25
    assert all(p.remarks == "SAMPLE - not the current list; load the full CSL" for p in parties)
    assert all(p.sources and p.countries for p in parties)
    assert (SAMPLE.parent / "README.md").exists()
    assert Screener(SAMPLE).is_sample


def test_screener_from_settings(tmp_path: Path) -> None:
    assert isinstance(screener_from_settings(make_settings(tmp_path)), Screener)
    missing = make_settings(tmp_path, screening_path=tmp_path / "absent.csv")
    assert screener_from_settings(missing) is None


def test_threshold_is_validated() -> None:
    with pytest.raises(InputError):
        Screener(SAMPLE, threshold=120)


# --------------------------------------------------------------------------- CLI


def _cli(argv: list[str]) -> int:
    from advisor.cli import main

    return main(argv)


@pytest.fixture
def sample_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVISOR_SCREENING_PATH", str(SAMPLE))


CLI = [
    (["screen", "Harbin", "Inst.", "of", "Tech."], 0, "Harbin Institute of Technology"),
    (["screen", "IRGC", "--country", "IR"], 0, "Specially Designated Nationals (SDN)"),
    (["screen", "Huawei", "--country", "US"], 0, "country US differs from the entry's (CN)"),
    (["screen", "MIPT", "--country", "RU"], 0, "country RU agrees with the entry"),
    (["screen", "Huawei", "--address", "Shenzhen, Guangdong"], 0, "address"),
    (["screen", "MIT"], 0, "no match"),
    (["screen", "Beihang", "--threshold", "60"], 0, "Beihang University"),
]


@pytest.mark.parametrize(("argv", "code", "expected"), CLI)
@pytest.mark.usefixtures("sample_env")
def test_cli_screen(
    capsys: pytest.CaptureFixture[str], argv: list[str], code: int, expected: str
) -> None:
    assert _cli(argv) == code
    out, err = capsys.readouterr()
    assert expected in out
    assert "SAMPLE" in err


@pytest.mark.usefixtures("sample_env")
def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(["screen", "NUDT", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (match,) = data["matches"]
    assert match["name"] == "National University of Defense Technology"
    assert match["matched_name"] == "NUDT" and match["country"] == "CN"
    assert match["list"] == EL and match["score"] == 100.0 and data["entries"] == 25


@pytest.mark.parametrize(
    "argv",
    [
        ["screen", "Huawei", "--country", "China"],
        ["screen", "?!"],
        ["screen", "Huawei", "--threshold", "101"],
        ["screen", "Huawei", "--dob", "yesterday"],
    ],
)
@pytest.mark.usefixtures("sample_env")
def test_cli_bad_input(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert _cli(argv) == 2
    assert "advisor: error:" in capsys.readouterr().err


def test_cli_needs_a_name() -> None:
    with pytest.raises(SystemExit) as info:
        _cli(["screen"])
    assert info.value.code == 2


def test_cli_missing_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ADVISOR_SCREENING_PATH", str(tmp_path / "absent.csv"))
    assert _cli(["screen", "Huawei"]) == 2
    assert "ADVISOR_SCREENING_PATH" in capsys.readouterr().err
