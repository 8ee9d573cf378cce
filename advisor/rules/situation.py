"""What the conversation is about, as typed facts: who, what, doing what, and where.

Rules react to facts, not words. "Iranian" in "an Iranian postdoc in my lab" is a
nationality, in "a company in Tehran" a destination and in "a paper about Iranian malware"
only a topic; a green-card holder is not a foreign person however the sentence calls her.
The extractor reads the vocabulary mentions of the rule files (places and triggers), gives
each place a role from its context, derives each person's status and location, adds facts
found by meaning (example phrasings matched with the embedding model) and lists the facts a
determination depends on that the question does not give.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from advisor.rules.facts import ACTIVITIES, ITEMS, MISSING, PARTY_KINDS, STATUSES
from advisor.rules.phrasings import FactMatcher

if TYPE_CHECKING:
    from advisor.rules.escalation import Mention, RuleSet

PlaceRole = Literal["dest", "nat", "topic", "born"]
Status = Literal["us_citizen", "permanent_resident", "protected_individual", "foreign_person"]

_PERSON = (
    r"nationals?|citizens?|students?|postdocs?|post-docs?|researchers?|scientists?|colleagues?|"
    r"engineers?|employees?|scholars?|persons?|people|guys?|friends?|co-?authors?|"
    r"collaborators?|professors?|visitors?|interns?|ph\.?d\.?s?|grads?|developers?|"
    r"contributors?|hires?|candidates?|applicants?|faculty|staff|members?|teammates?|workers?|"
    r"postdoctoral|fellows?|assistants?|undergrads?|undergraduates?|scholars?|programmers?|"
    r"consultants?|contractors?|partners?|woman|man|women|men|wife|husband|son|daughter|"
    r"relatives?|individuals?|hackers?|holders?|he|she"
)
_ORG = (
    r"compan(?:y|ies)|firms?|universit(?:y|ies)|institutes?|institutions?|labs?|laborator(?:y|ies)|"
    r"government|ministry|agenc(?:y|ies)|banks?|military|army|customers?|clients?|distributors?|"
    r"resellers?|subsidiar(?:y|ies)|offices?|branch|hospitals?|startups?|vendors?|suppliers?|"
    r"entit(?:y|ies)|organi[sz]ations?|users?|schools?|academ(?:y|ies)|colleges?|manufacturers?|"
    r"buyers?|end[- ]users?|sponsors?|consortium|telecoms?|operators?|isps?|servers?|regulators?"
)
_TOPIC = (
    r"malware|apts?|threat|actors?|campaigns?|sanctions|regime|history|politics|culture|economy|"
    r"elections?|censorship|nuclear|programs?|programmes?|news|war|conflict|attacks?|ransomware|"
    r"cyber-?attacks?|operations?|literature|language|translation|cuisine|art|films?|music|"
    r"hacking|hack|influence|disinformation|propaganda|firewall|surveillance state|protests?|"
    r"group|lazarus|apt\d+|sanctions? (?:program|regime|rules|issue)|sanctions|embargo|deal|"
    r"policy|language|dialect|script|news|connection|link|angle|ties"
)
_PERSON_AFTER = re.compile(rf"^[\s-]*(?:\w+[\s-]+){{0,2}}(?:{_PERSON})\b", re.I)
_ORG_AFTER = re.compile(rf"^[\s-]*(?:\w+[\s-]+){{0,2}}(?:{_ORG})\b", re.I)
_TOPIC_AFTER = re.compile(rf"^[\s-]*(?:'s\s+)?(?:\w+[\s-]+){{0,2}}(?:{_TOPIC})\b", re.I)
_TOPIC_AFTER_NAME = re.compile(
    rf"^[\s-]*(?:'s\s+)?(?:\w+[\s-]+)?(?:{_TOPIC})\b(?!\s+(?:in|at))", re.I
)
_BORN_AFTER = re.compile(r"^-born\b", re.I)
_BORN_BEFORE = re.compile(r"\b(?:born|birth|grew up)\s+(?:in|at)\s+(?:the\s+)?$", re.I)
_NAT_BEFORE = re.compile(
    r"\b(?:citizens?|citizenship|nationals?|nationality|passports?|natives?)\s+(?:of|from)\s+"
    r"(?:the\s+)?$|\b(?:holds?|has|have)\s+(?:an?\s+|dual\s+)?$|\bwith\s+dual\s+$",
    re.I,
)
_TOPIC_BEFORE = re.compile(
    r"\b(?:about|regarding|concerning|on|re:|against|targeting|attributed to|linked to|"
    r"sanctions (?:on|against)|news from|(?:history|politics|culture|economy|geography|map|"
    r"language|literature|government policy) of|except(?: to| for| in)?|excluding|other than|"
    r"apart from|besides|rather than|instead of|,\s*not(?:\s+to|\s+in|\s+from)?|\(?but not"
    r"(?:\s+to|\s+in|\s+from)?)\s+(?:the\s+|an?\s+)?$",
    re.I,
)
_FROM_BEFORE = re.compile(r"\bfrom\s+(?:the\s+)?$", re.I)
_PERSON_NEAR = re.compile(rf"\b(?:{_PERSON})\b", re.I)
_US_HERE = re.compile(
    r"\b(?:in|at|to|into|within)\s+(?:the\s+)?(?:U\.?S\.?A?\.?|United States|America|states)\b|"
    r"\b(?:our|my|the|a|this)\s+(?:U\.?S\.?\s+|American\s+)?(?:lab|laboratory|office|campus|"
    r"department|group|team|university|school|institute|building|facility|company|startup)\b|"
    r"\bU\.?S\.?[- ]based\b|\b(?:[FJ]-1|H-?1B|O-1|OPT|CPT|visa)\b|\bhere\b|\bon campus\b|"
    r"\bin (?:Boston|California|Texas|New York|Michigan|Illinois|Ohio|Florida|Georgia|Virginia)\b",
    re.I,
)
_ABROAD = re.compile(
    r"\b(?:abroad|overseas|back home|home country|remotely from|lives? in|living in|based in|"
    r"located in|resides? in|residing in|moved (?:back )?to|stays? in|"
    r"from (?:his|her|their) home)\b",
    re.I,
)
_PENDING = re.compile(
    r"\b(?:appl(?:y|ied|ying)\s+for|in the process of|process of (?:getting|obtaining)|pending|"
    r"waiting (?:for|on)|will (?:soon )?(?:get|have|receive)|hopes? to|expects? to|"
    r"application for|not yet|doesn'?t (?:yet )?have|does not (?:yet )?have|without an?|"
    r"no|before (?:she|he|they) gets?|sponsor(?:ing)? (?:his|her|their|a))\s+(?:\w+\s+){0,3}$",
    re.I,
)
_STATUS_RES: dict[str, re.Pattern[str]] = {
    "permanent_resident": re.compile(
        r"\bgreen[- ]?card\b|\bpermanent\s+residen(?:t|ts|ce|cy)\b|\blawful(?:ly)?\s+permanent\b|"
        r"\badmitted\s+for\s+permanent\b|\bLPRs?\b|\bimmigrant\s+visa\b",
        re.I,
    ),
    "us_citizen": re.compile(
        r"(?<!non-)(?<!non )\b(?:U\.?S\.?A?\.?|American|United States)\s+(?:citizens?|citizenship|"
        r"nationals?|passports?)\b|"
        r"\bnaturali[sz](?:ed|ation)\b|\bcitizens?\s+of\s+the\s+(?:U\.?S\.?A?\.?|United States)\b|"
        r"\b(?:U\.?S\.?|American)[- ]born\b|\bU\.?S\.?\s+persons?\b|\bdual\s+U\.?S\.?\b|"
        # "dual citizenship (one of which is U.S.)", "dual nationals with US citizenship"
        r"\bdual\s+(?:citizenship|nationality|citizens?|nationals?)\b[^.?!;]{0,40}?"
        r"\b(?:U\.?S\.?A?\b|American|United States)",
        re.I,
    ),
    "protected_individual": re.compile(
        r"\basylees?\b|\brefugees?\b|\bgranted\s+asylum\b|\bprotected\s+individuals?\b", re.I
    ),
}
_FOREIGN = re.compile(
    r"\bforeigners?\b|\bforeign[- ](?:born\s+)?(?:\w+\s+)?(?:nationals?|persons?|students?|"
    r"researchers?|scholars?|employees?|engineers?|postdocs?|colleagues?|collaborators?|"
    r"visitors?|staff|interns?|workers?|hires?|co-?authors?|citizens?|people|individuals?|"
    r"faculty|developers?|contractors?|members?|partners?|teams?|groups?|labs?)\b|\binternational\s+(?:students?|scholars?|researchers?|visitors?|"
    r"employees?|staff|postdocs?|hires?)\b|\bnon-?\s?(?:U\.?S\.?|American|citizens?)\b|"
    r"\b(?:[FJ]-1|H-?1B|O-1A?|TN|L-1)\b|\bvisa\s+holders?\b|\bvisiting\s+(?:scholars?|"
    r"researchers?|students?|professors?|scientists?)\b|\bnot\s+(?:a\s+)?(?:U\.?S\.?\s+)?"
    r"citizens?\b|\bdual\s+(?:national|citizen)s?\b",
    re.I,
)
_PRONOUN_ONLY = re.compile(r"^\s*(?:he|she|they|him|her|his|their|this person)\b", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“(\[])|\n+")
_ABBREVIATION = re.compile(
    r"(?:\b(?:U\.S|U\.K|e\.g|i\.e|etc|Dr|Mr|Ms|Mrs|Prof|St|No|Inc|Ltd|Co|Corp|vs|approx|"
    r"Dept|Univ|[A-Z])\.)$"
)
_NEGATED_BEFORE = re.compile(
    r"\b(?:no|not|never|without|none|nor|neither|zero|any)\s+(?:\w+\s+){0,2}$", re.I
)


class Party(BaseModel):
    """A person or organisation the conversation is about (not the asker)."""

    text: str = Field(description="The sentence the party was found in.")
    status: Status | None = None
    nationalities: list[str] = Field(default_factory=list)
    located: Literal["us", "abroad"] | None = None
    where: list[str] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list)


class Situation(BaseModel):
    """Typed facts of a conversation; ``facts`` are the atoms rules and determinations read."""

    parties: list[Party] = Field(default_factory=list)
    items: list[str] = Field(default_factory=list)
    activities: list[str] = Field(default_factory=list)
    destinations: list[str] = Field(default_factory=list)
    nationalities: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    born: list[str] = Field(default_factory=list)
    jurisdictions: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    facts: list[str] = Field(default_factory=list)
    understood: list[str] = Field(
        default_factory=list,
        description='"What I understood" lines, e.g. "party: Iranian national".',
    )

    def has(self, atom: str) -> bool:
        return atom in self.facts

    def missing_questions(self) -> list[str]:
        """The missing facts, asked as questions the user can answer in a follow-up."""
        return [MISSING[m] for m in self.missing]

    def summary(self, place_names: dict[str, str]) -> list[tuple[str, str]]:
        """Compact "What I understood" lines: (label, value)."""
        lines: list[tuple[str, str]] = []
        for party in self.parties:
            bits = []
            if party.nationalities:
                bits.append(
                    ", ".join(place_names.get(p, p) for p in party.nationalities) + " national"
                )
            if party.status:
                bits.append(STATUSES[party.status])
            if party.kinds:
                bits += [PARTY_KINDS.get(k, k) for k in party.kinds]
            if not bits:  # a bare place is shown as the destination below
                continue
            if party.located == "us":
                bits.append("in the U.S.")
            elif party.where:
                bits.append("in " + ", ".join(place_names.get(p, p) for p in party.where))
            elif party.located == "abroad":
                bits.append("outside the U.S.")
            lines.append(("party", "; ".join(dict.fromkeys(bits))))
        if self.items:
            lines.append(("item", ", ".join(ITEMS.get(i, i) for i in self.items)))
        shown = [ACTIVITIES[a] for a in self.activities if a != "licence_question"]
        if shown:
            lines.append(("activity", ", ".join(shown)))
        if self.destinations:
            lines.append(
                ("destination", ", ".join(place_names.get(p, p) for p in self.destinations))
            )
        if self.topics:
            lines.append(("topic only", ", ".join(place_names.get(p, p) for p in self.topics)))
        return lines


@dataclass
class _Placed:
    mention: Mention
    role: PlaceRole
    sentence: int


def _sentences(text: str) -> list[tuple[int, str]]:
    """(start offset, sentence) pairs; "U.S." and "e.g." do not end a sentence."""
    out: list[tuple[int, str]] = []
    start = 0
    for piece in _SENTENCE.split(text):
        pos = text.find(piece, start)
        start = pos + len(piece)
        if not piece.strip():
            continue
        if out and _ABBREVIATION.search(out[-1][1].rstrip()):
            prev_pos, _ = out[-1]
            out[-1] = (prev_pos, text[prev_pos:start])
        else:
            out.append((pos, piece))
    return out


def _clause_before(text: str, start: int) -> str:
    return re.split(r"[.;!?\n]", text[:start])[-1][-80:]


class SituationExtractor:
    """conversation texts -> ``Situation``. Deterministic except for the example matcher,
    which only ever adds facts."""

    def __init__(self, rules: RuleSet, matcher: FactMatcher | None = None) -> None:
        self.rules = rules
        self.matcher = matcher

    def place_role(self, text: str, mention: Mention) -> PlaceRole:
        place = self.rules.places[mention.id]
        if place.kind == "region" and place.regime == "none" and not place.demonyms:
            return "dest"  # "abroad", "overseas", "on international travel"
        after = text[mention.start + len(mention.text) : mention.start + len(mention.text) + 60]
        before = _clause_before(text, mention.start)
        is_demonym = mention.text.lower() in {d.lower() for d in place.demonyms}
        if _BORN_AFTER.match(after) or _BORN_BEFORE.search(before):
            return "born"
        if _TOPIC_BEFORE.search(before) and not _ORG_AFTER.match(after):
            return "topic"
        if is_demonym:
            if _TOPIC_AFTER.match(after):
                return "topic"
            if _ORG_AFTER.match(after) and not _PERSON_AFTER.match(after):
                return "dest"
            if re.match(r"^\s+(?:citizenship|passport|nationality)\b", after, re.I):
                return "nat"
            return "nat"
        if _TOPIC_AFTER_NAME.match(after) and not _ORG_AFTER.match(after):
            return "topic"
        if _NAT_BEFORE.search(before) or re.match(
            r"^\s+(?:citizenship|passport|nationality)\b", after, re.I
        ):
            return "nat"
        is_city = mention.text.lower() in {c.lower() for c in place.cities}
        if _FROM_BEFORE.search(before) and _PERSON_NEAR.search(before[-40:]) and not is_city:
            return "nat"
        return "dest"

    def extract(self, texts: list[str]) -> Situation:
        facts: set[str] = set()
        placed: list[_Placed] = []
        mentions_by_text = [(t, self.rules.mentions(t)) for t in texts]
        sentence_base = 0
        parties: list[Party] = []
        for text, mentions in mentions_by_text:
            sentences = _sentences(text)
            for m in mentions:
                if m.kind != "place":
                    continue
                index = sum(1 for s, _ in sentences if s <= m.start) - 1 + sentence_base
                placed.append(_Placed(m, self.place_role(text, m), index))
            parties += self._parties(text, sentences, mentions, placed, sentence_base)
            sentence_base += len(sentences)
            for m in mentions:
                if m.kind != "place" and not m.negated:
                    facts.update(self.rules.facts_of_trigger(m.id, m.text))
        if self.matcher is not None:
            facts.update(self.matcher.facts(texts))
        return self._assemble(facts, placed, parties, texts)

    def _parties(
        self,
        text: str,
        sentences: list[tuple[int, str]],
        mentions: list[Mention],
        placed: list[_Placed],
        base: int,
    ) -> list[Party]:
        parties: list[Party] = []
        sponsor_spans = [
            (m.start, m.start + len(m.text)) for m in mentions if m.id == "sponsor_restriction"
        ]
        for i, (start, sentence) in enumerate(sentences):
            mine = [p for p in placed if p.sentence == base + i]
            party = self._party(sentence, start, mine, sponsor_spans)
            if party is None:
                # "Can he access it at our office in Texas?" says where the last party is.
                if parties and _US_HERE.search(sentence) and not parties[-1].located:
                    parties[-1].located = "us"
                continue
            if parties and _PRONOUN_ONLY.match(sentence) and not party.nationalities:
                _merge(parties[-1], party)
            else:
                parties.append(party)
        return parties

    def _party(
        self,
        sentence: str,
        offset: int,
        placed: list[_Placed],
        sponsor_spans: list[tuple[int, int]],
    ) -> Party | None:
        statuses: list[str] = []
        for said, pattern in _STATUS_RES.items():
            for m in pattern.finditer(sentence):
                at = offset + m.start()
                if any(s <= at < e for s, e in sponsor_spans):
                    continue
                if said == "permanent_resident" and _PENDING.search(sentence[: m.start()]):
                    statuses.append("foreign_person")
                else:
                    statuses.append(said)
        nats = [p.mention.id for p in placed if p.role == "nat"]
        where = [p.mention.id for p in placed if p.role == "dest"]
        foreign = bool(nats) or any(
            not _NEGATED_BEFORE.search(sentence[: m.start()]) for m in _FOREIGN.finditer(sentence)
        )
        person = bool(_PERSON_NEAR.search(sentence)) or bool(statuses) or bool(nats)
        if not (person or where):
            return None
        status: Status | None = None
        candidates: tuple[Status, ...] = (
            "us_citizen",
            "permanent_resident",
            "protected_individual",
        )
        for candidate in candidates:
            if candidate in statuses:
                status = candidate
                break
        if status is None and (foreign or "foreign_person" in statuses):
            status = "foreign_person"
        located: Literal["us", "abroad"] | None = None
        if where or _ABROAD.search(sentence):
            located = "abroad"
        elif _US_HERE.search(sentence) and (status or nats):
            located = "us"
        if status is None and not nats and not where:
            return None
        return Party(
            text=sentence.strip()[:200],
            status=status,
            nationalities=list(dict.fromkeys(nats)),
            located=located,
            where=list(dict.fromkeys(where)),
        )

    def _assemble(
        self, facts: set[str], placed: list[_Placed], parties: list[Party], texts: list[str]
    ) -> Situation:
        us_person = {"us_citizen", "permanent_resident", "protected_individual"}
        roles: dict[str, list[str]] = {"dest": [], "nat": [], "topic": [], "born": []}
        for p in placed:
            if p.mention.negated:  # "a non-Iranian national"
                continue
            roles[p.role].append(p.mention.id)
        # A U.S. person's other citizenship is not a foreign nationality for a release.
        us_nats = {n for party in parties if party.status in us_person for n in party.nationalities}
        foreign_nats = {
            n for party in parties if party.status not in us_person for n in party.nationalities
        }
        nats = [n for n in dict.fromkeys(roles["nat"]) if n in foreign_nats or n not in us_nats]
        dests = list(dict.fromkeys(roles["dest"]))
        for party in parties:
            if party.status:
                facts.add(f"status:{party.status}")
            if party.located:
                facts.add(f"located:{party.located}")
        if (
            "status:foreign_person" in facts
            and any(p.status in us_person for p in parties)
            and not any(p.status == "foreign_person" for p in parties)
        ):
            facts.discard("status:foreign_person")
        if nats and not any(p.status for p in parties):
            facts.add("status:foreign_person")
        if (
            parties
            and all(p.status in us_person for p in parties if p.status or p.nationalities)
            and any(p.status in us_person for p in parties)
            and not dests
            and "located:abroad" not in facts
        ):
            facts.add("status:us_persons_only")
        for kind, ids in (
            ("dest", dests),
            ("nat", nats),
            ("topic", roles["topic"]),
            ("born", roles["born"]),
        ):
            for pid in ids:
                facts.update(self._place_facts(kind, pid))
        situation = Situation(
            parties=parties,
            destinations=dests,
            nationalities=nats,
            topics=[t for t in dict.fromkeys(roles["topic"]) if t not in dests + nats],
            born=list(dict.fromkeys(roles["born"])),
        )
        self._finish(situation, facts, texts)
        return situation

    def _place_facts(self, kind: str, pid: str) -> list[str]:
        place = self.rules.places[pid]
        out = [f"{kind}:{pid}", f"{kind}:*"]
        if kind in ("dest", "nat"):
            out += [f"{kind}_group:{g}" for g in place.groups]
            out.append(f"{kind}_regime:{place.regime}")
        return out

    def _finish(self, situation: Situation, facts: set[str], texts: list[str]) -> None:
        for kind in ("item", "activity", "party", "status", "located"):
            if any(f.startswith(kind + ":") for f in facts):
                facts.add(f"{kind}:*")
        situation.items = sorted(
            f.split(":", 1)[1]
            for f in facts
            if f.startswith("item:") and not f.endswith("*") and f.split(":", 1)[1] in ITEMS
        )
        situation.activities = sorted(
            f.split(":", 1)[1]
            for f in facts
            if f.startswith("activity:") and f.split(":", 1)[1] in ACTIVITIES
        )
        kinds = sorted(
            f.split(":", 1)[1] for f in facts if f.startswith("party:") and not f.endswith("*")
        )
        if kinds:
            if situation.parties:
                situation.parties[0].kinds = kinds
            else:
                situation.parties.append(Party(text="", kinds=kinds))
        situation.jurisdictions = jurisdictions(" ".join(texts), situation)
        situation.missing = missing_facts(facts, situation)
        names = {pid: place.name for pid, place in self.rules.places.items()}
        situation.understood = [f"{label}: {value}" for label, value in situation.summary(names)]
        facts.update(f"missing:{m}" for m in situation.missing)
        if situation.missing:
            facts.add("missing:*")
        situation.facts = sorted(facts)


def _merge(into: Party, other: Party) -> None:
    into.status = other.status or into.status
    into.located = other.located or into.located
    into.where = list(dict.fromkeys([*into.where, *other.where]))


_CONTROLLED = {
    "controlled_technology",
    "intrusion",
    "surveillance",
    "cryptanalysis",
    "itar",
    "nonpublic_code",
    "proprietary",
    "encryption",
}
_PUBLIC = {"published", "public_code", "fundamental_research", "educational", "ear99"}
_GENERIC = {"software", "technology", "data"}
_MOVES = {"release", "send", "ship", "collaborate", "hire_host", "service", "cloud"}
_EU = re.compile(
    r"\b(?:2021/821|428/2009|Regulation \(E[UC]\)|EU (?:regulations?|law|rules|export|sanctions|"
    r"member states?)|EU dual[- ]use|dual[- ]use regulation|BAFA|Annex I|EU\d{3}|"
    r"(?:German|French|Dutch|Spanish|Italian|Belgian|Swedish|Finnish|Polish|Austrian|Irish|"
    r"Danish|Czech|Portuguese|EU|European)\s+(?:university|company|institute|startup|lab|"
    r"research|exporter|firm|government))\b|\b(?:I am|I'm|we are|we're)\s+(?:\w+\s+){0,4}in\s+"
    r"(?:Germany|France|the Netherlands|Spain|Italy|Belgium|Sweden|Finland|Poland|Austria|"
    r"Ireland|Denmark|the EU)\b|^\W*(?:does|do|is|are|has|have|can|may|under)\s+(?:the\s+)?"
    r"(?:EU|European Union|German|Germany|French|France|Dutch)\b",
    re.I,
)
_UK = re.compile(
    r"\b(?:ECJU|OGEL|SIEL|OIEL|Export Control Order|Export Control Joint Unit|SPIRE|LITE|"
    r"(?:UK|U\.K\.|British|English|Scottish|Welsh)\s+(?:university|company|institute|startup|"
    r"lab|research|exporter|firm|government|law|rules|export))\b|\b(?:I am|I'm|we are|we're)\s+"
    r"(?:\w+\s+){0,4}in\s+(?:the\s+)?(?:UK|U\.K\.|United Kingdom|England|Scotland|Wales)\b|"
    r"^\W*(?:does|do|is|are|has|have|can|may|under)\s+(?:the\s+)?(?:UK|U\.K\.|United Kingdom|"
    r"British)\b",
    re.I,
)


def jurisdictions(text: str, situation: Situation) -> list[str]:
    """The regimes the asker is under: EU or UK when they say so or sit there, else the U.S."""
    out = []
    if _EU.search(text):
        out.append("EU")
    if _UK.search(text):
        out.append("UK")
    if re.search(r"\bITAR\b|\bUSML\b|\bdefen[cs]e articles?\b|\bDDTC\b", text):
        out.append("US-ITAR")
    if re.search(r"\bOFAC\b|\bSDN\b|\bsanction", text, re.I) or any(
        d in ("IR", "CU", "KP", "SY") for d in situation.destinations + situation.nationalities
    ):
        out.append("US-OFAC")
    if not {"EU", "UK"} & set(out) or re.search(r"\bEAR\b|\bBIS\b|\bU\.?S\.?\b", text):
        out.insert(0, "US-EAR")
    return list(dict.fromkeys(out))


def missing_facts(facts: set[str], situation: Situation) -> list[str]:
    """Facts a determination turns on that the conversation does not give."""
    items = set(situation.items)
    acts = set(situation.activities)
    asks = "licence_question" in acts
    if "status:us_persons_only" in facts or ("ask_definition" in acts and not asks):
        return []
    moving = bool(acts & _MOVES) or asks
    missing: list[str] = []
    concrete = items - {"devices", "data"} - _GENERIC
    if asks and not items:
        missing.append("item")
    if items & _GENERIC and not items & (_PUBLIC | _CONTROLLED | {"mass_market"}) and moving:
        missing.append("publication")
    foreigners = [
        p
        for p in situation.parties
        if p.status == "foreign_person" or (p.status is None and p.nationalities)
    ]
    if (
        foreigners
        and moving
        and not any(p.located for p in foreigners)
        and not (situation.destinations)
    ):
        missing.append("recipient_location")
    if (
        items & _CONTROLLED
        and moving
        and any(p.text and not p.where for p in situation.parties)
        and all(p.status is None for p in situation.parties)
        and not situation.nationalities
    ):
        missing.append("recipient_status")
    if (
        concrete & {"encryption", "hardware", "intrusion", "surveillance", "nonpublic_code"}
        and not items & {"eccn", "ear99", "mass_market", "published", "public_code", "usml", "itar"}
        and (situation.destinations or foreigners or asks)
    ):
        missing.append("classification")
    if acts & {"ship", "send", "cloud"} and not situation.destinations and not situation.parties:
        missing.append("destination")
    return missing
