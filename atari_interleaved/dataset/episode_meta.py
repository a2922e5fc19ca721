"""What is known of each episode of a source, to choose episodes by it (``episodes=``).

An episode's meta is a dict with the keys of :data:`EPISODE_KEYS`:

- ``environment`` (``"atari_pong"``) and ``episode`` (``"episode_000_rand0.2"``): its folders;
- ``seed``: the episode's reset seed; ``policy``: the base policy it was sampled with
  (``"search"``, ``"repeat"`` or a plug-in ``module:factory``); ``randomness``: the share of
  random actions; ``return``: the sum of its rewards; ``length``: its number of frames;
  ``end_reason``: ``"game_over"``, ``"truncated"`` or ``"frame_cap"``.

They come from where the data keeps them, without reading a frame: the ``episode.json`` of
each episode folder of a frame tree; the ``interleaved`` rows of the same split (only their
small columns) for parquet sources, local or on the Hub, with the policy from the recorded
sampling settings (``sampling_config.json`` of a ``sample --to-parquet`` folder, the
``manifest.json`` of an export). What the data does not record (a tree made by another tool
has no ``episode.json``) is None.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from atari_interleaved.core.episode import read_metadata
from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.core.layout import (
    EPISODE_METADATA_NAME,
    MANIFEST_NAME,
    parse_frame_file_name,
)
from atari_interleaved.core.sampling_config import read_sampling_config
from atari_interleaved.dataset.frame_source import FrameSource
from atari_interleaved.dataset.reader import EpisodeDir
from atari_interleaved.storage.parquet_writer import existing_shards

__all__ = ["EPISODE_KEYS", "episode_metas"]

EPISODE_KEYS = (
    "environment",
    "episode",
    "seed",
    "policy",
    "randomness",
    "return",
    "length",
    "end_reason",
)
"""The keys of an episode's meta, in order."""

_INTERLEAVED_COLUMNS = {
    "environment": "environment",
    "episode": "episode",
    "seed": "seed",
    "randomness": "randomness",
    "return": "episode_return",
    "length": "num_frames",
    "end_reason": "end_reason",
}
"""Each key's column of the ``interleaved`` rows (``policy`` comes from the settings)."""


def _tree_meta(unit: EpisodeDir) -> dict[str, Any]:
    path = unit.path / EPISODE_METADATA_NAME
    if path.is_file():
        metadata = read_metadata(path)
        known = {
            "seed": metadata.seed,
            "policy": metadata.policy,
            "randomness": metadata.randomness,
            "return": metadata.episode_return,
            "length": metadata.num_frames,
            "end_reason": metadata.end_reason,
        }
    else:  # a tree of another tool: what the folders say
        names = (parse_frame_file_name(file.name) for file in unit.path.iterdir())
        frames = sum(1 for name in names if name is not None and name[0] == "frame")
        known = dict.fromkeys(("seed", "policy", "return", "end_reason"))
        known |= {"randomness": unit.randomness, "length": frames}
    return {"environment": unit.path.parent.name, "episode": unit.name, **known}


def _read_json(path: str, filesystem: Any) -> Any:
    opened = filesystem.open(path, "rb") if filesystem else open(path, "rb")
    with opened as stream:
        return json.loads(stream.read())


def _recorded_policy(root: str, filesystem: Any) -> str | None:
    """Return the policy the sampling settings of ``root`` record, None if none are found."""
    if filesystem is None:
        config = read_sampling_config(root)
        if config is not None:
            return config.settings.policy
    manifest = posixpath.join(root, MANIFEST_NAME)
    exists = filesystem.exists(manifest) if filesystem else Path(manifest).is_file()
    if not exists:
        return None
    try:
        settings = _read_json(manifest, filesystem)["generation"]["sampling"]["settings"]
        return str(settings["policy"])
    except (ValueError, KeyError, TypeError):  # written by another tool, or no settings
        return None


def episode_metas(source: FrameSource) -> list[dict[str, Any]]:
    """Return the meta of every episode of ``source`` (see the module doc), in source order.

    Raises:
        InvalidInputError: if a parquet source has no ``interleaved`` rows of its split
            (they hold the episodes' metadata), or an ``episode.json`` is unreadable.

    """
    units = source.units
    if units and isinstance(units[0], EpisodeDir):
        return [_tree_meta(unit) for unit in units]
    filesystem = source.filesystem
    root = posixpath.dirname(posixpath.dirname(str(units[0])))  # <root>/simple/<shard>
    if filesystem is None:
        shards = [str(path) for path in existing_shards(Path(root) / "interleaved", source.split)]
    else:
        shards = sorted(filesystem.glob(f"{root}/interleaved/{source.split}-*-of-*.parquet"))
    if not shards:
        raise InvalidInputError(
            f"{source.description} has no interleaved/{source.split}-*.parquet shards, which "
            "hold the episodes' metadata: choosing episodes needs them (export with both configs)"
        )
    policy = _recorded_policy(root, filesystem)
    metas = []
    for shard in shards:
        opened = filesystem.open(shard, "rb") if filesystem else open(shard, "rb")
        with opened as stream:
            rows = pq.read_table(stream, columns=list(_INTERLEAVED_COLUMNS.values())).to_pylist()
        for row in rows:
            meta = {key: row[column] for key, column in _INTERLEAVED_COLUMNS.items()}
            metas.append({**meta, "policy": policy})
    return [{key: meta[key] for key in EPISODE_KEYS} for meta in metas]
