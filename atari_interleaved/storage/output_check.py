"""The one check of an output path, run by every command before any work.

A command that reads for minutes and then finds it cannot write its output has wasted that
time, and the error comes from deep inside (a ``PermissionError`` on a temporary, an
``EBUSY`` renaming onto a mount point). :func:`check_output` checks the path first, the way
the output will be written: a file is staged beside its final name and renamed; a folder is
either written into (``sample``, ``preview``) or staged beside and swapped in whole
(``export``, ``build``'s Hub folder), which a mount point cannot be. Writability is tested by
creating (and removing) a hidden file where the output's files will go, so a read-only
mount, missing permissions or a full inode table are caught whoever runs the command.
A disk that fills while the output is written is :func:`full_disk_errors`' one message.

>>> import tempfile
>>> check_output(Path(tempfile.mkdtemp()) / "data.parquet", "--output-file", kind="file")
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from atari_interleaved.core.errors import InvalidArgumentError, OutputWriteError
from atari_interleaved.storage.atomic import temporary_path

__all__ = ["OutputKind", "check_output", "full_disk_errors"]

_FULL_DISK = (errno.ENOSPC, errno.EDQUOT)
"""The errors of a write that found no space left (the disk, or the user's quota)."""

OutputKind = Literal["file", "folder", "replaced folder"]
"""How an output is written: a file staged and renamed, a folder written into, or a folder
staged beside and swapped in whole."""


def _can_create_in(folder: Path) -> str | None:
    """Return why a file cannot be created in ``folder``, or None if one can."""
    probe = temporary_path(folder / "write-check")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as error:
        return error.strerror or type(error).__name__
    os.unlink(probe)
    return None


def _existing_ancestor(path: Path) -> Path:
    existing = path
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    return existing


def check_output(path: str | os.PathLike[str], flag: str, *, kind: OutputKind) -> None:
    """Refuse an output path that cannot be written the way ``kind`` says, before any work.

    Args:
        path: the output.
        flag: how the user named it (``--output-file``), for the message.
        kind: ``"file"``, ``"folder"`` (written into, created if missing) or
            ``"replaced folder"`` (staged beside it and swapped in when complete).

    Raises:
        InvalidArgumentError: naming the flag, the path and the fix: a folder given for a
            file or the reverse, a path under a file, a place where nothing can be created,
            or a mount point as a replaced folder.

    """
    output = Path(path)
    shown = f"{flag} {str(path)!r}"
    if kind == "file" and output.is_dir():
        raise InvalidArgumentError(f"{shown} is a folder, not a file; give a file path")
    if kind != "file" and os.path.lexists(output) and not output.is_dir():
        raise InvalidArgumentError(
            f"{shown} is a file, not a folder; give a folder path (created if missing)"
        )
    if kind != "folder" and os.path.lexists(output) and os.path.ismount(output):
        raise InvalidArgumentError(
            f"{shown} is a mount point, which a finished output cannot replace (it is written "
            "beside and renamed); give a path inside it"
        )
    written_into = kind == "folder" and output.is_dir()
    place = output if written_into else _existing_ancestor(output.absolute().parent)
    if not place.is_dir():
        raise InvalidArgumentError(
            f"{shown} is not writable: {str(place)!r} is a file, not a folder; choose another path"
        )
    problem = _can_create_in(place)
    if problem is not None:
        raise InvalidArgumentError(
            f"{shown} is not writable: nothing can be created in {str(place)!r} ({problem}); "
            "choose another path, or make that folder writable"
        )


@contextmanager
def full_disk_errors(path: str | os.PathLike[str], flag: str) -> Iterator[None]:
    """Turn a disk (or quota) that fills while the block writes ``path`` into one clear error.

    The block writes its output under a temporary name (:class:`~atari_interleaved.storage.
    atomic.Staged`), which is removed when the error leaves it, so nothing half-written is
    left under the final name and an earlier output there is kept.

    Raises:
        OutputWriteError: naming the flag, the path, the cause and the fix.

    """
    try:
        yield
    except OSError as error:
        if error.errno not in _FULL_DISK or isinstance(error, OutputWriteError):
            raise
        raise OutputWriteError(
            f"writing {flag} {str(path)!r} failed: {os.strerror(error.errno)}. Nothing "
            "half-written was left under that name (an earlier output there is kept); free "
            "space, then rerun the same command."
        ) from error
