"""Resized frames of a frame cache, prepared once and kept raw beside it.

Resizing a frame costs several times its decoding (an area reduction of 210x160 RGB is
about 100 thousand multiply-adds), so :class:`~atari_interleaved.dataset.windows.FrameWindows`
with a ``size`` prepares every frame of its cache once, on first use, and keeps them as raw
``uint8`` pixels in one file beside the cache folder:

    <cache>/<key>.<format>.bin     frames x height x width (x 3) bytes, in frame order

(``<format>`` is :attr:`FrameFormat.name <atari_interleaved.dataset.frame_format.FrameFormat.name>`,
``64x64-rgb-area``). A window is then one ``os.preadv`` of its frames' bytes into the item's
array: no decoding, no resizing, and memory stays flat (nothing is memory-mapped). The file
takes ``height x width x channels`` bytes a frame (12 KB at 64x64 RGB, 7 KB at 84x84 grey),
several times the PNG frames; it is written under a temporary name, a chunk of frames at a
time, and renamed when whole.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from math import prod
from pathlib import Path

import numpy as np

from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.dataset.frame_cache import FrameCache, descriptor
from atari_interleaved.dataset.frame_format import FrameFormat
from atari_interleaved.storage.atomic import Staged

__all__ = ["PreparedFrames"]

_CHUNK = 64
"""Frames decoded and prepared at a time while the file is written (about 30 MB of work)."""


@dataclass(frozen=True)
class PreparedFrames:
    """The prepared frames of one frame cache in one format (see the module doc)."""

    path: Path
    shape: tuple[int, ...]

    @classmethod
    def build(
        cls,
        cache: FrameCache,
        form: FrameFormat,
        decode: Callable[[bytes, np.ndarray], np.ndarray],
    ) -> PreparedFrames:
        """Write the file of ``cache``'s frames in ``form`` unless it exists whole; open it.

        Args:
            cache: the frame cache.
            form: the format.
            decode: decodes and prepares frames from their PNG bytes and offsets.

        """
        path = cache.folder.with_name(f"{cache.folder.name}.{form.name}.bin")
        frames = int(cache.episode_starts[-1])
        if not (path.is_file() and path.stat().st_size == frames * prod(form.shape)):
            with Staged(path) as staged, open(staged.temporary, "wb") as file:
                for first in range(0, frames, _CHUNK):
                    prepared = decode(*cache.read(first, min(frames, first + _CHUNK)))
                    file.write(np.ascontiguousarray(prepared, dtype=np.uint8).data)
        return cls(path, form.shape)

    def read(self, first: int, end: int) -> np.ndarray:
        """Return frames ``first..end-1``: ``uint8`` (end - first, *shape), a new array."""
        frames = np.empty((end - first, *self.shape), dtype=np.uint8)
        done = os.preadv(descriptor(self.path), [frames], first * prod(self.shape))
        if done != frames.nbytes:
            raise InvalidInputError(f"{self.path} is shorter than its frames: remove it")
        return frames
