"""Per-game figures of a dataset for its card: episodes, frames, returns, actions taken.

Computed from the parquet shards of the folder the card describes (:func:`stats_from_parquet`,
reading only small columns), so a card always describes the data it ships with.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.storage.parquet_writer import existing_shards
from atari_interleaved.storage.shard_check import open_shard, reading_shard

__all__ = [
    "GameStats",
    "DatasetStats",
    "stats_from_parquet",
]


@dataclass
class GameStats:
    """The figures of one game (``environment`` is its column value, ``"atari_alien"``)."""

    environment: str
    episodes: int = 0
    frames: int = 0
    returns: list[float] = field(default_factory=list)
    actions: Counter[str] = field(default_factory=Counter)
    end_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def mean_return(self) -> float | None:
        """The mean episode return, None when no episode has metadata (other tools' trees)."""
        return sum(self.returns) / len(self.returns) if self.returns else None

    def action_shares(self) -> list[tuple[str, float]]:
        """Return ``(action, share of frames)`` pairs, most frequent first (ties by name)."""
        total = sum(self.actions.values())
        ranked = sorted(self.actions.items(), key=lambda item: (-item[1], item[0]))
        return [(action, count / total) for action, count in ranked]


@dataclass
class DatasetStats:
    """The figures of every game of a dataset, by ``environment``, sorted.

    ``levels`` holds the same figures by game and randomness level, sorted: one entry per
    game unless the data mixes levels (``sample --randomness 0.0,0.25,1.0``).
    """

    games: dict[str, GameStats] = field(default_factory=dict)
    levels: dict[tuple[str, float], GameStats] = field(default_factory=dict)

    @property
    def mixes_levels(self) -> bool:
        """Whether a game has episodes of more than one randomness level."""
        return len(self.levels) > len(self.games)

    @property
    def episodes(self) -> int:
        """Episodes of all games."""
        return sum(game.episodes for game in self.games.values())

    @property
    def frames(self) -> int:
        """Frames of all games."""
        return sum(game.frames for game in self.games.values())

    def game(self, environment: str) -> GameStats:
        """Return the figures of a game, created empty on first use."""
        if environment not in self.games:
            self.games[environment] = GameStats(environment)
            self.games = dict(sorted(self.games.items()))
        return self.games[environment]

    def at_level(self, environment: str, randomness: float) -> GameStats:
        """Return the figures of a game at one randomness level, created empty on first use."""
        key = (environment, randomness)
        if key not in self.levels:
            self.levels[key] = GameStats(environment)
            self.levels = dict(sorted(self.levels.items()))
        return self.levels[key]


_BATCH_ROWS = 65_536


def _batches(folder: Path, config: str, columns: list[str]) -> Iterator[pa.RecordBatch]:
    """Yield ``columns`` of the shards of ``config`` a batch at a time (memory stays flat)."""
    shards = existing_shards(folder / config, "*")
    if not shards:
        raise InvalidInputError(
            f"{str(folder)!r} has no {config}/train-*.parquet shards: give a folder written by "
            "'atari-interleaved export'"
        )
    for shard in shards:
        with reading_shard(shard):
            yield from open_shard(shard).iter_batches(batch_size=_BATCH_ROWS, columns=columns)


def stats_from_parquet(folder: str | os.PathLike[str]) -> DatasetStats:
    """Compute the figures of an exported folder from its parquet shards.

    Episodes, frames, returns and end reasons come from the ``interleaved`` shards, the
    actions taken from the ``simple`` ones; image columns are not read.
    """
    folder = Path(folder)
    stats = DatasetStats()
    level_of: dict[tuple[str, str], float] = {}
    columns = ["environment", "episode", "randomness", "num_frames", "episode_return", "end_reason"]
    for batch in _batches(folder, "interleaved", columns):
        for row in batch.to_pylist():  # one row per episode: few
            level_of[row["environment"], row["episode"]] = row["randomness"]
            for game in (
                stats.game(row["environment"]),
                stats.at_level(row["environment"], row["randomness"]),
            ):
                game.episodes += 1
                game.frames += row["num_frames"]
                if row["episode_return"] is not None:
                    game.returns.append(row["episode_return"])
                if row["end_reason"] is not None:
                    game.end_reasons[row["end_reason"]] += 1
    for batch in _batches(folder, "simple", ["environment", "episode", "action"]):
        counts = (
            pa.Table.from_batches([batch])
            .group_by(["environment", "episode", "action"])
            .aggregate([([], "count_all")])
        )
        for row in counts.to_pylist():
            environment, count = row["environment"], row["count_all"]
            stats.game(environment).actions[row["action"]] += count
            level = level_of[environment, row["episode"]]
            stats.at_level(environment, level).actions[row["action"]] += count
    return stats
