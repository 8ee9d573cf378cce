from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from advisor.corpus.locks import Generation, WriteLock
from advisor.errors import StoreError

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from advisor.corpus.locks import WriteLock
    lock = WriteLock(Path(sys.argv[1]), timeout=5)
    with lock.hold("test holder"):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def _holder(data_dir: Path, seconds: float) -> subprocess.Popen[str]:
    """A real second process holding the lock; returns once it holds it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent.parent,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_waits_then_names_the_holder(tmp_path: Path) -> None:
    proc = _holder(tmp_path, 30)
    try:
        started = time.monotonic()
        with pytest.raises(StoreError) as err, WriteLock(tmp_path, timeout=0.5).hold("mine"):
            pass
        waited = time.monotonic() - started
    finally:
        proc.kill()
        proc.wait()
    message = str(err.value)
    assert "another ingest is running" in message
    assert f"pid {proc.pid}" in message and "since " in message and "test holder" in message
    assert 0.4 <= waited < 10


def test_the_lock_is_taken_once_the_holder_finishes(tmp_path: Path) -> None:
    proc = _holder(tmp_path, 0.5)
    with WriteLock(tmp_path, timeout=20).hold("after"):
        assert proc.poll() is not None or proc.wait(timeout=5) == 0
        assert WriteLock(tmp_path, timeout=1).owner() is not None
    proc.wait()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    proc = _holder(tmp_path, 60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with WriteLock(tmp_path, timeout=2).hold("after the kill"):
        owner = WriteLock(tmp_path, timeout=2).owner()
        assert owner is not None and owner.pid == os.getpid()


def test_the_lock_is_reentrant_and_clears_its_owner(tmp_path: Path) -> None:
    lock = WriteLock(tmp_path, timeout=1)
    with lock.hold("outer"), lock.hold("inner"):
        owner = lock.owner()
        assert owner is not None and owner.action == "outer"
    assert lock.owner() is None


def test_generation_counts_up_and_survives_a_deleted_file(tmp_path: Path) -> None:
    gen = Generation(tmp_path)
    assert gen.read() == "0"
    first = gen.bump()
    second = gen.bump()
    assert first != second and second.split()[0] == "2"
    assert Generation(tmp_path).read() == second
    gen.path.unlink()
    assert gen.bump() not in (first, second)
