"""Official list files as downloaded: OFAC legacy CSV (+ alt.csv, add.csv), OFAC SDN.XML,
and the trade.gov Consolidated Screening List as CSV or JSON.

The format is told from the content, not the name. Blank and ^Z (DOS end-of-file) lines are
skipped; a bad row is reported by line and skipped; a file is rejected only when nothing
usable remains, so one broken row in 15,000 never switches screening off.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from advisor.errors import RulesError
from advisor.screening.countries import to_iso2
from advisor.screening.models import SDN_SOURCE, LoadedList, Party, list_code
from advisor.screening.names import name_tokens
from advisor.screening.remarks import parse_remarks
from advisor.yamlfile import sidecar_path

REQUIRED = ("name", "source")
MAX_PROBLEMS = 50  # problems kept word for word; the count covers all of them
OFAC_NULL = "-0-"
OFAC_TYPES = {"individual": "individual", "vessel": "vessel", "aircraft": "aircraft"}
_ISO2 = re.compile(r"^[A-Z]{2}$")


@dataclass
class _Report:
    """Rows skipped while reading, with the first MAX_PROBLEMS reasons."""

    skipped: int = 0
    problems: list[str] = field(default_factory=list)

    def bad(self, message: str) -> None:
        self.skipped += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)


# --------------------------------------------------------------------------- reading


def read_text(path: Path) -> str:
    """UTF-8 (with or without BOM), else Windows-1252 as OFAC's older files are written."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RulesError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _content(text: str) -> str:
    return text.replace("\x1a", "").strip()


def detect_format(path: Path, text: str) -> str:
    """One of ofac-xml, csl-json, csl-csv, ofac-csv; RulesError for anything else."""
    body = _content(text)
    if not body:
        raise RulesError(f"{path}, line 1: the file is empty; expected a screening list export")
    if body[0] == "<":
        return "ofac-xml"
    if body[0] in "[{":
        return "csl-json"
    first = next(csv.reader(io.StringIO(body.splitlines()[0])), [])
    cells = [c.strip() for c in first]
    if cells and cells[0].isdigit():  # no header row: OFAC's legacy layout
        companion = {5: "alt.csv (alternate names)", 6: "add.csv (addresses)"}.get(len(cells))
        if companion:
            raise RulesError(
                f"{path}, line 1: this is OFAC's {companion}; point ADVISOR_SCREENING_PATH "
                "at sdn.csv, and the alt.csv and add.csv beside it are joined on ent_num"
            )
        return "ofac-csv"
    return "csl-csv"


def _null(value: str | None) -> str:
    value = (value or "").strip()
    return "" if value == OFAC_NULL else value


def _countries(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for c in (to_iso2(v) for v in values) if c))


def _pob_country(place: str) -> str:
    return place.rsplit(",", 1)[-1].strip()


def _slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:60]


def _unique_ids(parties: list[Party]) -> list[Party]:
    seen: Counter[str] = Counter()
    out = []
    for party in parties:
        seen[party.id] += 1
        out.append(
            party if seen[party.id] == 1 else party._replace(id=f"{party.id}-{seen[party.id]}")
        )
    return out


# --------------------------------------------------------------------------- OFAC legacy CSV


def _ofac_rows(
    path: Path, text: str, width: int, report: _Report
) -> Iterator[tuple[int, list[str]]]:
    """Rows of one OFAC legacy file, one record per line; bad lines reported and skipped."""
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.replace("\x1a", "")
        if not line.strip():
            continue
        try:
            row = next(csv.reader([line]))
        except csv.Error as exc:
            report.bad(f"{path}, line {number}: not valid CSV ({exc}); row skipped")
            continue
        if len(row) != width:
            report.bad(f"{path}, line {number}: {len(row)} fields, expected {width}; row skipped")
            continue
        if not row[0].strip().isdigit():
            report.bad(f"{path}, line {number}: entry number {row[0]!r} is not a number; skipped")
            continue
        yield number, row


def _companion(path: Path, name: str) -> Path | None:
    for candidate in path.parent.iterdir():
        if candidate.name.lower() == name and candidate.is_file():
            return candidate
    return None


def ofac_companions(path: Path) -> tuple[Path, ...]:
    """alt.csv and add.csv beside an OFAC sdn.csv, when present."""
    return tuple(p for p in (_companion(path, "alt.csv"), _companion(path, "add.csv")) if p)


def _join(path: Path, report: _Report) -> tuple[dict[str, list[str]], dict[str, list[list[str]]]]:
    """Aliases and addresses by ent_num from the companion files (unknown entries dropped later)."""
    aliases: dict[str, list[str]] = {}
    addresses: dict[str, list[list[str]]] = {}
    alt, add = _companion(path, "alt.csv"), _companion(path, "add.csv")
    if alt is not None:
        for _, row in _ofac_rows(alt, read_text(alt), 5, report):
            name = _null(row[3])
            if name:
                aliases.setdefault(row[0].strip(), []).append(name)
    if add is not None:
        for _, row in _ofac_rows(add, read_text(add), 6, report):
            addresses.setdefault(row[0].strip(), []).append([_null(c) for c in row[2:5]])
    return aliases, addresses


def _programs(value: str) -> tuple[str, ...]:
    """Legacy Program cells hold ``FTO] [SDGT] [NPWMD`` (outer brackets removed)."""
    return tuple(p.strip(" []") for p in _null(value).split("] [") if p.strip(" []"))


def load_ofac_csv(path: Path, text: str, report: _Report) -> list[Party]:
    aliases, addresses = _join(path, report)
    parties: list[Party] = []
    for number, row in _ofac_rows(path, text, 12, report):
        ent, name = row[0].strip(), _null(row[1])
        if not name or not name_tokens(name):
            report.bad(f"{path}, line {number}, field SDN_Name: missing; row skipped")
            continue
        kind = OFAC_TYPES.get(_null(row[2]).lower(), "entity")
        remarks = parse_remarks(_null(row[11]))
        addr = addresses.get(ent, [])
        lines = tuple(", ".join(c for c in a if c) for a in addr)
        pobs = remarks.places_of_birth
        parties.append(
            Party(
                id=f"sdn-{ent}",
                name=name,
                alt_names=tuple(dict.fromkeys([*aliases.get(ent, []), *remarks.aliases])),
                sources=(SDN_SOURCE,),
                countries=_countries(
                    [a[2] for a in addr]
                    + remarks.nationalities
                    + [_pob_country(p) for p in pobs]
                    + ([_null(row[9])] if kind == "vessel" else [])
                ),
                programs=_programs(row[3]),
                type=kind,
                remarks=_null(row[11]),
                source_list_url="https://sanctionssearch.ofac.treas.gov/",
                dates_of_birth=tuple(remarks.dates_of_birth),
                nationalities=tuple(remarks.nationalities),
                places_of_birth=tuple(pobs),
                addresses=tuple(x for x in lines if x),
                title=_null(row[4]),
            )
        )
    return parties


# --------------------------------------------------------------------------- OFAC SDN.XML


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _kids(node: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in node if _local(c.tag) == name]


def _text(node: ET.Element, name: str) -> str:
    found = _kids(node, name)
    return (found[0].text or "").strip() if found else ""


def _items(node: ET.Element, list_name: str, item: str, value: str) -> list[str]:
    return [
        _text(i, value)
        for lst in _kids(node, list_name)
        for i in _kids(lst, item)
        if _text(i, value)
    ]


def _xml_name(node: ET.Element) -> str:
    last, first = _text(node, "lastName"), _text(node, "firstName")
    return f"{last}, {first}" if last and first else last or first


def _xml_entry(path: Path, entry: ET.Element, number: int, report: _Report) -> Party | None:
    uid, name = _text(entry, "uid"), _xml_name(entry)
    if not name or not name_tokens(name):
        report.bad(
            f"{path}, sdnEntry {number} (uid {uid or '?'}), field lastName: missing; skipped"
        )
        return None
    kind = OFAC_TYPES.get(_text(entry, "sdnType").lower(), "entity")
    akas = [_xml_name(a) for lst in _kids(entry, "akaList") for a in _kids(lst, "aka")]
    addresses = [a for lst in _kids(entry, "addressList") for a in _kids(lst, "address")]
    lines = [
        ", ".join(
            v
            for v in (
                _text(a, k)
                for k in (
                    "address1",
                    "address2",
                    "address3",
                    "city",
                    "stateOrProvince",
                    "postalCode",
                    "country",
                )
            )
            if v
        )
        for a in addresses
    ]
    dobs = _items(entry, "dateOfBirthList", "dateOfBirthItem", "dateOfBirth")
    pobs = _items(entry, "placeOfBirthList", "placeOfBirthItem", "placeOfBirth")
    nationality = _items(entry, "nationalityList", "nationality", "country")
    citizenship = _items(entry, "citizenshipList", "citizenship", "country")
    vessel_flag = [_text(v, "vesselFlag") for v in _kids(entry, "vesselInfo")]
    remarks = _text(entry, "remarks")
    return Party(
        id=f"sdn-{uid}" if uid else f"sdn-{_slug(name)}",
        name=name,
        alt_names=tuple(dict.fromkeys(a for a in [*akas, *parse_remarks(remarks).aliases] if a)),
        sources=(SDN_SOURCE,),
        countries=_countries(
            [_text(a, "country") for a in addresses]
            + nationality
            + citizenship
            + [_pob_country(p) for p in pobs]
            + vessel_flag
        ),
        programs=tuple(
            p.text.strip()
            for lst in _kids(entry, "programList")
            for p in _kids(lst, "program")
            if p.text and p.text.strip()
        ),
        type=kind,
        remarks=remarks,
        source_list_url="https://sanctionssearch.ofac.treas.gov/",
        dates_of_birth=tuple(dobs),
        nationalities=tuple(dict.fromkeys(nationality + citizenship)),
        places_of_birth=tuple(pobs),
        addresses=tuple(x for x in lines if x),
        title=_text(entry, "title"),
    )


def load_ofac_xml(path: Path, text: str, report: _Report) -> tuple[list[Party], date | None]:
    try:
        root = ET.fromstring(_content(text))
    except ET.ParseError as exc:
        line, col = exc.position
        raise RulesError(f"{path}, line {line}, column {col}: not valid XML ({exc})") from exc
    if _local(root.tag) != "sdnList":
        raise RulesError(
            f"{path}, line 1: root element <{_local(root.tag)}> is not OFAC's <sdnList>; "
            "download SDN.XML (SDN_ADVANCED.XML is not read)"
        )
    published = None
    for info in _kids(root, "publshInformation"):
        published = _us_date(_text(info, "Publish_Date"))
    parties = []
    for number, entry in enumerate(_kids(root, "sdnEntry"), start=1):
        party = _xml_entry(path, entry, number, report)
        if party is not None:
            parties.append(party)
    return parties, published


def _us_date(value: str) -> date | None:
    for fmt in ("%m/%d/%Y", "%Y-%m-%d", "%d %b %Y"):
        try:
            return datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    return None


# --------------------------------------------------------------------------- CSL CSV / JSON


def _split(value: Any) -> list[str]:
    """CSV cells hold ``; ``-separated lists; JSON holds real lists."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return [part.strip() for part in str(value).split(";") if part.strip()]


def _address_lines(value: Any) -> tuple[list[str], list[str]]:
    """(address lines, country names or codes) from CSV text or JSON address objects."""
    lines, countries = [], []
    for addr in value if isinstance(value, list) else _split(value):
        if isinstance(addr, dict):
            parts = [
                str(addr.get(k) or "").strip()
                for k in ("address", "city", "state", "postal_code", "country")
            ]
            lines.append(", ".join(p for p in parts if p))
            countries.append(parts[-1])
        else:
            lines.append(str(addr))
            countries.append(str(addr).rsplit(",", 1)[-1].strip())
    return [x for x in lines if x], countries


def _csl_party(where: str, rec: dict[str, Any], index: int) -> Party:
    for key in REQUIRED:
        value = rec.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise RulesError(f"{where}, field {key}: missing or empty")
    name = rec["name"]
    if not isinstance(name, str):
        raise RulesError(f"{where}, field name: expected text, got {type(name).__name__}")
    if not isinstance(rec["source"], str | list):
        raise RulesError(f"{where}, field source: expected text or a list of list names")
    sources = tuple(_split(rec["source"]))
    if not sources:
        raise RulesError(f"{where}, field source: missing or empty")
    if not name_tokens(name):
        raise RulesError(f"{where}, field name: {name!r} has no letters or digits")
    for key in ("alt_names", "programs"):
        if not isinstance(rec.get(key) or [], str | list):
            raise RulesError(f"{where}, field {key}: expected text or a list")
    lines, addr_countries = _address_lines(rec.get("addresses"))
    nationality = _split(rec.get("nationalities")) + _split(rec.get("citizenships"))
    pobs = _split(rec.get("places_of_birth"))
    remarks = str(rec.get("remarks") or "").strip()
    extra = parse_remarks(remarks)
    code = list_code(sources[0]).lower()
    number = str(rec.get("entity_number") or "").strip()
    ident = str(rec.get("id") or rec.get("_id") or "").strip()
    ident = ident or (f"{code}-{number}" if number else f"{_slug(name) or index}-{code}")
    kind = str(rec.get("type") or "").strip().lower()
    return Party(
        id=ident,
        name=name.strip(),
        alt_names=tuple(dict.fromkeys([*_split(rec.get("alt_names")), *extra.aliases])),
        sources=sources,
        countries=_countries(
            _split(rec.get("country"))
            + addr_countries
            + nationality
            + [_pob_country(p) for p in pobs]
        ),
        programs=tuple(_split(rec.get("programs"))),
        type=kind if kind in OFAC_TYPES else "entity",
        remarks=remarks,
        source_list_url=str(rec.get("source_list_url") or "").strip(),
        start_date=str(rec.get("start_date") or "").strip(),
        dates_of_birth=tuple(_split(rec.get("dates_of_birth")) or extra.dates_of_birth),
        nationalities=tuple(nationality or extra.nationalities),
        places_of_birth=tuple(pobs or extra.places_of_birth),
        addresses=tuple(lines),
        title=str(rec.get("title") or "").strip(),
    )


def _csl_csv_records(path: Path, text: str) -> Iterator[tuple[str, dict[str, Any]]]:
    lines = [ln for ln in _content(text).splitlines(keepends=True)]
    reader = csv.reader(io.StringIO("".join(lines)))
    try:
        header = [h.strip().lower() for h in next(reader)]
        for key in REQUIRED:
            if key not in header:
                raise RulesError(
                    f"{path}, line 1, field {key}: required column missing "
                    f"(columns found: {', '.join(h for h in header if h) or 'none'})"
                )
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            yield f"{path}, line {reader.line_num}", dict(zip(header, row, strict=False))
    except csv.Error as exc:
        raise RulesError(f"{path}, line {reader.line_num}: not valid CSV ({exc})") from exc


def _csl_json(path: Path, text: str) -> tuple[list[tuple[str, Any]], date | None]:
    try:
        data = json.loads(_content(text))
    except json.JSONDecodeError as exc:
        raise RulesError(
            f"{path}, line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})"
        ) from exc
    except RecursionError as exc:  # a list nested 100,000 deep is not a screening list
        raise RulesError(f"{path}: the JSON is nested too deeply to be a screening list") from exc
    published = None
    if isinstance(data, dict):
        if not isinstance(data.get("results"), list):
            raise RulesError(f'{path}, line 1, field results: expected {{"results": [...]}}')
        published = _csl_date(data)
        records = [
            (f"{path}, record {i + 1} (results[{i}])", r) for i, r in enumerate(data["results"])
        ]
    elif isinstance(data, list):
        records = [(f"{path}, record {i + 1}", r) for i, r in enumerate(data)]
    else:
        raise RulesError(f'{path}, line 1: expected a list of entries or {{"results": [...]}}')
    return records, published


def _csl_date(data: dict[str, Any]) -> date | None:
    """The oldest ``source_last_updated`` of the CSL's ``sources_used``: the list is as old
    as its stalest part."""
    found = []
    for src in data.get("sources_used") or []:
        if isinstance(src, dict):
            for key in ("source_last_updated", "last_imported"):
                value = str(src.get(key) or "")[:10]
                parsed = _us_date(value)
                if parsed:
                    found.append(parsed)
                    break
    return min(found) if found else None


def load_csl(path: Path, text: str, fmt: str, report: _Report) -> tuple[list[Party], date | None]:
    published = None
    if fmt == "csl-json":
        records, published = _csl_json(path, text)
    else:
        records = list(_csl_csv_records(path, text))
    parties = []
    for i, (where, rec) in enumerate(records):
        if not isinstance(rec, dict):
            report.bad(f"{where}: expected an object with name and source fields; skipped")
            continue
        try:
            parties.append(_csl_party(where, {str(k).lower(): v for k, v in rec.items()}, i + 1))
        except RulesError as exc:
            report.bad(f"{exc}; skipped")
    return parties, published


# --------------------------------------------------------------------------- dates, entry point


FORMAT_NAMES = {
    "ofac-csv": "OFAC SDN legacy CSV",
    "ofac-xml": "OFAC SDN.XML",
    "csl-csv": "Consolidated Screening List CSV",
    "csl-json": "Consolidated Screening List JSON",
}


def file_date(path: Path, files: tuple[Path, ...]) -> tuple[date | None, str]:
    """A sidecar's ``list_date``, else the newest file modification time (said so)."""
    meta = sidecar_path(path)
    if meta.is_file():
        try:
            data = yaml.safe_load(meta.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise RulesError(f"{meta}: not readable YAML ({exc})") from exc
        value = data.get("list_date") if isinstance(data, dict) else None
        if isinstance(value, date):
            return value, f"list_date in {meta.name}"
        if value is not None:
            raise RulesError(f"{meta}, field list_date: expected a date such as 2026-11-30")
    stamp = max(f.stat().st_mtime for f in files)
    return datetime.fromtimestamp(stamp, UTC).date(), "file modification time; no date in the file"


def load_list(path: Path) -> LoadedList:
    """Read any supported list file. Raises RulesError only when nothing usable remains."""
    text = read_text(path)
    fmt = detect_format(path, text)
    report = _Report()
    files: tuple[Path, ...] = (path,)
    published: date | None = None
    if fmt == "ofac-csv":
        files = (path, *ofac_companions(path))
        parties = load_ofac_csv(path, text, report)
    elif fmt == "ofac-xml":
        parties, published = load_ofac_xml(path, text, report)
    else:
        parties, published = load_csl(path, text, fmt, report)
    if not parties:
        detail = f": {report.problems[0]}" if report.problems else ""
        raise RulesError(
            f"{path}: no entries (only a header, an empty list or bad rows){detail}"
            + (f" and {report.skipped - 1} more bad rows" if report.skipped > 1 else "")
        )
    list_date: date | None = published
    if published is not None:
        date_source = (
            "Publish_Date in the file" if fmt == "ofac-xml" else "sources_used in the file"
        )
    else:
        list_date, date_source = file_date(path, files)
    return LoadedList(
        parties=_unique_ids(parties),
        format=FORMAT_NAMES[fmt],
        files=files,
        list_date=list_date,
        date_source=date_source,
        skipped=report.skipped,
        problems=tuple(report.problems),
    )


def load_screening_list(path: Path) -> list[Party]:
    """The entries of a list file (kept for callers that validate uploads)."""
    return load_list(path).parties
