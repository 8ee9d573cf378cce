"""Evaluation cases: the YAML schema evaluators write against, and loading it with errors
that name the file, the line, the case and the field."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from advisor.errors import InputError
from advisor.models import Level


def _check_entries(values: list[str]) -> list[str]:
    """Reject entries that would match everything or crash at scoring time."""
    for i, entry in enumerate(values):
        for alt in entry.split("|"):
            if alt.strip() == "" or alt == "re:":
                raise ValueError(f"entry {i} ({entry!r}) has an empty alternative")
            if alt.startswith("re:"):
                try:
                    re.compile(alt[3:])
                except re.error as exc:
                    raise ValueError(
                        f"entry {i} ({entry!r}): invalid regex {alt[3:]!r}: {exc}"
                    ) from exc
    return values


class Case(BaseModel):
    """One evaluation case: the YAML contract evaluators write against (unknown keys are errors).

    ``must_mention``, ``must_cite`` and ``must_not_mention`` entries hold ``|``-separated
    alternatives; one starting with ``re:`` is a regular expression (it cannot contain ``|``).
    Only ``must_not_mention`` is case-sensitive: its entries are exact forbidden markers.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, pattern=r"^\S+$")
    question: str = Field(min_length=1)
    expected_level: Level
    acceptable_levels: list[Level] | None = None
    must_mention: list[str] = Field(default_factory=list)
    must_cite: list[str] = Field(default_factory=list)
    must_not_mention: list[str] = Field(default_factory=list)
    lead_must_mention: list[str] = Field(
        default_factory=list,
        description="Alternatives that must appear in the answer's bottom line (its lead).",
    )
    out_of_scope: bool = False
    tags: list[str] = Field(default_factory=list)
    source: str | None = Field(None, description="Where a real-world question was published (URL).")

    _file: str = PrivateAttr(default="")
    _line: int | None = PrivateAttr(default=None)

    @field_validator("question")
    @classmethod
    def _question_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the question is blank")
        return value.strip()

    @field_validator("acceptable_levels")
    @classmethod
    def _includes_expected(cls, value: list[Level] | None, info: ValidationInfo) -> Any:
        expected = info.data.get("expected_level")
        if value is not None and expected is not None and expected not in value:
            raise ValueError(f"must include expected_level '{expected.value}'")
        if value is None:
            return None
        ranks = sorted({lv.rank for lv in value})
        if ranks != list(range(ranks[0], ranks[-1] + 1)):
            # A gap would make a level neither accurate, nor under, nor over.
            order = " < ".join(lv.value for lv in sorted(Level, key=lambda lv: lv.rank))
            raise ValueError(
                "must be consecutive levels ("
                + order
                + "), got "
                + ", ".join(lv.value for lv in value)
            )
        return list(dict.fromkeys(value))

    @field_validator("must_mention", "must_cite", "must_not_mention", "lead_must_mention")
    @classmethod
    def _entries(cls, value: list[str]) -> list[str]:
        return _check_entries(value)

    @property
    def acceptable(self) -> list[Level]:
        return self.acceptable_levels or [self.expected_level]

    @property
    def case_file(self) -> str:
        """The file the case was loaded from, as ``shown_path`` writes it ("" when built)."""
        return self._file

    @property
    def where(self) -> str:
        """``file:line`` for messages, so a failing case is found at once."""
        return f"{self._file}:{self._line}" if self._line else self._file or "<cases>"


def shown_path(path: Path) -> str:
    """Paths relative to the working directory when possible: stable across checkouts."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def discover_case_files(paths: Sequence[Path | str]) -> list[Path]:
    """Files as given, folders searched recursively for *.yaml / *.yml, in a stable order."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"})
            if not found:
                raise InputError(f"{shown_path(path)}: no *.yaml case files in this folder")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{raw}: no such case file or folder")
    return list(dict.fromkeys(files))


def _node_lines(text: str) -> list[tuple[int, dict[str, int]]]:
    """Line of each list item and of each of its keys, for error messages."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.SequenceNode):
        return []
    lines = []
    for item in root.value:
        keys: dict[str, int] = {}
        if isinstance(item, yaml.MappingNode):
            keys = {
                str(k.value): k.start_mark.line + 1
                for k, _ in item.value
                if isinstance(k, yaml.ScalarNode)
            }
        lines.append((item.start_mark.line + 1, keys))
    return lines


def _describe_error(err: Mapping[str, Any]) -> tuple[str, str]:
    loc = [str(p) for p in err.get("loc", ())]
    name = loc[0] if loc else "<case>"
    shown = name + "".join(f"[{p}]" for p in loc[1:])
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        allowed = ", ".join(Case.model_fields)
        return name, f"field '{shown}': unknown field (allowed: {allowed})"
    if kind == "missing":
        return name, f"field '{shown}': required field is missing"
    message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    return name, f"field '{shown}': {message}"


def load_case_file(path: Path) -> list[Case]:
    """Parse and validate one file; every problem names the file, the case and the field."""
    shown = shown_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{shown}: cannot read case file: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        marked = exc if isinstance(exc, yaml.MarkedYAMLError) else None
        mark = marked.problem_mark if marked is not None else None
        at = f":{mark.line + 1}" if mark is not None else ""
        problem = (marked.problem if marked is not None else None) or str(exc)
        raise InputError(f"{shown}{at}: not valid YAML: {problem}") from exc
    if data is None:
        raise InputError(f"{shown}: the file holds no cases")
    if not isinstance(data, list):
        raise InputError(
            f"{shown}: expected a list of cases (items starting with '- id: ...'), "
            f"got a {type(data).__name__}"
        )
    lines = _node_lines(text)
    cases: list[Case] = []
    problems: list[str] = []
    for index, item in enumerate(data):
        line, key_lines = lines[index] if index < len(lines) else (None, {})
        label = f"case #{index + 1}"
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            label = f"case '{item['id']}' (#{index + 1})"
        if not isinstance(item, dict):
            problems.append(
                f"{shown}:{line}: {label}: expected a mapping of fields, got {type(item).__name__}"
            )
            continue
        try:
            case = Case.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors():
                name, message = _describe_error(err)
                problems.append(f"{shown}:{key_lines.get(name, line)}: {label}: {message}")
            continue
        case._file, case._line = shown, line
        cases.append(case)
    if problems:
        raise InputError("invalid case file:\n  " + "\n  ".join(problems))
    return cases


def load_cases(paths: Sequence[Path | str]) -> tuple[list[Case], list[Path]]:
    """All cases of all files and folders given, ids unique across them."""
    files = discover_case_files(paths)
    cases: list[Case] = []
    seen: dict[str, Case] = {}
    for path in files:
        for case in load_case_file(path):
            if case.id in seen:
                raise InputError(
                    f"{case.where}: case '{case.id}': field 'id': duplicate id, "
                    f"already used at {seen[case.id].where}"
                )
            seen[case.id] = case
            cases.append(case)
    if not cases:
        raise InputError("no cases found in " + ", ".join(str(p) for p in paths))
    return cases, files


def select_cases(cases: Sequence[Case], tags: Sequence[str]) -> list[Case]:
    """The cases carrying any of ``tags`` (all cases when none are given); a tag no case has
    is an error, so a typo never silently runs fewer cases."""
    wanted = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
    if not wanted:
        return list(cases)
    known = {t for c in cases for t in c.tags}
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise InputError(
            f"no case has the tag(s) {', '.join(unknown)}; tags in these cases: "
            + (", ".join(sorted(known)) or "none")
        )
    return [c for c in cases if set(wanted) & set(c.tags)]
