"""Curated determinations: direct answers to the questions people actually ask.

Each entry is data the compliance team owns (``corpus/determinations/*.yaml``): several
phrasings of a question, the facts it applies to, a direct answer with its verdict, the
conditions that change it, its level and its citations. Files are validated on load like
the rules; a bad file is reported with file, line and field.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from advisor.errors import RulesError
from advisor.models import Flag, Jurisdiction, Level
from advisor.rules.facts import atoms_of, check_atom, holds
from advisor.rules.phrasings import Embedder, embed_cached
from advisor.yamlfile import load_model

Verdict = Literal["allowed", "not_allowed", "depends", "info"]
Status = Literal["verified", "secondary", "unverified", "changing"]
TOPICS = (
    "deemed-exports",
    "fundamental-research",
    "publishing-and-open-source",
    "encryption",
    "intrusion-and-vulnerabilities",
    "travel-and-devices",
    "embargoes-and-ofac",
    "listed-parties",
    "visitors-and-hiring",
    "cloud-and-shipping",
    "itar",
    "eu-uk-wassenaar",
    "process-and-violations",
)
_SECTION = re.compile(
    r"\b(?:\d{1,2} CFR (?:Part )?\d{2,4}(?:\.\d+[a-z]?)?|[0-9][A-E][0-9]{3}|EU 2021/821|"
    r"Regulation \(EU\) 2021/821|Wassenaar|Export Control Order 2008|USML|Category [IVX]+)",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AppliesWhen(_Strict):
    """Facts of the situation: every ``all`` entry, one ``any`` entry, no ``none`` entry."""

    all: list[str] = Field(default_factory=list)
    any: list[str] = Field(default_factory=list)
    none: list[str] = Field(default_factory=list)

    def atoms(self) -> list[str]:
        return [a for entry in (*self.all, *self.any, *self.none) for a in atoms_of(entry)]


class Determination(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,80}$")
    topic: Literal[TOPICS]  # type: ignore[valid-type]
    jurisdiction: Jurisdiction
    questions: list[str] = Field(min_length=3, max_length=10)
    applies_when: AppliesWhen = Field(default_factory=AppliesWhen)
    verdict: Verdict
    answer: str = Field(min_length=40, max_length=600)
    conditions: list[str] = Field(default_factory=list, max_length=6)
    level: Level
    citations: list[str] = Field(min_length=1)
    documents: list[str] = Field(default_factory=list)
    key_points: list[str] = Field(default_factory=list)
    status: Status = "verified"
    as_of: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    # Rules this entry answers in full for its situation: a general rule ("any Cuba transfer
    # is prohibited") must not outrank the curated answer to "does a general licence need an
    # application?". Only an entry with facts of its own may settle, and only when it fits
    # closely; every other rule still sets the level.
    settles: list[str] = Field(default_factory=list)

    @field_validator("questions")
    @classmethod
    def _phrasings(cls, values: list[str]) -> list[str]:
        cleaned = [" ".join(v.split()) for v in values]
        if len(set(q.lower() for q in cleaned)) != len(cleaned):
            raise ValueError("phrasings repeat")
        if any(len(q) < 12 for q in cleaned):
            raise ValueError("a phrasing is too short to match anything")
        return cleaned

    @field_validator("answer")
    @classmethod
    def _answer_cites(cls, value: str) -> str:
        value = " ".join(value.split())
        if not _SECTION.search(value):
            raise ValueError("the answer must name the section or source it rests on")
        if value.rstrip().endswith("?"):
            raise ValueError("the answer must state a verdict, not ask a question")
        return value

    def model_post_init(self, _context: object) -> None:
        if self.status in ("unverified", "changing") and not self.as_of:
            raise ValueError(f"{self.id}: status {self.status} needs as_of (YYYY-MM-DD)")
        if self.settles and not (self.applies_when.all or self.applies_when.any):
            raise ValueError(f"{self.id}: settles rules, so it must name the facts it applies to")


class DeterminationFile(_Strict):
    determinations: list[Determination] = Field(default_factory=list)


def load_determination_file(path: Path) -> list[Determination]:
    """One file, validated; errors name the file, line and field."""
    return load_model(
        path, DeterminationFile, "a mapping with a determinations list"
    ).determinations


def load_determinations(
    folder: Path,
    places: set[str],
    groups: set[str],
    sources: dict[str, str] | None = None,
    rule_ids: set[str] | None = None,
) -> list[Determination]:
    """Every file of the folder; ids unique across files and every fact known.

    ``sources`` (when given) is filled with each id's file, for citations; ``rule_ids``
    (when given) are the rules a ``settles`` entry may name.
    """
    entries: list[Determination] = []
    problems: list[str] = []
    for path in sorted(folder.glob("*.y*ml")):
        loaded = load_determination_file(path)
        entries += loaded
        if sources is not None:
            sources.update({e.id: path.as_posix() for e in loaded})
        problems += [
            f"{path.name}: determination {entry.id}: {p}"
            for entry in loaded
            for atom in entry.applies_when.atoms()
            if (p := check_atom(atom, places, groups))
        ]
        if rule_ids is not None:
            problems += [
                f"{path.name}: determination {entry.id}: settles unknown rule {rid!r}"
                for entry in loaded
                for rid in entry.settles
                if rid not in rule_ids
            ]
    seen: set[str] = set()
    for entry in entries:
        if entry.id in seen:
            problems.append(f"duplicate determination id {entry.id!r}")
        seen.add(entry.id)
    if problems:
        raise RulesError(f"{folder}: " + "; ".join(problems[:8]))
    return entries


class DeterminationMatch(BaseModel):
    determination: Determination
    score: float
    source: str
    settled: list[str] = Field(default_factory=list, description="Rule ids it settled.")


def _fits(entry: Determination, facts: set[str]) -> bool:
    cond = entry.applies_when
    if not all(holds(e, facts) for e in cond.all):
        return False
    if cond.any and not any(holds(e, facts) for e in cond.any):
        return False
    return not any(holds(e, facts) for e in cond.none)


class DeterminationIndex:
    """Every phrasing embedded once; the best determination whose facts hold wins.

    A determination without facts of its own must match more closely: its phrasing is all
    that says it applies.
    """

    def __init__(
        self,
        entries: list[Determination],
        embeddings: Embedder,
        sources: dict[str, str] | None = None,
        threshold: float = 0.5,
        open_threshold: float = 0.6,
        cache_dir: Path | None = None,
        raise_threshold: float = 0.68,
        specific_bonus: float = 0.06,
        margin: float = 0.05,
    ) -> None:
        self.margin = margin
        self.specific_bonus = specific_bonus
        self.cache_dir = cache_dir
        self.raise_threshold = raise_threshold
        self.entries = entries
        self.embeddings = embeddings
        self.sources = sources or {}
        self.threshold = threshold
        self.open_threshold = open_threshold
        self._matrix: np.ndarray | None = None
        self._owners: list[int] = []
        self._lock = threading.Lock()

    def _phrasings(self) -> tuple[np.ndarray, list[int]]:
        with self._lock:
            if self._matrix is None:
                texts = [q for e in self.entries for q in e.questions]
                self._owners = [i for i, e in enumerate(self.entries) for _ in e.questions]
                self._matrix = embed_cached(self.embeddings, texts, self.cache_dir)
            return self._matrix, self._owners

    def ranked(self, vector: Sequence[float]) -> list[tuple[int, float]]:
        matrix, owners = self._phrasings()
        if not len(owners):
            return []
        qv = np.asarray(vector, dtype=np.float32)
        sims = matrix @ (qv / (np.linalg.norm(qv) + 1e-9))
        best: dict[int, float] = {}
        for row, owner in enumerate(owners):
            best[owner] = max(best.get(owner, -1.0), float(sims[row]))
        return sorted(best.items(), key=lambda kv: -kv[1])

    def best(
        self,
        vector: Sequence[float],
        facts: set[str],
        level: Level,
        jurisdictions: list[str],
        flags: Sequence[Flag] = (),
    ) -> DeterminationMatch | None:
        """The closest determination that fits the facts and does not answer below the
        rules' level (a rule that found more than the determination knows wins). One whose
        own facts hold ("specific") may match less closely than one that rests on its
        phrasings alone, and only a specific one may raise the level."""
        best: tuple[float, int, float, list[str]] | None = None
        closest: float | None = None  # the best fitting phrasing, whatever its level
        for index, score in self.ranked(vector)[:25]:
            entry = self.entries[index]
            specific = bool(entry.applies_when.all or entry.applies_when.any)
            if score < (self.threshold if specific else self.open_threshold):
                continue
            if not _fits(entry, facts):
                continue
            closest = score if closest is None else closest
            floor, settled = self._floor(entry, flags, level, score)
            # A far weaker match that merely has the right level answers another question.
            if entry.level.rank < floor.rank or score < closest - self.margin:
                continue
            if entry.level.rank > floor.rank and (
                not (specific and score >= self.raise_threshold)
                or "activity:ask_definition" in facts  # a definition never raises a level
            ):
                continue
            if not _regime_fits(entry.jurisdiction, jurisdictions):
                continue
            adjusted = score + (self.specific_bonus if specific else 0.0)
            if best is None or adjusted > best[0]:
                best = (adjusted, index, score, settled)
        if best is None:
            return None
        entry = self.entries[best[1]]
        return DeterminationMatch(
            determination=entry,
            score=best[2],
            source=self.sources.get(entry.id, ""),
            settled=best[3],
        )

    def _floor(
        self, entry: Determination, flags: Sequence[Flag], level: Level, score: float
    ) -> tuple[Level, list[str]]:
        """The level the entry may not answer below: the rules' level, or, for a close
        match that settles some of the rules that fired, the level of the others."""
        settled = [f.id for f in flags if f.id in entry.settles]
        if not settled or score < self.raise_threshold:
            return level, []
        return Level.highest([f.level for f in flags if f.id not in entry.settles]), settled


def _regime_fits(jurisdiction: str, jurisdictions: list[str]) -> bool:
    """EU and UK answers only for EU and UK questions; U.S. answers not for a question
    that is only about EU or UK law."""
    if jurisdiction in ("EU", "UK"):
        return jurisdiction in jurisdictions
    if {"EU", "UK"} & set(jurisdictions) and jurisdiction.startswith("US"):
        return "US-EAR" in jurisdictions or jurisdiction in jurisdictions
    return True
