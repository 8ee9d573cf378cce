"""Screening names and questions against the list in force; hits become Flags.

The list file is re-read when it (or an OFAC companion file) changes, and a broken
replacement leaves the last good list in force. In running text, a one-word vessel or
aircraft name and a one-word alias never flag a question on their own: the question must
also name the entry's country or a place in its address (or, for a vessel or aircraft, speak
of one). Initialisms of the entry's own name written in capitals (IRGC, NUDT) are the
exception: they spell the full name.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.errors import InputError, RulesError
from advisor.models import Flag, Level
from advisor.screening.cache import Built, build, list_files
from advisor.screening.countries import country_names
from advisor.screening.freshness import Freshness, stale_flag
from advisor.screening.matching import (
    COMMON_TOKEN,
    PART_MIN,
    Alias,
    Index,
    Tok,
    _person_part,
    text_tokens,
)
from advisor.screening.models import EMBARGOED, LoadedList, Party
from advisor.screening.names import part_similarity, phonetic, words
from advisor.screening.remarks import DateParts, parse_dates
from advisor.watched import Watched, files_stamp

if TYPE_CHECKING:
    from advisor.settings import Settings

log = logging.getLogger(__name__)

NEXT_STEP = "Do not proceed; ask your export control office to confirm the match and decide."
MAX_NAME_CHARS = 300
TEXT_PRESENT_MIN = 0.5  # weighted share of a name's parts a question must contain (or sound)
SHORT_ALIAS = 5  # one-word names this short are acronyms: free text must write them in capitals
VESSEL_WORDS = frozenset(words("vessel tanker boat freighter imo mmsi ferry yacht tugboat"))
AIRCRAFT_WORDS = frozenset(words("aircraft plane airplane jet airliner helicopter airline"))
_GENERIC_PLACE = frozenset(
    words(
        """street road avenue building floor office district city province region house block
        square lane unit suite tower centre center north south east west"""
    )
)
_ISO2 = re.compile(r"^[A-Z]{2}$")
# How the optional details move a score.
COUNTRY_AGREES, COUNTRY_DIFFERS = 5.0, -10.0
DOB_AGREES, DOB_YEAR_AGREES, DOB_DIFFERS = 8.0, 4.0, -15.0
ADDRESS_AGREES, ADDRESS_DIFFERS = 4.0, -5.0


@dataclass(frozen=True)
class Match:
    """A list entry that a name resembles; ``query`` is the text that matched and ``notes``
    say what raised or lowered the score (country, address, date of birth, corroboration)."""

    party: Party
    matched_name: str
    score: float
    query: str
    notes: tuple[str, ...] = ()

    @property
    def prohibited(self) -> bool:
        return self.party.prohibited

    @property
    def type(self) -> str:
        return self.party.type

    @property
    def programs(self) -> tuple[str, ...]:
        return self.party.programs

    @property
    def lists(self) -> tuple[str, ...]:
        return self.party.sources

    def to_dict(self) -> dict[str, Any]:
        p = self.party
        return {
            "id": p.id,
            "list": "; ".join(p.sources),
            "type": p.type,
            "matched_name": self.matched_name,
            "name": p.name,
            "country": p.country,
            "countries": list(p.countries),
            "programs": list(p.programs),
            "dates_of_birth": list(p.dates_of_birth),
            "nationalities": list(p.nationalities),
            "addresses": list(p.addresses),
            "score": round(self.score, 1),
            "query": self.query,
            "notes": list(self.notes),
            "source_list_url": p.source_list_url,
        }


def _capitalised(raw: str) -> bool:
    return raw[:1].isupper()


def _window_ok(window: list[Tok], alias: Alias, strict: bool) -> bool:
    """Free text is noisier than a typed name: names there need a proper-noun spelling.

    "hit the button" must not screen as HIT: short one-word names must be written in
    capitals, longer ones capitalised and spelt alike; people's names capitalised unless
    every part is spelt exactly.
    """
    if not strict:
        return True
    if alias.person and alias.surname:
        exact = all(t.norm in alias.tokens for t in window)
        return exact or all(_capitalised(t.raw) for t in window)
    if len(alias.tokens) > 1:
        return True
    if len(window) != 1:
        return False
    raw, norm = window[0].raw, window[0].norm
    if norm != alias.key and not (len(norm) >= 7 and part_similarity(norm, alias.key) >= 0.93):
        return False
    if len(alias.squashed) <= SHORT_ALIAS:
        return raw.isupper() and sum(c.isalpha() for c in raw) >= 2
    return _capitalised(raw)


def _adjacent(text: str, toks: list[Tok], s: int, e: int, strict: bool = False) -> bool:
    """Tokens s..e stand together as one name: only spaces (or hyphens; commas unless
    ``strict``) between them."""
    allowed = " -\t" if strict else " -\t,"
    return all(not text[toks[k].end : toks[k + 1].start].strip(allowed) for k in range(s, e))


@lru_cache(maxsize=1)
def _dictionary() -> frozenset[str]:
    """English dictionary words (Webster's 2nd, from ``english-words``)."""
    from english_words import get_english_words_set

    return frozenset(get_english_words_set(["web2"], lower=True))


def _brand(alias: Alias, party: Party, raw: str) -> bool:
    """An organisation's own coined name ("Huawei", "Hikvision") written as a name: long,
    capitalised and no dictionary word, so it names the party even alone."""
    word = alias.tokens[0]
    return (
        party.type not in ("individual", "vessel", "aircraft")
        and len(word) >= 5
        and raw[:1].isupper()
        and word.isalpha()
        and word.lower() not in _dictionary()
    )


def _weak(alias: Alias, party: Party, raw: str) -> bool:
    """One-word vessel/aircraft names and one-word aliases need corroboration in text,
    except an organisation's coined name."""
    if len(alias.tokens) != 1:
        return False
    if alias.initialism and raw.isupper():
        return False
    if _brand(alias, party, raw):
        return False
    return not alias.primary or party.type in ("vessel", "aircraft")


def _corroboration(party: Party, words: set[str], lowered: str) -> str | None:
    """What else in the question points at this entry: its country, a place, its kind."""
    if party.type == "vessel" and words & VESSEL_WORDS:
        return f"the question speaks of a vessel ({', '.join(sorted(words & VESSEL_WORDS))})"
    if party.type == "aircraft" and words & AIRCRAFT_WORDS:
        return f"the question speaks of an aircraft ({', '.join(sorted(words & AIRCRAFT_WORDS))})"
    for code in party.countries:
        for name in country_names(code):
            if (" " in name and name in lowered) or any(w.startswith(name) for w in words):
                return f"the question names the entry's country ({name.title()})"
    for line in party.addresses:
        for t in text_tokens(line):
            generic = len(t.norm) < 4 or not t.norm.isalpha() or t.norm in _GENERIC_PLACE
            if not generic and t.norm in words:
                return f"the question names a place in the entry's address ({t.raw})"
    return None


class Screener:
    """Screens names and questions against a list file, re-reading it when it changes."""

    def __init__(
        self,
        path: Path,
        threshold: float = 88.0,
        *,
        cache_dir: Path | None = None,
        max_age_days: int = 7,
        today: Callable[[], date] = date.today,
    ) -> None:
        if not 0 <= threshold <= 100:
            raise InputError(f"the screening threshold must be 0-100, not {threshold}")
        self.path = Path(path)
        self.threshold = float(threshold)
        self.cache_dir = cache_dir
        self.max_age_days = max_age_days
        self._today = today
        self._list: Watched[Built] = Watched(
            lambda: build(self.path, self.cache_dir),
            lambda: files_stamp(lambda: list_files(self.path)),
            errors=(RulesError, OSError),
            on_reload=lambda built: log.info(
                "screening list reloaded: %d entries", len(built.loaded.parties)
            ),
            on_error=lambda exc: log.error(
                "screening list not reloaded, the previous list stays in force: %s", exc
            ),
        )

    # -- list lifecycle ---------------------------------------------------------------

    def refresh(self) -> bool:
        """Reload when a list file's mtime or size changed; True when a new list was taken."""
        return self._list.refresh()

    @property
    def last_error(self) -> str | None:
        """Why the list file on disk is not in use, until it is fixed."""
        return self._list.last_error

    @property
    def loaded(self) -> LoadedList:
        return self._list.value.loaded

    @property
    def index(self) -> Index:
        return self._list.value.index

    @property
    def from_cache(self) -> bool:
        return self._list.value.from_cache

    @property
    def parties(self) -> list[Party]:
        return self._list.value.loaded.parties

    @property
    def is_sample(self) -> bool:
        return any("SAMPLE" in p.remarks for p in self.parties[:50])

    def freshness(self) -> Freshness:
        loaded = self.loaded
        return Freshness(loaded.list_date, loaded.date_source, self._today(), self.max_age_days)

    def describe(self) -> str:
        """One line for status displays: format, entries, date, skipped rows."""
        loaded = self.loaded
        text = f"{loaded.format}, {len(loaded.parties)} entries, {self.freshness().describe()}"
        if loaded.skipped:
            text += f"; {loaded.skipped} bad rows skipped"
        return text

    def warnings(self) -> list[str]:
        """What the CLI and the app show beside every result."""
        out = []
        if self.is_sample:
            out.append(f"{self.path.name} is a SAMPLE list, not the current list")
        stale = None if self.is_sample else self.freshness().warning()
        if stale:
            out.append(stale)
        if self.loaded.skipped:
            first = self.loaded.problems[0] if self.loaded.problems else ""
            out.append(
                f"{self.loaded.skipped} bad rows were skipped while reading the list ({first})"
            )
        if self.last_error:
            out.append(
                f"the list file changed but cannot be read; the last good list is in use: "
                f"{self.last_error}"
            )
        return out

    # -- matching ---------------------------------------------------------------------

    def _person_window(
        self, toks: list[Tok], text: str, i: int, alias: Alias
    ) -> tuple[int, int] | None:
        """The name around ``toks[i]`` whose parts are the alias's, grown one part at a time.

        In text an adjacent capitalised word that is a listed name part joins the window as
        an unmatched part: "Konstantin Ivanovich Strukov" is not "Igor Ivanovich Strelkov".
        """
        n = len(toks)
        free = list(alias.tokens)
        free.remove(max(free, key=lambda a: _person_part(toks[i].norm, a)))
        s = e = i
        while free:
            for j in (s - 1, e + 1):
                if not 0 <= j < n or not _adjacent(text, toks, min(j, s), max(j, e)):
                    continue
                part = max(free, key=lambda a: _person_part(toks[j].norm, a))
                if _person_part(toks[j].norm, part) >= PART_MIN:
                    free.remove(part)
                    s, e = min(s, j), max(e, j)
                    break
            else:
                break
        if e == s and len(alias.tokens) > 1:
            return None
        for j in (s - 1, e + 1):
            if (
                0 <= j < n
                and _capitalised(toks[j].raw)
                and toks[j].norm in self.index.person_words
                and _adjacent(text, toks, min(j, s), max(j, e), strict=True)
            ):
                s, e = min(s, j), max(e, j)
        return s, e + 1

    def _windows(self, toks: list[Tok], text: str, i: int, alias: Alias) -> list[tuple[int, int]]:
        """Token spans around ``toks[i]`` worth scoring against ``alias``."""
        if alias.person and alias.surname:
            span = self._person_window(toks, text, i, alias)
            return [span] if span else []
        n = len(toks)
        size = len(alias.tokens)
        lengths = (1,) if size == 1 else range(size - 1, size + 2)
        return [
            (s, s + length)
            for length in lengths
            for s in range(max(0, i - length + 1), min(i, n - length) + 1)
        ]

    def _find(
        self, toks: list[Tok], text: str, threshold: float, strict: bool
    ) -> dict[int, tuple[Match, str, int]]:
        """Best match per entry over token windows that share a rare token or sound."""
        idx = self.index
        best: dict[int, tuple[Match, str, int]] = {}
        seen: set[tuple[int, int, int]] = set()
        norms = {t.norm for t in toks}
        phones = {phonetic(t.norm) for t in toks} - {""}
        plausible: dict[int, bool] = {}
        for i, tok in enumerate(toks):
            sound = not strict or _capitalised(tok.raw)
            for ai in idx.candidates(tok.norm, sound=sound):
                alias = idx.aliases[ai]
                if not strict and alias.person and alias.surname:
                    continue  # a typed person's name is scored whole (_whole_name)
                if strict and ai not in plausible:  # most of the name must be in the text
                    plausible[ai] = idx.present_share(alias, norms, phones) >= TEXT_PRESENT_MIN
                if strict and not plausible[ai]:
                    continue
                for s, e in self._windows(toks, text, i, alias):
                    if (s, e, ai) in seen:
                        continue
                    seen.add((s, e, ai))
                    window = toks[s:e]
                    if not strict and e - s < len(toks) and len(alias.tokens) < 2:
                        continue  # a typed name's stray word is not a one-word hit
                    if not _window_ok(window, alias, strict):
                        continue
                    score = idx.score([t.norm for t in window], alias, threshold)
                    current = best.get(alias.party)
                    if score >= threshold and (current is None or score > current[0].score):
                        span = text[window[0].start : window[-1].end]
                        match = Match(idx.parties[alias.party], alias.text, score, span)
                        best[alias.party] = (match, window[0].raw if e - s == 1 else "", ai)
        return best

    def screen_text(self, text: str, include_weak: bool = False) -> list[Match]:
        """Listed parties a question names, best first (the ones that flag it)."""
        self.refresh()
        text = text or ""
        toks = text_tokens(text)
        found = self._find(toks, text, self.threshold, strict=True)
        words = {t.norm for t in toks}
        lowered = " ".join(t.norm for t in toks)
        out = []
        for match, raw, ai in found.values():
            if raw and _weak(self.index.aliases[ai], match.party, raw):
                why = _corroboration(match.party, words, lowered)
                if why is None and not include_weak:
                    continue
                note = (
                    f"one-word name, corroborated: {why}"
                    if why
                    else "one-word name without corroboration (does not flag)"
                )
                match = replace(match, notes=(*match.notes, note))
            out.append(match)
        return sorted(out, key=lambda m: (-m.score, m.party.name))

    matches_in_text = screen_text

    def screen(
        self,
        name: str,
        country: str | None = None,
        threshold: float | None = None,
        *,
        address: str | None = None,
        dob: str | None = None,
    ) -> list[Match]:
        """Matches for one typed name, best first; country, address and date of birth, when
        given, raise or lower each score and the match says how."""
        name = (name or "").strip()
        if not name:
            raise InputError("give a name to screen")
        if len(name) > MAX_NAME_CHARS:
            raise InputError(f"the name is {len(name)} characters; the limit is {MAX_NAME_CHARS}")
        cc = country_code(country)
        dates = birth_dates(dob)
        limit = self.threshold if threshold is None else float(threshold)
        if not 0 <= limit <= 100:
            raise InputError(f"the threshold must be 0-100, not {limit}")
        self.refresh()
        toks = text_tokens(name)
        if not toks:
            raise InputError(f"{name!r} has no letters or digits to screen")
        bonus = (
            COUNTRY_AGREES * bool(cc) + DOB_AGREES * bool(dates) + ADDRESS_AGREES * bool(address)
        )
        floor = max(0.0, limit - bonus)
        best = {pi: m for pi, (m, _, _) in self._find(toks, name, floor, strict=False).items()}
        self._whole_name(toks, name, floor, best)
        adjusted = [_adjust(m, cc, address, dates) for m in best.values()]
        matches = [m for m in adjusted if m.score >= limit]
        return sorted(matches, key=lambda m: (-m.score, m.party.name))

    def _whole_name(self, toks: list[Tok], name: str, floor: float, best: dict[int, Match]) -> None:
        """Score the whole typed name against every alias sharing a part spelt alike."""
        idx = self.index
        whole = [t.norm for t in toks]
        ids = set(idx.by_squashed.get("".join(whole), []))
        for t in whole:
            ids |= idx.candidates(t)
            for near in idx.near_tokens(t):
                group = idx.with_token[near]
                if len(group) <= COMMON_TOKEN or near == t:
                    ids.update(group)
        for ai in ids:
            alias = idx.aliases[ai]
            score = idx.score(whole, alias, floor)
            current = best.get(alias.party)
            if score >= floor and (current is None or score > current.score):
                best[alias.party] = Match(idx.parties[alias.party], alias.text, score, name)

    def flags_for_text(self, text: str) -> list[Flag]:
        """One Flag per listed party a question names (at least ``escalate``), plus a
        level-``none`` warning when the list is older than allowed (never for the SAMPLE)."""
        flags = [flag_for(m) for m in self.screen_text(text)]
        # The bundled SAMPLE has no real date and says on every screen that it is not current.
        stale = None if self.is_sample else stale_flag(self.freshness())
        return [*flags, stale] if stale else flags

    __call__ = flags_for_text


# --------------------------------------------------------------------------- details


def birth_dates(dob: str | None) -> list[DateParts]:
    if dob is None or not dob.strip():
        return []
    dates = parse_dates(dob)
    if not dates:
        raise InputError(
            f"--dob takes a date of birth such as 1958-09-10, '10 Sep 1958' or 1958, not {dob!r}"
        )
    return dates


def _dob_effect(given: list[DateParts], party: Party) -> tuple[float, str] | None:
    listed = [d for text in party.dates_of_birth for d in parse_dates(text)]
    if not listed:
        return None

    def same_day(a: DateParts, b: DateParts) -> bool:
        return (a.year, a.month, a.day) == (b.year, b.month, b.day) and a.day is not None

    shown = "; ".join(party.dates_of_birth)
    if any(same_day(g, d) for g in given for d in listed):
        return DOB_AGREES, f"date of birth agrees with the entry ({shown}) ({DOB_AGREES:+.0f})"
    slack = 1 if any(d.circa for d in listed) else 0
    if any(abs(g.year - d.year) <= slack for g in given for d in listed):
        return (
            DOB_YEAR_AGREES,
            f"year of birth agrees with the entry ({shown}) ({DOB_YEAR_AGREES:+.0f})",
        )
    return DOB_DIFFERS, f"date of birth differs from the entry's ({shown}) ({DOB_DIFFERS:+.0f})"


def _address_effect(address: str, party: Party) -> tuple[float, str] | None:
    if not party.addresses:
        return None
    given = {t.norm for t in text_tokens(address) if len(t.norm) >= 3}
    for line in party.addresses:
        common = given & {t.norm for t in text_tokens(line)} - _GENERIC_PLACE
        if common:
            return (
                ADDRESS_AGREES,
                f"address agrees with the entry's {line!r} ({ADDRESS_AGREES:+.0f})",
            )
    return ADDRESS_DIFFERS, (
        f"address differs from the entry's ({'; '.join(party.addresses[:3])}) "
        f"({ADDRESS_DIFFERS:+.0f})"
    )


def _adjust(match: Match, cc: str | None, address: str | None, dates: list[DateParts]) -> Match:
    """Raise or lower a score with the details the user gave, and say so."""
    party = match.party
    effects: list[tuple[float, str]] = []
    if cc:
        if not party.countries:
            match = replace(match, notes=(*match.notes, f"country {cc}: the entry names none"))
        elif cc in party.countries:
            effects.append(
                (COUNTRY_AGREES, f"country {cc} agrees with the entry ({COUNTRY_AGREES:+.0f})")
            )
        else:
            effects.append(
                (
                    COUNTRY_DIFFERS,
                    f"country {cc} differs from the entry's "
                    f"({', '.join(party.countries)}) ({COUNTRY_DIFFERS:+.0f})",
                )
            )
    if dates:
        effect = _dob_effect(dates, party)
        if effect:
            effects.append(effect)
    if address and address.strip():
        effect = _address_effect(address, party)
        if effect:
            effects.append(effect)
    if not effects:
        return match
    score = min(100.0, max(0.0, match.score + sum(e for e, _ in effects)))
    return replace(match, score=score, notes=(*match.notes, *(n for _, n in effects)))


# --------------------------------------------------------------------------- flags


def _details(p: Party) -> str:
    bits = [f"type {p.type}"]
    if p.programs:
        bits.append(f"programs {', '.join(p.programs)}")
    if p.dates_of_birth:
        bits.append(f"born {'; '.join(p.dates_of_birth[:3])}")
    if p.nationalities:
        bits.append(f"nationality {', '.join(p.nationalities[:3])}")
    if p.addresses:
        more = f" and {len(p.addresses) - 2} more" if len(p.addresses) > 2 else ""
        bits.append(f"address {'; '.join(p.addresses[:2])}{more}")
    elif p.countries:
        bits.append(f"country {', '.join(p.countries)}")
    return "; ".join(bits)


def flag_for(match: Match) -> Flag:
    p = match.party
    rules = p.rules
    lists = "; ".join(p.sources)
    alias = "" if match.matched_name == p.name else f" (listed alias {match.matched_name!r})"
    parts = [
        f"{match.query!r} resembles {p.name}{alias} on the {lists} "
        f"(match score {match.score:.0f}/100; {_details(p)}).",
        *dict.fromkeys(r.effect for r in rules),
    ]
    if match.notes:
        parts.append("Score notes: " + "; ".join(match.notes) + ".")
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
    if country is None or not country.strip():
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
    return Screener(
        path,
        threshold=settings.screening_threshold,
        cache_dir=settings.data_dir.expanduser().resolve() / "screening-cache",
        max_age_days=settings.screening_max_age_days,
    )
