"""One run at a time per output: a lock beside each output file or folder.

``sample``, ``convert`` and ``export`` (and ``build``, which runs them) hold
:func:`output_lock` on their output while they write it. The lock is ``flock`` on a hidden
file beside the output, ``.<name>.lock``, which records the holder's pid and command, so a
second run on the same output is refused with a message naming the output and the process
using it. The kernel releases a ``flock`` when the last process holding it ends, however it
ends (``kill -9`` included), so a lock left by a dead run never blocks a rerun; worker
processes forked by a run inherit it, so an orphaned worker still writing would keep it.
The lock file is removed when the lock is released. It is never opened through a symbolic
link, and never if it is not a plain file: a user's file behind ``.<name>.lock`` is left
as it is and the run is refused, naming the path.

Temporary files and folders of an output (``.tmp-<name>-<pid>-<token>``, see
:func:`~atari_interleaved.storage.atomic.temporary_path`, and temporaries of those) that a
killed run left behind are removed by :func:`remove_stale_temporaries` once their writers'
pids are dead and no writer holds them (:func:`writing_temporary`: a ``flock`` on the
temporary, which also marks the temporaries of a writer whose pid this machine's processes
do not see, in another container sharing the volume).

>>> import tempfile
>>> output = Path(tempfile.mkdtemp()) / "data.parquet"
>>> with output_lock(output):
...     sorted(path.name for path in output.parent.iterdir())
['.data.parquet.lock']
>>> sorted(output.parent.iterdir())
[]
>>> output.parent.rmdir()
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import shutil
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from atari_interleaved.core.errors import InvalidArgumentError, OutputInUseError
from atari_interleaved.core.layout import TEMP_PREFIX
from atari_interleaved.storage.atomic import temporary_path, temporary_pids

__all__ = [
    "lock_path",
    "output_lock",
    "check_not_in_use",
    "pid_is_alive",
    "remove_stale_temporaries",
    "writing_temporary",
]

_held: dict[Path, int] = {}
"""Outputs this process holds the lock of, with how many nested holds."""


def _canonical(output: str | os.PathLike[str]) -> Path:
    return Path(output).resolve()


def lock_path(output: str | os.PathLike[str]) -> Path:
    """Return the lock file of ``output``: ``.<name>.lock`` beside it.

    A folder whose parent cannot be written (``/``, a mount point) holds its lock inside,
    as ``.atari-interleaved.lock``.
    """
    path = _canonical(output)
    parent_writable = not path.parent.is_dir() or os.access(path.parent, os.W_OK | os.X_OK)
    if path.name and (parent_writable or not path.is_dir()):
        return path.with_name(f".{path.name}.lock")
    return path / ".atari-interleaved.lock"


def _holder(file: int) -> str:
    """Describe the process that recorded itself in an open lock file."""
    try:
        record = json.loads(os.pread(file, 1 << 16, 0) or b"{}")
        return f"process {record['pid']} ({record['command']}, started {record['started']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _open_lock_file(output: Path, path: Path) -> int:
    """Open (or create) the lock file ``path``, never through a link, never anything but a file.

    Raises:
        InvalidArgumentError: naming ``path`` if it is a link, a folder or another non-file
            (a user's file behind a link is never truncated), or cannot be created.

    """
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        file = os.open(path, flags, 0o644)
    except PermissionError:
        raise InvalidArgumentError(
            f"{str(output)!r} cannot be written: no permission to create {str(path)!r}"
        ) from None
    except OSError as error:
        what = "a symbolic link" if os.path.islink(path) else f"not a file ({error.strerror})"
        raise InvalidArgumentError(
            f"{str(output)!r} cannot be locked: its lock file {str(path)!r} is {what}; "
            "move that away, then rerun"
        ) from None
    if not stat.S_ISREG(os.fstat(file).st_mode):
        os.close(file)
        raise InvalidArgumentError(
            f"{str(output)!r} cannot be locked: its lock file {str(path)!r} is not a file; "
            "move that away, then rerun"
        )
    return file


def _acquire(output: Path, path: Path, wait: bool) -> int:
    while True:
        file = _open_lock_file(output, path)
        try:
            fcntl.flock(file, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = _holder(file)
            os.close(file)
            raise OutputInUseError(
                f"{str(output)!r} is in use by another run: {holder}. Wait for it to finish, "
                "or stop it, then rerun."
            ) from None
        except BaseException:
            os.close(file)
            raise
        try:
            same = os.lstat(path).st_ino == os.fstat(file).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return file
        os.close(file)  # the holder removed the file while we waited for it: lock the new one


@contextmanager
def output_lock(output: str | os.PathLike[str], *, wait: bool = False) -> Iterator[None]:
    """Hold the lock of ``output`` (a file or folder) while the block runs.

    Nested holds of the same output in one process are allowed (``build`` holds its outputs
    while the steps it runs take them again). With ``wait``, a lock another process holds
    is waited for (builders of a shared cache take turns) instead of refused.

    Raises:
        OutputInUseError: if another process holds it (and not ``wait``), naming that process.

    """
    target = _canonical(output)
    if target in _held:
        _held[target] += 1
        try:
            yield
        finally:
            _held[target] -= 1
        return
    path = lock_path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InvalidArgumentError(
            f"{str(output)!r} cannot be written: {str(path.parent)!r} is not a folder"
        ) from None
    file = _acquire(Path(output), path, wait)
    try:
        record = {
            "pid": os.getpid(),
            "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        }
        os.ftruncate(file, 0)
        os.pwrite(file, json.dumps(record).encode("utf-8"), 0)
        _held[target] = 1
        try:
            yield
        finally:
            del _held[target]
    finally:
        path.unlink(missing_ok=True)
        os.close(file)


def check_not_in_use(source: str | os.PathLike[str], what: str) -> None:
    """Refuse to read ``source`` while another run writes it (holds its :func:`output_lock`).

    Every reader of sampled data or an export calls it first, so a tree that ``sample`` is
    still writing is never read half-done. Nothing is created: with no lock file, nobody
    writes ``source``. A lock this process holds (``build`` reading what it wrote) passes.

    Args:
        source: the folder (or file) to read.
        what: how the user named it (``--input-dir``), for the message.

    Raises:
        OutputInUseError: naming ``source`` and the process writing it.

    """
    target = _canonical(source)
    if target in _held:
        return
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        file = os.open(lock_path(target), flags)
    except OSError:  # no lock file (or not one a run made): nobody is writing it
        return
    try:
        if not stat.S_ISREG(os.fstat(file).st_mode):
            return
        try:
            fcntl.flock(file, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputInUseError(
                f"{what} {os.fspath(source)!r} is being written by another run: "
                f"{_holder(file)}. Wait for it to finish, or stop it, then rerun."
            ) from None
        fcntl.flock(file, fcntl.LOCK_UN)
    finally:
        os.close(file)


def pid_is_alive(pid: int) -> bool:
    """Return whether process ``pid`` exists on this machine (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return status.rpartition(")")[2].split()[0] != "Z"


@contextmanager
def writing_temporary(temporary: str | os.PathLike[str]) -> Iterator[None]:
    """Hold a ``flock`` on ``temporary`` (an existing file or folder) while the block writes it.

    :func:`remove_stale_temporaries` leaves a held temporary alone whatever its pid says, so
    writers that share a folder without :func:`output_lock` (builders of a cache, in other
    containers too) never lose a temporary they are writing.
    """
    file = os.open(temporary, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        fcntl.flock(file, fcntl.LOCK_EX)
        yield
    finally:
        os.close(file)


def _held_by_a_writer(candidate: Path) -> bool:
    """Return whether a writer holds ``candidate`` (:func:`writing_temporary`) or it is gone."""
    try:
        file = os.open(candidate, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    except OSError:  # a link, or not readable: not one of ours to judge by its lock
        return False
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(file)
    return False


def remove_stale_temporaries(output: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporaries of ``output`` whose writer is dead, and return them.

    Those are ``.tmp-<name>-<pid>-<token>`` (a file or folder being written, or a
    temporary of one: :func:`~atari_interleaved.storage.atomic.temporary_pids`) and
    ``.tmp-<name>-old-<pid>-<token>`` (an earlier output being replaced; it is moved back
    if the output itself is missing, else removed). A temporary a writer holds
    (:func:`writing_temporary`) is kept. Hold :func:`output_lock` of ``output`` first, or,
    for outputs written without it, let every writer hold its temporary: then callers may
    run at once (each temporary is claimed by renaming it before it is removed).
    """
    path = Path(output)
    removed = []
    for candidate in sorted(path.parent.glob(f"{TEMP_PREFIX}*")) if path.parent.is_dir() else []:
        found = temporary_pids(candidate.name, path.name)
        if found is None or any(pid_is_alive(pid) for pid in found[0]):
            continue
        if _held_by_a_writer(candidate):
            continue
        if found[1] and not path.exists():
            os.rename(candidate, path)
            continue
        claimed = temporary_path(path)  # this process's: removed later if it is killed now
        try:
            os.rename(candidate, claimed)
        except FileNotFoundError:  # another caller claimed it first
            continue
        if claimed.is_dir() and not claimed.is_symlink():
            shutil.rmtree(claimed)
        else:
            claimed.unlink()
        removed.append(candidate)
    return removed
