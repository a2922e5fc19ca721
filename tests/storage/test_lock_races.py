"""The lock's two races: its file replaced between open and flock, and a run that forked."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from atari_interleaved.core.errors import OutputInUseError
from atari_interleaved.storage import lock
from atari_interleaved.storage.lock import lock_path, output_lock, pid_is_alive

FLOCK = fcntl.flock  # the real one, for the test's own locking while the lock's is wrapped


def flock_after(monkeypatch, before_first_lock) -> list[int]:
    """Run ``before_first_lock(fd)`` just before the lock's first flock; return the fds locked."""
    locked: list[int] = []

    def flock(fd: int, operation: int) -> None:
        if not locked:
            before_first_lock(fd)
        locked.append(fd)
        FLOCK(fd, operation)

    monkeypatch.setattr(lock.fcntl, "flock", flock)
    return locked


def assert_held(path) -> None:
    """The file now at ``path`` is locked (by another open file description)."""
    probe = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(BlockingIOError):
            FLOCK(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(probe)


def test_a_lock_file_removed_before_flock_is_locked_again(tmp_path, monkeypatch):
    """The holder released (removed) the file this run had opened: it locks a new one."""
    output = tmp_path / "data.parquet"
    path = lock_path(output)
    locked = flock_after(monkeypatch, lambda fd: path.unlink())
    with output_lock(output):
        assert len(locked) == 2  # the removed file, then the new one
        assert path.is_file()
        assert_held(path)
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert not path.exists()


def test_a_lock_file_replaced_by_another_run_is_refused(tmp_path, monkeypatch):
    """Another run removed and re-created the file and holds the new one: this run is refused."""
    output = tmp_path / "data.parquet"
    path = lock_path(output)
    record = {"pid": 4242, "command": "atari-interleaved convert", "started": "then"}
    other: list[int] = []

    def replace(fd: int) -> None:
        path.unlink()
        other.append(os.open(path, os.O_RDWR | os.O_CREAT, 0o644))
        FLOCK(other[0], fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(other[0], json.dumps(record).encode())

    locked = flock_after(monkeypatch, replace)
    try:
        with pytest.raises(OutputInUseError, match=r"in use by another run: process 4242 \("):
            with output_lock(output):
                pass
        assert len(locked) == 2  # it locked the old file, saw it replaced, tried the new one
        assert path.is_file()  # the other run's file is left to it
    finally:
        os.close(other[0])


FORKING_HOLDER = textwrap.dedent(
    """
    import os, sys
    from atari_interleaved.storage.lock import output_lock
    with output_lock(sys.argv[1]):
        child = os.fork()
        if child == 0:  # a worker: it inherits the lock, and waits for stdin to close
            sys.stdin.read()
            os._exit(0)
        print(child, flush=True)
        sys.stdin.read()
    """
)


def test_a_forked_worker_keeps_the_lock_of_a_killed_run_until_it_ends(tmp_path):
    output = tmp_path / "frames"
    run = subprocess.Popen(
        [sys.executable, "-c", FORKING_HOLDER, str(output)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        worker = int(run.stdout.readline())
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
        with pytest.raises(OutputInUseError, match=rf"in use by another run: process {run.pid} "):
            with output_lock(output):
                pass
    finally:
        run.stdin.close()  # the worker reads EOF and ends
    deadline = time.monotonic() + 30
    while pid_is_alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_is_alive(worker)
    with output_lock(output):  # the file the killed run left is locked again
        assert_held(lock_path(output))
    assert not lock_path(output).exists()
