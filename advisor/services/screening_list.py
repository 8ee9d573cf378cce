"""Replacing the restricted-party screening list while the app runs.

An upload is read in full on a temporary copy before it replaces the list file; the screener
then re-reads the file at once, and if it refuses it (the file changed in between) the old
file is put back and the last good list stays in use.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.errors import RulesError
from advisor.records.sink import AuditSink
from advisor.screening import Party, Screener, load_screening_list
from advisor.services.documents import MB
from advisor.services.events import record_event
from advisor.services.files import WRITE_LOCK, Refused, Unchanged, relabel, save_checked

if TYPE_CHECKING:
    from advisor.chain import Advisor

SCREENING_MAX_MB = 60  # the full Consolidated Screening List JSON is tens of MB


def validate_screening_upload(upload: Path, max_bytes: int = SCREENING_MAX_MB * MB) -> list[Party]:
    display = upload.name
    suffix = upload.suffix.lower()
    if suffix not in {".csv", ".json"}:
        raise RulesError(f"{display}: upload the Consolidated Screening List as .csv or .json")
    size = upload.stat().st_size
    if size > max_bytes:
        raise RulesError(f"{display}: {size / MB:.1f} MB is over the {max_bytes // MB} MB limit")
    with tempfile.TemporaryDirectory(prefix="advisor-csl-") as tmp:
        copy = Path(tmp) / f"upload{suffix}"
        shutil.copyfile(upload, copy)
        try:
            return load_screening_list(copy)
        except RulesError as exc:
            raise RulesError(relabel(exc, {str(copy): display})) from exc


@dataclass(frozen=True)
class ListSummary:
    entries: int
    codes: tuple[tuple[str, int], ...]  # the 12 most common list codes and their counts
    sample: bool  # the shipped SAMPLE list, not the real CSL

    @classmethod
    def of(cls, parties: Sequence[Party]) -> ListSummary:
        codes = Counter(code for p in parties for code in p.codes)
        sample = any("SAMPLE" in p.remarks for p in parties[:50])
        return cls(len(parties), tuple(codes.most_common(12)), sample)


@dataclass(frozen=True)
class ListReplaced:
    file: str
    upload: str
    summary: ListSummary
    old_sha256: str | None
    new_sha256: str
    audit_failure: str | None = None


@dataclass(frozen=True)
class ListStatus:
    """The list in use (None: no list is loaded) and why the file on disk is not, if so."""

    file: str | None
    summary: ListSummary | None
    error: str | None = None


class ScreeningListAdmin:
    """Validate and replace the list file of one advisor's screener."""

    def __init__(self, advisor: Advisor, audit: AuditSink | None = None) -> None:
        self.advisor = advisor
        self.audit = audit

    def validate(self, upload: Path) -> ListSummary:
        return ListSummary.of(validate_screening_upload(upload))

    def replace(self, upload: Path, *, user: str | None = None) -> ListReplaced:
        """Validate, write atomically over ``settings.screening_path``, refresh the screener."""
        target = Path(self.advisor.settings.screening_path)
        with WRITE_LOCK:
            saved = save_checked(
                target,
                upload.read_bytes(),
                check=lambda: validate_screening_upload(upload),
                reload=lambda: self._take(target),
                unchanged=Unchanged.REWRITE,
                refused=Refused.RESTORE,  # one file is the whole list: put the old one back
            )
            if saved.error is not None:
                raise RulesError(f"not taken; the last good list is in use: {saved.error}")
            detail = {
                "file": target.name,
                "upload": upload.name,
                "old_sha256": saved.old_sha256,
                "new_sha256": saved.new_sha256,
                "entries": len(saved.checked),
            }
            failure = record_event(self.audit, "screening_list_changed", detail, user)
        return ListReplaced(
            target.name,
            upload.name,
            ListSummary.of(saved.checked),
            saved.old_sha256,
            saved.new_sha256,
            failure,
        )

    def _take(self, target: Path) -> str | None:
        """Have the screener read the new file; its error when it refuses it."""
        screener = self.advisor.screener
        if screener is None:
            threshold = self.advisor.settings.screening_threshold
            self.advisor.use_screener(Screener(target, threshold=threshold))
            return None
        screener.refresh()
        return screener.last_error

    def status(self) -> ListStatus:
        screener = self.advisor.screener
        if screener is None:
            return ListStatus(None, None)
        screener.refresh()
        return ListStatus(screener.path.name, ListSummary.of(screener.parties), screener.last_error)
