"""The watched-file helper the rules engine and the screener share: a change is picked up, a
broken file keeps the last good value and says why, and the fix clears the error."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from advisor.errors import RulesError
from advisor.watched import Watched, files_stamp


def parse(path: Path) -> int:
    text = path.read_text()
    if not text.strip().isdigit():
        raise RulesError(f"{path.name}: not a number: {text!r}")
    return int(text)


def write(path: Path, text: str, at: int) -> None:
    """Write and set the mtime explicitly: two writes within one clock tick must still differ."""
    path.write_text(text)
    os.utime(path, ns=(at, at))


def watched(path: Path, **hooks: object) -> Watched[int]:
    return Watched(lambda: parse(path), lambda: files_stamp(lambda: [path]), **hooks)  # type: ignore[arg-type]


def test_a_change_is_picked_up_and_an_unchanged_file_is_not_read_again(tmp_path: Path) -> None:
    path = tmp_path / "n.txt"
    write(path, "1", 1_000_000_000)
    loads: list[int] = []
    value = watched(path, on_reload=loads.append)
    assert value.value == 1 and value.last_error is None
    assert value.refresh() is False and loads == []  # unchanged: not read again
    write(path, "2", 2_000_000_000)
    assert value.refresh() is True and value.value == 2 and loads == [2]
    assert value.refresh() is False and loads == [2]


def test_a_broken_file_keeps_the_last_good_value_and_the_fix_clears_the_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "n.txt"
    write(path, "1", 1_000_000_000)
    errors: list[Exception] = []
    value = watched(path, on_error=errors.append)
    write(path, "one", 2_000_000_000)
    assert value.refresh() is False
    assert value.value == 1
    assert value.last_error and "not a number" in value.last_error
    assert len(errors) == 1 and isinstance(errors[0], RulesError)
    assert value.refresh() is False and len(errors) == 1  # the same broken file: reported once
    write(path, "3", 3_000_000_000)
    assert value.refresh() is True and value.value == 3 and value.last_error is None


def test_reload_reads_now_even_without_a_change(tmp_path: Path) -> None:
    path = tmp_path / "n.txt"
    write(path, "1", 1_000_000_000)
    value = watched(path)
    path.write_text("x")
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    path.write_text("5")  # same size as "x" and the mtime set back: the stamp cannot see it
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    assert value.refresh() is False and value.value == 1
    assert value.reload() is True and value.value == 5


def test_only_the_declared_errors_are_kept_back(tmp_path: Path) -> None:
    """Anything else is a bug, not a bad file: it propagates."""
    path = tmp_path / "n.txt"
    write(path, "1", 1_000_000_000)

    def load() -> int:
        if path.read_text() == "boom":
            raise ZeroDivisionError("bug")
        return parse(path)

    value = Watched(load, lambda: files_stamp(lambda: [path]))
    write(path, "boom", 2_000_000_000)
    with pytest.raises(ZeroDivisionError):
        value.refresh()


def test_the_first_load_raises_there_is_no_good_version_yet(tmp_path: Path) -> None:
    path = tmp_path / "n.txt"
    path.write_text("nope")
    with pytest.raises(RulesError, match="not a number"):
        watched(path)


def test_a_missing_file_is_a_change_and_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "n.txt"
    write(path, "1", 1_000_000_000)
    value = Watched(
        lambda: parse(path), lambda: files_stamp(lambda: [path]), errors=(RulesError, OSError)
    )
    path.unlink()
    assert files_stamp(lambda: [path]) is None
    assert value.refresh() is False and value.value == 1 and value.last_error
    write(path, "4", 4_000_000_000)
    assert value.refresh() is True and value.value == 4 and value.last_error is None


def test_concurrent_callers_load_one_change_once(tmp_path: Path) -> None:
    path = tmp_path / "n.txt"
    write(path, "1", 1_000_000_000)
    gate = threading.Event()
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        gate.wait(5)
        return parse(path)

    gate.set()
    value = Watched(slow, lambda: files_stamp(lambda: [path]))
    calls.clear()
    gate.clear()
    write(path, "2", 2_000_000_000)
    threads = [threading.Thread(target=value.refresh) for _ in range(4)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(5)
    assert calls == [1] and value.value == 2
