"""The counterfactual branches of a source, for the window loaders (``branches=True``).

:class:`BranchFrames` reads the ``branches`` rows of a split (see
:mod:`atari_interleaved.core.branches`) from the same source the windows come from: the
``branches/<split>-*.parquet`` shards of an export, a ``sample --to-parquet`` folder or a Hub
repository, or the ``branches/`` folders of a frame tree. It keeps each branch point's PNG
bytes in memory (about 1-2 KB a frame: with ``--branch-every 1`` and 18 actions, some 30 KB
a recorded frame) and gives, for a window ending at a branch point, the next frames under
every action, decoded and prepared as the window's frames are.

Branches are indexed by action: slot ``b`` of the :data:`NUM_ALE_ACTIONS` slots holds the
branch of action index ``b``, so items of games with different action sets batch together;
``branch_mask`` is False where a game has no action ``b``, where a window does not end at a
branch point, and on the steps past a branch's end (its game ended, or the episode's last
frame came first).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.core.features import BRANCHES_CONFIG, arrow_schema
from atari_interleaved.core.layout import NUM_ALE_ACTIONS
from atari_interleaved.core.rows import branch_rows
from atari_interleaved.dataset.frame_cache import image_bytes
from atari_interleaved.dataset.frame_source import FrameSource
from atari_interleaved.dataset.reader import EpisodeDir, read_episode
from atari_interleaved.dataset.window_options import WindowOptions
from atari_interleaved.storage.parquet_writer import existing_shards, rows_to_table
from atari_interleaved.storage.shard_check import reading_shard

__all__ = ["BRANCH_KEYS", "BranchFrames"]

BRANCH_KEYS = ("branch_frames", "branch_actions", "branch_rewards", "branch_mask")
"""The keys ``branches=True`` adds to an item, after the window's."""

_COLUMNS = ["environment", "episode", "frame_number", "action_index", "step", "image", "reward"]

Point = tuple[str, str, int]
"""A branch point: environment, episode, frame number."""


def _no_branches(source: FrameSource) -> InvalidInputError:
    return InvalidInputError(
        f"branches=True, but {source.description} has no {BRANCHES_CONFIG} rows of split "
        f"{source.split!r}: it was sampled without --branch-every; sample with --branch-every "
        "K, or leave branches out"
    )


def _tables(source: FrameSource) -> Iterator[pa.Table]:
    """Yield the ``branches`` rows of ``source``'s split."""
    if source.units and isinstance(source.units[0], EpisodeDir):
        for unit in source.units:
            yield rows_to_table(
                list(branch_rows(read_episode(unit))), arrow_schema(BRANCHES_CONFIG)
            )
        return
    split = source.split
    if source.filesystem is not None:  # Hub shards: <repo>@<revision>/simple/<split>-...
        root = posixpath.dirname(posixpath.dirname(source.units[0]))
        shards = sorted(source.filesystem.glob(f"{root}/{BRANCHES_CONFIG}/{split}-*.parquet"))
    else:
        shards = existing_shards(Path(source.units[0]).parent.parent / BRANCHES_CONFIG, split)
    if not shards:
        raise _no_branches(source)
    for shard in shards:
        with reading_shard(shard):
            opened = source.filesystem.open(shard, "rb") if source.filesystem else open(shard, "rb")
            with opened as stream:
                yield pq.read_table(stream, columns=_COLUMNS)


class BranchFrames:
    """The branch frames of one split of a source, by branch point (see the module doc)."""

    def __init__(self, source: FrameSource) -> None:
        points: dict[Point, list[tuple[int, int, bytes, float]]] = {}
        steps = 0
        for table in _tables(source):
            data, offsets = image_bytes(table["image"])
            columns = {name: table[name].to_pylist() for name in _COLUMNS if name != "image"}
            for row in range(table.num_rows):
                point = (
                    columns["environment"][row],
                    columns["episode"][row],
                    columns["frame_number"][row],
                )
                step = columns["step"][row]
                steps = max(steps, step)
                reward = columns["reward"][row]
                image = bytes(data[offsets[row] : offsets[row + 1]])
                entry = (
                    columns["action_index"][row],
                    step,
                    image,
                    np.nan if reward is None else reward,
                )
                points.setdefault(point, []).append(entry)
        if not points:  # a frame tree sampled without branches
            raise _no_branches(source)
        self._points = points
        self.steps = steps
        """The most steps a branch holds (``--branch-steps``)."""

    def points_of(self, environment: str, episode: str) -> set[int]:
        """Return the branch points of an episode (frame numbers)."""
        return {
            frame for (game, name, frame) in self._points if (game, name) == (environment, episode)
        }

    def __contains__(self, point: Point) -> bool:
        return point in self._points

    def item(self, point: Point, options: WindowOptions) -> dict[str, np.ndarray]:
        """Return the branch keys of the window ending at ``point`` (empty if it is none)."""
        slots, steps = NUM_ALE_ACTIONS, max(self.steps, 1)
        entries = self._points.get(point, [])
        actions = np.full(slots, -1, dtype=np.int64)
        rewards = np.full((slots, steps), np.nan, dtype=np.float32)
        mask = np.zeros((slots, steps), dtype=bool)
        shape = options.form.shape if options.rgb else (210, 160)
        frames = np.zeros((slots, steps, *shape), dtype=np.uint8)
        if entries:
            sizes = np.cumsum([0, *(len(image) for _, _, image, _ in entries)])
            decoded = options.decode(b"".join(image for _, _, image, _ in entries), sizes)
            for (action, step, _, reward), frame in zip(entries, decoded, strict=True):
                actions[action] = action
                frames[action, step - 1] = frame
                rewards[action, step - 1] = reward
                mask[action, step - 1] = True
        values: dict[str, Any] = {
            "branch_frames": frames,
            "branch_actions": actions,
            "branch_rewards": rewards,
            "branch_mask": mask,
        }
        return values
