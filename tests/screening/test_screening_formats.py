"""Official list layouts as downloaded (OFAC legacy CSV + alt/add, SDN.XML, CSL CSV/JSON), bad
rows, ^Z lines, the index cache, list freshness, name parts and one-word names in text."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest

from advisor.errors import RulesError
from advisor.models import Level
from advisor.screening import STALE_FLAG_ID, Screener, load_list, normalise_name
from advisor.screening.names import part_similarity

EL = "Entity List (EL) - Bureau of Industry and Security"
CRLF = "\r\n"
EOF = "\x1a"
TODAY = date(2026, 12, 1)

# Rows in OFAC's legacy layout: no header, "-0-" nulls (often with a trailing space),
# bracketed program lists, CRLF line ends and a ^Z end-of-file line.
SDN_ROWS = [
    '306,"BANCO NACIONAL DE CUBA",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"a.k.a. \'BNC\'."',
    '47819,"STRUKOV, Konstantin Ivanovich","individual","RUSSIA-EO14024",-0- ,-0- ,-0- ,-0- ,'
    '-0- ,-0- ,-0- ,"DOB 10 Sep 1958; POB Dimitrovo, Russia; nationality Russia; Gender Male."',
    '4238,"MARIA","vessel","CUBA",-0- ,"CL2192","Tug",-0- ,"212","Cuba",-0- ,-0- ',
    '10391,"ISLAMIC REVOLUTIONARY GUARD CORPS",-0- ,"FTO] [SDGT] [IRGC",-0- ,-0- ,-0- ,-0- ,'
    '-0- ,-0- ,-0- ,"Additional Sanctions Information - Subject to Secondary Sanctions."',
    '47835,"LIMITED LIABILITY COMPANY MANAGEMENT COMPANY UGC",-0- ,"RUSSIA-EO14024",-0- ,-0- ,'
    '-0- ,-0- ,-0- ,-0- ,-0- ,"Tax ID No. 7451258929 (Russia)."',
]
ALT_ROWS = [
    '306,220,"aka","NATIONAL BANK OF CUBA",-0- ',
    '10391,10175,"aka","IRGC",-0- ',
    '10391,10176,"aka","PASDARAN",-0- ',
    '99999,1,"aka","ENTRY NOT IN SDN.CSV",-0- ',
]
ADD_ROWS = [
    '306,199,"Zweierstrasse 35","Zurich CH-8022","Switzerland",-0- ',
    '47819,300,-0- ,-0- ,"Russia",-0- ',
    '10391,301,-0- ,"Tehran","Iran",-0- ',
    '99999,2,-0- ,"Nowhere","Iran",-0- ',
]


def _write_ofac(folder: Path, sdn: list[str], alt: list[str] | None, add: list[str] | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("sdn.csv", sdn), ("alt.csv", alt), ("add.csv", add)):
        if rows is not None:
            (folder / name).write_bytes((CRLF.join(rows) + CRLF + EOF).encode("ascii"))
    return folder / "sdn.csv"


@pytest.fixture
def ofac(tmp_path: Path) -> Path:
    return _write_ofac(tmp_path / "ofac", SDN_ROWS, ALT_ROWS, ADD_ROWS)


def test_ofac_legacy_csv_joins_aliases_and_addresses(ofac: Path) -> None:
    loaded = load_list(ofac)
    assert loaded.format == "OFAC SDN legacy CSV" and loaded.skipped == 0
    assert [p.id for p in loaded.parties] == [
        "sdn-306",
        "sdn-47819",
        "sdn-4238",
        "sdn-10391",
        "sdn-47835",
    ]
    bank, strukov, maria, irgc, ugc = loaded.parties
    assert bank.alt_names == ("NATIONAL BANK OF CUBA", "BNC")  # alt.csv, then remarks a.k.a.
    assert bank.addresses == ("Zweierstrasse 35, Zurich CH-8022, Switzerland",)
    assert bank.countries == ("CH",) and bank.type == "entity" and bank.programs == ("CUBA",)
    assert strukov.type == "individual" and strukov.dates_of_birth == ("10 Sep 1958",)
    assert strukov.nationalities == ("Russia",) and strukov.places_of_birth == (
        "Dimitrovo, Russia",
    )
    assert strukov.countries == ("RU",)
    assert maria.type == "vessel" and maria.countries == ("CU",)
    assert irgc.programs == ("FTO", "SDGT", "IRGC") and irgc.alt_names == ("IRGC", "PASDARAN")
    assert ugc.remarks == "Tax ID No. 7451258929 (Russia)."
    names = {n for p in loaded.parties for n in (p.name, *p.alt_names)}
    assert "ENTRY NOT IN SDN.CSV" not in names  # alternate names of unknown entries ignored
    assert set(loaded.files) == {ofac, ofac.parent / "alt.csv", ofac.parent / "add.csv"}
    assert loaded.date_source.startswith("file modification time")


def test_ofac_legacy_csv_alone_loads(tmp_path: Path) -> None:
    path = _write_ofac(tmp_path / "only", SDN_ROWS, None, None)
    loaded = load_list(path)
    assert len(loaded.parties) == 5 and loaded.parties[0].alt_names == ("BNC",)
    assert loaded.files == (path,)


def test_ofac_bad_rows_are_reported_by_line_and_skipped(tmp_path: Path) -> None:
    rows = [SDN_ROWS[0], '12,"TOO FEW FIELDS",-0- ', "", SDN_ROWS[1], 'x1,"X",-0- ' + ",-0- " * 9]
    rows.append('77,"",-0- ,"CUBA"' + ",-0- " * 8)
    loaded = load_list(_write_ofac(tmp_path / "bad", rows, None, None))
    assert [p.id for p in loaded.parties] == ["sdn-306", "sdn-47819"]
    assert loaded.skipped == 3
    assert "line 2: 3 fields, expected 12; row skipped" in loaded.problems[0]
    assert "line 5: entry number 'x1' is not a number" in loaded.problems[1]
    assert "line 6, field SDN_Name: missing" in loaded.problems[2]


def test_a_list_with_nothing_usable_is_rejected_and_the_last_good_stays(tmp_path: Path) -> None:
    path = _write_ofac(tmp_path / "ofac", SDN_ROWS, None, None)
    screener = Screener(path, today=lambda: TODAY)
    assert screener.screen("Konstantin Strukov")
    path.write_bytes(b'1,"ONLY",-0- ' + CRLF.encode() + EOF.encode())
    os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    assert screener.screen("Konstantin Strukov") and screener.last_error
    assert "no entries" in screener.last_error and "3 fields, expected 12" in screener.last_error
    assert any("last good list is in use" in w for w in screener.warnings())


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (ALT_ROWS, "this is OFAC's alt.csv"),
        (ADD_ROWS, "this is OFAC's add.csv"),
    ],
)
def test_companion_file_given_alone_is_named(tmp_path: Path, rows: list[str], message: str) -> None:
    path = tmp_path / "list.csv"
    path.write_text(CRLF.join(rows) + CRLF + EOF, encoding="ascii")
    with pytest.raises(RulesError, match=message):
        load_list(path)


# --------------------------------------------------------------------------- SDN.XML

SDN_XML = """<?xml version="1.0" standalone="yes"?>
<sdnList xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xmlns="https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/XML">
  <publshInformation>
    <Publish_Date>05/03/2024</Publish_Date>
    <Record_Count>3</Record_Count>
  </publshInformation>
  <sdnEntry>
    <uid>47819</uid>
    <firstName>Konstantin Ivanovich</firstName>
    <lastName>STRUKOV</lastName>
    <sdnType>Individual</sdnType>
    <programList><program>RUSSIA-EO14024</program></programList>
    <idList>
      <id><uid>1</uid><idType>Tax ID No.</idType><idNumber>741600653047</idNumber>
        <idCountry>Russia</idCountry></id>
    </idList>
    <akaList>
      <aka><uid>2</uid><type>a.k.a.</type><category>strong</category>
        <lastName>STRUKOFF</lastName><firstName>Konstantin</firstName></aka>
    </akaList>
    <addressList><address><uid>3</uid><city>Chelyabinsk</city><country>Russia</country></address>
    </addressList>
    <nationalityList><nationality><uid>4</uid><country>Russia</country>
      <mainEntry>true</mainEntry></nationality></nationalityList>
    <dateOfBirthList><dateOfBirthItem><uid>5</uid><dateOfBirth>10 Sep 1958</dateOfBirth>
      <mainEntry>true</mainEntry></dateOfBirthItem></dateOfBirthList>
    <placeOfBirthList><placeOfBirthItem><uid>6</uid><placeOfBirth>Dimitrovo, Russia</placeOfBirth>
      <mainEntry>true</mainEntry></placeOfBirthItem></placeOfBirthList>
  </sdnEntry>
  <sdnEntry>
    <uid>10391</uid>
    <lastName>ISLAMIC REVOLUTIONARY GUARD CORPS</lastName>
    <sdnType>Entity</sdnType>
    <programList><program>FTO</program><program>SDGT</program><program>IRGC</program></programList>
    <akaList><aka><uid>7</uid><type>a.k.a.</type><category>strong</category>
      <lastName>IRGC</lastName></aka></akaList>
    <addressList><address><uid>8</uid><city>Tehran</city><country>Iran</country></address>
    </addressList>
  </sdnEntry>
  <sdnEntry>
    <uid>4238</uid>
    <lastName>MARIA</lastName>
    <sdnType>Vessel</sdnType>
    <programList><program>CUBA</program></programList>
    <vesselInfo><callSign>CL2192</callSign><vesselType>Tug</vesselType>
      <vesselFlag>Cuba</vesselFlag></vesselInfo>
  </sdnEntry>
  <sdnEntry>
    <uid>1</uid>
    <sdnType>Entity</sdnType>
  </sdnEntry>
</sdnList>
"""


def test_sdn_xml_loads_with_its_publish_date(tmp_path: Path) -> None:
    path = tmp_path / "SDN.XML"
    path.write_text(SDN_XML, encoding="utf-8")
    loaded = load_list(path)
    assert loaded.format == "OFAC SDN.XML"
    assert loaded.list_date == date(2024, 5, 3) and loaded.date_source == "Publish_Date in the file"
    assert loaded.skipped == 1 and "sdnEntry 4 (uid 1), field lastName" in loaded.problems[0]
    strukov, irgc, maria = loaded.parties
    assert strukov.name == "STRUKOV, Konstantin Ivanovich" and strukov.id == "sdn-47819"
    assert strukov.alt_names == ("STRUKOFF, Konstantin",)
    assert strukov.dates_of_birth == ("10 Sep 1958",) and strukov.nationalities == ("Russia",)
    assert strukov.addresses == ("Chelyabinsk, Russia",) and strukov.countries == ("RU",)
    assert irgc.programs == ("FTO", "SDGT", "IRGC") and irgc.countries == ("IR",)
    assert maria.type == "vessel" and maria.countries == ("CU",)


def test_sdn_advanced_xml_is_named_not_misread(tmp_path: Path) -> None:
    path = tmp_path / "SDN_ADVANCED.XML"
    path.write_text('<?xml version="1.0"?><Sanctions><DateOfIssue/></Sanctions>', "utf-8")
    with pytest.raises(RulesError, match="not OFAC's <sdnList>"):
        load_list(path)
    path.write_text("<sdnList><sdnEntry>", "utf-8")
    with pytest.raises(RulesError, match="line 1, column .*not valid XML"):
        load_list(path)


def test_old_list_warns_in_flags_cli_and_app_without_raising_the_level(tmp_path: Path) -> None:
    path = tmp_path / "SDN.XML"
    path.write_text(SDN_XML, encoding="utf-8")
    screener = Screener(path, today=lambda: TODAY, max_age_days=7)
    fresh = screener.freshness()
    assert fresh.stale and fresh.age_days == (TODAY - date(2024, 5, 3)).days
    flags = screener("What does the weather look like in Paris?")
    (stale,) = flags
    assert stale.id == STALE_FLAG_ID and stale.level == Level.NONE
    assert "2024-05-03" in stale.reason and "ADVISOR_SCREENING_MAX_AGE_DAYS" in stale.reason
    flags = screener("May I send code to Konstantin Strukov?")
    assert Level.highest([f.level for f in flags]) == Level.PROHIBITED
    assert any("out of date" in w for w in screener.warnings())
    young = Screener(path, today=lambda: date(2024, 5, 6), max_age_days=7)
    assert not young.freshness().stale and young("Hello Paris") == []


# --------------------------------------------------------------------------- CSL CSV / JSON

CSL_HEADER = (
    "_id,source,entity_number,type,programs,name,title,addresses,federal_register_notice,"
    "start_date,end_date,standard_order,license_requirement,license_policy,call_sign,vessel_type,"
    "gross_tonnage,gross_registered_tonnage,vessel_flag,vessel_owner,remarks,source_list_url,"
    "alt_names,citizenships,dates_of_birth,nationalities,places_of_birth,source_information_url,ids"
)


def _csl_row(**values: str) -> str:
    cols = CSL_HEADER.split(",")
    return ",".join(f'"{values.get(c, "")}"' for c in cols)


def test_csl_csv_with_crlf_and_ctrl_z_line(tmp_path: Path) -> None:
    rows = [
        CSL_HEADER,
        _csl_row(
            _id="a1",
            source="Specially Designated Nationals (SDN) - Treasury Department",
            type="Individual",
            programs="RUSSIA-EO14024",
            name="STRUKOV, Konstantin Ivanovich",
            addresses="Chelyabinsk, RU",
            alt_names="STRUKOFF, Konstantin",
            dates_of_birth="1958-09-10",
            nationalities="RU",
        ),
        "",
        _csl_row(
            _id="b2",
            source=EL,
            type="Entity",
            name="Harbin Institute of Technology",
            addresses="92 West Dazhi Street, Harbin, CN",
            alt_names="HIT; Harbin Gongye Daxue",
        ),
        EOF,
    ]
    path = tmp_path / "consolidated.csv"
    path.write_bytes(CRLF.join(rows).encode("utf-8"))
    loaded = load_list(path)
    assert loaded.format == "Consolidated Screening List CSV" and loaded.skipped == 0
    strukov, hit = loaded.parties
    assert strukov.type == "individual" and strukov.dates_of_birth == ("1958-09-10",)
    assert strukov.countries == ("RU",) and hit.alt_names == ("HIT", "Harbin Gongye Daxue")
    screener = Screener(path, today=lambda: TODAY)
    (match,) = screener.screen("Konstantin Strukov", dob="10 Sep 1958")
    assert match.party.id == "a1" and any("agrees" in n for n in match.notes)


@pytest.mark.parametrize("wrapped", [True, False])
def test_csl_json_layouts_and_list_date(tmp_path: Path, wrapped: bool) -> None:
    results = [
        {
            "id": "c3",
            "name": "Example Avionics LLC",
            "source": EL,
            "type": "Entity",
            "alt_names": ["ExAv Systems"],
            "addresses": [{"address": "1 Street", "city": "Kazan", "country": "RU"}],
            "programs": ["EAR"],
        },
        {"name": "", "source": EL},
    ]
    data: object = results
    if wrapped:
        data = {
            "total": 2,
            "sources_used": [
                {"source": EL, "source_last_updated": "2026-11-28T10:00:00+00:00"},
                {"source": "SDN", "source_last_updated": "2026-11-30T10:00:00+00:00"},
            ],
            "results": results,
        }
    path = tmp_path / "consolidated.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    loaded = load_list(path)
    assert [p.id for p in loaded.parties] == ["c3"] and loaded.skipped == 1
    assert loaded.parties[0].addresses == ("1 Street, Kazan, RU",)
    if wrapped:
        assert loaded.list_date == date(2026, 11, 28) and "sources_used" in loaded.date_source
    else:
        assert loaded.date_source.startswith("file modification time")


def test_sidecar_gives_a_legacy_csv_its_date(ofac: Path) -> None:
    (ofac.parent / "sdn.csv.meta.yaml").write_text("list_date: 2024-05-03\n", encoding="utf-8")
    screener = Screener(ofac, today=lambda: TODAY)
    assert screener.loaded.list_date == date(2024, 5, 3)
    assert screener.loaded.date_source == "list_date in sdn.csv.meta.yaml"
    assert screener.freshness().stale


# --------------------------------------------------------------------------- cache


def test_index_is_cached_by_content_and_survives_a_corrupt_cache(
    ofac: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = Screener(ofac, cache_dir=cache)
    assert not first.from_cache and len(list(cache.glob("*.pkl"))) == 1
    second = Screener(ofac, cache_dir=cache)
    assert second.from_cache and second.screen("Konstantin Strukov")
    (cache_file,) = cache.glob("*.pkl")
    cache_file.write_bytes(cache_file.read_bytes()[:200])  # truncated
    third = Screener(ofac, cache_dir=cache)
    assert not third.from_cache and third.screen("Konstantin Strukov")
    assert Screener(ofac, cache_dir=cache).from_cache  # rewritten
    cache_file.write_bytes(b"not a pickle at all")
    assert not Screener(ofac, cache_dir=cache).from_cache
    alt = ofac.parent / "alt.csv"
    alt.write_bytes(alt.read_bytes().replace(b"PASDARAN", b"SEPAH PASDARAN"))
    changed = Screener(ofac, cache_dir=cache)
    assert not changed.from_cache and "SEPAH PASDARAN" in changed.parties[3].alt_names


def test_companion_change_is_picked_up_by_refresh(ofac: Path) -> None:
    screener = Screener(ofac)
    assert not screener.screen("Cuban State Bank")
    alt = ofac.parent / "alt.csv"
    alt.write_bytes(alt.read_bytes().replace(b"NATIONAL BANK OF CUBA", b"CUBAN STATE BANK"))
    os.utime(alt, ns=(1_800_000_000_000_000_000, 1_800_000_000_000_000_000))
    assert screener.screen("Cuban State Bank")[0].party.id == "sdn-306"


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("LIMITED LIABILITY COMPANY MANAGEMENT COMPANY UGC", "management ugc"),
        ("Obshchestvo s Ogranichennoy Otvetstvennostyu Tekhnopribor", "tekhnopribor"),
        ("OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTIU TEKHNOPRIBOR", "tekhnopribor"),
        ("Общество с ограниченной ответственностью Технoприбор", "tekhnopribor"),
        ("AKTSIONERNOE OBSHCHESTVO KONTSERN AVTOMATIKA", "kontsern avtomatika"),
        ("Open Joint Stock Company Ramenskoye Design Bureau", "ramenskoye design bureau"),
        ("CORPORATIVO FEARFI, S.A. DE C.V.", "corporativo fearfi"),
        ("Grupo Ejemplo Sociedad Anonima de Capital Variable", "grupo ejemplo"),
        ("Beispiel Gesellschaft mit beschränkter Haftung", "beispiel"),
        ("AL ZAWAHIRI, Dr. Ayman", "zawahiri ayman"),
    ],
)
def test_legal_forms_titles_and_particles_are_dropped(raw: str, normal: str) -> None:
    assert normalise_name(raw) == normal


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("alexei", "aleksey"),
        ("hezbollah", "hizballah"),
        ("zhang", "chang"),
        ("olga", "olha"),
        ("mohammed", "muhammad"),
        ("yusuf", "yousef"),
    ],
)
def test_transliteration_variants_agree_per_part(a: str, b: str) -> None:
    assert part_similarity(a, b) >= 0.85


@pytest.mark.parametrize(("a", "b"), [("harbin", "harvard"), ("james", "jamal"), ("ivan", "igor")])
def test_different_name_parts_do_not(a: str, b: str) -> None:
    assert part_similarity(a, b) < 0.85


PEOPLE = [
    # (typed name, matches STRUKOV, Konstantin Ivanovich?)
    ("Konstantin Strukov", True),
    ("Strukov Konstantin", True),
    ("STRUKOV, Konstantin", True),
    ("Konstantin Ivanovich Strukov", True),
    ("Konstantin Strukoff", True),
    ("Константин Струков", True),
    ("K. Strukov", True),
    ("Strukov", False),  # one part of three
    ("Konstantin Ivanovich", False),  # no surname
    ("Konstantin Petrov", False),
    ("Igor Strukov", False),
]


@pytest.mark.parametrize(("name", "hit"), PEOPLE)
def test_people_are_scored_from_the_query_side(ofac: Path, name: str, hit: bool) -> None:
    screener = Screener(ofac)
    found = [m.party.id for m in screener.screen(name)]
    assert ("sdn-47819" in found) is hit, found


TEXT = [
    # (question, ids that must flag)
    ("Maria Garcia from Madrid asked for our simulation code.", set()),
    ("Can we ship spare parts to the MARIA?", set()),
    ("Can we ship spare parts to the vessel MARIA?", {"sdn-4238"}),
    # A coined organisation name (no dictionary word) names the party even alone.
    ("Is PASDARAN a problem for our workshop?", {"sdn-10391"}),
    ("Is the pasdaran a problem for our workshop?", set()),
    ("Is PASDARAN in Iran a problem for our workshop?", {"sdn-10391"}),
    ("Our partner is the IRGC.", {"sdn-10391"}),
    ("Can Konstantin Strukov join our project?", {"sdn-47819"}),
    ("Can Konstantin Ivanovich Strukov join our project?", {"sdn-47819"}),
    ("We met Management Company UGC in Moscow.", {"sdn-47835"}),
    ("Funding comes from Banco Nacional de Cuba.", {"sdn-306"}),
    ("Do I need a licence for the BNC module?", set()),
]


@pytest.mark.parametrize(("question", "ids"), TEXT)
def test_one_word_names_need_corroboration_in_text(
    ofac: Path, question: str, ids: set[str]
) -> None:
    screener = Screener(ofac)
    assert {m.party.id for m in screener.screen_text(question)} == ids


def test_flag_shows_type_programs_birth_nationality_and_address(ofac: Path) -> None:
    screener = Screener(ofac, max_age_days=100_000)
    (flag,) = screener("Can Konstantin Strukov join our project?")
    assert flag.id == "listed-party:sdn-47819" and flag.level == Level.PROHIBITED
    for part in (
        "type individual",
        "programs RUSSIA-EO14024",
        "born 10 Sep 1958",
        "nationality Russia",
        "address Russia",
    ):
        assert part in flag.reason
    (vessel,) = screener("Can we refuel the vessel MARIA in port?")
    assert "type vessel" in vessel.reason and "corroborated" in vessel.reason
    (match,) = screener.screen_text("Can we refuel the vessel MARIA in port?")
    assert match.type == "vessel" and match.programs == ("CUBA",)
    assert match.lists == ("Specially Designated Nationals (SDN) - Treasury Department",)


def test_a_deeply_nested_json_list_is_a_clear_error(tmp_path: Path) -> None:
    from advisor.errors import RulesError
    from advisor.screening import Screener

    path = tmp_path / "list.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(RulesError, match="nested too deeply"):
        Screener(path)
