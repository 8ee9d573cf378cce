"""Name normalisation and per-part similarity, shared by list entries and queries.

Names arrive in any script and spelling: ``anyascii`` transliterates them, legal forms (also
spelled out or foreign: "Limited Liability Company", "Obshchestvo s Ogranichennoy
Otvetstvennostyu", "S.A. de C.V.") and honorifics are dropped, and name parts are compared
with Jaro-Winkler plus Metaphone and Soundex from ``jellyfish``, as OFAC's own search does,
so Alexei/Aleksey, Hezbollah/Hizballah and Zhang/Chang agree.
"""

from __future__ import annotations

import re
from functools import lru_cache

import jellyfish
from anyascii import anyascii


def words(text: str) -> list[str]:
    return text.split()


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
    "defence": "defense",
}

# Particles carry no identity ("al Zawahiri" = "Zawahiri"); neither do articles.
STOPWORDS = frozenset(
    words(
        "of the and for de del da des du la le el der die das di von van und al ul bin ibn bint "
        "dos do y e"
    )
)
# English function words: running text is full of them and no name turns on them, so they
# neither index nor score ("IN", "TO" and "FROM" occur inside listed names).
FUNCTION_WORDS = frozenset(
    words(
        """a an in on at to from with by into onto about over under than then there their they
    them are was were be been being its this that these those we our ours you your my me i
    he she his her him us can could may might should would will shall must do does did done not
    no nor or as if so but how what when where who whom whose which why also any all some such
    very just only per via"""
    )
)
HONORIFICS = frozenset(
    words("dr mr mrs ms prof sheikh shaykh shaikh haji hajji hadji mullah maulana mawlawi sayyid")
)
LEGAL_FORMS = frozenset(
    words(
        """co company cos ltd limited llc llp lp inc incorporated gmbh mbh ag kg pte pvt plc corp
    corporation ooo ao pao oao zao jsc pjsc ojsc cjsc sa sas sarl srl spa bv nv ab oy as kk sdn
    bhd fze fzco fzc fzllc tov doo ad zrt kft sro ltda gongsi youxian cv sapi srl sl sae saog
    sal sak bsc wll tic sti ltdsti pt tbk cokg ug eirl"""
    )
)
# Spelled-out and foreign legal forms, by word prefixes (spellings vary: "otvetstvennostyu",
# "otvetstvennostiu"); words of two letters or fewer must be equal.
_PHRASES = """
limited liability company|limited liability partnership|limited partnership
public limited company|private limited company|private limited|public company
joint stock company|open joint stock company|closed joint stock company
public joint stock company|joint stock commercial bank|joint stock
closed type joint stock company|open type joint stock company
obshch s ogranich otvetstv|obshch s dopoln otvetstv|aktsioner obshch
otkryt aktsioner obshch|zakryt aktsioner obshch|publich aktsioner obshch
tovaryst z obmez vidpovid|aktsioner tovaryst|prywatn aktsionern tovaryst
federal state unitary enterprise|state unitary enterprise|unitary enterprise
federal gosudarstv unitar predpriyat|gosudarstv unitar predpriyat|unitar predpriyat
sa de cv|s de rl de cv|s de rl|sa de|sapi de cv|sociedad anonima de capital variable
sociedad anonima|sociedad limitada|sociedad de responsabilidad limitada
societe anonyme|societe a responsabilite limitee|societa per azioni
societa a responsabilita limitata|gesellschaft mit beschrank haftung|aktiengesellschaft
anonim sirket|limited sirket|ticaret limited sirket|ticaret anonim sirket|sanayi ve ticaret
sdn bhd|pte ltd|pvt ltd|co ltd|company limited|free zone establishment|free zone company
general trading llc|for general trading
"""
LEGAL_PHRASES: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        {tuple(p.split()) for line in _PHRASES.split("\n") for p in line.split("|") if p.strip()},
        key=len,
        reverse=True,
    )
)
_TOKEN = re.compile(r"[^\W\d_](?:\.[^\W\d_])+\.?|[^\W_]+(?:['’`][^\W_]+)*")

PART_MIN = 0.85  # a query part counts as found at this similarity
PHONETIC_FLOOR = 0.93  # credit for equal Metaphone codes (with some spelling agreement)


def ascii_fold(text: str) -> str:
    """Any script to ASCII: Cyrillic, Arabic, accents ("Hárbín", "Алексей" -> "Aleksey")."""
    return anyascii(text)


@lru_cache(maxsize=131072)
def norm_token(raw: str) -> str:
    s = ascii_fold(raw).casefold()
    s = re.sub(r"[.'’`]", "", s)
    return SYNONYMS.get(s, s)


def raw_tokens(text: str) -> list[re.Match[str]]:
    return list(_TOKEN.finditer(text))


def _phrase_key(first: str) -> str:
    return first if len(first) <= 2 else first[:3]


_PHRASES_BY_START: dict[str, list[tuple[str, ...]]] = {}
for _p in LEGAL_PHRASES:
    _PHRASES_BY_START.setdefault(_phrase_key(_p[0]), []).append(_p)


def _phrase_at(tokens: list[str], i: int) -> int:
    """Length of the longest legal-form phrase starting at ``tokens[i]``, 0 if none."""
    t0 = tokens[i]
    found = 0
    for key in {t0, t0[:3]}:
        for phrase in _PHRASES_BY_START.get(key, ()):
            n = len(phrase)
            if n <= found or i + n > len(tokens):
                continue
            if all(
                t == p if len(p) <= 2 else t.startswith(p)
                for t, p in zip(tokens[i : i + n], phrase, strict=True)
            ):
                found = n
    return found


def kinds(tokens: list[str]) -> list[str]:
    """Per normalised token: word, stop, honorific or legal (single word or phrase)."""
    out = [""] * len(tokens)
    i = 0
    while i < len(tokens):
        n = _phrase_at(tokens, i)
        if n > 1:
            out[i : i + n] = ["legal"] * n
            i += n
            continue
        t = tokens[i]
        if t in LEGAL_FORMS:
            out[i] = "legal"
        elif t in STOPWORDS or t in FUNCTION_WORDS:
            out[i] = "stop"
        elif t in HONORIFICS:
            out[i] = "honorific"
        else:
            out[i] = "word"
        i += 1
    return out


@lru_cache(maxsize=131072)
def name_tokens(name: str) -> tuple[str, ...]:
    """Tokens that identify a name: case, script, punctuation, particles, legal forms gone.

    A name made only of legal-form words ("AO") keeps them rather than vanish.
    """
    toks = [norm_token(m.group(0)) for m in raw_tokens(name)]
    toks = [t for t in toks if t]
    ks = kinds(toks)
    words = tuple(t for t, k in zip(toks, ks, strict=True) if k == "word")
    return words or tuple(t for t, k in zip(toks, ks, strict=True) if k == "legal")


def normalise_name(name: str) -> str:
    return " ".join(name_tokens(name))


@lru_cache(maxsize=131072)
def phonetic(token: str) -> str:
    """Metaphone code of a name part ('' for parts too short to code reliably)."""
    if len(token) < 4 or not token.isalpha():
        return ""
    code = jellyfish.metaphone(token)
    return code if len(code) >= 2 else ""


@lru_cache(maxsize=262144)
def part_similarity(a: str, b: str) -> float:
    """0-1 similarity of two name parts: Jaro-Winkler, lifted by equal phonetic codes.

    Soundex codes that differ only in the first letter (Zhang/Chang, Tsoi/Choi) count when
    the spellings are otherwise close; digits must be equal.
    """
    if a == b:
        return 1.0
    if len(a) < 3 or len(b) < 3 or not (a.isalpha() and b.isalpha()):
        return 0.0
    jw = jellyfish.jaro_winkler_similarity(a, b)
    pa, pb = phonetic(a), phonetic(b)
    if pa and pa == pb and (len(pa) >= 3 and jw >= 0.7 or jw >= 0.85):  # "MR": Maria, Mora
        return max(jw, PHONETIC_FLOOR)
    if jw >= 0.8 and jellyfish.soundex(a)[1:] == jellyfish.soundex(b)[1:]:
        return max(jw, 0.9)
    return jw
