"""Windows of consecutive frames with their actions, for training world models.

For example::

    windows = FrameWindows("atari_interleaved_hub", window=16)
    item = windows[0]
    item["frames"].shape, item["actions"].shape  # ((16, 210, 160, 3), (16,))

A window is ``window`` consecutive frames of one episode; it never spans two. Windows start
at every ``stride``-th frame (0, stride, 2 * stride, ...) where a whole window fits, and
before or after the episode, padded, when asked; what a window is (its stride, padding,
columns, frame format, the episodes kept) is said by the options both loaders share,
:class:`~atari_interleaved.dataset.window_options.WindowOptions`, documented there once.
An item is a dict of numpy arrays:

- ``frames``: ``uint8`` (window, 210, 160, 3) RGB, exactly the ``simple`` config's images
  (``Image.open(...).convert("RGB")``); with ``rgb=False``, (window, 210, 160) ALE colour
  values, what ``ALEInterface.getScreen`` gives (even numbers 0..254 indexing ALE's NTSC
  palette, :data:`atari_interleaved.core.palette.NTSC_PALETTE`, the same for every frame);
  with ``size``, ``gray`` or a ``preset``, the frames a trainer trains on
  (:mod:`atari_interleaved.dataset.frame_format`): (window, height, width, 3), or
  (window, height, width) in ALE's greyscale;
- ``actions`` (int64, the action index taken at each frame), ``rewards`` (float32; NaN
  where the data has none), ``terminated``, ``truncated``, ``is_first`` (bool) and ``mask``
  (bool, False on padding);
- ``environment`` and ``episode`` (str) and ``start_frame`` (int: the frame number of the
  window's first frame, negative with padding at the start).

``windows.episodes`` lists the metas of the kept episodes.

:class:`FrameWindows` is map-style (``len``, indexing, iteration) and works as it is with
``torch.utils.data.DataLoader(windows, batch_size=..., shuffle=True, num_workers=N)``; torch
is never imported here. Its data comes from a local cache built on first use
(:mod:`atari_interleaved.dataset.frame_cache`), so an item is one read of contiguous bytes plus the
decoding (:mod:`atari_interleaved.storage.png_decode`); resized frames are prepared once, on first
use, into a file beside that cache (:mod:`atari_interleaved.dataset.prepared_frames`), and an
item is then one read. For multi-GPU training, give each rank
``windows.shard(rank, world_size)`` (or use torch's ``DistributedSampler``).
:class:`~atari_interleaved.dataset.window_stream.StreamingFrameWindows` is the iterable form for
data that does not fit on the local disk.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError
from atari_interleaved.dataset.branch_frames import BranchFrames
from atari_interleaved.dataset.episode_meta import EPISODE_KEYS, episode_metas
from atari_interleaved.dataset.frame_cache import FrameCache, cache_key, default_cache_dir
from atari_interleaved.dataset.frame_source import FrameSource, resolve_source
from atari_interleaved.dataset.prepared_frames import PreparedFrames
from atari_interleaved.dataset.window_options import (
    ITEM_KEYS,
    PAD_MODES,
    EpisodePredicate,
    PadMode,
    WindowOptions,
)

__all__ = [
    "ITEM_KEYS",
    "EPISODE_KEYS",
    "EpisodePredicate",
    "PadMode",
    "PAD_MODES",
    "WindowOptions",
    "select_episodes",
    "FrameWindows",
]


def select_episodes(
    metas: list[dict[str, Any]], episodes: EpisodePredicate | None, description: str
) -> list[dict[str, Any]]:
    """Return the metas ``episodes`` keeps (all for None).

    Raises:
        InvalidArgumentError: if it keeps none.

    """
    if episodes is None:
        return metas
    chosen = [meta for meta in metas if episodes(dict(meta))]
    if not chosen:
        raise InvalidArgumentError(
            f"episodes= keeps none of the {len(metas)} episodes of {description}: "
            "give a predicate that keeps some"
        )
    return chosen


class FrameWindows:
    """A map-style dataset of windows of consecutive frames (see the module doc).

    Args:
        source: an exported folder, a Hub dataset repository id (through huggingface_hub,
            ``HF_ENDPOINT`` and its cache), a ``sample --to-parquet`` folder or a frame tree.
        window: frames per window (default: that of ``options``, else 16).
        options: the window's options as one
            :class:`~atari_interleaved.dataset.window_options.WindowOptions`.
        cache_dir: where the frame cache is kept (default:
            ``$HF_HOME/atari_interleaved/frame_windows``).
        storage_options: the fsspec options of an object store URL source
            (``s3://bucket/run``: a ``sample --to-parquet`` or exported prefix).
        **choices: the fields of :class:`~atari_interleaved.dataset.window_options.WindowOptions`
            (``split``, ``stride``, ``pad_start``, ``pad_end``, ``pad_mode``, ``columns``,
            ``rgb``, ``preset``, ``size``, ``gray``, ``resample``, ``episodes``,
            ``revision``, ``branches``, ``branch_points_only``), documented there; they
            replace those of ``options``.

    Raises:
        TypeError: for a keyword argument that is not an option.
        InvalidArgumentError: for a bad argument (the message names it), or an unknown split.
        InvalidInputError: for a source that holds nothing atari-interleaved wrote.

    """

    def __init__(
        self,
        source: str | os.PathLike[str],
        window: int | None = None,
        *,
        options: WindowOptions | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        storage_options: Mapping[str, Any] | None = None,
        **choices: Any,
    ) -> None:
        self.spec = WindowOptions.of("FrameWindows", options, window, choices)
        split, revision, episodes = self.spec.split, self.spec.revision, self.spec.episodes
        rows = resolve_source(source, split, revision=revision, storage_options=storage_options)
        self.description = rows.description
        self.split = split
        # A Hub download holds only the simple shards: metas are read remotely (small columns).
        local = Path(source).is_dir() or rows.filesystem is not None  # read as it is
        self._meta_source = rows if local else (source, split, revision)
        self._branches = None
        if self.spec.branches:
            remote = (
                rows if local else resolve_source(source, split, revision=revision, stream=True)
            )
            self._branches = BranchFrames(remote)
        self._metas = None
        if episodes is not None:
            self._metas = select_episodes(self._read_metas(), episodes, rows.description)
        root = default_cache_dir() if cache_dir is None else Path(cache_dir)
        tables = itertools.chain.from_iterable(rows.tables(unit) for unit in rows.units)
        folder = root / cache_key(rows.identity())
        self._cache: FrameCache | None = FrameCache.build(tables, folder, rows.description)
        self._folder = folder
        self._numbers = self._selected(self._cache)
        bounds = np.asarray(self._cache.episode_starts)
        lengths = bounds[self._numbers + 1] - bounds[self._numbers]
        starts = [self.spec.starts(int(length)) for length in lengths]
        self._first_starts = np.array([first for first, _ in starts], dtype=np.int64)
        self._window_ends = np.cumsum([count for _, count in starts], dtype=np.int64)
        self._positions: range | np.ndarray = range(int(self._window_ends[-1]))
        self._num_frames = int(lengths.sum())
        if not self._positions:
            raise InvalidArgumentError(
                f"window={self.spec.window} is longer than every episode of {self.description} "
                f"(the longest has {int(lengths.max())} frames): give a smaller window, or "
                "pad_start=True or pad_end=True"
            )
        if self.spec.branch_points_only:
            self._positions = self._at_branch_points(starts)
            if not len(self._positions):
                raise InvalidArgumentError(
                    f"branch_points_only=True keeps no window of {self.description}: none "
                    f"ends at a branch point; give pad_start=True, or a smaller window or stride"
                )
        self._prepared = None
        if self.spec.form.size is not None and "frames" in self.spec.columns:
            self._prepared = PreparedFrames.build(self._cache, self.spec.form, self.spec.decode)

    def _at_branch_points(self, starts: list[tuple[int, int]]) -> np.ndarray:
        """Return the positions of the windows whose last frame is a branch point."""
        assert self._branches is not None and self._cache is not None
        kept, position = [], 0
        for number, (first, count) in zip(self._numbers, starts, strict=True):
            points = self._branches.points_of(*self._cache.episodes[int(number)])
            ends = first + np.arange(count) * self.spec.stride + self.spec.window - 1
            kept.append(position + np.flatnonzero(np.isin(ends, list(points))))
            position += count
        return np.concatenate(kept).astype(np.int64)

    def _read_metas(self) -> list[dict[str, Any]]:
        if isinstance(self._meta_source, FrameSource):
            return episode_metas(self._meta_source)
        source, split, revision = self._meta_source
        return episode_metas(resolve_source(source, split, revision=revision, stream=True))

    def _selected(self, cache: FrameCache) -> np.ndarray:
        """Return the cache's numbers of the selected episodes, in cache order."""
        if self._metas is None:
            return np.arange(len(cache.episodes), dtype=np.int64)
        number = {key: index for index, key in enumerate(cache.episodes)}
        try:
            chosen = [number[meta["environment"], meta["episode"]] for meta in self._metas]
        except KeyError as error:
            raise InvalidInputError(
                f"{self.description} lists the episode {'/'.join(error.args[0])} in its "
                "interleaved rows, but its simple rows do not hold it"
            ) from None
        order = np.argsort(chosen)
        self._metas = [self._metas[index] for index in order]
        return np.asarray(chosen, dtype=np.int64)[order]

    @property
    def episodes(self) -> list[dict[str, Any]]:
        """The meta of each selected episode (keys :data:`EPISODE_KEYS`), in window order."""
        if self._metas is None:
            self._metas = self._read_metas()
            self._selected(self.cache)  # in the cache's order
        return [dict(meta) for meta in self._metas]

    @property
    def num_episodes(self) -> int:
        """Selected episodes (including those too short for a window)."""
        return len(self._numbers)

    @property
    def num_frames(self) -> int:
        """Frames of the selected episodes."""
        return self._num_frames

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
        """Return (episode number in the cache, start frame) of window ``index``.

        Raises:
            IndexError: if ``index`` is out of range.

        """
        position = self._positions[index]  # IndexError past the end, as a sequence has
        chosen = int(np.searchsorted(self._window_ends, position, side="right"))
        before = int(self._window_ends[chosen - 1]) if chosen else 0
        start = int(self._first_starts[chosen]) + (position - before) * self.spec.stride
        return int(self._numbers[chosen]), start

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"window indices are integers, not {type(index).__name__}")
        episode, start = self.locate(int(index))
        cache = self.cache
        base, bound = (int(frame) for frame in cache.episode_starts[episode : episode + 2])
        first, end = base + max(start, 0), min(base + start + self.spec.window, bound)
        frames = None
        if self._prepared is not None:
            frames = self._prepared.read(first, end)
        elif "frames" in self.spec.columns:
            frames = self.spec.decode(*cache.read(first, end))
        values = {name: array[first:end] for name, array in cache.arrays.items()}
        environment, name = cache.episodes[episode]
        item = self.spec.item(environment, name, start, frames, values)
        if self._branches is not None:
            end = (environment, name, start + self.spec.window - 1)
            item |= self._branches.item(end, self.spec)
        return item

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
