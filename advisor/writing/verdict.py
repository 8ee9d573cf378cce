"""The bottom line: one or two sentences that answer the question that was asked.

It comes from the curated determination that fits the situation, or else from the
strongest rule's own answer and the missing facts. Yes/No is chosen by how the question is
put: "Can I share it?" is answered "Yes" when no licence is needed, "Do I need a licence?"
is answered "No". The verdict always agrees with the level: a determination is used only
when it does not answer below the rules' level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from advisor.models import Flag, Level
from advisor.rules.determinations import DeterminationMatch
from advisor.rules.facts import MISSING_SHORT
from advisor.rules.situation import Situation

Polarity = Literal["permission", "requirement", "other"]
Verdict = Literal["allowed", "not_allowed", "depends", "info"]

_REQUIREMENT = re.compile(
    r"\b(?:do|does|did|would|will|should)\s+(?:I|we|they|he|she|you|it|this|that|my|our|the)\b"
    r"[^.?!]{0,80}\b(?:need|require|have to|must|apply|count|break|violate|trigger)|"
    r"\b(?:is|are|would|will)\s+(?:an?\s+|any\s+)?(?:export\s+)?(?:licen[cs]es?|authori[sz]ations?|"
    r"permission|registration|notification)\s+(?:be\s+)?(?:required|needed|necessary)|"
    r"\b(?:is|are|would|does)\s+(?:this|that|it|they|these|sharing|sending|showing|giving|"
    r"publishing|hiring|taking|my|our)\b[^.?!]{0,60}\b(?:an?\s+(?:deemed\s+)?export|a\s+release|"
    r"a\s+violation|illegal|controlled|export[- ]controlled|restricted|subject\s+to|count\s+as|"
    r"considered)\b|\bany\s+(?:export|licen[cs]e|sanction)",
    re.I,
)
_PERMISSION = re.compile(
    r"^\W*(?:(?:so|ok|okay|hi|hello|hey|quick question)\W+)?(?:can|may|could|might)\b|"
    r"\b(?:can|may|could)\s+(?:I|we|he|she|they|you|my|our)\b|"
    r"\b(?:am|are|is)\s+(?:I|we|they|he|she|it|this|that)\s+(?:allowed|permitted|able)\s+to\b|"
    r"\bis\s+(?:it|this|that)\s+(?:ok|okay|legal|allowed|permitted|permissible|fine|possible)\b|"
    r"\ballowed\s+to\b|\bpermitted\s+to\b",
    re.I,
)


def polarity(question: str) -> Polarity:
    """Whether a yes means "go ahead" (permission) or "a licence is needed" (requirement)."""
    if _REQUIREMENT.search(question):
        return "requirement"
    if _PERMISSION.search(question):
        return "permission"
    return "other"


def _prefix(verdict: Verdict, level: Level, pol: Polarity, text: str) -> str:
    """A Yes/No that fits both the question's form and the verdict, unless the text has one."""
    if pol == "other" or verdict in ("depends", "info"):
        return ""
    if re.match(r"^(?:yes|no)\b[.,!:]", text, re.I):
        return ""
    if pol == "permission" and re.match(r"^(?:not|generally|usually|probably)\b", text, re.I):
        return ""
    allowed = verdict == "allowed"
    if pol == "permission":
        return "Yes." if allowed else "No."
    if allowed:
        return "No."
    return "Yes." if level is Level.PROHIBITED else "Very likely yes."


@dataclass(frozen=True)
class BottomLine:
    text: str
    determination: DeterminationMatch | None = None
    verdict: Verdict = "info"


def _verdict_of(level: Level) -> Verdict:
    verdicts: dict[Level, Verdict] = {
        Level.NONE: "allowed",
        Level.REVIEW: "depends",
        Level.ESCALATE: "not_allowed",
        Level.PROHIBITED: "not_allowed",
    }
    return verdicts[level]


def _missing_clause(situation: Situation) -> str:
    if not situation.missing:
        return ""
    return " It turns on " + "; ".join(MISSING_SHORT[m] for m in situation.missing) + "."


def compose(
    question: str,
    level: Level,
    flags: list[Flag],
    situation: Situation,
    match: DeterminationMatch | None,
) -> BottomLine:
    """The lead sentences; empty when nothing decides the question (the writer then leads
    with the best-supported passage)."""
    pol = polarity(question)
    if match is not None:
        det = match.determination
        text = det.answer
        prefix = _prefix(det.verdict, level, pol, text)
        return BottomLine(f"{prefix} {text}".strip(), match, det.verdict)
    deciding = [f for f in flags if f.level is level and f.answer]
    if not deciding:
        return BottomLine("", None, "info")
    flag = deciding[0]
    verdict = _verdict_of(level)
    text = flag.answer
    if level is Level.REVIEW and flag.id != "licence-question-missing-facts":
        text += _missing_clause(situation)
    prefix = _prefix(verdict, level, pol, text)
    return BottomLine(f"{prefix} {text}".strip(), None, verdict)
