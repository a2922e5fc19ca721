"""``sampling_config.json``: the settings a frame tree or direct folder was sampled with.

``sample`` writes it first; every command reads it through :func:`read_sampling_config`,
which checks all of it and raises one error naming the file and what is wrong. A frame tree
records its format, settings and the planner that played; a direct folder (``sample
--to-parquet``) adds its shard plan, gymnasium ids, ROM checksums and library versions::

    {"format": "atari-interleaved/sampling-parquet/1", "planner": "",
     "settings": {...}, "shards": [["alien", [0, 1]], ...],
     "env_ids": {"alien": "ALE/Alien-v5"}, "rom_md5": {...}, "versions": {...}}

>>> config = SamplingConfig(FRAME_TREE_CONFIG_FORMAT, EpisodeSettings(policy="repeat"))
>>> config == SamplingConfig.from_json(config.to_json(), "sampling_config.json")
True
>>> SamplingConfig.from_json('{"format": "atari-interleaved/sampling/1"}', "frames/x.json")
Traceback (most recent call last):
...
atari_interleaved.core.errors.InvalidInputError: frames/x.json: not a valid sampling config \
(settings: missing); restore the file, or sample the folder again with --overwrite
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atari_interleaved.core.errors import AtariInterleavedError, InvalidInputError
from atari_interleaved.core.layout import (
    FRAME_TREE_CONFIG_FORMAT,
    PARQUET_CONFIG_FORMAT,
    SAMPLING_CONFIG_NAME,
)
from atari_interleaved.core.settings import EpisodeSettings

__all__ = ["ShardPlan", "SamplingConfig", "read_sampling_config"]

ShardPlan = tuple[tuple[str, tuple[int, ...], float], ...]
"""The episodes of each shard of a direct folder, in shard order: ``(game, indices, level)``.

In the file a shard is ``[game, [episode numbers]]`` when the run has one randomness level
(as before levels came), ``[game, [episode numbers], level]`` when it has several."""

_FORMATS = (FRAME_TREE_CONFIG_FORMAT, PARQUET_CONFIG_FORMAT)
_MAX_BYTES = 64 << 20
"""A config file larger than this is refused unread (a plan of 100k shards is ~3 MB)."""


class _Invalid(Exception):
    """What is wrong in a config, turned into an InvalidInputError naming the file."""


def _names(value: object, key: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _Invalid(f"{key}: not an object of strings")
    return dict(value)


def _plan(value: object, settings: EpisodeSettings) -> ShardPlan:
    levels = settings.levels
    form = (
        "[game, [episode numbers]]"
        if len(levels) == 1
        else "[game, [episode numbers], level] with a level of settings.randomness"
    )

    def shard(item: object) -> tuple[str, tuple[int, ...], float]:
        match item:
            case [str(game), list(indices), *level] if all(
                isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in indices
            ):
                if len(levels) == 1 and not level:
                    return game, tuple(indices), levels[0]
                if len(levels) > 1 and len(level) == 1 and level[0] in levels:
                    return game, tuple(indices), float(level[0])
        raise _Invalid(f"shards: {item!r} is not {form}")

    if not isinstance(value, list) or not value:
        raise _Invalid("shards: not a list of shards")
    return tuple(shard(item) for item in value)


@dataclass(frozen=True)
class SamplingConfig:
    """The content of a ``sampling_config.json``.

    Attributes:
        format: ``atari-interleaved/sampling/1`` (a frame tree) or
            ``atari-interleaved/sampling-parquet/1`` (a direct folder).
        settings: the settings every episode was sampled with.
        planner: the built-in planner's algorithm and version (``generate.search.ALGORITHM``), ""
            when none played.
        shards: a direct folder's shard plan; empty for a frame tree.
        env_ids: a direct folder's gymnasium id of each game.
        rom_md5: a direct folder's md5 of each game's ROM.
        versions: a direct folder's sampling library versions.

    """

    format: str
    settings: EpisodeSettings
    planner: str = ""
    shards: ShardPlan = ()
    env_ids: Mapping[str, str] = field(default_factory=dict)
    rom_md5: Mapping[str, str] = field(default_factory=dict)
    versions: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_direct(self) -> bool:
        """Whether it is the config of a direct folder (``sample --to-parquet``)."""
        return self.format == PARQUET_CONFIG_FORMAT

    def to_dict(self) -> dict[str, Any]:
        """Return the config as written: a frame tree's has no direct-folder keys."""
        data: dict[str, Any] = {
            "format": self.format,
            "settings": self.settings.to_dict(),
            "planner": self.planner,
        }
        if self.is_direct:
            several = len(self.settings.levels) > 1
            data["shards"] = [
                [game, list(indices), *([level] if several else [])]
                for game, indices, level in self.shards
            ]
            data["env_ids"] = dict(self.env_ids)
            data["rom_md5"] = dict(self.rom_md5)
            data["versions"] = dict(self.versions)
        return data

    def to_json(self) -> str:
        """Return the text of the file."""
        return json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, path: str | os.PathLike[str]) -> SamplingConfig:
        """Read the text of the config file ``path``, checking all of it.

        Raises:
            InvalidInputError: naming ``path`` and what is wrong.

        """
        try:
            return cls._from_json(text)
        except _Invalid as error:
            raise InvalidInputError(
                f"{os.fspath(path)}: not a valid sampling config ({error}); restore the file, "
                "or sample the folder again with --overwrite"
            ) from None

    @classmethod
    def _from_json(cls, text: str | bytes) -> SamplingConfig:
        try:
            recorded = json.loads(text)
        except (ValueError, RecursionError) as error:
            raise _Invalid(f"not JSON: {error}") from None
        if not isinstance(recorded, dict):
            raise _Invalid("not a JSON object")
        form = recorded.get("format")
        if form not in _FORMATS:
            raise _Invalid(f"format {form!r} is not one of {', '.join(_FORMATS)}")
        if not isinstance(recorded.get("settings"), dict):
            raise _Invalid(
                "settings: missing" if "settings" not in recorded else "settings: not an object"
            )
        try:
            settings = EpisodeSettings.from_dict(recorded["settings"])
        except (AtariInterleavedError, ValueError, TypeError) as error:
            raise _Invalid(f"settings: {error}") from None
        planner = recorded.get("planner", "")
        if not isinstance(planner, str):
            raise _Invalid("planner: not a string")
        if form == FRAME_TREE_CONFIG_FORMAT:
            return cls(form, settings, planner)
        shards = _plan(recorded.get("shards"), settings)
        env_ids = _names(recorded.get("env_ids"), "env_ids")
        rom_md5 = _names(recorded.get("rom_md5"), "rom_md5")
        for game, _, _ in shards:
            if game not in env_ids or game not in rom_md5:
                raise _Invalid(f"env_ids and rom_md5 must name every game of shards ({game!r})")
        versions = _names(recorded.get("versions"), "versions")
        return cls(form, settings, planner, shards, env_ids, rom_md5, versions)


def read_sampling_config(root: str | os.PathLike[str]) -> SamplingConfig | None:
    """Return the config in ``root/sampling_config.json``, or None if there is none.

    Raises:
        InvalidInputError: if the file exists but is unreadable or not a valid config,
            naming the file and what is wrong.

    """
    path = Path(root) / SAMPLING_CONFIG_NAME
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as file:
            text = file.read(_MAX_BYTES + 1)
    except OSError as error:
        raise InvalidInputError(f"{path}: cannot be read ({error.strerror})") from None
    if len(text) > _MAX_BYTES:
        raise InvalidInputError(
            f"{path}: not a valid sampling config (larger than {_MAX_BYTES >> 20} MiB)"
        )
    return SamplingConfig.from_json(text, path)
