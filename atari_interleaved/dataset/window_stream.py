"""The iterable, streaming form of :class:`~atari_interleaved.dataset.windows.FrameWindows`.

For data that does not fit on the local disk: a Hub repository's ``simple`` shards are read
remotely (``huggingface_hub.HfFileSystem``, range requests), a row group at a time, and
nothing is cached; local folders and frame trees stream the same way. Each shard (an
episode, for a frame tree) is a unit of work: the units are shuffled with ``seed`` and the
epoch, dealt to ranks (``rank``/``world_size``) and to ``DataLoader`` workers, and each
process assembles whole episodes, cuts them into windows and shuffles those through a
buffer of ``shuffle_buffer`` windows. An epoch gives exactly the windows of the map-style
form (same items), in a shuffled order; memory holds a row group, an episode and the
buffer's windows (their PNG bytes, about ``window`` x 0.5-2 KB each), and with
``branches=True`` the split's branch frames, read first (their PNG bytes). Frames are decoded,
and resized when asked (``size``, ``preset``), as windows leave the buffer: nothing is
cached, so a resize costs its time at every epoch (an area reduction to 64x64 takes a few
times a frame's decoding). ``episodes=`` skips the episodes it does not keep as they are
read (their metas are read first, from the small columns of the ``interleaved`` rows).

Ranks and workers get whole shards when there are at least as many shards as ranks times
workers, so their window counts differ when shards do; with fewer shards, each reads every
shard and keeps every (ranks x workers)-th episode. The map-style form with ``shard`` or a
``DistributedSampler`` gives equal window counts.

With torch imported before it is made, an instance is registered as a
``torch.utils.data.IterableDataset`` (torch is never imported here), so
``DataLoader(stream, batch_size=..., num_workers=N)`` iterates it in N workers.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError
from atari_interleaved.dataset.branch_frames import BranchFrames
from atari_interleaved.dataset.episode_meta import episode_metas
from atari_interleaved.dataset.frame_cache import frame_values, image_bytes
from atari_interleaved.dataset.frame_source import FrameSource, resolve_source
from atari_interleaved.dataset.window_options import WindowOptions
from atari_interleaved.dataset.windows import select_episodes
from atari_interleaved.storage.split_writer import episode_tables

__all__ = ["StreamingFrameWindows"]

_Record = tuple[str, str, int, bytes, np.ndarray, dict[str, np.ndarray]]
"""A window before decoding: environment, episode, start, PNG bytes, offsets, values."""


def _worker() -> tuple[int, int]:
    """Return (this DataLoader worker, workers), (0, 1) outside DataLoader workers."""
    data = sys.modules.get("torch.utils.data")
    info = data.get_worker_info() if data is not None else None
    return (0, 1) if info is None else (info.id, info.num_workers)


def _register_with_torch() -> None:
    data = sys.modules.get("torch.utils.data")
    if data is not None and not issubclass(StreamingFrameWindows, data.IterableDataset):
        data.IterableDataset.register(StreamingFrameWindows)


class StreamingFrameWindows:
    """An iterable of windows of consecutive frames, streamed (see the module doc).

    Args:
        source: a Hub dataset repository id, an exported folder, a ``sample --to-parquet``
            folder or a frame tree.
        window, options, storage_options, **choices: as for ``FrameWindows``: the fields of
            :class:`~atari_interleaved.dataset.window_options.WindowOptions` (frames are
            decoded and prepared as they stream: nothing is cached).
        shuffle_buffer: windows held to shuffle; 0 or 1 gives the data's order.
        seed: seed of the unit order and of the buffer (with the epoch, see ``set_epoch``).
        rank: this process's rank of ``world_size`` (multi-GPU training).
        world_size: number of ranks sharing the data.

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
        shuffle_buffer: int = 1024,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        storage_options: Mapping[str, Any] | None = None,
        **choices: Any,
    ) -> None:
        self.spec = WindowOptions.of("StreamingFrameWindows", options, window, choices)
        if isinstance(shuffle_buffer, bool) or not isinstance(shuffle_buffer, int):
            raise InvalidArgumentError(f"shuffle_buffer must be an integer, got {shuffle_buffer!r}")
        if shuffle_buffer < 0:
            raise InvalidArgumentError(f"shuffle_buffer must be >= 0, got {shuffle_buffer!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise InvalidArgumentError(f"seed must be an integer >= 0, got {seed!r}")
        if not isinstance(world_size, int) or world_size < 1:
            raise InvalidArgumentError(f"world_size must be an integer >= 1, got {world_size!r}")
        if not isinstance(rank, int) or not 0 <= rank < world_size:
            raise InvalidArgumentError(f"rank must be in 0..{world_size - 1}, got {rank!r}")
        split, revision, episodes = self.spec.split, self.spec.revision, self.spec.episodes
        self.source: FrameSource = resolve_source(
            source, split, revision=revision, stream=True, storage_options=storage_options
        )
        self._branches = BranchFrames(self.source) if self.spec.branches else None
        self._metas = None
        self._keep: set[tuple[str, str]] | None = None
        if episodes is not None:
            description = self.source.description
            self._metas = select_episodes(episode_metas(self.source), episodes, description)
            self._keep = {(meta["environment"], meta["episode"]) for meta in self._metas}
        self.shuffle_buffer = shuffle_buffer
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        _register_with_torch()

    @property
    def episodes(self) -> list[dict[str, Any]]:
        """The meta of each selected episode (keys of ``EPISODE_KEYS``), in source order."""
        if self._metas is None:
            self._metas = episode_metas(self.source)
        return [dict(meta) for meta in self._metas]

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle for ``epoch`` (call it before iterating, as with ``DistributedSampler``)."""
        self.epoch = epoch

    def __repr__(self) -> str:
        return (
            f"StreamingFrameWindows({self.source.description}, split={self.source.split!r}, "
            f"window={self.spec.window}, {len(self.source.units)} units, "
            f"rank {self.rank} of {self.world_size})"
        )

    def _episodes(self, unit: Any) -> Iterator[pa.Table]:
        """Yield the rows of each episode of ``unit``, whole."""
        pending: list[pa.Table] = []
        key = None
        for table in self.source.tables(unit):
            for episode in episode_tables(table):  # an episode may span row groups
                this = (episode["environment"][0].as_py(), episode["episode"][0].as_py())
                if pending and this != key:
                    yield pa.concat_tables(pending)
                    pending = []
                if self._keep is None or this in self._keep:
                    pending.append(episode)
                key = this
        if pending:
            yield pa.concat_tables(pending)

    def _records(self, table: pa.Table) -> Iterator[_Record]:
        """Yield the windows of an episode, each with a copy of its frames' bytes."""
        environment = table["environment"][0].as_py()
        name = table["episode"][0].as_py()
        if not np.array_equal(table["frame_number"].to_numpy(), np.arange(table.num_rows)):
            raise InvalidInputError(
                f"{environment}/{name} of {self.source.description} is not whole and in frame "
                "order in one shard; give data written by atari-interleaved"
            )
        data, offsets = image_bytes(table["image"])
        values = frame_values(table)
        first_start, count = self.spec.starts(table.num_rows)
        for start in range(first_start, first_start + count * self.spec.stride, self.spec.stride):
            last = (environment, name, start + self.spec.window - 1)
            if self.spec.branch_points_only and last not in self._branches:  # type: ignore[operator]
                continue
            first, end = max(start, 0), min(start + self.spec.window, table.num_rows)
            piece = bytes(data[offsets[first] : offsets[end]])
            yield (
                environment,
                name,
                start,
                piece,
                offsets[first : end + 1] - offsets[first],
                {key: array[first:end] for key, array in values.items()},
            )

    def _item(self, record: _Record) -> dict[str, Any]:
        environment, name, start, data, offsets, values = record
        frames = self.spec.decode(data, offsets) if "frames" in self.spec.columns else None
        item = self.spec.item(environment, name, start, frames, values)
        if self._branches is not None:
            item |= self._branches.item(
                (environment, name, start + self.spec.window - 1), self.spec
            )
        return item

    def __iter__(self) -> Iterator[dict[str, Any]]:
        worker, workers = _worker()
        rng = np.random.default_rng([self.seed, self.epoch])
        units = list(self.source.units)
        if self.shuffle_buffer > 1:
            units = [units[index] for index in rng.permutation(len(units))]
        consumers, me = self.world_size * workers, self.rank * workers + worker
        # Whole units per consumer when there are enough; else every consumer reads them all
        # and keeps every consumers-th episode (balanced, at the cost of reading more).
        by_unit = len(units) >= consumers
        mine = units[me::consumers] if by_unit else units
        episodes = (episode for unit in mine for episode in self._episodes(unit))
        if not by_unit:
            episodes = itertools.islice(episodes, me, None, consumers)
        rng = np.random.default_rng([self.seed, self.epoch, self.rank, worker])
        buffer: list[_Record] = []
        for episode in episodes:
            for record in self._records(episode):
                if self.shuffle_buffer <= 1:
                    yield self._item(record)
                elif len(buffer) < self.shuffle_buffer:
                    buffer.append(record)
                else:
                    slot = int(rng.integers(len(buffer)))
                    yield self._item(buffer[slot])
                    buffer[slot] = record
        for slot in rng.permutation(len(buffer)):
            yield self._item(buffer[slot])
