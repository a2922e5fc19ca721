"""Windows of consecutive frames with their actions, for training world models.

For example::

    windows = FrameWindows("atari_interleaved_hub", window=16)
    item = windows[0]
    item["frames"].shape, item["actions"].shape  # ((16, 210, 160, 3), (16,))

A window is ``window`` consecutive frames of one episode; it never spans two. Windows start
at every ``stride``-th frame (0, stride, 2 * stride, ...) where a whole window fits; with
``pad_start=True`` there are also windows starting before the episode (at -stride,
-2 * stride, ... down to -(window - 1)), padded before frame 0, as DIAMOND samples the first
frames of an episode; with ``pad_end=True`` also windows starting at each of the last
``window - 1`` frames (at the stride), padded after the episode's last frame, as DIAMOND's
segment sampler does for its reward and end model. Padding holds zeros and False
(``pad_mode="zeros"``), or with ``pad_mode="edge"`` the episode's first (or last) frame and
its values, repeated, as LeRobot pads; ``mask`` is False on padding either way. An item is a
dict of numpy arrays:

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

``episodes=predicate`` keeps the episodes whose meta (:mod:`atari_interleaved.dataset.episode_meta`:
game, seed, policy, randomness, return, length, end reason) it returns True for;
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError
from atari_interleaved.core.splits import DEFAULT_SPLIT
from atari_interleaved.dataset.episode_meta import EPISODE_KEYS, episode_metas
from atari_interleaved.dataset.frame_cache import (
    FRAME_ARRAYS,
    FrameCache,
    cache_key,
    default_cache_dir,
)
from atari_interleaved.dataset.frame_format import FrameFormat, Resample
from atari_interleaved.dataset.frame_source import FrameSource, resolve_source
from atari_interleaved.dataset.prepared_frames import PreparedFrames
from atari_interleaved.storage.png_decode import decode_png

__all__ = [
    "ITEM_KEYS",
    "EPISODE_KEYS",
    "EpisodePredicate",
    "PadMode",
    "PAD_MODES",
    "WindowSpec",
    "check_episodes",
    "select_episodes",
    "FrameWindows",
]

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

EpisodePredicate = Callable[[dict[str, Any]], bool]
"""``episodes=``: called with an episode's meta (keys :data:`EPISODE_KEYS`), True keeps it."""


PadMode = Literal["zeros", "edge"]
PAD_MODES: tuple[PadMode, ...] = ("zeros", "edge")


@dataclass(frozen=True)
class WindowSpec:
    """What a window is: its length, the step between starts, padding, the item's content."""

    window: int = 16
    stride: int = 1
    pad_start: bool = False
    columns: tuple[str, ...] = ITEM_KEYS
    rgb: bool = True
    pad_end: bool = False
    pad_mode: PadMode = "zeros"
    form: FrameFormat = FrameFormat()

    @classmethod
    def checked(
        cls,
        window: int,
        stride: int,
        pad_start: bool,
        columns: Sequence[str] | None,
        rgb: bool,
        *,
        pad_end: bool = False,
        pad_mode: str = "zeros",
        preset: str | None = None,
        size: tuple[int, int] | None = None,
        gray: bool | None = None,
        resample: str | None = None,
    ) -> WindowSpec:
        """Return the spec of these arguments.

        Raises:
            InvalidArgumentError: naming the argument that is wrong and its value.

        """
        for name, value in (("window", window), ("stride", stride)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgumentError(f"{name} must be an integer >= 1, but got {value!r}")
        if pad_mode not in PAD_MODES:
            raise InvalidArgumentError(
                f"pad_mode={pad_mode!r} is not a padding: choose one of {', '.join(PAD_MODES)}"
            )
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
        form = FrameFormat.checked(preset=preset, size=size, gray=gray, resample=resample)
        if not rgb and not form.is_identity:
            raise InvalidArgumentError(
                "rgb=False gives ALE colour values, which cannot be resized or made grey: "
                "leave rgb=True with preset, size or gray"
            )
        return cls(
            window, stride, bool(pad_start), chosen, bool(rgb), bool(pad_end), pad_mode, form
        )

    @property
    def decodes_rgb(self) -> bool:
        """Whether frames are decoded to RGB (else to ALE values: ``rgb=False``, or grey)."""
        return self.rgb and not self.form.gray

    def starts(self, length: int) -> tuple[int, int]:
        """Return (first start, number of windows) of an episode of ``length`` frames."""
        lowest = -((self.window - 1) // self.stride) if self.pad_start else 0
        last = length - 1 if self.pad_end else length - self.window
        highest = last // self.stride  # floor, also below zero
        return lowest * self.stride, max(0, highest - lowest + 1)

    def decode(self, data: bytes, offsets: np.ndarray) -> np.ndarray:
        """Decode and prepare the frames whose PNG bytes are ``data`` (split at ``offsets``)."""
        view = memoryview(data)
        first = decode_png(view[offsets[0] : offsets[1]], rgb=self.decodes_rgb)
        frames = np.empty((len(offsets) - 1, *first.shape), dtype=np.uint8)
        frames[0] = first
        for index in range(1, len(frames)):
            frame = view[offsets[index] : offsets[index + 1]]
            decode_png(frame, rgb=self.decodes_rgb, out=frames[index])
        return frames if self.form.is_identity else self.form.prepare(frames)

    def _padded(self, real: np.ndarray, before: int, fill: bool) -> np.ndarray:
        """Return ``real`` (frames or values) placed in a window at ``before``, padded."""
        if len(real) == self.window:
            return real
        padded = np.zeros((self.window, *real.shape[1:]), dtype=real.dtype)
        padded[before : before + len(real)] = real
        if fill and self.pad_mode == "edge":
            padded[:before] = real[0]
            padded[before + len(real) :] = real[-1]
        return padded

    def item(
        self,
        environment: str,
        episode: str,
        start: int,
        frames: np.ndarray | None,
        values: dict[str, np.ndarray],
    ) -> dict[str, Any]:
        """Assemble the item of the window starting at frame ``start``.

        Args:
            environment: the episode's game folder name.
            episode: the episode's folder name.
            start: the frame number of the window's first frame (negative: padding).
            frames: the window's real frames, decoded and prepared (None without ``frames``).
            values: the per-frame arrays of the real frames (:data:`FRAME_ARRAYS`).

        """
        before = max(0, -start)
        real = len(next(iter(values.values())))
        item: dict[str, Any] = {}
        if "frames" in self.columns and frames is not None:
            item["frames"] = self._padded(frames, before, fill=True)
        for name, kind in FRAME_ARRAYS.items():
            if name in self.columns:
                own = np.array(values[name], dtype=kind)  # a copy: never a view of the cache
                item[name] = self._padded(own, before, fill=True)
        if "mask" in self.columns:
            item["mask"] = self._padded(np.ones(real, dtype=bool), before, fill=False)
        names = {"environment": environment, "episode": episode, "start_frame": start}
        item |= {key: value for key, value in names.items() if key in self.columns}
        return {key: item[key] for key in self.columns}


def check_episodes(episodes: object) -> None:
    """Refuse an ``episodes`` argument that is not a predicate (or None).

    Raises:
        InvalidArgumentError: naming the argument.

    """
    if episodes is not None and not callable(episodes):
        raise InvalidArgumentError(
            f"episodes must be a function of an episode's meta that returns True to keep it, "
            f"but got episodes={episodes!r}"
        )


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
        window: frames per window (>= 1).
        split: the split to read (``train``; an export's ``--splits`` names the others).
        stride: frames between the starts of consecutive windows of an episode (>= 1).
        pad_start: also give the windows that start before the episode, padded.
        pad_end: also give the windows that start at each of the last ``window - 1``
            frames (at the stride), padded after the episode's last frame.
        pad_mode: what padding holds: ``"zeros"``, or ``"edge"`` (the episode's first or
            last frame and its values, repeated).
        columns: the keys of each item (default: all of :data:`ITEM_KEYS`); leaving out
            ``frames`` skips decoding.
        rgb: frames as RGB; False gives ALE colour values (see the module doc).
        preset: a trainer's frame format, a name of
            :data:`~atari_interleaved.dataset.frame_format.PRESETS` (``"diamond"``,
            ``"iris"``, ``"dreamerv3"``, ``"dqn"``).
        size: (height, width) to resize every frame to (None: 210x160).
        gray: ALE's greyscale (``getScreenGrayscale``): frames (window, height, width).
        resample: ``"area"`` (OpenCV's ``INTER_AREA``) or ``"bilinear"`` (Pillow's).
        episodes: a predicate of an episode's meta (a dict of
            :data:`~atari_interleaved.dataset.episode_meta.EPISODE_KEYS`); only the episodes
            it returns True for are read.
        cache_dir: where the frame cache is kept (default:
            ``$HF_HOME/atari_interleaved/frame_windows``).
        revision: the Hub branch, tag or commit of a Hub source.
        storage_options: the fsspec options of an object store URL source
            (``s3://bucket/run``: a ``sample --to-parquet`` or exported prefix).

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
        pad_end: bool = False,
        pad_mode: PadMode = "zeros",
        columns: Sequence[str] | None = None,
        rgb: bool = True,
        preset: str | None = None,
        size: tuple[int, int] | None = None,
        gray: bool | None = None,
        resample: Resample | None = None,
        episodes: EpisodePredicate | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        revision: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.spec = WindowSpec.checked(
            window, stride, pad_start, columns, rgb, pad_end=pad_end, pad_mode=pad_mode,
            preset=preset, size=size, gray=gray, resample=resample,
        )  # fmt: skip
        check_episodes(episodes)
        rows = resolve_source(source, split, revision=revision, storage_options=storage_options)
        self.description = rows.description
        self.split = split
        # A Hub download holds only the simple shards: metas are read remotely (small columns).
        local = Path(source).is_dir() or rows.filesystem is not None  # read as it is
        self._meta_source = rows if local else (source, split, revision)
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
        self._positions = range(int(self._window_ends[-1]))
        self._num_frames = int(lengths.sum())
        if not self._positions:
            raise InvalidArgumentError(
                f"window={self.spec.window} is longer than every episode of {self.description} "
                f"(the longest has {int(lengths.max())} frames): give a smaller window, or "
                "pad_start=True or pad_end=True"
            )
        self._prepared = None
        if self.spec.form.size is not None and "frames" in self.spec.columns:
            self._prepared = PreparedFrames.build(self._cache, self.spec.form, self.spec.decode)

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
        return self.spec.item(environment, name, start, frames, values)

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
