"""Prompt files of the LLM writers: loaded and checked once at start-up, hashed for the record.

Each file in ``prompts/`` is Markdown with YAML front matter that declares the variables its
body uses (``variables: [passages, flags, level, question]``); ``{name}`` in the body is
replaced, ``{{`` and ``}}`` are literal braces. A compliance team can edit the wording, so
every mismatch between the declaration, the body and what the advisor provides is a
``PromptError`` naming the file and the variable, raised before the first question.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from pathlib import Path

import yaml

from advisor.errors import PromptError


@dataclass(frozen=True)
class PromptSpec:
    """What the advisor provides to one prompt file: variables it must use and may use."""

    required: frozenset[str]
    optional: frozenset[str] = frozenset()

    @property
    def available(self) -> frozenset[str]:
        return self.required | self.optional


SPECS: dict[str, PromptSpec] = {
    "system": PromptSpec(frozenset(), frozenset({"office"})),
    "answer": PromptSpec(
        frozenset({"passages", "flags", "level", "question"}),
        frozenset({"office", "bottom_line", "situation", "document"}),
    ),
    "condense": PromptSpec(frozenset({"history", "question"})),
    "out_of_scope": PromptSpec(frozenset({"question"}), frozenset({"flags", "level", "office"})),
    "repair": PromptSpec(frozenset({"problems"}), frozenset({"level"})),
}
VERSION_CHARS = 12


@dataclass(frozen=True)
class Prompt:
    name: str
    path: Path
    variables: tuple[str, ...]
    template: str

    def render(self, **values: str) -> str:
        """Fill the declared variables; values are inserted as-is, never re-parsed."""
        missing = [v for v in self.variables if v not in values]
        if missing:
            raise PromptError(f"{self.path}: no value for variable {{{missing[0]}}}")
        return self.template.format_map({v: values[v] for v in self.variables})


@dataclass(frozen=True)
class PromptSet:
    prompts: dict[str, Prompt]
    version: str
    """First 12 hex digits of the sha256 over every prompt file, recorded in each answer."""

    def render(self, name: str, **values: str) -> str:
        """Render one prompt, passing it only the variables its file declares."""
        prompt = self.prompts[name]
        return prompt.render(**{k: v for k, v in values.items() if k in prompt.variables})


def _split_front_matter(path: Path, text: str) -> tuple[dict, str]:
    if not text.startswith("---"):
        raise PromptError(f"{path}: missing YAML front matter (start the file with '---')")
    end = text.find("\n---", 3)
    if end < 0:
        raise PromptError(f"{path}: front matter is not closed with a '---' line")
    try:
        meta = yaml.safe_load(text[3:end]) or {}
    except yaml.YAMLError as exc:
        raise PromptError(f"{path}: front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise PromptError(f"{path}: front matter must be a mapping with 'variables'")
    body = text[end + 4 :].removeprefix("\n")
    return meta, body.strip() + "\n"


def _used_fields(path: Path, body: str) -> list[str]:
    try:
        parsed = list(string.Formatter().parse(body))
    except ValueError as exc:
        raise PromptError(f"{path}: {exc}; write literal braces as '{{{{' and '}}}}'") from exc
    used: list[str] = []
    for _, field_name, spec, conversion in parsed:
        if field_name is None:
            continue
        if not field_name.isidentifier() or spec or conversion:
            shown = "{" + field_name + (f"!{conversion}" if conversion else "")
            shown += (f":{spec}" if spec else "") + "}"
            raise PromptError(
                f"{path}: {shown} is not a plain {{variable}}; use a declared variable name"
            )
        used.append(field_name)
    return list(dict.fromkeys(used))


def load_prompt(path: Path, name: str) -> Prompt:
    """Read and check one prompt file against what the advisor provides to it."""
    spec = SPECS[name]
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PromptError(f"{path}: missing prompt file (ADVISOR_PROMPTS_DIR)") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(f"{path}: cannot read prompt file: {exc}") from exc
    meta, body = _split_front_matter(path, text)
    declared = meta.get("variables", [])
    if not isinstance(declared, list) or not all(isinstance(v, str) for v in declared):
        raise PromptError(f"{path}: 'variables' must be a list of names, e.g. [question]")
    used = _used_fields(path, body)
    for var in used:
        if var not in declared:
            raise PromptError(f"{path}: variable {{{var}}} is used but not declared in 'variables'")
    for var in declared:
        if var not in spec.available:
            allowed = ", ".join(sorted(spec.available)) or "none"
            raise PromptError(
                f"{path}: variable {{{var}}} is not provided to this prompt (available: {allowed})"
            )
        if var not in used:
            raise PromptError(f"{path}: variable {{{var}}} is declared but never used")
    for var in sorted(spec.required):
        if var not in declared:
            raise PromptError(f"{path}: variable {{{var}}} is missing; this prompt must use it")
    return Prompt(name=name, path=path, variables=tuple(declared), template=body)


def load_prompts(folder: Path) -> PromptSet:
    """Every prompt the LLM writers use, checked, with the content hash of the set."""
    if not folder.is_dir():
        raise PromptError(f"{folder}: no such prompts folder (ADVISOR_PROMPTS_DIR)")
    digest = hashlib.sha256()
    prompts: dict[str, Prompt] = {}
    for name in sorted(SPECS):
        path = folder / f"{name}.md"
        prompts[name] = load_prompt(path, name)
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return PromptSet(prompts=prompts, version=digest.hexdigest()[:VERSION_CHARS])
