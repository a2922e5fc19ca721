"""Resized frames of a frame cache, prepared once and kept raw beside it.

Resizing a frame costs several times its decoding (an area reduction of 210x160 RGB is
about 100 thousand multiply-adds), so :class:`~atari_interleaved.dataset.windows.FrameWindows`
with a ``size`` prepares every frame of its cache once, on first use, and keeps them as raw
``uint8`` pixels in one file beside the cache folder:

    <cache>/<key>.<format>.bin     frames x height x width (x 3) bytes, in frame order,
                                   then the digest of what they were prepared from and
                                   of those bytes (16 bytes)

(``<format>`` is :attr:`FrameFormat.name <atari_interleaved.dataset.frame_format.FrameFormat.name>`,
``64x64-rgb-area``). A window is then one ``os.preadv`` of its frames' bytes into the item's
array: no decoding, no resizing, and memory stays flat (nothing is memory-mapped). The file
takes ``height x width x channels`` bytes a frame (12 KB at 64x64 RGB, 7 KB at 84x84 grey),
several times the PNG frames; it is written under a temporary name, a chunk of frames at a
time, and renamed when whole.

The digest at its end covers the frame cache's own digest, the format and every frame byte,
so a file that is not what this cache prepares (zeroed, changed, cut short, another
dataset's or another format's) is found when the file is opened (reading it once, at several
GB/s) and prepared again; reads then go to the file that was checked
(:mod:`~atari_interleaved.dataset.checked_file`). Builders sharing the cache (the ranks of a
training job) take turns (:func:`~atari_interleaved.storage.lock.output_lock` with
``wait=True``): the first prepares the file, the others find it whole. The temporaries of a
killed builder are removed by the next one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from math import prod
from pathlib import Path

import numpy as np

from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.dataset.checked_file import (
    DIGEST_BYTES,
    FileStamp,
    descriptor,
    file_digest,
    new_digest,
)
from atari_interleaved.dataset.frame_cache import FrameCache
from atari_interleaved.dataset.frame_format import FrameFormat
from atari_interleaved.storage.atomic import Staged
from atari_interleaved.storage.lock import (
    output_lock,
    remove_stale_temporaries,
    writing_temporary,
)

__all__ = ["PreparedFrames"]

_CHUNK = 64
"""Frames decoded and prepared at a time while the file is written (about 30 MB of work)."""


def _origin(cache: FrameCache, form: FrameFormat) -> bytes:
    """Return what a prepared file is of: the cache's frames (their digest) in ``form``."""
    return f"{cache.digest} {form.name}\n".encode()


def _whole(path: Path, frames_bytes: int, origin: bytes) -> FileStamp | None:
    """Return the stamp of ``path`` if it holds the frames of ``origin`` whole, else None."""
    try:
        stamp = FileStamp.of(path)
        if stamp.size != frames_bytes + DIGEST_BYTES:
            return None
        with open(path, "rb") as file:
            file.seek(frames_bytes)
            recorded = file.read(DIGEST_BYTES).hex()
        found = file_digest(path, start=origin, size=frames_bytes)
    except OSError:
        return None
    return stamp if found == recorded and FileStamp.of(path) == stamp else None


@dataclass(frozen=True)
class PreparedFrames:
    """The prepared frames of one frame cache in one format (see the module doc)."""

    file: FileStamp
    shape: tuple[int, ...]

    @property
    def path(self) -> Path:
        """The prepared file."""
        return self.file.path

    @classmethod
    def build(
        cls,
        cache: FrameCache,
        form: FrameFormat,
        decode: Callable[[bytes, np.ndarray], np.ndarray],
    ) -> PreparedFrames:
        """Write the file of ``cache``'s frames in ``form`` unless it is whole; open it.

        Args:
            cache: the frame cache.
            form: the format.
            decode: decodes and prepares frames from their PNG bytes and offsets.

        """
        path = cache.folder.with_name(f"{cache.folder.name}.{form.name}.bin")
        frames = int(cache.episode_starts[-1])
        frames_bytes = frames * prod(form.shape)
        origin = _origin(cache, form)
        remove_stale_temporaries(path)
        stamp = _whole(path, frames_bytes, origin)
        if stamp is None:
            with output_lock(path, wait=True):
                remove_stale_temporaries(path)  # of a builder killed while this one waited
                stamp = _whole(path, frames_bytes, origin)  # another builder's, waited for
                if stamp is None:
                    cls._write(path, cache, origin, decode)
                    stamp = FileStamp.of(path)
        return cls(stamp, form.shape)

    @staticmethod
    def _write(
        path: Path,
        cache: FrameCache,
        origin: bytes,
        decode: Callable[[bytes, np.ndarray], np.ndarray],
    ) -> None:
        """Write the prepared frames of ``cache`` and their digest to ``path`` (staged)."""
        frames = int(cache.episode_starts[-1])
        with (
            Staged(path) as staged,
            open(staged.temporary, "wb") as file,
            writing_temporary(staged.temporary),
        ):
            digest = new_digest(origin)
            for first in range(0, frames, _CHUNK):
                prepared = decode(*cache.read(first, min(frames, first + _CHUNK)))
                data = np.ascontiguousarray(prepared, dtype=np.uint8).data
                file.write(data)
                digest.update(data)
            file.write(digest.digest())

    def read(self, first: int, end: int) -> np.ndarray:
        """Return frames ``first..end-1``: ``uint8`` (end - first, *shape), a new array."""
        frames = np.empty((end - first, *self.shape), dtype=np.uint8)
        done = os.preadv(descriptor(self.file), [frames], first * prod(self.shape))
        if done != frames.nbytes:
            raise InvalidInputError(f"{self.path} is shorter than its frames: remove it")
        return frames
