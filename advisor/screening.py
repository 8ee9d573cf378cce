"""Restricted-party screening against the U.S. Consolidated Screening List (CSL).

Names mentioned in a question are matched fuzzily against list names and aliases; a hit is a
Flag that no model can lower. The list is a file a compliance team replaces at will, so it is
re-read when it changes, and a broken replacement leaves the last good list in force.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import random
import re
import tempfile
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process

from advisor.errors import InputError, RulesError
from advisor.models import Flag, Level

if TYPE_CHECKING:
    from advisor.settings import Settings

log = logging.getLogger(__name__)

EMBARGOED = frozenset({"IR", "KP", "SY", "CU"})
NEXT_STEP = "Do not proceed; ask your export control office to confirm the match and decide."
REQUIRED = ("name", "source")
MIN_FUZZY_CHARS = 4  # shorter normalised names (HIT, GRU, NSO) only match exactly
TOKEN_MIN = 80.0  # below this a token pair earns no credit ("harbin" vs "harvard" = 46)
SHORT_ALIAS = 5  # one-word aliases this short are acronyms: free text must write them in capitals
# Listed acronyms that are everyday research terms (gated recurrent unit, red-green-blue, neural
# processing unit). In questions they are not screened on their own, or every ML question would
# be "prohibited"; the full names still are, and ``advisor screen`` still matches them.
TECH_ACRONYMS = frozenset({"gru", "rgb", "npu"})
MAX_NAME_CHARS = 300

# Token-level rewriting, applied to list names and queries alike.
SYNONYMS = {
    "univ": "university",
    "uni": "university",
    "universitet": "university",
    "universitat": "university",
    "universite": "university",
    "universidad": "university",
    "universidade": "university",
    "universita": "university",
    "inst": "institute",
    "instit": "institute",
    "institut": "institute",
    "instituto": "institute",
    "istituto": "institute",
    "tech": "technology",
    "techn": "technology",
    "technol": "technology",
    "technologies": "technology",
    "tekhnologii": "technology",
    "polytech": "polytechnic",
    "polytechnical": "polytechnic",
    "natl": "national",
    "intl": "international",
    "dept": "department",
    "sci": "science",
    "sciences": "science",
    "eng": "engineering",
    "engg": "engineering",
    "engr": "engineering",
    "acad": "academy",
    "lab": "laboratory",
    "labs": "laboratory",
    "laboratories": "laboratory",
    "ctr": "center",
    "centre": "center",
    "centres": "center",
    "centers": "center",
    "grp": "group",
    "mfg": "manufacturing",
    "dev": "development",
    "sys": "systems",
    "system": "systems",
    "assn": "association",
    "assoc": "association",
    "mgmt": "management",
    "svc": "services",
    "svcs": "services",
    "service": "services",
    "res": "research",
    "govt": "government",
    "elec": "electronics",
}


def _words(text: str, sep: str | None = None) -> list[str]:
    return [w.strip() for w in text.split(sep) if w.strip()]


STOPWORDS = frozenset(_words("of the and for de del da des du la le el der die das di von und"))
LEGAL_FORMS = frozenset(
    _words(
        """co company cos ltd limited llc llp lp inc incorporated gmbh mbh ag kg pte pvt plc corp
    corporation ooo ao pao oao zao jsc pjsc ojsc cjsc sa sas sarl srl spa bv nv ab oy as kk sdn
    bhd fze fzco fzc fzllc tov doo ad zrt kft sro ltda gongsi youxian"""
    )
)
_TOKEN = re.compile(r"[^\W\d_](?:\.[^\W\d_])+\.?|[^\W_]+(?:['’][^\W_]+)*")
_LIST_CODE = re.compile(r"\(([A-Z][A-Z-]+)")
_ISO2 = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class ListRule:
    """What a hit on one CSL source list means, and where the rule is written."""

    citation: str
    effect: str
    prohibited: bool = False


LIST_RULES: dict[str, ListRule] = {
    "EL": ListRule(
        "15 CFR 744.11 and Supplement No. 4 to Part 744",
        "Entity List parties need a BIS licence for the items their entry names (often every "
        "item subject to the EAR), and licence exceptions are generally unavailable.",
    ),
    "SDN": ListRule(
        "31 CFR 501 / OFAC SDN list; 31 CFR 560.425 (50% rule)",
        "SDNs are blocked: U.S. persons may not deal with them or with entities they own 50% "
        "or more.",
        prohibited=True,
    ),
    "DPL": ListRule(
        "15 CFR 736.2(b)(4) and 15 CFR 764.3 (denial orders)",
        "A denial order bars the party from any transaction involving items subject to the EAR.",
        prohibited=True,
    ),
    "UVL": ListRule(
        "15 CFR 744.15 and Supplement No. 6 to Part 744",
        "Unverified List parties cannot use licence exceptions and need a UVL statement first.",
    ),
    "MEU": ListRule(
        "15 CFR 744.21 and Supplement No. 7 to Part 744",
        "Listed military end users need a BIS licence for many items subject to the EAR.",
    ),
    "DTC": ListRule(
        "22 CFR 127.7 (ITAR debarment)",
        "Debarred parties may not take part in "
        "exports of defence articles, defence services or technical data.",
    ),
    "ISN": ListRule(
        "State Department nonproliferation sanctions (ISN)",
        "The party is under U.S. nonproliferation sanctions.",
    ),
    "SSI": ListRule(
        "OFAC SSI list; directives under E.O. 13662",
        "Some financing and other dealings with the party are prohibited.",
    ),
    "FSE": ListRule(
        "OFAC FSE list; E.O. 13608",
        "U.S. persons may not transact with a foreign sanctions evader.",
    ),
    "CMIC": ListRule(
        "OFAC NS-CMIC list; E.O. 13959 as amended by E.O. 14032",
        "Buying the party's publicly traded securities is prohibited.",
    ),
    "NS-MBS": ListRule("OFAC NS-MBS list", "Menu-based sanctions restrict some dealings."),
}
DEFAULT_RULE = ListRule(
    "U.S. Consolidated Screening List", "The party is on a U.S. restricted-party list."
)


def list_code(source: str) -> str:
    """ "Entity List (EL) - Bureau of Industry and Security" -> "EL"."""
    m = _LIST_CODE.search(source)
    if m:
        return m.group(1)
    low = source.lower()
    if "specially designated" in low:
        return "SDN"
    if "entity list" in low:
        return "EL"
    return re.sub(r"[^A-Za-z0-9]+", "-", source).strip("-").upper()[:20] or "LIST"


# --------------------------------------------------------------------------- normalisation


@lru_cache(maxsize=65536)
def _norm_token(raw: str) -> tuple[str, str]:
    """(normalised token, kind) where kind is word, stop or legal. Cached: questions repeat."""
    s = unicodedata.normalize("NFKD", raw)
    s = "".join(c for c in s if not unicodedata.combining(c)).casefold()
    s = s.replace(".", "").replace("'", "").replace("’", "")
    s = SYNONYMS.get(s, s)
    if s in STOPWORDS:
        return s, "stop"
    return s, "legal" if s in LEGAL_FORMS else "word"


@lru_cache(maxsize=65536)
def name_tokens(name: str) -> tuple[str, ...]:
    """Tokens that identify a name: case, accents, punctuation, stop words, legal forms gone.

    A name made only of legal-form words ("AO") keeps them rather than vanish.
    """
    parts = [_norm_token(m.group(0)) for m in _TOKEN.finditer(name)]
    words = tuple(t for t, kind in parts if kind == "word")
    return words or tuple(t for t, kind in parts if kind == "legal")


def normalise_name(name: str) -> str:
    return " ".join(name_tokens(name))


@dataclass(frozen=True)
class _Tok:
    norm: str
    raw: str
    start: int
    end: int


def _text_tokens(text: str) -> list[_Tok]:
    out = []
    for m in _TOKEN.finditer(text):
        norm, kind = _norm_token(m.group(0))
        if kind == "word":
            out.append(_Tok(norm, m.group(0), m.start(), m.end()))
    return out


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class Party:
    """One list entry as published; ``sources`` are the CSL list names it comes from."""

    id: str
    name: str
    alt_names: tuple[str, ...]
    sources: tuple[str, ...]
    countries: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    type: str = ""
    remarks: str = ""
    source_list_url: str = ""
    start_date: str = ""

    @property
    def country(self) -> str:
        return self.countries[0] if self.countries else ""

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(list_code(s) for s in self.sources)

    @property
    def rules(self) -> list[ListRule]:
        return [LIST_RULES.get(code, DEFAULT_RULE) for code in self.codes] or [DEFAULT_RULE]


def _split(value: Any) -> list[str]:
    """CSV cells hold ``; ``-separated lists; JSON holds real lists."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return [part.strip() for part in str(value).split(";") if part.strip()]


def _countries(rec: dict[str, Any]) -> tuple[str, ...]:
    """ISO-2 codes from a ``country`` field, else from the addresses (CSV ends them ", CN")."""
    found: list[str] = []
    raw = rec.get("country")
    for value in raw if isinstance(raw, list) else _split(raw):
        found.append(str(value).strip().upper())
    addresses = rec.get("addresses")
    for addr in addresses if isinstance(addresses, list) else _split(addresses):
        if isinstance(addr, dict):
            found.append(str(addr.get("country") or "").strip().upper())
        else:
            found.append(str(addr).rsplit(",", 1)[-1].strip().upper())
    return tuple(dict.fromkeys(c for c in found if _ISO2.match(c)))


def _slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:60]


def _party(where: str, rec: dict[str, Any], index: int) -> Party:
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
    code = list_code(sources[0]).lower()
    number = str(rec.get("entity_number") or "").strip()
    ident = str(rec.get("id") or rec.get("_id") or "").strip()
    ident = ident or (f"{code}-{number}" if number else f"{_slug(name) or index}-{code}")
    return Party(
        id=ident,
        name=name.strip(),
        alt_names=tuple(_split(rec.get("alt_names"))),
        sources=sources,
        countries=_countries(rec),
        programs=tuple(_split(rec.get("programs"))),
        type=str(rec.get("type") or "").strip(),
        remarks=str(rec.get("remarks") or "").strip(),
        source_list_url=str(rec.get("source_list_url") or "").strip(),
        start_date=str(rec.get("start_date") or "").strip(),
    )


def _csv_records(path: Path, text: str) -> Iterator[tuple[str, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text))
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


def _json_records(path: Path, text: str) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RulesError(
            f"{path}, line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})"
        ) from exc
    if isinstance(data, dict):
        if not isinstance(data.get("results"), list):
            raise RulesError(f'{path}, line 1, field results: expected {{"results": [...]}}')
        data, label = data["results"], "results"
    elif isinstance(data, list):
        label = ""
    else:
        raise RulesError(f'{path}, line 1: expected a list of entries or {{"results": [...]}}')
    for i, rec in enumerate(data):
        where = f"{path}, record {i + 1} ({label}[{i}])" if label else f"{path}, record {i + 1}"
        if not isinstance(rec, dict):
            raise RulesError(f"{where}: expected an object with name and source fields")
        yield where, {str(k).lower(): v for k, v in rec.items()}


def load_screening_list(path: Path) -> list[Party]:
    """Read a CSL export (CSV or JSON). Raises RulesError naming the file, row and field."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RulesError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RulesError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    if not text.strip():
        raise RulesError(f"{path}, line 1: the file is empty; expected a CSL CSV or JSON export")
    is_json = path.suffix.lower() == ".json" or text.lstrip()[0] in "[{"
    records = _json_records(path, text) if is_json else _csv_records(path, text)
    parties: list[Party] = []
    seen: Counter[str] = Counter()
    for i, (where, rec) in enumerate(records):
        party = _party(where, rec, i + 1)
        seen[party.id] += 1
        if seen[party.id] > 1:
            party = replace(party, id=f"{party.id}-{seen[party.id]}")
        parties.append(party)
    if not parties:
        raise RulesError(f"{path}: no entries (only a header or an empty list)")
    return parties


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class _Alias:
    party: int
    text: str
    tokens: tuple[str, ...]
    key: str
    squashed: str


@dataclass(frozen=True)
class Match:
    """A list entry that a name resembles; ``query`` is the text that matched."""

    party: Party
    matched_name: str
    score: float
    query: str

    @property
    def prohibited(self) -> bool:
        return any(r.prohibited for r in self.party.rules) or bool(
            set(self.party.countries) & EMBARGOED
        )

    def to_dict(self) -> dict[str, Any]:
        p = self.party
        return {
            "id": p.id,
            "list": "; ".join(p.sources),
            "matched_name": self.matched_name,
            "name": p.name,
            "country": p.country,
            "countries": list(p.countries),
            "programs": list(p.programs),
            "score": round(self.score, 1),
            "query": self.query,
            "source_list_url": p.source_list_url,
        }


class _Index:
    """Aliases, token weights and a rare-token index, rebuilt whenever the file changes.

    Weights are inverse document frequencies, so a missing "Harbin" costs a match far more
    than a missing "Technology". Only rare tokens are indexed, so a question is compared with
    the handful of aliases it shares a distinctive word with, not with the whole list.
    """

    def __init__(self, parties: list[Party]) -> None:
        self.parties = parties
        self.aliases: list[_Alias] = []
        df: Counter[str] = Counter()
        for pi, party in enumerate(parties):
            keys: set[str] = set()
            for text in (party.name, *party.alt_names):
                toks = name_tokens(text)
                key = " ".join(toks)
                if toks and key not in keys:
                    keys.add(key)
                    self.aliases.append(_Alias(pi, text, toks, key, key.replace(" ", "")))
            df.update({t for k in keys for t in k.split()})
        n = len(parties)
        self.idf = {t: math.log((n + 1) / (c + 0.5)) for t, c in df.items()}
        self.unknown_idf = math.log((n + 1) / 0.5)
        cap = max(20, n // 200)
        self.by_token: dict[str, list[int]] = {}
        self.by_squashed: dict[str, list[int]] = {}
        for ai, alias in enumerate(self.aliases):
            usable = [t for t in alias.tokens if len(t) > 1] or list(alias.tokens)
            keys = {t for t in usable if df[t] <= cap} or {min(usable, key=lambda t: df[t])}
            for t in keys:
                self.by_token.setdefault(t, []).append(ai)
            self.by_squashed.setdefault(alias.squashed, []).append(ai)
        self.keys = [a.key for a in self.aliases]

    def coverage(self, tokens: Sequence[str], other: Sequence[str]) -> float:
        """Weighted share of ``tokens`` found (exactly or nearly) among ``other``."""
        total = got = 0.0
        for t in tokens:
            w = self.idf.get(t, self.unknown_idf)
            total += w
            if t in other:
                got += w
                continue
            best = max((fuzz.ratio(t, o) for o in other), default=0.0)
            if best >= TOKEN_MIN:
                got += w * best / 100
        return 100.0 * got / total if total else 0.0

    def similarity(self, tokens: Sequence[str], alias: _Alias, floor: float = 0.0) -> float:
        """0-100. Both directions must agree, so extra or missing distinctive words sink it.

        token_set alone would call "Harbin" a perfect match for "Harbin Institute of
        Technology"; the weighted coverage and token_sort keep subsets and length gaps down.
        """
        key = " ".join(tokens)
        if key == alias.key:
            return 100.0
        squashed = key.replace(" ", "")
        if squashed == alias.squashed:
            return 99.0
        if min(len(squashed), len(alias.squashed)) < MIN_FUZZY_CHARS:
            return 0.0
        agree = (fuzz.token_sort_ratio(key, alias.key) + fuzz.token_set_ratio(key, alias.key)) / 2
        if agree < floor:  # cheap C++ bound first; the weighted coverage is pure Python
            return agree
        align = min(self.coverage(alias.tokens, tokens), self.coverage(tokens, alias.tokens))
        return min(align, agree)


def _window_ok(window: list[_Tok], alias: _Alias, strict: bool) -> bool:
    """Free text is noisier than a typed name: one-word aliases need a proper-noun spelling.

    "hit the button" must not screen as HIT, nor "Hit rate" either: short one-word aliases
    must be written in capitals, longer ones capitalised and spelt exactly, and TECH_ACRONYMS
    not at all.
    """
    if not strict or len(alias.tokens) > 1:
        return True
    raw = window[0].raw
    if len(window) != 1 or window[0].norm != alias.key or alias.key in TECH_ACRONYMS:
        return False
    if len(alias.squashed) <= SHORT_ALIAS:
        return raw.isupper() and sum(c.isalpha() for c in raw) >= 2
    return any(c.isupper() for c in raw)


class Screener:
    """Screens names and questions against a CSL file, re-reading it when it changes."""

    def __init__(self, path: Path, threshold: float = 88.0) -> None:
        if not 0 <= threshold <= 100:
            raise InputError(f"the screening threshold must be 0-100, not {threshold}")
        self.path = Path(path)
        self.threshold = float(threshold)
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._stamp = self._file_stamp()
        self._index = _Index(load_screening_list(self.path))

    # -- list lifecycle ---------------------------------------------------------------

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def refresh(self) -> bool:
        """Reload when the file's mtime or size changed; True when a new list was taken."""
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return False
        with self._lock:
            if stamp == self._stamp:
                return False
            self._stamp = stamp
            try:
                self._index = _Index(load_screening_list(self.path))
            except RulesError as exc:
                self.last_error = str(exc)
                log.error("screening list not reloaded, the previous list stays in force: %s", exc)
                return False
            self.last_error = None
            log.info("screening list reloaded: %d entries", len(self._index.parties))
            return True

    @property
    def parties(self) -> list[Party]:
        return self._index.parties

    @property
    def is_sample(self) -> bool:
        return any("SAMPLE" in p.remarks for p in self._index.parties[:50])

    # -- matching ---------------------------------------------------------------------

    def _find(
        self, idx: _Index, toks: list[_Tok], text: str, threshold: float, strict: bool
    ) -> dict[int, Match]:
        """Best match per party over token windows that share a rare token with an alias."""
        best: dict[int, Match] = {}
        seen: set[tuple[int, int, int]] = set()
        n = len(toks)
        for i, tok in enumerate(toks):
            for ai in idx.by_token.get(tok.norm, ()):
                alias = idx.aliases[ai]
                size = len(alias.tokens)
                lengths = (1,) if size == 1 else range(size - 1, size + 2)
                for length in lengths:
                    for s in range(max(0, i - length + 1), min(i, n - length) + 1):
                        if (s, length, ai) in seen:
                            continue
                        seen.add((s, length, ai))
                        window = toks[s : s + length]
                        if not _window_ok(window, alias, strict):
                            continue
                        score = idx.similarity([t.norm for t in window], alias, threshold)
                        current = best.get(alias.party)
                        if score >= threshold and (current is None or score > current.score):
                            span = text[window[0].start : window[-1].end]
                            best[alias.party] = Match(
                                idx.parties[alias.party], alias.text, score, span
                            )
        return best

    def screen(
        self, name: str, country: str | None = None, threshold: float | None = None
    ) -> list[Match]:
        """Matches for one typed name, best first; any part of the name may match an alias."""
        name = (name or "").strip()
        if not name:
            raise InputError("give a name to screen")
        if len(name) > MAX_NAME_CHARS:
            raise InputError(f"the name is {len(name)} characters; the limit is {MAX_NAME_CHARS}")
        cc = country_code(country)
        limit = self.threshold if threshold is None else float(threshold)
        if not 0 <= limit <= 100:
            raise InputError(f"the threshold must be 0-100, not {limit}")
        self.refresh()
        idx = self._index
        toks = _text_tokens(name)
        if not toks:
            raise InputError(f"{name!r} has no letters or digits to screen")
        best = self._find(idx, toks, name, limit, strict=False)
        whole = [t.norm for t in toks]
        key = " ".join(whole)
        # token_set_ratio bounds similarity() from above, so it is a safe pre-filter.
        found = process.extract(
            key, idx.keys, scorer=fuzz.token_set_ratio, score_cutoff=limit, limit=200
        )
        ids = {ai for _, _, ai in found} | set(idx.by_squashed.get(key.replace(" ", ""), []))
        for ai in ids:
            alias = idx.aliases[ai]
            score = idx.similarity(whole, alias, limit)
            current = best.get(alias.party)
            if score >= limit and (current is None or score > current.score):
                best[alias.party] = Match(idx.parties[alias.party], alias.text, score, name)
        matches = [m for m in best.values() if cc is None or cc in m.party.countries]
        return sorted(matches, key=lambda m: (-m.score, m.party.name))

    def matches_in_text(self, text: str) -> list[Match]:
        self.refresh()
        idx = self._index
        found = self._find(idx, _text_tokens(text or ""), text or "", self.threshold, True)
        return sorted(found.values(), key=lambda m: (-m.score, m.party.name))

    def flags_for_text(self, text: str) -> list[Flag]:
        """One Flag per listed party a question mentions; at least ``escalate``."""
        return [flag_for(m) for m in self.matches_in_text(text)]

    __call__ = flags_for_text


def flag_for(match: Match) -> Flag:
    p = match.party
    rules = p.rules
    lists = "; ".join(p.sources)
    alias = "" if match.matched_name == p.name else f" (listed alias {match.matched_name!r})"
    where = f", country {', '.join(p.countries)}" if p.countries else ""
    parts = [
        f"{match.query!r} resembles {p.name}{alias} on the {lists} "
        f"(match score {match.score:.0f}/100{where}).",
        *dict.fromkeys(r.effect for r in rules),
    ]
    embargoed = sorted(set(p.countries) & EMBARGOED)
    if embargoed:
        parts.append(
            f"The entry's country ({', '.join(embargoed)}) is under a comprehensive U.S. embargo."
        )
    parts.append("A similar name is not proof of identity; the match must be confirmed.")
    return Flag(
        id=f"listed-party:{p.id}",
        level=Level.PROHIBITED if match.prohibited else Level.ESCALATE,
        reason=" ".join(parts),
        citation="; ".join(dict.fromkeys(r.citation for r in rules)),
        next_step=NEXT_STEP,
        matched=[match.query],
    )


def country_code(country: str | None) -> str | None:
    if country is None:
        return None
    cc = country.strip().upper()
    if not _ISO2.match(cc):
        raise InputError(f"--country takes a two-letter ISO code such as CN or RU, not {country!r}")
    return cc


def screener_from_settings(settings: Settings) -> Screener | None:
    """The screener the advisor uses, or None (with a warning) when no list file exists."""
    path = settings.screening_path.expanduser().resolve()
    if not path.exists():
        log.warning("no screening list at %s; restricted-party screening is off", path)
        return None
    return Screener(path, threshold=settings.screening_threshold)


# --------------------------------------------------------------------------- CLI


# --------------------------------------------------------------------------- benchmark

_CITIES = _words(
    """Beijing|Shanghai|Shenzhen|Harbin|Wuhan|Chengdu|Xian|Tianjin|Nanjing|Hefei|Changsha|Dalian|
    Moscow|Tomsk|Kazan|Novosibirsk|Minsk|Tehran|Isfahan|Tabriz|Karachi|Lahore|Dubai|Sharjah|
    Istanbul|Ankara|Pyongyang|Damascus|Havana|Caracas|Yangon|Almaty|Tashkent|Yerevan|Baku|
    Hong Kong|Macau|Singapore|Kuala Lumpur|Bangkok""",
    "|",
)
_SYLLABLES = _words(
    """zhong xin hua tek ra vo lin kor sta ner gen dar mir pol tar vex qin bao long
feng yun sha kir ost nov rus ara zan pars sepa ham sun star arc del tri mag ion"""
)
_INDUSTRY = _words(
    """Aerospace Photonics Electronics Microelectronics Semiconductor Software Optical
Precision Machinery Materials Nuclear Chemical Marine Robotics Telecom Communications Cyber
Energy Instruments Avionics Navigation Computing Laser Radar Vacuum"""
)
_KINDS = _words(
    """Technology Trading Industrial Research Development Engineering Manufacturing Import
Export Equipment Systems Scientific Holding Group Institute Laboratory"""
)
_LEGAL = ["Co., Ltd.", "LLC", "OOO", "JSC", "Limited", "FZE", "Company", "Inc.", "Pte. Ltd.", ""]
_SOURCES = [
    "Entity List (EL) - Bureau of Industry and Security",
    "Specially Designated Nationals (SDN) - Treasury Department",
    "Military End User (MEU) List - Bureau of Industry and Security",
    "Unverified List (UVL) - Bureau of Industry and Security",
]
_COUNTRIES = ["CN", "RU", "IR", "AE", "TR", "HK", "SG", "BY", "PK", "MM", "KP", "SY"]
_TEMPLATES = [
    "Can I share my fuzzer with a PhD student at {org}?",
    "A postdoc from {org} wants to visit our lab next month. Do we need a licence?",
    "We received a purchase order from {org} for our {ind} test kit; can we ship to {city}?",
    "Is it OK to co-author a paper with researchers at {org} about {ind} software?",
    "My collaborator at {org} asked for the source code of our {ind} model. What should I do?",
    "Professor Chen from {org} invited me to give a talk in {city}. Can I bring my laptop?",
]
_UNLISTED = [
    "MIT",
    "ETH Zurich",
    "University of Toronto",
    "Imperial College London",
    "Tsinghua University",
    "Stanford University",
    "TU Munich",
    "KAIST",
]


def _synthetic_name(rng: random.Random) -> tuple[str, str]:
    core = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    parts = [
        rng.choice(_CITIES),
        core,
        rng.choice(_INDUSTRY),
        rng.choice(_KINDS),
        rng.choice(_LEGAL),
    ]
    return " ".join(p for p in parts if p), core


def bench_screening(n_entries: int = 10000, n_questions: int = 200, seed: int = 0) -> dict:
    """Time question screening on a synthetic list of ``n_entries`` plus the bundled sample."""
    rng = random.Random(seed)
    sample = Path(__file__).resolve().parent.parent / (
        "corpus/screening/consolidated-screening-list-sample.csv"
    )
    records: list[dict[str, Any]] = []
    if sample.exists():
        for p in load_screening_list(sample):
            records.append(
                {
                    "name": p.name,
                    "alt_names": list(p.alt_names),
                    "source": "; ".join(p.sources),
                    "country": list(p.countries),
                    "programs": list(p.programs),
                }
            )
    listed: list[str] = [r["name"] for r in records]
    while len(records) < n_entries:
        name, core = _synthetic_name(rng)
        alts = [f"{core} {rng.choice(_KINDS)}"] if rng.random() < 0.4 else []
        records.append(
            {
                "name": name,
                "alt_names": alts,
                "source": rng.choice(_SOURCES),
                "country": rng.choice(_COUNTRIES),
                "type": "Entity",
            }
        )
        listed.append(name)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "csl.json"
        path.write_text(json.dumps({"results": records}), encoding="utf-8")
        start = time.perf_counter()
        screener = Screener(path)
        load_ms = (time.perf_counter() - start) * 1000
        questions = []
        for _ in range(n_questions):
            roll = rng.random()
            if roll < 0.35:
                org = rng.choice(listed)
            elif roll < 0.7:
                org = _synthetic_name(rng)[0]
            else:
                org = rng.choice(_UNLISTED)
            template = rng.choice(_TEMPLATES)
            questions.append(
                template.format(
                    org=org, ind=rng.choice(_INDUSTRY).lower(), city=rng.choice(_CITIES)
                )
            )
        times, hits = [], 0
        for q in questions:
            start = time.perf_counter()
            hits += bool(screener.flags_for_text(q))
            times.append((time.perf_counter() - start) * 1000)
    times.sort()

    def pct(p: float) -> float:
        return round(times[min(len(times) - 1, int(p * len(times)))], 3)

    return {
        "entries": len(records),
        "questions": len(questions),
        "p50_ms": pct(0.5),
        "p95_ms": pct(0.95),
        "load_ms": round(load_ms, 1),
        "flagged_questions": hits,
    }
