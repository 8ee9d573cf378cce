"""How a question relates to the conversation and to the corpus's regimes.

A chat mixes unrelated questions; only a real follow-up ("what if he lives in Tehran?",
"and the slides?") carries the earlier situation. Near-domain topics (privacy law, tax,
visas, patents, import duties) are declined unless they also ask about an export. EU and UK
questions are answered from EU and UK passages first.
"""

from __future__ import annotations

import re

from advisor.models import ScoredChunk, Turn

_FOLLOW_START = re.compile(
    r"^\W*(?:and|but|also|so|then|ok|okay|what if|what about|how about|and if|if so|in that "
    r"case|same|does that|would that|is that|would it|does it|what would|and what|or if|even "
    r"if|suppose|assuming|he|she|they|it|this|that|these|those|the same|follow[- ]up)\b",
    re.I,
)
_REFERS_BACK = re.compile(
    r"\b(?:he|she|they|him|them|his|their|instead|as well|too)\b|"
    r"\b(?:it|this|that|these|those)\b(?=\s*(?:[?.!,]|$|too\b|as well\b))|"
    r"^\W*(?:and\s+|but\s+|what about\s+)?the\s+(?:slides|code|paper|data|tool|laptop|results|"
    r"student|postdoc|colleague|company|sponsor|visitor)\b",
    re.I,
)
_NEAR_DOMAIN = re.compile(
    r"\b(?:GDPR|general data protection|privacy (?:law|policy|notice|regulation)s?|data "
    r"protection (?:law|act|officer)|HIPAA|FERPA|CCPA|tax(?:es|ed|ation|able)?|VAT|withholding|"
    r"W-8BEN|1099|visa (?:application|interview|appointment|stamp|paperwork|renewal|denial|"
    r"extension|status)|I-20|DS-2019|OPT (?:application|extension)|STEM OPT|travel visa|"
    r"patent (?:application|filing|infringement|prosecution|attorney|office)|trademark|"
    r"copyright|import dut(?:y|ies)|tariffs?|customs dut(?:y|ies)|duty rates?|HTS code|"
    r"import tax)\b",
    re.I,
)
_EXPORT_ASK = re.compile(
    r"\b(?:export|exports|exporting|re-?export|deemed|EAR|ITAR|OFAC|sanction\w*|embargo\w*|"
    r"licen[cs]e (?:exception|requirement)|export licen[cs]e|controlled|ECCN|EAR99|USML|"
    r"Entity List|dual[- ]use|2021/821|release)\b",
    re.I,
)
_EMBARGO_NAMES = {
    "IR": re.compile(r"\b(?:Iran|Iranian|Tehran)\b"),
    "CU": re.compile(r"\b(?:Cuba|Cuban|Havana)\b"),
    "KP": re.compile(r"\b(?:North Korea|North Korean|DPRK|Pyongyang)\b"),
    "SY": re.compile(r"\b(?:Syria|Syrian|Damascus)\b"),
}


def is_follow_up(question: str, history: list[Turn]) -> bool:
    """A short question that leans on the previous one, or one that opens like a follow-up."""
    if not any(t.role == "user" for t in history):
        return False
    if _FOLLOW_START.match(question):
        return True
    words = len(question.split())
    return words <= 12 and bool(_REFERS_BACK.search(question))


def near_domain(question: str) -> bool:
    """Privacy, tax, visa, patent or customs-duty questions that do not ask about exports."""
    return bool(_NEAR_DOMAIN.search(question)) and not _EXPORT_ASK.search(question)


def prefer_regime(
    hits: list[ScoredChunk], jurisdictions: list[str], places: list[str] | None = None
) -> list[ScoredChunk]:
    """Passages of the question's regime first; passages of another regime, or about an
    embargoed country the question is not about, last (kept only when nothing else is)."""
    wanted = set(jurisdictions)
    foreign_regime = {"EU", "UK"} - wanted if "US-EAR" in wanted else set()
    us_only = not ({"US-EAR", "US-ITAR", "US-OFAC"} & wanted)
    mine = set(places or [])

    def off(hit: ScoredChunk) -> bool:
        j = hit.chunk.jurisdiction
        if j in foreign_regime or (
            us_only and j.startswith("US-") and hit.chunk.doc_type != "regulation"
        ):
            return True
        if mine and mine <= set(_EMBARGO_NAMES):
            named = {pid for pid, rx in _EMBARGO_NAMES.items() if rx.search(hit.chunk.text)}
            return bool(named) and not named & mine
        return False

    good = [h for h in hits if not off(h)]
    rest = [h for h in hits if off(h)]
    return good + rest if good else rest
