"""What a service reports while it acts (progress) and after (the audit event).

A change is made first and recorded second; a failed audit write must not undo or hide the
change, so it comes back as text for the caller to show, never as an exception.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from advisor.records.sink import AuditSink

log = logging.getLogger(__name__)


class Progress(Protocol):
    """A progress callback: ``gr.Progress`` fits, and so does a test's lambda."""

    def __call__(self, progress: float, /, desc: str | None = ...) -> object: ...


def step(progress: Progress | None, fraction: float, desc: str) -> None:
    if progress is not None:
        progress(fraction, desc=desc)


def record_event(
    audit: AuditSink | None, kind: str, detail: dict[str, Any], user: str | None
) -> str | None:
    """Record an event; returns why it was not recorded (None when it was, or without a trail)."""
    if audit is None:
        return None
    try:
        audit.record_event(kind, detail, user)
    except Exception as exc:  # the audit store is another component; say so, do not hide it
        log.exception("audit event %s not recorded", kind)
        return str(exc)
    return None
