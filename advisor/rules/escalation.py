"""Deterministic escalation: vocabulary and combination rules kept as YAML data.

The level never comes from a model. Rule files are validated on load; a bad file leaves the
previous good rules in force and is reported with its file, line and field.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from advisor.errors import RulesError
from advisor.models import Flag, Level, ScoredChunk, Turn
from advisor.rules.facts import FIXED, ITEMS, MISSING_SHORT, PLACE_KINDS, atoms_of, holds
from advisor.rules.facts import check_atom as check_fact
from advisor.rules.phrasings import Embedder, FactMatcher, PhrasingSpec
from advisor.rules.situation import Situation, SituationExtractor
from advisor.text import asking_cue
from advisor.watched import Watched, files_stamp
from advisor.yamlfile import load_model

log = logging.getLogger(__name__)

Category = Literal["item", "end_user", "activity", "mitigating"]
RuleKind = Literal["item", "destination", "end_user", "listed_party", "activity"]
Regime = Literal["embargo", "occupied_region", "russia_belarus", "watch", "none"]
_KINDS = "|".join(sorted({*FIXED, *PLACE_KINDS, "missing", "end_user", "mitigating"}))
ATOM = re.compile(rf"^({_KINDS}):([A-Za-z0-9_:*.-]+)$")
# A quantified group that is itself quantified backtracks exponentially: "(a+)+$".
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*(?:[+*]|\{\d*,\})")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlaceSpec(_Strict):
    id: str
    name: str
    kind: Literal["country", "region"] = "country"
    names: list[str] = Field(min_length=1)
    demonyms: list[str] = Field(default_factory=list)
    cities: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    regime: Regime = "none"
    citation: str = ""
    note: str = ""
    exclude: list[str] = Field(default_factory=list)


class GroupSpec(_Strict):
    id: str
    name: str
    citation: str = "Supplement No. 1 to 15 CFR Part 740"


class TriggerSpec(_Strict):
    id: str
    category: Category
    label: str
    patterns: list[str] = Field(min_length=1)
    exclude: list[str] = Field(default_factory=list)
    scope_signal: bool = True
    facts: list[str] = Field(
        default_factory=list, description="Situation facts a mention of this trigger states."
    )
    never_negated: bool = False

    @field_validator("patterns", "exclude")
    @classmethod
    def _compiles(cls, values: list[str]) -> list[str]:
        for value in values:
            _pattern_regex(value)
        return values


class Condition(_Strict):
    all: list[str] = Field(default_factory=list)
    any: list[str] = Field(default_factory=list)
    none: list[str] = Field(default_factory=list)

    @field_validator("all", "any", "none")
    @classmethod
    def _atoms(cls, values: list[str]) -> list[str]:
        for value in values:
            for atom in _atoms_of(value):
                if not ATOM.match(atom):
                    raise ValueError(
                        f"{atom!r} is not a condition; write kind:name, e.g. dest_group:E:1, "
                        "nat_regime:embargo, status:permanent_resident, item:intrusion; join "
                        "alternatives with | and requirements with &"
                    )
        return values

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if not (self.all or self.any):
            raise ValueError("a rule needs at least one 'all' or 'any' condition")
        return self


class RuleSpec(_Strict):
    id: str
    level: Level
    kind: RuleKind
    when: Condition
    reason: str
    citation: str
    next_step: str
    lowered_by: list[str] = Field(default_factory=list)
    lower_to: Level = Level.REVIEW
    answer: str = Field(
        "", description="One direct sentence that answers a question this rule decides."
    )

    @model_validator(mode="after")
    def _mitigation_only_for_items(self) -> RuleSpec:
        if self.lowered_by and self.kind != "item":
            raise ValueError(
                "lowered_by is only allowed on kind: item rules; "
                f"a {self.kind} flag is never lowered"
            )
        for atom in self.lowered_by:
            if not atom.startswith("mitigating:"):
                raise ValueError(f"lowered_by takes mitigating:<id> facts, not {atom!r}")
        if self.lower_to.rank >= self.level.rank and self.lowered_by:
            raise ValueError("lower_to must be below level")
        return self


class RuleFile(_Strict):
    """Any rules file may hold any of these sections; they are merged across files."""

    country_groups: list[GroupSpec] = Field(default_factory=list)
    places: list[PlaceSpec] = Field(default_factory=list)
    triggers: list[TriggerSpec] = Field(default_factory=list)
    rules: list[RuleSpec] = Field(default_factory=list)
    phrasings: list[PhrasingSpec] = Field(default_factory=list)
    negation_cues: list[str] = Field(default_factory=list)
    scope_breaks: list[str] = Field(default_factory=list)
    scope_terms: list[str] = Field(default_factory=list)

    @field_validator("scope_terms")
    @classmethod
    def _terms_compile(cls, values: list[str]) -> list[str]:
        for value in values:
            _pattern_regex(value)
        return values


def _pattern_regex(pattern: str) -> str:
    """``re:`` is a raw regex, ``cs:`` a case-sensitive phrase, anything else a phrase."""
    if pattern.startswith("re:"):
        body = pattern[3:]
        if _NESTED_QUANTIFIER.search(body):
            raise ValueError(
                f"pattern {pattern!r} nests a quantifier inside a quantified group, which can "
                "take exponential time; rewrite it without the nesting"
            )
    elif pattern.startswith("cs:"):
        body = "(?-i:" + _phrase(pattern[3:]) + ")"
    else:
        body = _phrase(pattern)
    try:
        re.compile(body)
    except re.error as exc:
        raise ValueError(f"pattern {pattern!r} does not compile: {exc}") from exc
    return body


def _phrase(text: str) -> str:
    words = [re.escape(w) for w in text.split()]
    return r"[\s\-]+".join(words)


def _alternation(patterns: Iterable[str]) -> re.Pattern[str] | None:
    bodies = [_pattern_regex(p) for p in patterns]
    if not bodies:
        return None
    bodies.sort(key=len, reverse=True)
    return re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(bodies) + r")(?![A-Za-z0-9])", re.I)


def load_rule_file(path: Path) -> RuleFile:
    return load_model(path, RuleFile, "a mapping with places/triggers/rules sections")


@dataclass
class Mention:
    kind: str
    id: str
    text: str
    start: int
    negated: bool


@dataclass
class RuleSet:
    """Merged, cross-checked rules ready to evaluate."""

    groups: dict[str, GroupSpec]
    places: dict[str, PlaceSpec]
    triggers: dict[str, TriggerSpec]
    rules: list[RuleSpec]
    negation: re.Pattern[str]
    breaks: set[str]
    digest: str
    phrasings: list[PhrasingSpec] = field(default_factory=list)
    scope_re: re.Pattern[str] | None = None
    place_res: dict[str, re.Pattern[str]] = field(default_factory=dict)
    trigger_res: dict[str, re.Pattern[str]] = field(default_factory=dict)
    exclude_res: dict[str, re.Pattern[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> RuleSet:
        files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
        if not files:
            raise RulesError(f"{folder}: no rule files (*.yaml) found")
        merged = RuleFile()
        digest = hashlib.sha256()
        for path in files:
            part = load_rule_file(path)
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
            for key in RuleFile.model_fields:
                getattr(merged, key).extend(getattr(part, key))
        return cls.build(merged, digest.hexdigest()[:16], origin=str(folder))

    @classmethod
    def build(cls, spec: RuleFile, digest: str, origin: str = "rules") -> RuleSet:
        problems: list[str] = []
        groups = _unique(spec.country_groups, "country group", problems)
        places = _unique(spec.places, "place", problems)
        triggers = _unique(spec.triggers, "trigger", problems)
        _unique(spec.rules, "rule", problems)
        for place in places.values():
            problems += [
                f"place {place.id}: unknown country group {g!r}"
                for g in place.groups
                if g not in groups
            ]
        for rule in spec.rules:
            atoms = [*rule.when.all, *rule.when.any, *rule.when.none, *rule.lowered_by]
            for atom in (a for entry in atoms for a in _atoms_of(entry)):
                problem = _check_atom(atom, groups, places, triggers)
                if problem:
                    problems.append(f"rule {rule.id}: {problem}")
        declared = [(f"trigger {t.id}", a) for t in triggers.values() for a in t.facts]
        declared += [(f"phrasings of {p.fact}", p.fact) for p in spec.phrasings]
        for owner, atom in declared:
            problem = check_fact(atom, set(places), set(groups))
            if problem:
                problems.append(f"{owner}: {problem}")
        if not spec.negation_cues:
            problems.append("negation_cues: at least one cue is required")
        if problems:
            raise RulesError(f"{origin}: " + "; ".join(problems[:8]))
        ruleset = cls(
            groups=groups,
            places=places,
            triggers=triggers,
            rules=spec.rules,
            negation=re.compile(
                r"(?<![A-Za-z])(?:" + "|".join(_phrase(c) for c in spec.negation_cues) + r")$",
                re.I,
            ),
            breaks={b.lower() for b in spec.scope_breaks},
            digest=digest,
            phrasings=spec.phrasings,
            scope_re=_alternation(spec.scope_terms),
        )
        for place in places.values():
            pattern = _alternation([*place.names, *place.demonyms, *place.cities])
            if pattern:
                ruleset.place_res[place.id] = pattern
            excl = _alternation(place.exclude)
            if excl:
                ruleset.exclude_res["place:" + place.id] = excl
        for trig in triggers.values():
            pattern = _alternation(trig.patterns)
            if pattern:
                ruleset.trigger_res[trig.id] = pattern
            excl = _alternation(trig.exclude)
            if excl:
                ruleset.exclude_res[f"{trig.category}:{trig.id}"] = excl
        return ruleset

    def mentions(self, text: str) -> list[Mention]:
        found: list[Mention] = []
        for pid, pattern in self.place_res.items():
            found += self._scan(text, "place", pid, pattern, self.exclude_res.get("place:" + pid))
        for tid, pattern in self.trigger_res.items():
            cat = self.triggers[tid].category
            found += self._scan(text, cat, tid, pattern, self.exclude_res.get(f"{cat}:{tid}"))
        return found

    def _scan(
        self,
        text: str,
        kind: str,
        ident: str,
        pattern: re.Pattern[str],
        exclude: re.Pattern[str] | None,
    ) -> list[Mention]:
        spans = [(m.start(), m.end()) for m in exclude.finditer(text)] if exclude else []
        out = []
        for m in pattern.finditer(text):
            if any(s <= m.start() and m.end() <= e for s, e in spans):
                continue
            # Negation never hides a destination or a listed party: "no" before "Tehran"
            # is a trick, not a fact.
            if kind == "place":  # only "non-Iranian" negates a place, never a cue word
                negated = text[max(0, m.start() - 4) : m.start()].lower() == "non-"
            else:
                negated = not self.triggers[ident].never_negated and self._negated(text, m)
            out.append(Mention(kind, ident, m.group(0), m.start(), negated))
        return out

    def _negated(self, text: str, match: re.Match[str]) -> bool:
        """A cue shortly before the mention, in the same clause, negates it.

        Doubt resolves towards flagging: a clause mark (":", "-", a comma) or a clause break
        (if, whether, but, ...) ends the search, so "No: ship it to Tehran" and "not sure
        whether he is Iranian" still count as mentions.
        """
        if text[max(0, match.start() - 4) : match.start()].lower() == "non-":
            return True
        clause = re.split(r"[.;:!?\n\u2014\u2013]|\s-+\s|--", text[: match.start()])[-1]
        tokens = re.findall(r"[A-Za-z'][A-Za-z'-]*|,", clause)[-7:]
        window: list[str] = []
        for token in reversed(tokens):
            if token == "," or token.lower() in self.breaks:
                break
            window.insert(0, token)
        # "subject or not to the EAR" weighs both sides; it denies nothing.
        window = [
            t
            for i, t in enumerate(window)
            if not (t.lower() in ("not", "nor") and i and window[i - 1].lower() == "or")
        ]
        asking = asking_cue(_sentence_of(text, match))
        if asking is not None:  # "Can't my students see it?" asks; it does not deny
            lowered = [t.lower() for t in window]
            if asking in lowered:
                del window[lowered.index(asking)]
        for i in range(len(window)):
            if self.negation.search(" ".join(window[: i + 1])):
                return True
        after = text[match.end() : match.end() + 40]
        return bool(
            re.match(
                r"^\s*(?:\w+\s+)?(?:is|are|was|were|will|would|does|do|did|has|have)"
                r"(?:\s+not|n't|\s+never)\b",
                after,
                re.I,
            )
        )

    def facts_of_trigger(self, trigger_id: str, text: str) -> list[str]:
        """The atoms a trigger mention states: its own id and the facts it declares."""
        trig = self.triggers[trigger_id]
        return [f"{trig.category}:{trigger_id}", f"{trig.category}:*", *trig.facts]


def _unique(items: list[Any], what: str, problems: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        if item.id in out:
            problems.append(f"duplicate {what} id {item.id!r}")
        out[item.id] = item
    return out


def _check_atom(atom: str, groups: dict, places: dict, triggers: dict) -> str | None:
    """Triggers name their own atoms (item:intrusion, end_user:police); every other atom
    must be a situation fact the extractor can state."""
    kind, _, name = atom.partition(":")
    if name == "*":
        return None
    if kind in ("item", "activity") and check_fact(atom, set(places), set(groups)) is None:
        return None
    if kind in ("item", "end_user", "activity", "mitigating"):
        trig = triggers.get(name)
        if trig is not None:
            if trig.category != kind:
                return f"{atom!r}: trigger {name!r} is a {trig.category}, not {kind}"
            return None
        if kind in ("end_user", "mitigating"):
            return f"unknown trigger in {atom!r}"
    return check_fact(atom, set(places), set(groups))


@dataclass
class Assessment:
    level: Level
    flags: list[Flag]
    mentions: list[Mention]
    in_domain: bool = False
    situation: Situation = field(default_factory=Situation)
    notes: list[str] = field(default_factory=list)


PartyScreen = Callable[[str], list[Flag]]


class EscalationEngine:
    """conversation -> situation facts -> flags -> level.

    Rules are re-read when their files change; if the new files are invalid the last good
    rules stay in force and ``last_error`` says why, in every answer until fixed.
    """

    def __init__(
        self,
        folder: Path,
        party_screen: PartyScreen | None = None,
        embeddings: Embedder | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.folder = folder
        self.cache_dir = cache_dir
        self.party_screen = party_screen
        self.embeddings = embeddings
        self._rules: Watched[RuleSet] = Watched(
            lambda: RuleSet.load(folder),
            lambda: files_stamp(lambda: sorted(folder.glob("*.y*ml"))),
            on_reload=lambda _rules: self._take_rules(),
            on_error=lambda exc: log.warning(
                "rules not reloaded, previous rules stay in force: %s", exc
            ),
        )
        self._extractor = self._make_extractor()

    @property
    def rules(self) -> RuleSet:
        """The rules in force: the last set that loaded without an error."""
        return self._rules.value

    @property
    def last_error(self) -> str | None:
        """Why the rule files on disk are not in force, until they are fixed."""
        return self._rules.last_error

    def _make_extractor(self) -> SituationExtractor:
        matcher = (
            FactMatcher(self.embeddings, self.rules.phrasings, self.cache_dir)
            if self.embeddings is not None
            else None
        )
        return SituationExtractor(self.rules, matcher)

    def _take_rules(self) -> None:
        self._extractor = self._make_extractor()

    def refresh(self) -> bool:
        """Reload when the files changed; True when new rules were taken."""
        return self._rules.refresh()

    def reload(self) -> bool:
        """Reload now (after an edit); True when the new rules were taken."""
        return self._rules.reload()

    @property
    def digest(self) -> str:
        return self.rules.digest

    def situation(self, texts: list[str]) -> Situation:
        return self._extractor.extract(texts)

    def assess(
        self,
        question: str,
        history: list[Turn] | None = None,
        chunks: list[ScoredChunk] | None = None,
    ) -> Assessment:
        """Assess the question with the user turns of ``history`` it follows up on."""
        self.refresh()
        texts = [t.content for t in history or [] if t.role == "user"] + [question]
        mentions = [m for text in texts for m in self.rules.mentions(text)]
        situation = self._extractor.extract(texts)
        facts = set(situation.facts)
        flags = [f for rule in self.rules.rules if (f := self._fire(rule, facts, situation))]
        if self.party_screen is not None:
            flags += self.party_screen("\n".join(texts))
        flags.sort(key=lambda f: -f.level.rank)
        notes = []
        if self.last_error:
            notes.append(
                "The escalation rules on disk are invalid and the last good version is in "
                f"use: {self.last_error}"
            )
        return Assessment(
            Level.highest([f.level for f in flags]),
            flags,
            mentions,
            self._in_domain(texts, mentions, facts),
            situation,
            notes,
        )

    def _in_domain(self, texts: list[str], mentions: list[Mention], facts: set[str]) -> bool:
        """Does the conversation speak about export controls at all (scope terms, places,
        specific items or end users)? Generic words like "laptop" or "send" do not count."""
        for m in mentions:
            if m.kind == "place" or (
                m.id in self.rules.triggers and self.rules.triggers[m.id].scope_signal
            ):
                return True
        if any(f.startswith(("party:listed", "activity:licence_question")) for f in facts):
            return True
        pattern = self.rules.scope_re
        return bool(pattern and any(pattern.search(t) for t in texts))

    def _fire(self, rule: RuleSpec, facts: set[str], situation: Situation) -> Flag | None:
        cond = rule.when
        if not all(holds(entry, facts) for entry in cond.all):
            return None
        if cond.any and not any(holds(entry, facts) for entry in cond.any):
            return None
        if any(holds(entry, facts) for entry in cond.none):
            return None
        used = _used_atoms([*cond.all, *cond.any], facts)
        places = sorted({self.rules.places[p].name for p in self._places_of(used, situation)})
        items = sorted({self._label(a) for a in used if a.startswith("item:")} - {""})
        level, reason = rule.level, rule.reason
        mitigations = [a for a in rule.lowered_by if a in facts]
        if mitigations:
            level = rule.lower_to
            labels = ", ".join(self.rules.triggers[a.split(":", 1)[1]].label for a in mitigations)
            reason = f"{reason} Lowered to {level.value} because the question says: {labels}."
        values = {
            "places": ", ".join(places) or "the destination",
            "items": ", ".join(items) or "the item",
            "missing": "; ".join(MISSING_SHORT[m] for m in situation.missing) or "key facts",
        }
        return Flag(
            id=rule.id,
            level=level,
            reason=_fill(reason, values),
            citation=rule.citation,
            next_step=_fill(rule.next_step, values),
            matched=sorted(used),
            answer=_fill(rule.answer, values),
        )

    def _places_of(self, used: list[str], situation: Situation) -> set[str]:
        """The situation's places behind the place atoms a rule used (dest_group:D:1 -> CN)."""
        found: set[str] = set()
        for atom in used:
            kind, _, name = atom.partition(":")
            role, _, what = kind.partition("_")
            pool = {"dest": situation.destinations, "nat": situation.nationalities}.get(role)
            if pool is None:
                continue
            for pid in pool:
                place = self.rules.places[pid]
                if (
                    (not what and name in (pid, "*"))
                    or (what == "group" and name in place.groups)
                    or (what == "regime" and name == place.regime)
                ):
                    found.add(pid)
        return found

    def _label(self, atom: str) -> str:
        name = atom.split(":", 1)[1]
        if name == "*":
            return ""
        trig = self.rules.triggers.get(name)
        return trig.label if trig is not None else ITEMS.get(name, name.replace("_", " "))


def _used_atoms(entries: list[str], facts: set[str]) -> list[str]:
    """The atoms of the options that held, for the flag's reason and its ``matched`` list."""
    return list(
        dict.fromkeys(
            atom.strip()
            for entry in entries
            for option in entry.split("|")
            if all(a.strip() in facts for a in option.split("&"))
            for atom in option.split("&")
        )
    )


def _atoms_of(entry: str) -> list[str]:
    return atoms_of(entry)


def _fill(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(places|items|missing)\}", lambda m: values[m.group(1)], template)


def _sentence_of(text: str, match: re.Match[str]) -> str:
    """The sentence around a match, from its start to its closing mark (kept)."""
    start = max(text.rfind(mark, 0, match.start()) for mark in ".!?\n") + 1
    end = re.search(r"[.!?\n]", text[match.end() :])
    stop = len(text) if end is None else match.end() + end.end()
    return text[start:stop]
