"""Paths whose names the file system cannot hold, found before a command starts.

A folder or file name longer than the file system allows (255 bytes on most) makes every
system call on the path fail with ``ENAMETOOLONG``. :func:`long_name_problem` finds such a
name in a path given by a user before any work; outputs get ``TEMPORARY_NAME_BYTES`` less,
the room the temporary and lock names beside them take (``.tmp-<name>-<pid>``,
``.<name>.lock``). :func:`name_too_long_message` words the error of a name made later.

>>> long_name_problem("out/" + "a" * 300, reserve=0).split(",")[0]
"the name 'aaaaaaaaaaaaaaaaaaaaaaaa...' is 300 bytes long"
>>> long_name_problem("sampled_frames_organized", reserve=TEMPORARY_NAME_BYTES) is None
True
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["TEMPORARY_NAME_BYTES", "name_max", "long_name_problem", "name_too_long_message"]

TEMPORARY_NAME_BYTES = 32
"""Bytes the names of temporaries and locks add to the name of an output."""

_DEFAULT_NAME_MAX = 255


def name_max(path: str | os.PathLike[str]) -> int:
    """Return the longest name, in bytes, that the file system holding ``path`` allows."""
    existing = Path(os.path.abspath(path))
    while True:
        try:
            if existing.is_dir():
                return os.pathconf(existing, "PC_NAME_MAX")
        except (OSError, ValueError):
            pass
        if existing.parent == existing:
            return _DEFAULT_NAME_MAX
        existing = existing.parent


def long_name_problem(path: str | os.PathLike[str], *, reserve: int) -> str | None:
    """Return what is wrong if a name in ``path`` is longer than ``name_max - reserve`` bytes."""
    limit = name_max(path)
    for name in Path(path).parts:
        size = len(os.fsencode(name))
        if size > limit - reserve:
            shown = name[:24] + "..." if len(name) > 24 else name
            if not reserve:
                return (
                    f"the name {shown!r} is {size} bytes long, more than the {limit} bytes the "
                    "file system allows; choose a shorter name"
                )
            return (
                f"the name {shown!r} is {size} bytes long; an output's names can be at most "
                f"{limit - reserve} bytes here (the file system allows {limit}, and the "
                f"temporary names made beside it add up to {reserve}); choose a shorter name"
            )
    return None


def name_too_long_message(error: OSError) -> str:
    """Word an ``ENAMETOOLONG`` error naming its path."""
    return (
        f"cannot use {str(error.filename)!r}: a folder or file name in it is longer than the "
        "file system allows; choose shorter names"
    )
