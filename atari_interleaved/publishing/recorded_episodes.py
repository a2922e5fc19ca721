"""The recorded episodes of any input, as exports to other formats need them.

:class:`RecordedSource` reads a frame tree (through :mod:`atari_interleaved.dataset.reader`,
every file checked), a ``sample --to-parquet`` folder (its shards checked complete) or an
exported folder (the ``interleaved`` shards of every split), and gives each game's episodes
as :class:`RecordedEpisode` (frames as PNG bytes, one episode in memory at a time) with the
settings the data was sampled with. Lives are read from ``episode.json`` in a frame tree; the
parquet configs do not hold them, so for the other two they are replayed on ALE from the
recorded start and applied actions (which reproduce every recorded frame).

Nothing is made up for what an input lacks: a game folder that names no game of the installed
ale-py is refused, and so is an episode written before ``applied_actions`` and
``start_actions`` were recorded (older frame trees), since the exports record them and
replay lives from them; re-sampling it with this version records them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.core.folder_kind import FolderKind, require_folder_kind
from atari_interleaved.core.games import all_games
from atari_interleaved.core.layout import (
    EPISODE_METADATA_NAME,
    game_dir_name,
    game_from_dir_name,
)
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.dataset.reader import EpisodeDir, read_episode, scan_tree
from atari_interleaved.generate.emulator import GameEmulator
from atari_interleaved.publishing.export import direct_shards
from atari_interleaved.publishing.manifest import read_manifest
from atari_interleaved.publishing.provenance import read_provenance
from atari_interleaved.storage.parquet_writer import DEFAULT_MAX_SHARD_BYTES, existing_shards

__all__ = ["RecordedEpisode", "RecordedSource"]

_ROW_COLUMNS = [
    "environment", "episode", "randomness", "seed", "images", "actions", "rewards",
    "terminated", "truncated", "end_reason", "episode_return", "applied_actions",
    "start_actions",
]  # fmt: skip


@dataclass(frozen=True)
class RecordedEpisode:
    """An episode as recorded, read from any kind of input (frames as PNG bytes)."""

    game: str
    name: str
    randomness: float
    seed: int
    frames: list[bytes]
    actions: list[int]
    rewards: list[float]
    terminated: list[bool]
    truncated: list[bool]
    applied_actions: list[list[int]]
    start_actions: list[int]
    end_reason: str
    episode_return: float
    lives: list[int]


class RecordedSource:
    """The episodes of an input folder this project wrote, game by game.

    Attributes:
        path: the input folder.
        kind: what it is (:func:`~atari_interleaved.core.folder_kind.folder_kind`).
        sampling: its sampling provenance (``Provenance.to_dict()``: settings, planner,
            recorded ``sample`` command, versions).
        settings: the settings it was sampled with.
        games: its games, in reading order.

    Raises:
        InvalidInputError: for a folder this project did not write, or one that does not
            record its settings (a frame tree of another tool).

    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.kind: FolderKind = require_folder_kind(self.path, "--input-dir")
        self.sampling = _sampling(self.path, self.kind)
        self.settings = EpisodeSettings.from_dict(self.sampling["settings"])
        self._tree: list[EpisodeDir] = []
        self._shards: list[Path] = []
        self._emulators: dict[str, GameEmulator] = {}
        if self.kind == "frame_tree":
            self._tree = scan_tree(self.path).episodes
            self.games = list(dict.fromkeys(episode.game for episode in self._tree))
            self._check_games()
            return
        if self.kind == "direct":
            provenance = read_provenance(self.path)
            shards = direct_shards(self.path, provenance, DEFAULT_MAX_SHARD_BYTES)
            self._shards = shards["interleaved"]
        else:
            self._shards = existing_shards(self.path / "interleaved", "*")
        self.games = list(self.sampling.get("episodes_per_game") or {})
        self._check_games()

    def _check_games(self) -> None:
        """Refuse a game the installed ale-py does not know (a renamed or foreign folder)."""
        known = set(all_games())
        unknown = [game for game in self.games if game not in known]
        if unknown:
            raise InvalidInputError(
                f"--input-dir {str(self.path)!r} holds the game {game_dir_name(unknown[0])!r}, "
                "which names no Atari game of the installed ale-py; remove or rename that "
                "folder (known names: 'atari-interleaved sample --list-envs')"
            )

    def emulator(self, game: str) -> GameEmulator:
        """Return the ROM of ``game`` loaded with the recorded ALE settings (made once)."""
        if game not in self._emulators:
            # Only replayed: the recorded policy (perhaps a plug-in) is not needed.
            self._emulators[game] = GameEmulator(game, replace(self.settings, policy="repeat"))
        return self._emulators[game]

    def action_names(self, game: str) -> list[str]:
        """Return the names of ``game``'s actions, by the index the episodes record."""
        return list(self.emulator(game).action_meanings)

    def episodes(self, game: str) -> Iterator[RecordedEpisode]:
        """Yield the episodes of ``game``, in the order of the input's files."""
        if self.kind == "frame_tree":
            yield from _tree_episodes([episode for episode in self._tree if episode.game == game])
            return
        for episode in _parquet_episodes(self._shards, game):
            lives = self.emulator(game).replay_lives(episode.start_actions, episode.applied_actions)
            yield replace(episode, lives=lives)


def _sampling(input_dir: Path, kind: FolderKind) -> dict[str, Any]:
    """Return the sampling provenance (``Provenance.to_dict()``) of the input, settings known.

    Raises:
        InvalidInputError: if the input does not record its settings.

    """
    if kind == "exported":
        sampling = read_manifest(input_dir).get("generation", {}).get("sampling") or {}
    else:
        sampling = read_provenance(input_dir).to_dict()
    if not isinstance(sampling.get("settings"), dict):
        raise InvalidInputError(
            f"--input-dir {str(input_dir)!r} does not record the settings it was sampled with "
            "(no sampling_config.json), which the export records; export data sampled by "
            "atari-interleaved"
        )
    return sampling


def _tree_episodes(sources: list[EpisodeDir]) -> Iterator[RecordedEpisode]:
    """Yield the episodes of frame folders, checked by the reader."""
    for source in sources:
        episode = read_episode(source)
        metadata = episode.metadata
        if metadata is None:
            raise InvalidInputError(
                f"{source.path}: no episode.json (made by another tool?): "
                "the export needs the recorded rewards, ends and seed"
            )
        if len(metadata.applied_actions) != episode.num_frames:
            raise InvalidInputError(
                f"{source.path / EPISODE_METADATA_NAME} has no applied_actions and "
                "start_actions (written by an older atari-interleaved), which the export "
                "records and cannot make up; sample the episode again with this version"
            )
        yield RecordedEpisode(
            game=episode.game,
            name=episode.name,
            randomness=episode.randomness,
            seed=metadata.seed,
            frames=episode.frames,
            actions=episode.actions,
            rewards=metadata.rewards,
            terminated=metadata.terminated,
            truncated=metadata.truncated,
            applied_actions=metadata.applied_actions,
            start_actions=metadata.start_actions,
            end_reason=metadata.end_reason,
            episode_return=metadata.episode_return,
            lives=metadata.lives,
        )


def _row_episode(row: dict[str, Any], where: Path) -> RecordedEpisode:
    """Return the episode of a row of the ``interleaved`` config."""
    missing = [name for name in _ROW_COLUMNS if row.get(name) is None]
    if missing:
        raise InvalidInputError(
            f"{where}: episode {row.get('episode')!r} has no {', '.join(missing)} (frames of "
            "another tool?): the export needs the recorded rewards, ends and seed"
        )
    count = len(row["images"])
    return RecordedEpisode(
        game=game_from_dir_name(row["environment"]),
        name=row["episode"],
        randomness=row["randomness"],
        seed=row["seed"],
        frames=row["images"],
        actions=row["actions"],
        rewards=row["rewards"],
        # An episode stops at its first terminal or truncated frame: only the last can be.
        terminated=[False] * (count - 1) + [row["terminated"]],
        truncated=[False] * (count - 1) + [row["truncated"]],
        applied_actions=row["applied_actions"],
        start_actions=row["start_actions"],
        end_reason=row["end_reason"],
        episode_return=row["episode_return"],
        lives=[],  # replayed by RecordedSource.episodes
    )


def _parquet_episodes(shards: list[Path], game: str) -> Iterator[RecordedEpisode]:
    """Yield the episodes of ``game`` in ``interleaved`` shards, in file order.

    A row group is read (images included) only when its ``environment`` column holds the game.
    """
    environment = game_dir_name(game)
    for shard in shards:
        file = pq.ParquetFile(shard)
        missing = set(_ROW_COLUMNS) - set(file.schema_arrow.names)
        if missing:
            raise InvalidInputError(
                f"{shard} lacks the columns {sorted(missing)} of the 'interleaved' config; "
                "give data written by atari-interleaved"
            )
        for group in range(file.num_row_groups):
            games = file.read_row_group(group, columns=["environment"]).column(0)
            if environment not in games.to_pylist():
                continue
            rows = file.read_row_group(group, columns=_ROW_COLUMNS)
            rows = rows.filter(pc.equal(rows["environment"], environment))
            for row in rows.to_pylist():
                yield _row_episode(row, shard)
