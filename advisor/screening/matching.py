"""The match index and the two scorers: people from the query's side, organisations both ways.

People: every part the user entered must be found among the entry's parts (in any order,
spelling agreeing per part), the surname among them; middle names and patronymics the user
left out cost little. Organisations: distinctive words weigh more than generic ones in both
directions, so "Harvard Institute of Technology" is not "Harbin Institute of Technology".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import jellyfish
from rapidfuzz import fuzz, process

from advisor.screening.models import Party
from advisor.screening.names import (
    PART_MIN,
    PHONETIC_FLOOR,
    norm_token,
    part_similarity,
    phonetic,
    raw_tokens,
)
from advisor.screening.names import (
    kinds as token_kinds,
)

MIN_FUZZY_CHARS = 4  # shorter normalised names (HIT, GRU, NSO) only match exactly
ONE_WORD_CAP = 80.0
SURNAME_MIN = 0.9  # the surname part must agree at least this well
PERSON_CAP_NO_SURNAME = 80.0
PERSON_CAP_PART_MISSING = 84.0
PERSON_CAP_ONE_PART = 75.0
MISSING_PART_COST = 1.5  # per entry name part the user left out (middle name, patronymic)
MISSING_PART_MAX = 6.0
PREFILTER_MARGIN = 25.0
TYPO_RATIO = 75.0
COMMON_TOKEN = 400  # a name part shared by more aliases than this brings no candidates


class Alias(NamedTuple):
    """One name of one entry, pre-normalised. ``surname`` indexes into ``tokens``.

    A NamedTuple rather than a dataclass: the cached index holds tens of thousands and
    tuples unpickle several times faster.
    """

    party: int
    text: str
    tokens: tuple[str, ...]
    key: str
    squashed: str
    person: bool
    surname: tuple[int, ...]
    primary: bool
    initialism: bool


@dataclass(frozen=True, slots=True)
class Tok:
    norm: str
    raw: str
    start: int
    end: int


def text_tokens(text: str) -> list[Tok]:
    """Word tokens of free text with offsets; legal forms, particles and titles dropped."""
    found = raw_tokens(text)
    norms = [norm_token(m.group(0)) for m in found]
    ks = token_kinds(norms)
    return [
        Tok(n, m.group(0), m.start(), m.end())
        for m, n, k in zip(found, norms, ks, strict=True)
        if k == "word" and n
    ]


def _person_parts(text: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Tokens and surname positions: "STRUKOV, Konstantin Ivanovich" -> surname first.

    Without a comma, capitalised-only words are the surname ("Konstantin STRUKOV"), else the
    last word.
    """
    if "," in text:
        last, _, given = text.partition(",")
        s = [t.norm for t in text_tokens(last)]
        g = [t.norm for t in text_tokens(given)]
        return tuple(s + g), tuple(range(len(s)))
    toks = text_tokens(text)
    mixed = any(t.raw != t.raw.upper() for t in toks)
    caps = [i for i, t in enumerate(toks) if mixed and t.raw.isupper() and len(t.raw) > 1]
    return tuple(t.norm for t in toks), tuple(caps or ([len(toks) - 1] if toks else []))


def _initials(tokens: Sequence[str]) -> str:
    return "".join(t[0] for t in tokens if t)


class Index:
    """Aliases, inverse-document-frequency weights and rare-token and phonetic look-ups.

    Only rare tokens are indexed, so a question is compared with the handful of aliases it
    shares a distinctive word (or its sound) with, not with the whole list.
    """

    def __init__(self, parties: list[Party]) -> None:
        self.parties = parties
        self.aliases: list[Alias] = []
        df: Counter[str] = Counter()
        for pi, party in enumerate(parties):
            self._add_party(pi, party, df)
        n = max(1, len(parties))
        self.idf = {t: math.log((n + 1) / (c + 0.5)) for t, c in df.items()}
        self.unknown_idf = math.log((n + 1) / 0.5)
        self.by_token: dict[str, list[int]] = {}
        self.by_phone: dict[str, list[int]] = {}
        self.by_squashed: dict[str, list[int]] = {}
        self._build_lookups(df, cap=max(20, n // 200))
        self.keys = [a.key for a in self.aliases]
        self.person_words = frozenset(t for a in self.aliases if a.person for t in a.tokens)
        self.with_token: dict[str, list[int]] = {}
        for ai, alias in enumerate(self.aliases):
            for t in set(alias.tokens):
                self.with_token.setdefault(t, []).append(ai)
        self.vocab = sorted(self.with_token)

    def _add_party(self, pi: int, party: Party, df: Counter[str]) -> None:
        keys: set[str] = set()
        person = party.type == "individual"
        primary_tokens: tuple[str, ...] = ()
        for n, text in enumerate((party.name, *party.alt_names)):
            if person:
                toks, surname = _person_parts(text)
            else:
                toks, surname = tuple(t.norm for t in text_tokens(text)), ()
            if not toks:
                toks = tuple(norm_token(m.group(0)) for m in raw_tokens(text))
            key = " ".join(toks)
            if not toks or key in keys:
                continue
            if n == 0:
                primary_tokens = toks
            keys.add(key)
            initialism = (
                n > 0
                and len(toks) == 1
                and len(key) >= 4
                and len(primary_tokens) >= 3
                and key == _initials(primary_tokens)
            )
            self.aliases.append(
                Alias(
                    pi, text, toks, key, key.replace(" ", ""), person, surname, n == 0, initialism
                )
            )
        df.update({t for k in keys for t in k.split()})

    def _build_lookups(self, df: Counter[str], cap: int) -> None:
        phone_df: Counter[str] = Counter()
        for alias in self.aliases:
            phone_df.update({phonetic(t) for t in alias.tokens} - {""})
        for ai, alias in enumerate(self.aliases):
            usable = [t for t in alias.tokens if len(t) > 1] or list(alias.tokens)
            rare = {t for t in usable if df[t] <= cap} or {min(usable, key=lambda t: df[t])}
            for t in rare:
                self.by_token.setdefault(t, []).append(ai)
            for t in usable:
                code = phonetic(t)
                if code and phone_df[code] <= cap:
                    self.by_phone.setdefault(code, []).append(ai)
            self.by_squashed.setdefault(alias.squashed, []).append(ai)

    def near_tokens(self, token: str, limit: int = 12) -> list[str]:
        """Listed name parts spelt like ``token`` (one or two typos), by a C++ scan."""
        if len(token) < 4:
            return [token] if token in self.with_token else []
        found = process.extract(
            token, self.vocab, scorer=fuzz.ratio, score_cutoff=TYPO_RATIO, limit=limit
        )
        return [t for t, _, _ in found]

    def candidates(self, token: str, sound: bool = True) -> set[int]:
        found = set(self.by_token.get(token, ()))
        code = phonetic(token) if sound else ""
        if code:
            found.update(self.by_phone.get(code, ()))
        return found

    def present_share(self, alias: Alias, norms: set[str], phones: set[str]) -> float:
        """Weighted share of the alias's parts spelt or sounding alike somewhere in a text."""
        total = got = 0.0
        for t in alias.tokens:
            w = self.idf.get(t, self.unknown_idf)
            total += w
            if t in norms or (phonetic(t) or "-") in phones:
                got += w
        return got / total if total else 0.0

    # -- organisations ---------------------------------------------------------------

    def _coverage(self, tokens: Sequence[str], other: Sequence[str]) -> tuple[float, list[str]]:
        """Weighted share of ``tokens`` found among ``other``, and each one's best partner."""
        total = got = 0.0
        partners = []
        for t in tokens:
            w = self.idf.get(t, self.unknown_idf)
            total += w
            best, partner = 0.0, ""
            for o in other:
                s = part_similarity(t, o) if t != o else 1.0
                if s > best:
                    best, partner = s, o
            if partner and best < PART_MIN and len(t) >= 4:
                best = max(best, fuzz.ratio(t, partner) / 100)
            if best >= 0.8:
                got += w * best
            partners.append(partner if best >= PART_MIN else t)
        return (100.0 * got / total if total else 0.0), partners

    def entity_score(self, tokens: Sequence[str], alias: Alias, floor: float = 0.0) -> float:
        """0-100. Both directions must agree, so extra or missing distinctive words sink it."""
        key = " ".join(tokens)
        if key == alias.key:
            return 100.0
        squashed = key.replace(" ", "")
        if squashed == alias.squashed:
            return 99.0
        if min(len(squashed), len(alias.squashed)) < MIN_FUZZY_CHARS:
            return 0.0
        if fuzz.token_set_ratio(key, alias.key) < floor - PREFILTER_MARGIN:
            return 0.0  # a C++ bound: spelling variants lose at most this much here
        forward, partners = self._coverage(tokens, alias.tokens)
        if forward < floor:
            return forward
        backward, _ = self._coverage(alias.tokens, tokens)
        canonical = " ".join(partners)
        agree = (
            fuzz.token_sort_ratio(canonical, alias.key) + fuzz.token_set_ratio(canonical, alias.key)
        ) / 2
        return min(forward, backward, agree)

    # -- people ----------------------------------------------------------------------

    def person_score(self, tokens: Sequence[str], alias: Alias) -> float:
        """0-100 from the query's side: every entered part found, the surname among them."""
        parts = alias.tokens
        if not tokens or not parts:
            return 0.0
        pairs = sorted(
            (
                (_person_part(q, a), qi, ai)
                for qi, q in enumerate(tokens)
                for ai, a in enumerate(parts)
            ),
            reverse=True,
        )
        sims = [0.0] * len(tokens)
        used_q: set[int] = set()
        used_a: dict[int, float] = {}
        for s, qi, ai in pairs:
            if qi in used_q or ai in used_a or s <= 0:
                continue
            used_q.add(qi)
            used_a[ai] = s
            sims[qi] = s
        mean = sum(sims) / len(sims)
        missing = len(parts) - sum(1 for s in used_a.values() if s >= PART_MIN)
        score = 100.0 * mean - min(MISSING_PART_MAX, MISSING_PART_COST * missing)
        if not any(used_a.get(i, 0.0) >= SURNAME_MIN for i in alias.surname):
            score = min(score, PERSON_CAP_NO_SURNAME)
        if min(sims) < PART_MIN:
            score = min(score, PERSON_CAP_PART_MISSING)
        if len(tokens) == 1 and len(parts) > 1:
            score = min(score, PERSON_CAP_ONE_PART)
        return max(0.0, score)

    def score(self, tokens: Sequence[str], alias: Alias, floor: float = 0.0) -> float:
        if (
            len(tokens) == 1
            and len(alias.tokens) == 1
            and not _one_word_alike(tokens[0], alias.key)
        ):
            return min(ONE_WORD_CAP, self.entity_score(tokens, alias, floor))
        if alias.person and alias.surname:
            return self.person_score(tokens, alias)
        return self.entity_score(tokens, alias, floor)


def _person_part(q: str, a: str) -> float:
    """Part similarity, with an initial ("K.") agreeing with the part it starts."""
    if len(q) == 1 and len(a) > 1:
        return 0.9 if a.startswith(q) else 0.0
    return part_similarity(q, a)


def _one_word_alike(a: str, b: str) -> bool:
    """One word against one word: equal, one typo apart, or sounding alike at the same length.

    A lone word carries no second part to confirm it, so "Garden" is not GARDENIA and
    "Harmony" is not HAROON, while Hezbollah is still HIZBALLAH.
    """
    if a == b:
        return True
    if min(len(a), len(b)) >= 5 and jellyfish.levenshtein_distance(a, b) <= 1:
        return True
    return abs(len(a) - len(b)) <= 1 and part_similarity(a, b) >= PHONETIC_FLOOR
