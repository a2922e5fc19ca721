"""Cache files served only as the content that was checked.

The frame cache and the prepared frames are written once and read for a whole training run.
What a crash, a full disk or another program leaves (a zeroed file of the right size,
changed bytes, another dataset's file) must never be served as training data, so each file's
digest is recorded when it is complete (:func:`file_digest`: xxh3-128, several GB/s, so
checking a file costs about the time of reading it) and compared when it is opened.

The file that was checked is then the one read: a :class:`FileStamp` names it (device,
inode, size, modification time), and :func:`descriptor` opens it by name once per process
(so forked and spawned DataLoader workers each get their own descriptor) and refuses a file
that is no longer it. A file rebuilt under the same name is a new inode with a new stamp, so
readers of the rebuilt file never read the old one through a descriptor opened before.

>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "frames.bin"
>>> _ = path.write_bytes(b"pixels")
>>> stamp = FileStamp.of(path)
>>> os.pread(descriptor(stamp), 6, 0), file_digest(path) == file_digest(path, start=b"")
(b'pixels', True)
>>> _ = path.write_bytes(b"PIXELS")  # written again since it was checked
>>> os.pread(descriptor(FileStamp.of(path)), 6, 0)
b'PIXELS'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import xxhash

from atari_interleaved.core.errors import InvalidInputError

__all__ = ["DIGEST_BYTES", "file_digest", "new_digest", "FileStamp", "descriptor"]

DIGEST_BYTES = 16
"""The size of a digest (xxh3-128)."""
_BLOCK = 1 << 20
"""Bytes read at a time while a file is digested."""


def new_digest(start: bytes = b"") -> xxhash.xxh3_128:
    """Return a digest to feed a file's bytes to, fed ``start`` first (what the file is of)."""
    digest = xxhash.xxh3_128()
    digest.update(start)
    return digest


def file_digest(path: Path, *, start: bytes = b"", size: int | None = None) -> str:
    """Return the hex digest of ``start`` then the first ``size`` bytes of ``path`` (all if None).

    Raises:
        OSError: if the file cannot be read.

    """
    digest = new_digest(start)
    left = -1 if size is None else size
    with open(path, "rb", buffering=0) as file:
        while left:
            block = file.read(_BLOCK if left < 0 else min(_BLOCK, left))
            if not block:
                break
            digest.update(block)
            left -= len(block) if left > 0 else 0
    return digest.hexdigest()


@dataclass(frozen=True)
class FileStamp:
    """Which file a path named when its content was checked (see the module doc)."""

    path: Path
    device: int
    inode: int
    size: int
    modified_ns: int

    @classmethod
    def of(cls, path: Path, status: os.stat_result | None = None) -> FileStamp:
        """Return the stamp of the file at ``path`` now (or of ``status``, an ``fstat`` of it)."""
        found = os.stat(path) if status is None else status
        return cls(Path(path), found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns)


_descriptors: dict[tuple[int, FileStamp], int] = {}
"""Open descriptors by (process, stamp): a forked worker opens its own; a rebuilt file has
another stamp, so its readers get a new descriptor (the old one stays with the old file)."""


def descriptor(stamp: FileStamp) -> int:
    """Return this process's read-only descriptor of the file ``stamp`` names (opened once).

    Raises:
        InvalidInputError: if the file at the stamp's path is no longer that file (rebuilt,
            replaced or written since it was checked).

    """
    key = (os.getpid(), stamp)
    fd = _descriptors.get(key)
    if fd is None:
        fd = os.open(stamp.path, os.O_RDONLY | os.O_CLOEXEC)
        if FileStamp.of(stamp.path, os.fstat(fd)) != stamp:
            os.close(fd)
            raise InvalidInputError(
                f"{str(stamp.path)!r} changed after it was checked (another process rebuilt or "
                "wrote it): create the windows again, which checks it again"
            )
        _descriptors[key] = fd
    return fd
