"""Writing episodes into the frame-folder layout of PIPELINE.md, atomically and resumably.

Each episode is written to a hidden temporary folder beside its final place and renamed
when every file is written, so a folder named ``episode_<NNN>_rand<r>`` is complete when
this sampler wrote it. A run first records its settings in ``sampling_config.json``; a rerun
with the same settings keeps the complete episodes, removes the temporary folders an
interrupted run left behind and samples the rest. A rerun never trusts a folder name: an
episode folder counts as complete only if :func:`episode_problem` finds nothing wrong, and
an incomplete one is moved aside and sampled again (see :meth:`FolderStore.set_aside`).
A rerun with other settings is refused unless ``overwrite`` is asked.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from atari_interleaved.core.branches import (
    BRANCHES_DIR_NAME,
    BRANCHES_METADATA_NAME,
    branch_frame_name,
    branches_from_json,
    branches_to_json,
    parse_branch_frame_name,
)
from atari_interleaved.core.episode import Episode, metadata_to_json, read_metadata
from atari_interleaved.core.errors import InvalidInputError, OutputExistsError
from atari_interleaved.core.features import CONFIG_NAMES
from atari_interleaved.core.layout import (
    EPISODE_METADATA_NAME,
    FRAME_TREE_CONFIG_FORMAT,
    GAME_DIR_PREFIX,
    SAMPLING_CONFIG_NAME,
    TEMP_PREFIX,
    action_file_name,
    episode_dir_name,
    format_action_line,
    frame_file_name,
    game_dir_name,
    parse_frame_file_name,
)
from atari_interleaved.core.sampling_config import SamplingConfig, read_sampling_config
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate.chunks import Chunk
from atari_interleaved.generate.policy import planner_of
from atari_interleaved.storage.atomic import Staged, temporary_path, write_atomically
from atari_interleaved.storage.lock import remove_stale_temporaries
from atari_interleaved.storage.output_check import check_output

__all__ = [
    "FolderStore",
    "INCOMPLETE_PREFIX",
    "episode_problem",
    "settings_differences",
]

INCOMPLETE_PREFIX = ".incomplete-"
"""An incomplete episode folder holding files the layout does not name is kept under this
prefix (hidden, so readers skip it) when its episode is sampled again."""

_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
"""The last 12 bytes of every PNG file (its empty IEND chunk)."""


def settings_differences(recorded: EpisodeSettings, wanted: EpisodeSettings) -> list[str]:
    """Describe each setting that differs between the folder's and the wanted settings.

    Settings read from an older file already have today's defaults for the settings added
    since (:meth:`EpisodeSettings.from_dict`), so they compare field by field.
    """

    def differences(before: dict, after: dict, prefix: str) -> list[str]:
        changed = []
        for key in sorted(after):
            if isinstance(after[key], dict):
                changed += differences(before[key], after[key], f"{prefix}{key}.")
            elif before[key] != after[key]:
                changed.append(f"{prefix}{key}: {before[key]!r} in the folder, {after[key]!r} now")
        return changed

    return differences(recorded.to_dict(), wanted.to_dict(), "")


def episode_problem(folder: Path, *, branches: bool = False) -> str | None:
    """Return what makes an episode folder written by this sampler incomplete, or None.

    Checked without decoding anything: ``episode.json`` is valid, and for each of its
    ``num_frames`` frames the PNG is there and ends with the IEND chunk of a whole PNG, and
    the action file has the size of the action line the metadata records; with
    ``branches``, its ``branches/branches.json`` is valid and every frame it names is whole.
    """
    if not folder.is_dir():
        return f"{folder.name!r} is not a folder"
    try:
        metadata = read_metadata(folder / EPISODE_METADATA_NAME)
        for index in range(metadata.num_frames):
            frame = folder / frame_file_name(index)
            with open(frame, "rb") as file:
                size = os.fstat(file.fileno()).st_size
                if size < len(_PNG_END) or os.pread(file.fileno(), 12, size - 12) != _PNG_END:
                    return f"{frame.name} is truncated"
            action = metadata.actions[index]
            line = format_action_line(action, metadata.action_set[action])
            if (folder / action_file_name(index)).stat().st_size != len(line):
                return f"{action_file_name(index)} does not hold {line!r}"
    except InvalidInputError:
        return f"{EPISODE_METADATA_NAME} is missing or not valid"
    except (IndexError, TypeError):
        return f"{EPISODE_METADATA_NAME} does not match its frames"
    except FileNotFoundError as error:
        return f"{Path(str(error.filename)).name} is missing"
    extra = [
        entry.name
        for entry in os.scandir(folder)
        if (parsed := parse_frame_file_name(entry.name)) and parsed[1] >= metadata.num_frames
    ]
    if extra:
        return f"{min(extra)} is beyond the {metadata.num_frames} frames of its metadata"
    if branches and not (folder / BRANCHES_DIR_NAME).is_dir():
        return f"{BRANCHES_DIR_NAME}/ is missing"
    return _branches_problem(folder / BRANCHES_DIR_NAME) if branches else None


def _branches_problem(folder: Path) -> str | None:
    """Return what makes an episode's ``branches/`` folder incomplete, or None."""

    def whole(name: str) -> bytes:
        with open(folder / name, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size < len(_PNG_END) or os.pread(file.fileno(), 12, size - 12) != _PNG_END:
                raise ValueError(f"{BRANCHES_DIR_NAME}/{name} is truncated")
        return b""

    try:
        text = (folder / BRANCHES_METADATA_NAME).read_text(encoding="utf-8")
        branches_from_json(text, whole)
    except FileNotFoundError as error:
        return f"{BRANCHES_DIR_NAME}/{Path(str(error.filename)).name} is missing"
    except (OSError, ValueError) as error:
        return f"{BRANCHES_DIR_NAME}/{BRANCHES_METADATA_NAME}: {error}"
    return None


def _direct_folder(root: Path, found: Path) -> OutputExistsError:
    return OutputExistsError(
        f"{str(root)!r} holds the parquet shards of 'sample --to-parquet', not a frame tree, "
        "and is never mixed with one (even with --overwrite); choose another --output-dir, or "
        f"delete {str(found)!r} yourself"
    )


class FolderStore:
    """A frame tree on disk: ``<root>/atari_<game>/episode_<NNN>_rand<r>/...``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._branches = False  # whether episodes have branches (set by prepare)

    @property
    def config_path(self) -> Path:
        """Where the tree's settings are recorded."""
        return self.root / SAMPLING_CONFIG_NAME

    def episode_path(self, game: str, index: int, randomness: float) -> Path:
        """Return the final folder of an episode."""
        return self.root / game_dir_name(game) / episode_dir_name(index, randomness)

    def prepare(self, settings: EpisodeSettings, *, overwrite: bool) -> None:
        """Make the root ready for sampling with ``settings``.

        Raises:
            OutputExistsError: if the root holds episodes of other settings (or of unknown
                settings) and ``overwrite`` is False.
            InvalidInputError: if its ``sampling_config.json`` is not valid and ``overwrite``
                is False.

        """
        check_output(self.root, "--output-dir", kind="folder")
        self._branches = settings.branch_every > 0
        wanted = SamplingConfig(FRAME_TREE_CONFIG_FORMAT, settings, planner_of(settings.policy))
        game_dirs = self._game_dirs()
        shards = [self.root / config for config in CONFIG_NAMES if (self.root / config).exists()]
        if shards:
            raise _direct_folder(self.root, shards[0])
        try:
            recorded = read_sampling_config(self.root)
        except InvalidInputError:
            if not overwrite:
                raise
            recorded = None
            self.remove_episodes()
        if recorded is not None and recorded.is_direct:
            raise _direct_folder(self.root, self.config_path)
        if recorded is not None:
            changed = settings_differences(recorded.settings, settings)
            if recorded.format != wanted.format:
                changed.insert(0, f"format: {recorded.format!r} is not {wanted.format!r}")
            if changed and not overwrite:
                raise OutputExistsError(
                    f"{str(self.root)!r} holds episodes sampled with other settings ("
                    + "; ".join(changed)
                    + "). Sample into another --output-dir, rerun with the same settings to "
                    "resume, or pass --overwrite to delete its episodes and start again."
                )
            if changed:
                self.remove_episodes()
        elif game_dirs and not overwrite:
            raise OutputExistsError(
                f"{str(self.root)!r} already holds game folders ({game_dirs[0].name}, ...) but no "
                f"{SAMPLING_CONFIG_NAME}, so their settings are unknown. Sample into another "
                "--output-dir or pass --overwrite to delete them and start again."
            )
        elif game_dirs:
            self.remove_episodes()
        self.root.mkdir(parents=True, exist_ok=True)
        self._remove_temporaries()
        remove_stale_temporaries(self.config_path)  # left by a run killed while writing it
        write_atomically(self.config_path, wanted.to_json())

    def is_complete(self, game: str, index: int, randomness: float) -> bool:
        """Whether the episode's final folder holds the whole episode (see episode_problem)."""
        path = self.episode_path(game, index, randomness)
        return path.is_dir() and episode_problem(path, branches=self._branches) is None

    def set_aside(self, game: str, index: int, randomness: float) -> Path | None:
        """Clear the final name of an incomplete episode so that it can be sampled again.

        The folder is renamed (atomically) to a temporary name, then the files the layout
        names are deleted from it. Anything else in it is the user's: the folder is then
        kept as ``.incomplete-<name>`` beside, and returned; else it is removed.
        """
        final = self.episode_path(game, index, randomness)
        if not final.exists():
            return None
        aside = temporary_path(final)
        os.rename(final, aside)
        if aside.is_dir() and not aside.is_symlink():
            _remove_branches(aside / BRANCHES_DIR_NAME)
            for child in aside.iterdir():
                if child.is_file() and (
                    child.name == EPISODE_METADATA_NAME or parse_frame_file_name(child.name)
                ):
                    child.unlink()
            if not any(aside.iterdir()):
                aside.rmdir()
                return None
        kept = final.with_name(f"{INCOMPLETE_PREFIX}{final.name}")
        suffix = 1
        while kept.exists():
            suffix += 1
            kept = final.with_name(f"{INCOMPLETE_PREFIX}{final.name}-{suffix}")
        os.rename(aside, kept)
        return kept

    @contextmanager
    def chunk_writer(self, chunk: Chunk) -> Iterator[Callable[[Episode], int]]:
        """Give the function writing an episode of ``chunk`` (each episode is its own unit)."""
        yield self.write

    def write(self, episode: Episode) -> int:
        """Write an episode atomically and return the bytes written."""
        final = self.episode_path(episode.game, episode.episode_index, episode.randomness)
        final.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with Staged(final, folder=True, replace=False) as staged:
            folder = os.open(staged.temporary, os.O_RDONLY | os.O_DIRECTORY)
            try:
                for index, frame in enumerate(episode.frames):
                    written += _write(folder, frame_file_name(index), frame)
                    line = episode.action_line(index).encode("ascii")
                    written += _write(folder, action_file_name(index), line)
                if episode.branches:
                    written += _write_branches(folder, episode)
                if episode.metadata is not None:
                    text = metadata_to_json(episode.metadata).encode("utf-8")
                    written += _write(folder, EPISODE_METADATA_NAME, text)
            finally:
                os.close(folder)
        return written

    def remove_episodes(self) -> None:
        """Delete the episodes and temporaries of this tree (only what the layout names)."""
        for game_dir in self._game_dirs():
            for child in sorted(game_dir.iterdir()):
                if child.is_dir() and (
                    child.name.startswith("episode_") or child.name.startswith(TEMP_PREFIX)
                ):
                    shutil.rmtree(child)
            if not any(game_dir.iterdir()):
                game_dir.rmdir()
        if self.config_path.exists():
            self.config_path.unlink()

    def _game_dirs(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(
            path
            for path in self.root.iterdir()
            if path.is_dir() and path.name.startswith(GAME_DIR_PREFIX)
        )

    def _remove_temporaries(self) -> None:
        for game_dir in self._game_dirs():
            for child in game_dir.iterdir():
                if child.name.startswith(TEMP_PREFIX) and child.is_dir():
                    shutil.rmtree(child)


def _write_branches(episode_folder: int, episode: Episode) -> int:
    """Write an episode's ``branches/`` folder in its open (staged) folder; return the bytes."""
    os.mkdir(BRANCHES_DIR_NAME, dir_fd=episode_folder)
    folder = os.open(BRANCHES_DIR_NAME, os.O_RDONLY | os.O_DIRECTORY, dir_fd=episode_folder)
    written = 0
    try:
        for branch in episode.branches:
            for step, frame in enumerate(branch.frames, start=1):
                name = branch_frame_name(branch.frame_number, branch.action, step)
                written += _write(folder, name, frame)
        text = branches_to_json(episode.branches).encode("utf-8")
        written += _write(folder, BRANCHES_METADATA_NAME, text)
    finally:
        os.close(folder)
    return written


def _remove_branches(folder: Path) -> None:
    """Delete the files the layout names from an incomplete episode's ``branches/`` folder."""
    if not folder.is_dir() or folder.is_symlink():
        return
    for child in folder.iterdir():
        if child.is_file() and (
            child.name == BRANCHES_METADATA_NAME or parse_branch_frame_name(child.name)
        ):
            child.unlink()
    if not any(folder.iterdir()):
        folder.rmdir()


def _write(folder: int, name: str, data: bytes) -> int:
    """Write a new file in the open folder ``folder`` (a file descriptor; the cheapest way)."""
    file = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=folder)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(file, view) :]
    finally:
        os.close(file)
    return len(data)
