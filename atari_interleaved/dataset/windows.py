"""Windows of consecutive frames with their actions, for training world models.

For example::

    windows = FrameWindows("atari_interleaved_hub", window=16)
    item = windows[0]
    item["frames"].shape, item["actions"].shape  # ((16, 210, 160, 3), (16,))

A window is ``window`` consecutive frames of one episode; it never spans two. Windows start
at every ``stride``-th frame (0, stride, 2 * stride, ...) where a whole window fits; with
``pad_start=True`` there are also windows starting before the episode (at -stride,
-2 * stride, ... down to -(window - 1)), padded before frame 0 with zeros and ``mask`` False,
as DIAMOND samples the first frames of an episode. An item is a dict of numpy arrays:

- ``frames``: ``uint8`` (window, 210, 160, 3) RGB, exactly the ``simple`` config's images
  (``Image.open(...).convert("RGB")``); with ``rgb=False``, (window, 210, 160) ALE colour
  values, what ``ALEInterface.getScreen`` gives (even numbers 0..254 indexing ALE's NTSC
  palette, :data:`atari_interleaved.core.palette.NTSC_PALETTE`, the same for every frame);
- ``actions`` (int64, the action index taken at each frame), ``rewards`` (float32; NaN
  where the data has none), ``terminated``, ``truncated``, ``is_first`` (bool) and ``mask``
  (bool, False on padding); padding holds zeros and False;
- ``environment`` and ``episode`` (str) and ``start_frame`` (int: the frame number of the
  window's first frame, negative with padding).

:class:`FrameWindows` is map-style (``len``, indexing, iteration) and works as it is with
``torch.utils.data.DataLoader(windows, batch_size=..., shuffle=True, num_workers=N)``; torch
is never imported here. Its data comes from a local cache built on first use
(:mod:`atari_interleaved.dataset.frame_cache`), so an item is one read of contiguous bytes plus the
decoding (:mod:`atari_interleaved.storage.png_decode`). For multi-GPU training, give each rank
``windows.shard(rank, world_size)`` (or use torch's ``DistributedSampler``).
:class:`~atari_interleaved.dataset.window_stream.StreamingFrameWindows` is the iterable form for
data that does not fit on the local disk.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from atari_interleaved.core.errors import InvalidArgumentError
from atari_interleaved.core.splits import DEFAULT_SPLIT
from atari_interleaved.dataset.frame_cache import (
    FRAME_ARRAYS,
    FrameCache,
    cache_key,
    default_cache_dir,
)
from atari_interleaved.dataset.frame_source import resolve_source
from atari_interleaved.storage.png_decode import decode_png

__all__ = ["ITEM_KEYS", "WindowSpec", "FrameWindows"]

ITEM_KEYS = (
    "frames",
    "actions",
    "rewards",
    "terminated",
    "truncated",
    "is_first",
    "mask",
    "environment",
    "episode",
    "start_frame",
)
"""The keys of an item, in order."""


@dataclass(frozen=True)
class WindowSpec:
    """What a window is: its length, the step between starts, padding, the item's content."""

    window: int = 16
    stride: int = 1
    pad_start: bool = False
    columns: tuple[str, ...] = ITEM_KEYS
    rgb: bool = True

    @classmethod
    def checked(
        cls,
        window: int,
        stride: int,
        pad_start: bool,
        columns: Sequence[str] | None,
        rgb: bool,
    ) -> WindowSpec:
        """Return the spec of these arguments.

        Raises:
            InvalidArgumentError: naming the argument that is wrong and its value.

        """
        for name, value in (("window", window), ("stride", stride)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgumentError(f"{name} must be an integer >= 1, but got {value!r}")
        if columns is None:
            chosen = ITEM_KEYS
        else:
            if isinstance(columns, str):
                columns = [columns]
            unknown = [name for name in columns if name not in ITEM_KEYS]
            if unknown or not columns:
                raise InvalidArgumentError(
                    f"columns={list(columns)!r}: choose among {', '.join(ITEM_KEYS)}"
                )
            chosen = tuple(name for name in ITEM_KEYS if name in columns)
        return cls(window, stride, bool(pad_start), chosen, bool(rgb))

    def starts(self, length: int) -> tuple[int, int]:
        """Return (first start, number of windows) of an episode of ``length`` frames."""
        lowest = -((self.window - 1) // self.stride) if self.pad_start else 0
        highest = (length - self.window) // self.stride  # floor, also below zero
        return lowest * self.stride, max(0, highest - lowest + 1)

    def item(
        self,
        environment: str,
        episode: str,
        start: int,
        data: bytes,
        offsets: np.ndarray,
        values: dict[str, np.ndarray],
    ) -> dict[str, Any]:
        """Assemble the item of the window starting at frame ``start``.

        Args:
            environment: the episode's game folder name.
            episode: the episode's folder name.
            start: the frame number of the window's first frame (negative: padding).
            data: the PNG bytes of the window's real frames, one after the other.
            offsets: where each real frame starts in ``data``, and the end (length + 1).
            values: the per-frame arrays of the real frames (:data:`FRAME_ARRAYS`).

        """
        pad = max(0, -start)
        real = len(offsets) - 1
        item: dict[str, Any] = {}
        if "frames" in self.columns:
            view = memoryview(data)
            first = decode_png(view[offsets[0] : offsets[1]], rgb=self.rgb)
            frames = np.empty((self.window, *first.shape), dtype=np.uint8)
            frames[:pad] = 0  # every real frame is written over
            frames[pad] = first
            for index in range(1, real):
                frame = view[offsets[index] : offsets[index + 1]]
                decode_png(frame, rgb=self.rgb, out=frames[pad + index])
            item["frames"] = frames
        for name, kind in FRAME_ARRAYS.items():
            if name in self.columns:
                array = np.zeros(self.window, dtype=kind)
                array[pad : pad + real] = values[name]
                item[name] = array
        if "mask" in self.columns:
            mask = np.zeros(self.window, dtype=bool)
            mask[pad : pad + real] = True
            item["mask"] = mask
        names = {"environment": environment, "episode": episode, "start_frame": start}
        item |= {key: value for key, value in names.items() if key in self.columns}
        return {key: item[key] for key in self.columns}


class FrameWindows:
    """A map-style dataset of windows of consecutive frames (see the module doc).

    Args:
        source: an exported folder, a Hub dataset repository id (through huggingface_hub,
            ``HF_ENDPOINT`` and its cache), a ``sample --to-parquet`` folder or a frame tree.
        window: frames per window (>= 1).
        split: the split to read (``train``; an export's ``--splits`` names the others).
        stride: frames between the starts of consecutive windows of an episode (>= 1).
        pad_start: also give the windows that start before the episode, padded.
        columns: the keys of each item (default: all of :data:`ITEM_KEYS`); leaving out
            ``frames`` skips decoding.
        rgb: frames as RGB; False gives ALE colour values (see the module doc).
        cache_dir: where the frame cache is kept (default:
            ``$HF_HOME/atari_interleaved/frame_windows``).
        revision: the Hub branch, tag or commit of a Hub source.

    Raises:
        InvalidArgumentError: for a bad argument (the message names it), or an unknown split.
        InvalidInputError: for a source that holds nothing atari-interleaved wrote.

    """

    def __init__(
        self,
        source: str | os.PathLike[str],
        window: int = 16,
        *,
        split: str = DEFAULT_SPLIT,
        stride: int = 1,
        pad_start: bool = False,
        columns: Sequence[str] | None = None,
        rgb: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
        revision: str | None = None,
    ) -> None:
        self.spec = WindowSpec.checked(window, stride, pad_start, columns, rgb)
        rows = resolve_source(source, split, revision=revision)
        self.description = rows.description
        self.split = split
        root = default_cache_dir() if cache_dir is None else Path(cache_dir)
        tables = itertools.chain.from_iterable(rows.tables(unit) for unit in rows.units)
        folder = root / cache_key(rows.identity())
        self._cache: FrameCache | None = FrameCache.build(tables, folder, rows.description)
        self._folder = folder
        lengths = np.diff(np.asarray(self._cache.episode_starts))
        starts = [self.spec.starts(int(length)) for length in lengths]
        self._first_starts = np.array([first for first, _ in starts], dtype=np.int64)
        self._window_ends = np.cumsum([count for _, count in starts], dtype=np.int64)
        self._positions = range(int(self._window_ends[-1]))
        if not self._positions:
            raise InvalidArgumentError(
                f"window={self.spec.window} is longer than every episode of {self.description} "
                f"(the longest has {int(lengths.max())} frames): give a smaller window, or "
                "pad_start=True"
            )

    @property
    def num_episodes(self) -> int:
        """Episodes of the split (including those too short for a window)."""
        return len(self._first_starts)

    @property
    def num_frames(self) -> int:
        """Frames of the split."""
        return int(self.cache.episode_starts[-1])

    @property
    def cache(self) -> FrameCache:
        """The opened frame cache (opened again after unpickling, e.g. in spawned workers)."""
        if self._cache is None:
            self._cache = FrameCache.open(self._folder)
        return self._cache

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_cache": None}  # memory maps would be pickled as copies

    def __len__(self) -> int:
        return len(self._positions)

    def __repr__(self) -> str:
        return (
            f"FrameWindows({self.description}, split={self.split!r}, window={self.spec.window}, "
            f"stride={self.spec.stride}, pad_start={self.spec.pad_start}): {len(self)} windows "
            f"of {self.num_episodes} episodes"
        )

    def locate(self, index: int) -> tuple[int, int]:
        """Return (episode number, start frame) of window ``index``.

        Raises:
            IndexError: if ``index`` is out of range.

        """
        position = self._positions[index]  # IndexError past the end, as a sequence has
        episode = int(np.searchsorted(self._window_ends, position, side="right"))
        before = int(self._window_ends[episode - 1]) if episode else 0
        return episode, int(self._first_starts[episode]) + (position - before) * self.spec.stride

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"window indices are integers, not {type(index).__name__}")
        episode, start = self.locate(int(index))
        cache = self.cache
        base = int(cache.episode_starts[episode])
        first, end = base + max(start, 0), base + start + self.spec.window
        if "frames" in self.spec.columns:
            data, offsets = cache.read(first, end)
        else:
            data, offsets = b"", np.zeros(end - first + 1, dtype=np.int64)
        values = {name: np.asarray(array[first:end]) for name, array in cache.arrays.items()}
        environment, name = cache.episodes[episode]
        return self.spec.item(environment, name, start, data, offsets, values)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for index in range(len(self)):
            yield self[index]

    def shard(self, rank: int, world_size: int) -> FrameWindows:
        """Return the windows of one rank of ``world_size``: every ``world_size``-th window.

        Ranks get equal counts within one window. Shuffle within the shard (``DataLoader``
        with ``shuffle=True``), or use torch's ``DistributedSampler`` on the whole instead.

        Raises:
            InvalidArgumentError: unless 0 <= rank < world_size.

        """
        if not isinstance(world_size, int) or world_size < 1:
            raise InvalidArgumentError(f"world_size must be an integer >= 1, got {world_size!r}")
        if not isinstance(rank, int) or not 0 <= rank < world_size:
            raise InvalidArgumentError(f"rank must be in 0..{world_size - 1}, got {rank!r}")
        shard = object.__new__(FrameWindows)
        shard.__dict__ |= self.__getstate__()
        shard._positions = self._positions[rank::world_size]
        return shard
