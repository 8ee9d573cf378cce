"""Grounding checks on a model's answer, run before anyone sees it as final.

A model's reply must follow the answer format of ``prompts/answer.md``: a ``LEVEL: <level>``
line, Markdown paragraphs or list items each ending with ``[n]`` citations, and optionally a
``SUGGESTED LEVEL: <level> - <reason>`` line. The checks are deterministic and strict on what
matters for compliance: citations point at given passages, claims carry citations, every
regulation reference the answer states is in a passage it cites (or in a flag, which the model
is given), and the level is the one the rules set. The level shown to the user never comes from
this text; the check only catches a model that contradicts the rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from advisor.models import Citation, Flag, Level

LEVEL_WORDS = {lv.value: lv for lv in Level}
MARKER = re.compile(r"\[(\d+)\]")
_MARKER_LIST = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)+)\s*\]")
_MARKER_RANGE = re.compile(r"\[\s*(\d+)\s*[-–]\s*(\d+)\s*\]")
_DECOR = r"[\s>*_#`-]*"
_LEVEL_LINE = re.compile(rf"^{_DECOR}LEVEL[\s*_`]*:[\s*_`]*([A-Za-z]+)[*_`]*", re.IGNORECASE)
_SUGGESTION_LINE = re.compile(
    rf"^{_DECOR}SUGGESTED\s+LEVEL[\s*_`]*:[\s*_`]*([A-Za-z]+)[*_`]*\s*(?:[-—–:]+\s*(.*))?$",
    re.IGNORECASE,
)
# "the level is none", "escalation level: review": a claim about the overall level.
_LEVEL_CLAIM = re.compile(
    r"\blevel\b\s*(?:is|:|=|remains|stays|would be|should be)\s*[*_`\"“]*\s*"
    r"(none|review|escalate|prohibited)\b",
    re.IGNORECASE,
)
# "level NONE": the same, unless it names the level of one of the flags ("a flag at level REVIEW").
_BARE_LEVEL = re.compile(r"\blevel\s+[*_`\"“]*(NONE|REVIEW|ESCALATE|PROHIBITED)\b")
# The advisor never approves anything; these words in capitals are an injected verdict.
_VERDICT = re.compile(r"\b(APPROVED|CLEARED|AUTHORI[SZ]ED|NO LICEN[CS]E (?:IS )?REQUIRED)\b")

_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_HEADING = re.compile(r"^\s*(?:#{1,6}\s.*|\*\*[^*]+\*\*:?|__[^_]+__:?)\s*$")
_GAP = re.compile(
    r"\b(?:passages?|corpus|sources?|documents?)\b[^.]*?"
    r"\b(?:do(?:es)?\s+not|don't|doesn't|cannot|can't|never|not)\b[^.]*?"
    r"\b(?:answer|cover|address|say|mention|state|specify|discuss|include|tell|explain)",
    re.IGNORECASE,
)
_NO_PASSAGE = re.compile(r"\bno (?:passage|source|document)s?\b", re.IGNORECASE)
_REFERRAL = re.compile(
    r"^\W*(?:please\s+)?(?:contact|ask|consult|talk to|speak (?:to|with)|check with)\b"
    r".*\b(?:office|officer|counsel)\b",
    re.IGNORECASE,
)
_NOT_ADVICE = re.compile(r"\bnot legal advice\b", re.IGNORECASE)

# Regulation references a model could invent.
_SECTION = re.compile(r"(?<![\w.$])(\d{3}\.\d{1,4})(?!\d)((?:\s?\([a-zA-Z0-9]{1,5}\))*)")
_PART = re.compile(r"\bPart\s+(\d{3})\b", re.IGNORECASE)
_ECCN = re.compile(r"(?<!\w)(\d[A-E]\d{3}|EAR99)(?!\w)")
_ARTICLE = re.compile(r"\b(?:Article|Art\.)\s*(\d{1,3}[a-z]?)\b")
_CATEGORY = re.compile(r"\bCategory\s+([IVX]{1,5})\b")


@dataclass
class Reply:
    """A model reply split into what the checks need."""

    prose: str
    """The reply without the LEVEL and SUGGESTED LEVEL lines, markers normalised."""
    stated_levels: list[str]
    suggestion: tuple[str, str] | None = None
    """(level word, reason) of a SUGGESTED LEVEL line, unchecked."""


def normalise_markers(text: str) -> str:
    """``[1, 2]`` and ``[1-3]`` become ``[1][2]`` and ``[1][2][3]``: one marker per passage."""

    def listed(m: re.Match[str]) -> str:
        return "".join(f"[{n}]" for n in re.findall(r"\d+", m.group(1)))

    def ranged(m: re.Match[str]) -> str:
        lo, hi = int(m.group(1)), int(m.group(2))
        if not 0 < hi - lo < 10:
            return m.group(0)
        return "".join(f"[{n}]" for n in range(lo, hi + 1))

    return _MARKER_RANGE.sub(ranged, _MARKER_LIST.sub(listed, text))


def parse_reply(text: str) -> Reply:
    """Take out the level lines; what remains is the prose shown to the user."""
    kept: list[str] = []
    stated: list[str] = []
    suggestion: tuple[str, str] | None = None
    for line in normalise_markers(text).splitlines():
        if m := _SUGGESTION_LINE.match(line):
            suggestion = (m.group(1).lower(), (m.group(2) or "").strip().strip("*_` "))
            continue
        if m := _LEVEL_LINE.match(line):
            stated.append(m.group(1).lower())
            rest = line[m.end() :].strip(" .:;,*_`-—–")
            if rest:
                kept.append(rest)
            continue
        kept.append(line)
    prose = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return Reply(prose=prose, stated_levels=stated, suggestion=suggestion)


def units(prose: str) -> list[str]:
    """Paragraphs, with every list item a unit of its own: each must carry a citation."""
    found: list[str] = []
    for block in re.split(r"\n\s*\n", prose.strip()):
        current: list[str] = []
        for line in block.splitlines():
            if _LIST_ITEM.match(line) and current:
                found.append("\n".join(current))
                current = []
            current.append(line)
        if current:
            found.append("\n".join(current))
    return [u for u in (u.strip() for u in found) if u]


def is_gap_statement(unit: str) -> bool:
    """'The passages do not say ...': the required way to admit a gap, so it needs no [n]."""
    return bool(_GAP.search(unit) or _NO_PASSAGE.search(unit))


def is_exempt(unit: str) -> bool:
    """Units that make no claim about the rules: headings, lead-ins, gaps, office referrals."""
    plain = _LIST_ITEM.sub("", unit).strip()
    if not plain.strip("*_#`>- "):
        return True
    if _HEADING.match(plain) or (plain.endswith(":") and len(plain.split()) <= 15):
        return True
    if is_gap_statement(plain) or _NOT_ADVICE.search(plain):
        return True
    return bool(_REFERRAL.match(plain)) and not regulation_refs(plain)


def regulation_refs(text: str) -> list[str]:
    """Regulation references stated in the text, in order, e.g. '740.17(b)(2)', '5D002'."""
    refs: list[tuple[int, str]] = []
    for m in _SECTION.finditer(text):
        refs.append((m.start(), m.group(1) + re.sub(r"\s", "", m.group(2))))
    refs += [(m.start(), f"Part {m.group(1)}") for m in _PART.finditer(text)]
    refs += [(m.start(), m.group(1)) for m in _ECCN.finditer(text)]
    refs += [(m.start(), f"Art. {m.group(1)}") for m in _ARTICLE.finditer(text)]
    refs += [(m.start(), f"Category {m.group(1)}") for m in _CATEGORY.finditer(text)]
    return list(dict.fromkeys(ref for _, ref in sorted(refs)))


def _section_pattern(base: str) -> str:
    return rf"(?<![\w.]){re.escape(base)}(?!\d)"


def ref_in(ref: str, haystack: str, sections: Iterable[str] = ()) -> bool:
    """Is the reference stated in the haystack? ``sections`` are the cited passages' section
    labels: a passage that *is* § 740.17 supports "740.17(b)" when its text has a "(b)"."""
    if ref.startswith("Part "):
        part = ref.split()[1]
        return bool(
            re.search(rf"\bPart\s+{part}\b", haystack, re.IGNORECASE)
            or re.search(rf"(?<![\w.]){part}\.\d", haystack)
        )
    if ref.startswith("Art. "):
        number = ref.split()[1]
        return bool(re.search(rf"\bArt(?:icle|\.)?\s*{number}(?!\d)", haystack, re.IGNORECASE))
    if ref.startswith("Category "):
        return bool(re.search(rf"\b{ref}\b", haystack))
    if m := re.fullmatch(r"(\d{3}\.\d{1,4})((?:\([a-zA-Z0-9]+\))*)", ref):
        base, paragraphs = m.group(1), re.findall(r"\(([a-zA-Z0-9]+)\)", m.group(2))
        if not re.search(_section_pattern(base), haystack):
            return False
        if not paragraphs:
            return True
        full = _section_pattern(base) + "".join(rf"\s?\({re.escape(p)}\)" for p in paragraphs)
        if re.search(full, haystack):
            return True
        first = re.escape(paragraphs[0])
        return any(
            re.search(_section_pattern(base) + r"$", section or "")
            and re.search(rf"\({first}\)", haystack)
            for section in sections
        )
    return bool(re.search(rf"(?<!\w){re.escape(ref)}", haystack))


def _flag_text(flags: Iterable[Flag]) -> str:
    return "\n".join(f"{f.citation}\n{f.reason}" for f in flags)


def _level_problems(reply: Reply, level: Level, flags: list[Flag], require_line: bool) -> list[str]:
    label = level.value.upper()
    problems: list[str] = []
    if require_line and not reply.stated_levels:
        problems.append(f"the answer does not start with the line 'LEVEL: {label}'")
    claims = list(reply.stated_levels)
    claims += [m.group(1).lower() for m in _LEVEL_CLAIM.finditer(reply.prose)]
    flag_levels = {f.level.value for f in flags}
    claims += [
        word
        for m in _BARE_LEVEL.finditer(reply.prose)
        if (word := m.group(1).lower()) not in flag_levels
    ]
    for word in dict.fromkeys(claims):
        if word != level.value:
            problems.append(
                f"the answer states the level {word.upper()}, but the rules set {label}; state "
                f"{label} exactly as given (a higher level may only be a SUGGESTED LEVEL line)"
            )
    for word in dict.fromkeys(_VERDICT.findall(reply.prose)):
        problems.append(f"the answer declares '{word}'; the advisor never approves anything")
    return problems


def check_answer(
    reply: Reply,
    given: Mapping[int, Citation],
    flags: list[Flag],
    level: Level,
    question: str = "",
) -> list[str]:
    """Every problem with a reply, worded for the model's repair round; empty means grounded."""
    # The level comes from the rules anyway: a reply that only omits the LEVEL line is kept.
    problems = _level_problems(reply, level, flags, require_line=False)
    reason = reply.suggestion[1] if reply.suggestion else ""
    markers = [int(n) for n in MARKER.findall(f"{reply.prose}\n{reason}")]
    for n in dict.fromkeys(markers):
        if n not in given:
            problems.append(
                f"[{n}] cites a passage that was not given (the passages are numbered "
                f"1 to {len(given)})"
            )
    parts = units(reply.prose)
    if not parts:
        problems.append("the answer has no text besides the level line")
    uncited = [u for u in parts if not MARKER.search(u) and not is_exempt(u)]
    for unit in uncited[:3]:
        short = " ".join(unit.split())
        short = short if len(short) <= 90 else short[:87] + "..."
        problems.append(f'this paragraph has no [n] citation: "{short}"')
    if len(uncited) > 3:
        problems.append(f"{len(uncited) - 3} more paragraphs have no [n] citation")
    cited = [given[n] for n in dict.fromkeys(markers) if n in given]
    haystack = (
        "\n".join(f"{c.title}\n{c.section or ''}\n{c.text}" for c in cited)
        + "\n"
        + _flag_text(flags)
    )
    sections = [c.section or "" for c in cited]
    missing: list[str] = []
    for unit in [*parts, reason]:
        extra = f"\n{question}" if is_gap_statement(unit) else ""
        for ref in regulation_refs(unit):
            if ref not in missing and not ref_in(ref, haystack + extra, sections):
                missing.append(ref)
    problems += [
        f"{ref} does not appear in any passage the answer cites or in the flags; remove it "
        "or cite the passage that states it"
        for ref in missing
    ]
    return problems


def check_decline(reply: Reply, flags: list[Flag], level: Level, question: str) -> list[str]:
    """Checks on an out-of-scope reply: no citations, no invented rules, no level change."""
    problems = _level_problems(reply, level, flags, require_line=False)
    if not reply.prose:
        problems.append("the reply is empty")
    if MARKER.search(reply.prose):
        problems.append("the reply uses [n] citations, but no passage covers this question")
    haystack = f"{_flag_text(flags)}\n{question}"
    problems += [
        f"{ref} is not in the flags; do not name regulations here"
        for ref in regulation_refs(reply.prose)
        if not ref_in(ref, haystack)
    ]
    if len(reply.prose) > 1200:
        problems.append("the reply is longer than three sentences")
    return problems


def suggested_level(reply: Reply, level: Level) -> tuple[Level, str] | None:
    """A model may raise the level with a reason; a lower, equal or unreadable one is ignored."""
    if reply.suggestion is None:
        return None
    word, reason = reply.suggestion
    suggested = LEVEL_WORDS.get(word)
    if suggested is None or suggested.rank <= level.rank or not reason:
        return None
    return suggested, reason


def cited_numbers(text: str) -> list[int]:
    return list(dict.fromkeys(int(n) for n in MARKER.findall(text)))
