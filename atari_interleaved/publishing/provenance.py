"""How sampled data was made: its sampling settings, games, ROMs, and the command to redo it.

For the dataset card and the manifest. A frame tree's provenance is read from its
``sampling_config.json`` and its episodes' ``episode.json`` files (not the frames); trees
made by other tools in the same layout have neither file, and their provenance is then the
games and episode counts only. A direct folder (written by ``sample --to-parquet``) records
everything in its ``sampling_config.json``: the settings, the shard plan (which gives the
games and episodes), the environments, ROM checksums and library versions.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from atari_interleaved.core.episode import read_metadata
from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.core.features import ALL_CONFIG_NAMES, CONFIG_NAMES, ConfigName
from atari_interleaved.core.folder_kind import require_folder_kind
from atari_interleaved.core.layout import (
    EPISODE_METADATA_NAME,
    GAME_DIR_PREFIX,
    SAMPLING_CONFIG_NAME,
)
from atari_interleaved.core.sampling_config import SamplingConfig, read_sampling_config
from atari_interleaved.core.settings import EpisodeSettings, command_arguments
from atari_interleaved.dataset.reader import OnBadEpisodes, scan_tree
from atari_interleaved.generate.parquet_store import (
    default_episodes_per_shard,
    plan_shards,
    shard_plan,
)
from atari_interleaved.storage.lock import check_not_in_use

__all__ = [
    "Provenance",
    "read_provenance",
]


@dataclass
class Provenance:
    """What is known of how a frame tree or a direct folder was sampled.

    Attributes:
        tree_name: the folder's name (``sampled_frames_organized``), never a full path.
        settings: the ``EpisodeSettings`` of ``sampling_config.json`` as a dict, or None.
        episodes_per_game: the number of episode folders of each game, by ROM id.
        max_episodes: one more than the highest episode number (``--max-episodes``).
        env_ids: the gymnasium id of each game (``ALE/Alien-v5``), from the metadata.
        rom_md5: the md5 of each game's ROM, from the metadata.
        sampling_versions: the distinct library versions recorded by the sampler.
        to_parquet: sampled straight into parquet shards (``sample --to-parquet``).
        episodes_per_shard: with ``to_parquet``, the ``--episodes-per-shard`` of the run
            when it was not the default, else None.
        planner: the built-in planner's algorithm and version that ``sampling_config.json``
            records (``generate.search.ALGORITHM``), "" when none played.

    """

    tree_name: str
    settings: dict[str, Any] | None = None
    episodes_per_game: dict[str, int] = field(default_factory=dict)
    max_episodes: int = 0
    env_ids: dict[str, str] = field(default_factory=dict)
    rom_md5: dict[str, str] = field(default_factory=dict)
    sampling_versions: list[dict[str, str]] = field(default_factory=list)
    to_parquet: bool = False
    episodes_per_shard: int | None = None
    planner: str = ""

    @property
    def games(self) -> list[str]:
        """The games of the tree (ROM ids), in reading order."""
        return list(self.episodes_per_game)

    def sample_command(self) -> str | None:
        """Return the ``atari-interleaved sample`` command that makes this data again.

        None when the tree has no ``sampling_config.json`` (other tools' trees).
        """
        if self.settings is None:
            return None
        arguments = [
            "atari-interleaved", "sample",
            "--envs", ",".join(self.games),
            "--max-episodes", str(self.max_episodes),
            *command_arguments(EpisodeSettings.from_dict(self.settings)),
        ]  # fmt: skip
        if self.to_parquet:
            arguments.append("--to-parquet")
        if self.episodes_per_shard is not None:
            arguments += ["--episodes-per-shard", str(self.episodes_per_shard)]
        arguments += ["--output-dir", self.tree_name]
        return shlex.join(arguments)

    @property
    def configs(self) -> tuple[ConfigName, ...]:
        """The configs of the data: ``branches`` too when sampled with ``--branch-every``."""
        if self.settings is not None and self.settings.get("branch_every"):
            return ALL_CONFIG_NAMES
        return CONFIG_NAMES

    def to_dict(self) -> dict[str, Any]:
        """Return the provenance as JSON-able data, with the sample command."""
        return {**asdict(self), "sample_command": self.sample_command()}


def _read_direct(root: Path, config: SamplingConfig) -> Provenance:
    """Return the provenance of a direct folder from its config, its shard plan checked."""
    plan = shard_plan(config, root / SAMPLING_CONFIG_NAME)
    games = list(dict.fromkeys(chunk.game for chunk in plan))
    max_episodes = max(i + 1 for chunk in plan for i in chunk.indices)
    provenance = Provenance(
        tree_name=root.name,
        settings=config.settings.to_dict(),
        episodes_per_game={game: 0 for game in games},
        max_episodes=max_episodes,
        env_ids={game: config.env_ids[game] for game in games},
        rom_md5={game: config.rom_md5[game] for game in games},
        sampling_versions=[dict(config.versions)],
        to_parquet=True,
        planner=config.planner,
    )
    for chunk in plan:
        provenance.episodes_per_game[chunk.game] += len(chunk.indices)
    per_shard = max(len(chunk.indices) for chunk in plan)
    levels = config.settings.levels
    default = default_episodes_per_shard(
        config.settings.frame_cap, max_episodes, len(games) * len(levels)
    )
    if plan_shards(games, levels, max_episodes, default) != plan:
        provenance.episodes_per_shard = per_shard
    return provenance


def read_provenance(
    input_dir: str | os.PathLike[str], *, on_bad_episodes: OnBadEpisodes = "error"
) -> Provenance:
    """Read the provenance of a frame tree (or of one ``atari_<game>`` folder of it).

    A direct folder (``sample --to-parquet``) is read from its ``sampling_config.json``
    alone, whether all its shards are written or not.

    Args:
        input_dir: the frame tree or direct folder.
        on_bad_episodes: ``"skip"`` ignores an unreadable ``episode.json`` as the
            conversion skips its episode; ``"error"`` raises.

    Raises:
        InvalidInputError: for an input that is not a frame tree or direct folder, or an
            unreadable config or metadata file (the message names it).

    """
    root = Path(input_dir).resolve()
    kind = require_folder_kind(input_dir, "--input-dir")
    if kind == "exported":
        raise InvalidInputError(
            f"--input-dir {os.fspath(input_dir)!r} is a folder written by 'atari-interleaved "
            "export', not sampled data; give the frame tree or 'sample --to-parquet' folder it "
            "was exported from (or publish it as it is)"
        )
    if kind == "direct":
        check_not_in_use(root, "--input-dir")  # shards a running sample still writes
        return _read_direct(root, read_sampling_config(root))
    tree = scan_tree(input_dir, on_bad_episodes=on_bad_episodes)
    if root.name.startswith(GAME_DIR_PREFIX) and not (root / SAMPLING_CONFIG_NAME).exists():
        root = root.parent
    config = read_sampling_config(root)
    provenance = Provenance(
        tree_name=root.name,
        settings=None if config is None else config.settings.to_dict(),
        planner="" if config is None else config.planner,
    )
    for episode in tree.episodes:
        count = provenance.episodes_per_game.get(episode.game, 0)
        provenance.episodes_per_game[episode.game] = count + 1
        provenance.max_episodes = max(provenance.max_episodes, episode.index + 1)
        path = episode.path / EPISODE_METADATA_NAME
        if not path.is_file():
            continue
        try:
            metadata = read_metadata(path)
        except InvalidInputError:
            if on_bad_episodes == "error":
                raise
            continue
        provenance.env_ids.setdefault(episode.game, metadata.env_id)
        provenance.rom_md5.setdefault(episode.game, metadata.rom_md5)
        if metadata.versions not in provenance.sampling_versions:
            provenance.sampling_versions.append(dict(metadata.versions))
    return provenance
