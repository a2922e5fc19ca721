"""Names of the folders and files of a sampled frame tree (PIPELINE.md, step 1).

The layout is the project's interchange format::

    <output-dir>/
    ├── sampling_config.json                 # settings shared by every episode of the tree
    └── atari_<game>/
        └── episode_<NNN>_rand<r>/
            ├── frame_000000.png
            ├── action_000000.txt            # "<index>: <MEANING>", e.g. "8: DOWNRIGHT"
            ├── ...
            └── episode.json                 # per-episode metadata (seed, rewards, versions, ...)

>>> episode_dir_name(0, 0.2)
'episode_000_rand0.2'
>>> parse_action_line("8: DOWNRIGHT")
(8, 'DOWNRIGHT')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError

__all__ = [
    "MANIFEST_NAME",
    "FRAME_TREE_CONFIG_FORMAT",
    "PARQUET_CONFIG_FORMAT",
    "DEFAULT_FRAMES_DIR",
    "DEFAULT_INTERLEAVED_FILE",
    "DEFAULT_SIMPLE_FILE",
    "DEFAULT_HUB_DIR",
    "GAME_DIR_PREFIX",
    "SAMPLING_CONFIG_NAME",
    "EPISODE_METADATA_NAME",
    "TEMP_PREFIX",
    "NUM_ALE_ACTIONS",
    "EpisodeDirName",
    "game_dir_name",
    "game_from_dir_name",
    "MAX_RANDOMNESS_CHARS",
    "format_randomness",
    "check_randomness",
    "episode_dir_name",
    "parse_episode_dir_name",
    "frame_file_name",
    "action_file_name",
    "parse_frame_file_name",
    "format_action_line",
    "parse_action_line",
]

GAME_DIR_PREFIX = "atari_"
SAMPLING_CONFIG_NAME = "sampling_config.json"
EPISODE_METADATA_NAME = "episode.json"
MANIFEST_NAME = "manifest.json"
"""The file of an exported folder listing every file's size and sha256."""
FRAME_TREE_CONFIG_FORMAT = "atari-interleaved/sampling/1"
"""The ``format`` of the ``sampling_config.json`` of a frame tree (``sample``)."""
PARQUET_CONFIG_FORMAT = "atari-interleaved/sampling-parquet/1"
"""The ``format`` of the ``sampling_config.json`` of a direct folder (``sample --to-parquet``)."""
DEFAULT_FRAMES_DIR = "sampled_frames_organized"
"""The frame tree that ``sample`` writes and the other steps read by default."""
DEFAULT_INTERLEAVED_FILE = "atari_training_data.parquet"
"""PIPELINE.md's parquet file of the ``interleaved`` config."""
DEFAULT_SIMPLE_FILE = "atari_training_data_simple.parquet"
"""PIPELINE.md's parquet file of the ``simple`` config."""
DEFAULT_HUB_DIR = "atari_interleaved_hub"
"""The Hub-ready folder that ``export`` and ``build`` write by default."""
TEMP_PREFIX = ".tmp-"
"""Folders and files being written start with this prefix; a complete one is renamed."""
NUM_ALE_ACTIONS = 18
"""Actions of ALE's full action set: an action index is 0..17 (a game's minimal set is smaller)."""

_EPISODE_RE = re.compile(r"^episode_(?P<index>\d{3,})_rand(?P<randomness>\d+(?:\.\d+)?)$")
_FRAME_RE = re.compile(r"^(?P<kind>frame|action)_(?P<index>\d{6,})\.(?P<ext>png|txt)$")
_ACTION_RE = re.compile(r"^(?P<index>\d+): (?P<meaning>[A-Z][A-Z_]*)$")
_GAME_RE = re.compile(r"^[a-z0-9_]+$")

MAX_RANDOMNESS_CHARS = 40
"""Characters the randomness may take in an episode folder name (``0.00001`` takes 7)."""


@dataclass(frozen=True)
class EpisodeDirName:
    """The parts of an episode folder name such as ``episode_000_rand0.2``."""

    index: int
    randomness: float


def game_dir_name(game: str) -> str:
    """Return the folder of a game, ``atari_<game>`` (``game`` is the ALE ROM id: ``alien``)."""
    return f"{GAME_DIR_PREFIX}{game}"


def game_from_dir_name(name: str) -> str:
    """Return the game of a folder named ``atari_<game>``.

    Raises:
        InvalidInputError: if the name does not follow the layout.

    """
    game = name[len(GAME_DIR_PREFIX) :] if name.startswith(GAME_DIR_PREFIX) else ""
    if not _GAME_RE.match(game):
        raise InvalidInputError(
            f"folder {name!r} is not a game folder: expected 'atari_<game>' such as 'atari_alien'"
        )
    return game


def format_randomness(randomness: float) -> str:
    """Format a randomness level as it appears in folder names and texts (``0.2``, ``1.0``).

    The shortest decimal that reads back as the same float, written without an exponent
    (folder names only hold digits and one point), so ``float()`` of it gives it back.

    >>> format_randomness(0.2), format_randomness(1), format_randomness(0.25)
    ('0.2', '1.0', '0.25')
    >>> format_randomness(0.00001), format_randomness(0.1 + 0.2), format_randomness(-0.0)
    ('0.00001', '0.30000000000000004', '0.0')
    """
    text = format(Decimal(repr(float(randomness) + 0.0)), "f")
    return text if "." in text else f"{text}.0"


def check_randomness(randomness: float) -> None:
    """Refuse a randomness level whose folder name would be too long to make.

    Raises:
        InvalidArgumentError: if :func:`format_randomness` gives more than
            ``MAX_RANDOMNESS_CHARS`` characters (values below about 1e-22 with many digits).

    """
    text = format_randomness(randomness)
    if len(text) > MAX_RANDOMNESS_CHARS:
        raise InvalidArgumentError(
            f"--randomness {randomness!r} cannot name episode folders: written without an "
            f"exponent, as folder names need ({text[:12]}...), it takes {len(text)} "
            f"characters, more than {MAX_RANDOMNESS_CHARS}; use 0 or a value with fewer "
            "decimals, such as 1e-20"
        )


def episode_dir_name(index: int, randomness: float) -> str:
    """Return the folder name of episode ``index`` sampled at ``randomness``."""
    return f"episode_{index:03d}_rand{format_randomness(randomness)}"


def parse_episode_dir_name(name: str) -> EpisodeDirName:
    """Parse ``episode_<NNN>_rand<r>``.

    Raises:
        InvalidInputError: if the name does not follow the layout.

    """
    match = _EPISODE_RE.match(name)
    if match is None:
        raise InvalidInputError(
            f"folder {name!r} is not an episode folder: expected 'episode_<NNN>_rand<r>' "
            "such as 'episode_000_rand0.2'"
        )
    return EpisodeDirName(int(match["index"]), float(match["randomness"]))


def frame_file_name(index: int) -> str:
    """Return the file name of frame ``index``: ``frame_000042.png``."""
    return f"frame_{index:06d}.png"


def action_file_name(index: int) -> str:
    """Return the file name of the action taken at frame ``index``: ``action_000042.txt``."""
    return f"action_{index:06d}.txt"


def parse_frame_file_name(name: str) -> tuple[str, int] | None:
    """Return ``("frame" | "action", index)`` for a frame or action file name, else None."""
    match = _FRAME_RE.match(name)
    if match is None or (match["kind"] == "frame") != (match["ext"] == "png"):
        return None
    return match["kind"], int(match["index"])


def format_action_line(index: int, meaning: str) -> str:
    """Return the content of an action file: ``"8: DOWNRIGHT"``."""
    return f"{index}: {meaning}"


def parse_action_line(line: str) -> tuple[int, str]:
    """Parse the content of an action file into ``(index, MEANING)``.

    Surrounding white space (a trailing newline) is ignored.

    Raises:
        InvalidInputError: if the line is not ``"<index>: <MEANING>"``.

    """
    match = _ACTION_RE.match(line.strip())
    if match is None:
        raise InvalidInputError(
            f"action line {line.strip()[:80]!r} is malformed: expected '<index>: <MEANING>' "
            "such as '8: DOWNRIGHT'"
        )
    if len(match["index"]) > 2 or int(match["index"]) >= NUM_ALE_ACTIONS:
        raise InvalidInputError(
            f"action line {line.strip()[:80]!r} gives action {match['index'][:20]}, but ALE "
            f"has {NUM_ALE_ACTIONS} actions (0 to {NUM_ALE_ACTIONS - 1})"
        )
    return int(match["index"]), match["meaning"]
