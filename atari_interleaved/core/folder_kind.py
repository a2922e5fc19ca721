"""What a folder holds: one of the three kinds of folder this project writes, or none.

* ``"frame_tree"``: the output of ``sample`` (``atari_<game>/episode_<NNN>_rand<r>/``
  folders), or one ``atari_<game>`` folder of it;
* ``"direct"``: the output of ``sample --to-parquet`` (its ``sampling_config.json`` says so,
  beside ``interleaved/`` and ``simple/`` shards);
* ``"exported"``: the output of ``export`` (it has a ``manifest.json``), local or downloaded.

Commands and the ``datasets`` builder ask :func:`folder_kind` (or :func:`require_folder_kind`,
which names the input and what to give instead) rather than guessing from files each time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.core.layout import GAME_DIR_PREFIX, MANIFEST_NAME
from atari_interleaved.core.sampling_config import read_sampling_config

__all__ = ["FolderKind", "EXPECTED_FOLDERS", "folder_kind", "require_folder_kind"]

FolderKind = Literal["frame_tree", "direct", "exported"]

EXPECTED_FOLDERS = (
    "a frame tree (atari_<game>/episode_<NNN>_rand<r>/ folders: the --output-dir of "
    "'atari-interleaved sample'), a folder of 'sample --to-parquet' (sampling_config.json, "
    f"interleaved/, simple/) or a folder written by 'atari-interleaved export' ({MANIFEST_NAME})"
)
"""The kinds of folder, as an error message lists them."""


def folder_kind(path: str | os.PathLike[str]) -> FolderKind | None:
    """Return what ``path`` holds, or None if it is not a folder this project wrote.

    Reads no more than the folder's entries and its small config file.

    Raises:
        InvalidInputError: if the folder's ``sampling_config.json`` is not valid (naming it).

    """
    root = Path(path)
    if not root.is_dir():
        return None
    if (root / MANIFEST_NAME).is_file():
        return "exported"
    config = read_sampling_config(root)
    if config is not None and config.is_direct:
        return "direct"
    children = [
        entry.name
        for entry in os.scandir(root)
        if not entry.name.startswith(".") and entry.is_dir()
    ]
    if any(name.startswith(GAME_DIR_PREFIX) for name in children):
        return "frame_tree"
    if root.name.startswith(GAME_DIR_PREFIX) and any(
        name.startswith("episode_") for name in children
    ):
        return "frame_tree"
    return None


def require_folder_kind(path: str | os.PathLike[str], name: str = "data_dir") -> FolderKind:
    """Return what ``path`` holds.

    Args:
        path: the folder.
        name: how the input is called in messages (``data_dir``, ``--input-dir``).

    Raises:
        InvalidInputError: naming ``path`` and the folders expected, if it is missing, not
            a folder, or not a folder this project wrote.

    """
    shown = f"{name} {os.fspath(path)!r}"
    if not Path(path).exists():
        raise InvalidInputError(f"{shown} does not exist; give {EXPECTED_FOLDERS}")
    kind = folder_kind(path)
    if kind is None:
        problem = "is not a folder" if not Path(path).is_dir() else "holds nothing of this project"
        raise InvalidInputError(f"{shown} {problem}; give {EXPECTED_FOLDERS}")
    return kind
