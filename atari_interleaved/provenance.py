"""How a frame tree was made: its sampling settings, games, ROMs, and the command to redo it.

Read from the tree's ``sampling_config.json`` and its episodes' ``episode.json`` files (not
the frames), for the dataset card and the manifest. Trees made by other tools in the same
layout have neither file; their provenance is then the games and episode counts only.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from atari_interleaved.episode import read_metadata
from atari_interleaved.errors import InvalidInputError
from atari_interleaved.generate.settings import EpisodeSettings
from atari_interleaved.layout import EPISODE_METADATA_NAME, GAME_DIR_PREFIX, SAMPLING_CONFIG_NAME
from atari_interleaved.reader import OnBadEpisodes, scan_tree

__all__ = ["Provenance", "read_provenance", "read_settings"]


@dataclass
class Provenance:
    """What is known of how a frame tree was sampled.

    Attributes:
        tree_name: the tree folder's name (``sampled_frames_organized``), never a full path.
        settings: the ``EpisodeSettings`` of ``sampling_config.json`` as a dict, or None.
        episodes_per_game: the number of episode folders of each game, by ROM id.
        max_episodes: one more than the highest episode number (``--max-episodes``).
        env_ids: the gymnasium id of each game (``ALE/Alien-v5``), from the metadata.
        rom_md5: the md5 of each game's ROM, from the metadata.
        sampling_versions: the distinct library versions recorded by the sampler.

    """

    tree_name: str
    settings: dict[str, Any] | None = None
    episodes_per_game: dict[str, int] = field(default_factory=dict)
    max_episodes: int = 0
    env_ids: dict[str, str] = field(default_factory=dict)
    rom_md5: dict[str, str] = field(default_factory=dict)
    sampling_versions: list[dict[str, str]] = field(default_factory=list)

    @property
    def games(self) -> list[str]:
        """The games of the tree (ROM ids), in reading order."""
        return list(self.episodes_per_game)

    def sample_command(self) -> str | None:
        """Return the ``atari-interleaved sample`` command that makes this tree again.

        None when the tree has no ``sampling_config.json`` (other tools' trees).
        """
        if self.settings is None:
            return None
        settings = self.settings
        ale = settings["ale"]
        arguments = [
            "atari-interleaved", "sample",
            "--envs", ",".join(self.games),
            "--max-episodes", str(self.max_episodes),
            "--frames-per-env", str(settings["frames_per_env"]),
            "--randomness", repr(float(settings["randomness"])),
            "--seed", str(settings["seed"]),
            "--policy", settings["policy"],
            "--png-compress-level", str(settings["png_compress_level"]),
            "--frameskip", str(ale["frameskip"]),
            "--repeat-action-probability", repr(float(ale["repeat_action_probability"])),
            "--max-num-frames-per-episode", str(ale["max_num_frames_per_episode"]),
        ]  # fmt: skip
        if ale["full_action_space"]:
            arguments.append("--full-action-space")
        arguments += ["--output-dir", self.tree_name]
        return shlex.join(arguments)

    def to_dict(self) -> dict[str, Any]:
        """Return the provenance as JSON-able data, with the sample command."""
        return {**asdict(self), "sample_command": self.sample_command()}


def read_settings(tree_root: Path) -> dict[str, Any] | None:
    """Return the settings recorded in ``tree_root/sampling_config.json``, or None if absent.

    Raises:
        InvalidInputError: if the file exists but does not hold valid settings.

    """
    path = tree_root / SAMPLING_CONFIG_NAME
    if not path.is_file():
        return None
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
        return EpisodeSettings.from_dict(recorded["settings"]).to_dict()
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise InvalidInputError(f"{path}: not a valid sampling config ({error!r})") from error


def read_provenance(
    input_dir: str | os.PathLike[str], *, on_bad_episodes: OnBadEpisodes = "error"
) -> Provenance:
    """Read the provenance of a frame tree (or of one ``atari_<game>`` folder of it).

    Args:
        input_dir: the frame tree.
        on_bad_episodes: ``"skip"`` ignores an unreadable ``episode.json`` as the
            conversion skips its episode; ``"error"`` raises.

    """
    tree = scan_tree(input_dir, on_bad_episodes=on_bad_episodes)
    root = Path(input_dir).resolve()
    if root.name.startswith(GAME_DIR_PREFIX) and not (root / SAMPLING_CONFIG_NAME).exists():
        root = root.parent
    provenance = Provenance(tree_name=root.name, settings=read_settings(root))
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
