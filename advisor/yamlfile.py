"""Validated YAML data files (rules, determinations): one reader, errors with file and line.

Compliance teams edit these files by hand, so every error names the file, the line and the
field, and nothing a file contains (a broken date, a deep nesting) escapes as a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from advisor.errors import RulesError

M = TypeVar("M", bound=BaseModel)


def sidecar_path(path: Path) -> Path:
    """``report.pdf`` -> ``report.pdf.meta.yaml``: the one naming rule for the YAML metadata
    beside a file that cannot carry its own (a PDF, a screening-list export)."""
    return path.with_name(path.name + ".meta.yaml")


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Line of the YAML node a pydantic error points at (best effort)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            nxt = node.value[part] if part < len(node.value) else None
        else:
            nxt = None
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def load_model(path: Path, model: type[M], expected: str) -> M:
    """Read ``path`` as YAML and validate it as ``model``; ``expected`` says what the top
    level should be, for the message when it is not a mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"{path}: cannot be read ({exc.strerror})") from exc
    try:
        data = yaml.safe_load(text) or {}
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        raise RulesError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    except (ValueError, RecursionError) as exc:  # an impossible date such as 2026-13-45
        raise RulesError(f"{path}: a value cannot be read ({exc})") from exc
    if not isinstance(data, dict):
        raise RulesError(f"{path}, line 1: expected {expected}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{path}, line {line_of(root, tuple(e['loc']))}, field "
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors()[:5]
        ]
        raise RulesError("; ".join(problems)) from exc
