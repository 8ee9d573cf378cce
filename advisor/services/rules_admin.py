"""Editing the escalation rules while the app runs.

An edit is validated alone and merged with the other rule files, on temporary copies, before
it is written; the engine then reloads at once, so a valid edit takes effect without a restart
and an invalid one changes nothing.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.errors import InputError, RulesError
from advisor.records.sink import AuditSink
from advisor.rules.escalation import RuleSet, load_rule_file
from advisor.services.documents import MB, safe_name
from advisor.services.events import record_event
from advisor.services.files import WRITE_LOCK, Refused, Unchanged, relabel, save_checked

if TYPE_CHECKING:
    from advisor.chain import Advisor
    from advisor.rules.escalation import EscalationEngine

RULES_MAX_BYTES = 2 * MB
RULE_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}\.ya?ml$")


def rule_files(rules_dir: Path) -> list[str]:
    return sorted(
        p.name for p in rules_dir.iterdir() if p.is_file() and RULE_FILE_NAME.match(p.name)
    )


def rule_path(rules_dir: Path, name: str) -> Path:
    name = (name or "").strip()
    if not RULE_FILE_NAME.match(name):
        raise InputError(
            f"{name!r} is not a rule file name: use letters, digits, . _ - and end in .yaml"
        )
    return rules_dir / name


def read_rule_file(rules_dir: Path, name: str) -> str:
    path = rule_path(rules_dir, name)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror})") from exc


def validate_rules(rules_dir: Path, name: str, text: str) -> RuleSet:
    """The edited file alone, then merged with the other files, on temporary copies.

    Raises RulesError naming the real file, line and field; nothing on disk changes.
    """
    target = rule_path(rules_dir, name)
    if len(text.encode("utf-8")) > RULES_MAX_BYTES:
        raise RulesError(f"{name}: over {RULES_MAX_BYTES // MB} MB; a rule file is never this big")
    with tempfile.TemporaryDirectory(prefix="advisor-rules-") as tmp:
        folder = Path(tmp)
        for existing in rule_files(rules_dir):
            shutil.copyfile(rules_dir / existing, folder / existing)
        (folder / target.name).write_text(text, encoding="utf-8")
        try:
            load_rule_file(folder / target.name)
            return RuleSet.load(folder)
        except RulesError as exc:
            raise RulesError(relabel(exc, {tmp: str(rules_dir)})) from exc


@dataclass(frozen=True)
class RulesSummary:
    places: int
    triggers: int
    rules: int
    groups: int
    digest: str

    @classmethod
    def of(cls, rules: RuleSet) -> RulesSummary:
        counts = (len(rules.places), len(rules.triggers), len(rules.rules), len(rules.groups))
        return cls(*counts, digest=rules.digest)


@dataclass(frozen=True)
class RulesStatus:
    """The rules in force and, when a file on disk is broken, why it is not in force."""

    in_force: RulesSummary
    error: str | None


@dataclass(frozen=True)
class RulesSaved:
    file: str
    changed: bool  # False: the file already had this content; nothing was written
    in_force: RulesSummary
    error: str | None = None  # the engine refused the saved files; the previous rules stay
    audit_failure: str | None = None

    @property
    def taken(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class RuleUpload:
    """An uploaded rule file, loaded into the editor under a name it may be saved as."""

    original: str
    name: str
    text: str


class RulesAdmin:
    """Read, validate and save the rule files of one advisor's escalation engine."""

    def __init__(self, advisor: Advisor, audit: AuditSink | None = None) -> None:
        self.advisor = advisor
        self.audit = audit

    @property
    def engine(self) -> EscalationEngine:
        return self.advisor.escalation

    @property
    def folder(self) -> Path:
        return Path(self.engine.folder)

    def files(self) -> list[str]:
        return rule_files(self.folder)

    def read(self, name: str) -> str:
        return read_rule_file(self.folder, name)

    def validate(self, name: str, text: str) -> RulesSummary:
        return RulesSummary.of(validate_rules(self.folder, name, text))

    def save(self, name: str, text: str, *, user: str | None = None) -> RulesSaved:
        """Validate, write atomically, reload the engine; an invalid edit changes nothing."""
        text = text if text.endswith("\n") else text + "\n"
        with WRITE_LOCK:
            before = self.engine.digest
            saved = save_checked(
                rule_path(self.folder, name),
                text.encode("utf-8"),
                check=lambda: validate_rules(self.folder, name, text),
                reload=self._reload,
                unchanged=Unchanged.SKIP,
                # Another file may be what broke; the edit itself was valid, so it stays.
                refused=Refused.KEEP_FILE,
            )
            if not saved.changed:
                return RulesSaved(name, False, RulesSummary.of(self.engine.rules))
            detail = {
                "file": name,
                "old_sha256": saved.old_sha256,
                "new_sha256": saved.new_sha256,
                "rules_digest_before": before,
                "rules_digest_after": self.engine.digest,
                "in_force": saved.taken,
            }
            failure = record_event(self.audit, "rules_changed", detail, user)
        return RulesSaved(name, True, RulesSummary.of(self.engine.rules), saved.error, failure)

    def _reload(self) -> str | None:
        if self.engine.reload():
            return None
        return self.engine.last_error or "the rule files could not be loaded"

    def status(self) -> RulesStatus:
        """Current rules, and the error when a file on disk is broken (old rules in force)."""
        self.engine.refresh()
        return RulesStatus(RulesSummary.of(self.engine.rules), self.engine.last_error)

    @staticmethod
    def load_upload(path: Path) -> RuleUpload:
        """An uploaded file's text and a valid rule file name for it (not saved yet)."""
        try:
            if path.stat().st_size > RULES_MAX_BYTES:
                raise InputError(f"{path.name}: over {RULES_MAX_BYTES // MB} MB")
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(str(exc)) from exc
        name = safe_name(path.name)
        name = name if RULE_FILE_NAME.match(name) else Path(name).stem + ".yaml"
        return RuleUpload(path.name, name, text)
