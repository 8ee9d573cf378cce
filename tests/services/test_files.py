"""The one save path for files the running app reads (advisor.services.files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from advisor.errors import RulesError
from advisor.services.files import (
    Refused,
    Unchanged,
    atomic_write,
    inside,
    relabel,
    save_checked,
)


class Reader:
    """A live reader that keeps its last good value, like the rules engine and the screener."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.value = path.read_text()
        self.reloads = 0

    def reload(self) -> str | None:
        self.reloads += 1
        text = self.path.read_text()
        if "broken" in text:
            return "the file on disk is broken"
        self.value = text
        return None


def _check(data: bytes) -> str:
    if b"invalid" in data:
        raise RulesError("line 1: invalid")
    return data.decode()


def test_a_file_that_fails_validation_leaves_the_old_file_and_the_last_good_version(
    tmp_path: Path,
) -> None:
    target = tmp_path / "rules.yaml"
    target.write_text("good: 1\n")
    reader = Reader(target)
    for unchanged in Unchanged:
        with pytest.raises(RulesError, match="invalid"):
            save_checked(
                target,
                b"invalid: [",
                check=lambda: _check(b"invalid: ["),
                reload=reader.reload,
                unchanged=unchanged,
                refused=Refused.RESTORE,
            )
    assert target.read_text() == "good: 1\n"
    assert (reader.value, reader.reloads) == ("good: 1\n", 0)
    assert [p.name for p in tmp_path.iterdir()] == ["rules.yaml"]  # no temporary left


def test_a_valid_file_is_written_and_taken(tmp_path: Path) -> None:
    target = tmp_path / "rules.yaml"
    target.write_text("good: 1\n")
    reader = Reader(target)
    saved = save_checked(
        target,
        b"good: 2\n",
        check=lambda: _check(b"good: 2\n"),
        reload=reader.reload,
        unchanged=Unchanged.SKIP,
        refused=Refused.KEEP_FILE,
    )
    assert saved.changed and saved.taken and saved.checked == "good: 2\n"
    assert saved.old_sha256 != saved.new_sha256
    assert reader.value == "good: 2\n"


def test_unchanged_content_is_skipped_or_rewritten_as_asked(tmp_path: Path) -> None:
    target = tmp_path / "list.csv"
    target.write_text("same\n")
    reader = Reader(target)
    skipped = save_checked(
        target, b"same\n", check=lambda: None, reload=reader.reload,
        unchanged=Unchanged.SKIP, refused=Refused.RESTORE,
    )  # fmt: skip
    assert not skipped.changed and reader.reloads == 0
    rewritten = save_checked(
        target, b"same\n", check=lambda: None, reload=reader.reload,
        unchanged=Unchanged.REWRITE, refused=Refused.RESTORE,
    )  # fmt: skip
    assert rewritten.changed and reader.reloads == 1
    assert rewritten.old_sha256 == rewritten.new_sha256


@pytest.mark.parametrize(
    ("refused", "left_on_disk"),
    [(Refused.RESTORE, "good: 1\n"), (Refused.KEEP_FILE, "broken: 2\n")],
)
def test_a_file_the_reader_refuses_keeps_the_last_good_version(
    tmp_path: Path, refused: Refused, left_on_disk: str
) -> None:
    target = tmp_path / "rules.yaml"
    target.write_text("good: 1\n")
    reader = Reader(target)
    saved = save_checked(
        target,
        b"broken: 2\n",
        check=lambda: None,  # passed on the copy; the reader sees it differently
        reload=reader.reload,
        unchanged=Unchanged.SKIP,
        refused=refused,
    )
    assert saved.changed and not saved.taken and saved.error == "the file on disk is broken"
    assert reader.value == "good: 1\n"  # the last good version stays in force
    assert target.read_text() == left_on_disk


def test_an_interrupted_atomic_write_leaves_the_old_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "rules.yaml"
    target.write_text("old\n")
    os.chmod(target, 0o640)

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, b"new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["rules.yaml"]  # the temporary is gone
    monkeypatch.undo()
    atomic_write(target, b"new\n")
    assert target.read_text() == "new\n" and target.stat().st_mode & 0o777 == 0o640


def test_inside_is_lexical_and_relabel_names_the_real_file(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    assert inside(corpus / "uploads" / "a.md", corpus)
    assert not inside(corpus / ".." / "etc" / "passwd", corpus)
    (corpus / "uploads").mkdir(parents=True)
    (corpus / "uploads" / "link.md").symlink_to("/etc/passwd")
    assert inside(corpus / "uploads" / "link.md", corpus)  # judged by where it sits
    assert relabel("/tmp/x/upload.csv, line 2", {"/tmp/x/upload.csv": "list.csv"}) == (
        "list.csv, line 2"
    )
