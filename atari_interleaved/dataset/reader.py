"""Reading and checking a frame tree (the output of pipeline step 1) episode by episode.

``data_dir`` is the root of a tree (``<root>/atari_<game>/episode_<NNN>_rand<r>/``) or one
game folder (``atari_<game>/episode_<NNN>_rand<r>/``). Games come in folder-name order and
the episodes of a game by randomness, then episode number, so a tree always reads in the
same order. Names starting with ``.`` (including the ``.tmp-`` folders of an interrupted
sampling run) are ignored, and so are files beside the game and episode folders
(``sampling_config.json``); any other folder must follow the layout.

An episode folder holds ``frame_<NNNNNN>.png`` and ``action_<NNNNNN>.txt`` for frames
0..n-1 and, when the sampler of this project wrote it, ``episode.json``. Every file is
checked: frames and action files pair up without gaps, each PNG is a well formed 160x210
palette or RGB frame (:func:`~atari_interleaved.storage.png_check.frame_problem`), each action
line reads ``"<index>: <MEANING>"`` and one index always has the same meaning, and the
metadata agrees with the files. Without ``episode.json`` (trees from other tools in the same
layout) an episode's ``metadata`` is None and its action meanings come from its action files; the
meanings of actions it never took are then unknown and left empty (``""``)::

    tree = scan_tree("sampled_frames_organized")
    for episode in read_episodes(tree.episodes):
        ...
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from atari_interleaved.core.branches import (
    BRANCHES_DIR_NAME,
    BRANCHES_METADATA_NAME,
    Branch,
    branches_from_json,
)
from atari_interleaved.core.episode import Episode, EpisodeMetadata, read_metadata
from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError
from atari_interleaved.core.layout import (
    EPISODE_METADATA_NAME,
    GAME_DIR_PREFIX,
    action_file_name,
    episode_dir_name,
    format_randomness,
    frame_file_name,
    game_dir_name,
    game_from_dir_name,
    parse_action_line,
    parse_episode_dir_name,
    parse_frame_file_name,
)
from atari_interleaved.storage.lock import check_not_in_use
from atari_interleaved.storage.png_check import frame_problem

__all__ = [
    "OnBadEpisodes",
    "ON_BAD_EPISODES",
    "EpisodeDir",
    "BadInput",
    "MAX_FRAME_BYTES",
    "MAX_ACTION_BYTES",
    "MAX_METADATA_BYTES_PER_FRAME",
    "FrameTree",
    "check_on_bad_episodes",
    "scan_tree",
    "read_episode",
    "read_episodes",
    "warn_skipped",
]

logger = logging.getLogger(__name__)

OnBadEpisodes = Literal["error", "skip"]
"""What to do with an episode folder that fails a check: raise, or skip it with a warning."""

ON_BAD_EPISODES: tuple[OnBadEpisodes, ...] = ("error", "skip")


@dataclass(frozen=True)
class EpisodeDir:
    """An episode folder found in a frame tree (not read yet)."""

    path: Path
    game: str
    index: int
    randomness: float

    @property
    def name(self) -> str:
        """The folder name, ``episode_<NNN>_rand<r>``."""
        return self.path.name


@dataclass(frozen=True)
class BadInput:
    """A folder left out of a conversion, and why."""

    path: Path
    problem: str


@dataclass
class FrameTree:
    """The episode folders of a frame tree, in reading order."""

    data_dir: Path
    episodes: list[EpisodeDir]
    skipped: list[BadInput] = field(default_factory=list)

    @property
    def games(self) -> list[str]:
        """The games of the tree, in reading order."""
        return list(dict.fromkeys(episode.game for episode in self.episodes))


def check_on_bad_episodes(value: str) -> OnBadEpisodes:
    """Return ``value`` if it is a valid ``on_bad_episodes`` option.

    Raises:
        InvalidArgumentError: for any other value.

    """
    if value not in ON_BAD_EPISODES:
        raise InvalidArgumentError(
            f"on_bad_episodes must be one of {', '.join(ON_BAD_EPISODES)}, but got {value!r}"
        )
    return value  # type: ignore[return-value]


def _folders(path: Path) -> list[Path]:
    """Return the visible sub-folders of ``path``, sorted by name."""
    return sorted(
        Path(entry.path)
        for entry in os.scandir(path)
        if not entry.name.startswith(".") and entry.is_dir()
    )


def _game_episodes(game_dir: Path, game: str, bad: list[BadInput]) -> list[EpisodeDir]:
    episodes = []
    for path in _folders(game_dir):
        try:
            parsed = parse_episode_dir_name(path.name)
            canonical = episode_dir_name(parsed.index, parsed.randomness)
            if canonical != path.name:
                raise InvalidInputError(
                    f"folder {path.name!r} is not an episode folder: expected {canonical!r} "
                    "(three-digit episode number and the randomness as in 0.2)"
                )
        except InvalidInputError as error:
            bad.append(BadInput(path, f"{path}: {error}"))
            continue
        episodes.append(EpisodeDir(path, game, parsed.index, parsed.randomness))
    return sorted(episodes, key=lambda episode: (episode.randomness, episode.index))


def scan_tree(
    data_dir: str | os.PathLike[str], *, on_bad_episodes: OnBadEpisodes = "error"
) -> FrameTree:
    """List the episode folders of a frame tree, checking the folder names.

    Args:
        data_dir: the root of a frame tree, or one ``atari_<game>`` folder.
        on_bad_episodes: ``"error"`` raises on a folder whose name does not follow the
            layout; ``"skip"`` records it in ``FrameTree.skipped`` and goes on.

    Raises:
        InvalidInputError: if ``data_dir`` is missing, not a folder, holds no episode, or
            (with ``"error"``) holds a folder whose name does not follow the layout.

    """
    check_on_bad_episodes(on_bad_episodes)
    root = Path(data_dir)
    if not root.exists():
        raise InvalidInputError(
            f"input folder {str(root)!r} does not exist; give the folder the sample step "
            "wrote (its --output-dir, sampled_frames_organized by default)"
        )
    if not root.is_dir():
        raise InvalidInputError(f"input {str(root)!r} is not a folder; give a frame tree folder")
    check_not_in_use(root, "input folder")  # a tree a running sample still writes
    if root.resolve().name.startswith(GAME_DIR_PREFIX):  # one game of a tree
        check_not_in_use(root.resolve().parent, "input folder")
    children = _folders(root)
    bad: list[BadInput] = []
    episodes: list[EpisodeDir] = []
    if root.name.startswith(GAME_DIR_PREFIX) and any(
        child.name.startswith("episode_") for child in children
    ):
        episodes = _game_episodes(root, game_from_dir_name(root.name), bad)
    else:
        for game_dir in children:
            try:
                game = game_from_dir_name(game_dir.name)
            except InvalidInputError as error:
                bad.append(BadInput(game_dir, f"{game_dir}: {error}"))
                continue
            episodes += _game_episodes(game_dir, game, bad)
    if bad and on_bad_episodes == "error":
        raise InvalidInputError(bad[0].problem + _skip_hint(len(bad)))
    if not episodes:
        raise InvalidInputError(
            f"input folder {str(root)!r} holds no episode: expected "
            f"{game_dir_name('<game>')}/{episode_dir_name(0, 0.2)}/ folders with frames "
            "(the --output-dir of the sample step), or one game folder"
        )
    return FrameTree(root, episodes, bad)


def _skip_hint(count: int) -> str:
    others = f" ({count - 1} more problems)" if count > 1 else ""
    return (
        f"{others}. Fix or remove it, or skip bad episodes "
        "(--skip-bad-episodes, on_bad_episodes='skip')."
    )


def _bad(path: Path, problem: str) -> InvalidInputError:
    return InvalidInputError(f"{path}: {problem}")


def _list_files(folder: Path) -> tuple[dict[int, str], dict[int, str], bool]:
    """Return the frame and action file names by index, and whether metadata is present.

    The ``branches/`` folder of an episode sampled with ``--branch-every`` is read apart
    (:func:`_read_branches`).
    """
    found: dict[str, dict[int, str]] = {"frame": {}, "action": {}}
    has_metadata = False
    entries = {entry.name: entry for entry in os.scandir(folder)}
    for name in sorted(entries):
        if name.startswith(".") or (name == BRANCHES_DIR_NAME and entries[name].is_dir()):
            continue
        if not entries[name].is_file():
            raise _bad(folder / name, "not a regular file (a folder, a pipe or a device?)")
        if name == EPISODE_METADATA_NAME:
            has_metadata = True
            continue
        parsed = parse_frame_file_name(name)
        if parsed is None:
            raise _bad(
                folder / name,
                "unexpected file in an episode folder: expected frame_<NNNNNN>.png, "
                f"action_<NNNNNN>.txt or {EPISODE_METADATA_NAME}",
            )
        kind, index = parsed
        if index in found[kind]:
            raise _bad(folder / name, f"same {kind} number as {found[kind][index]}")
        found[kind][index] = name
    return found["frame"], found["action"], has_metadata


def _check_pairs(folder: Path, frames: dict[int, str], actions: dict[int, str]) -> int:
    """Check that frames and action files pair up for 0..n-1 and return n."""
    if not frames and not actions:
        raise _bad(folder, "episode folder without frames")
    for index in sorted(set(frames) ^ set(actions)):
        if index in frames:
            raise _bad(
                folder / frames[index], f"frame without its action file {action_file_name(index)}"
            )
        raise _bad(
            folder / actions[index], f"action file without its frame {frame_file_name(index)}"
        )
    count = len(frames)
    if max(frames) != count - 1:
        missing = min(set(range(count)) - set(frames))
        raise _bad(
            folder / frame_file_name(missing),
            f"missing: frame numbers have a gap (the folder has {count} frames, numbered "
            f"up to {max(frames)})",
        )
    return count


MAX_FRAME_BYTES = 1 << 20
"""Largest frame file read: ten times an uncompressed 210x160 RGB PNG."""
MAX_ACTION_BYTES = 256
"""Largest action file read (``"17: DOWNLEFTFIRE"`` is 16 bytes)."""
MAX_METADATA_BYTES_PER_FRAME = 1024
"""Largest ``episode.json`` read: 1 MiB plus this much per frame (about 60 bytes are used)."""
_METADATA_BASE_BYTES = 1 << 20


_FIRST_READ = 1 << 16
"""Bytes asked for by the first read of a file. Frames are 1-3 KB: asking for the whole
limit (1 MiB) at once makes Python allocate, and the kernel map and unmap, a 1 MiB buffer
per file, which cost four times the read itself."""


def _read(path: str, limit: int, kind: str) -> bytes:
    """Return the content of a file of at most ``limit`` bytes (unbuffered: fast on small files).

    Raises:
        InvalidInputError: if the file is larger, before reading more than ``limit + 1`` bytes.

    """
    first = min(limit + 1, _FIRST_READ)
    file = os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # no file object: cheaper per file
    try:
        data = os.read(file, first)
        if len(data) == first and first <= limit:  # a large file: read on, to the limit
            data += os.read(file, limit + 1 - first)
    finally:
        os.close(file)
    if len(data) > limit:
        raise InvalidInputError(f"{path}: too large for {kind} (over {limit} bytes)")
    return data


def _parse_action(folder: Path, name: str, content: bytes) -> tuple[int, str]:
    try:
        return parse_action_line(content.decode("ascii"))
    except UnicodeDecodeError:
        raise _bad(folder / name, "action file is not ASCII text like '8: DOWNRIGHT'") from None
    except InvalidInputError as error:
        raise _bad(folder / name, str(error)) from None


def _action_meanings(
    folder: Path, taken: list[tuple[int, str]], metadata: EpisodeMetadata | None
) -> list[str]:
    """Return the meaning of every action index, checked against the action files."""
    known: dict[int, str] = {}
    for frame, (index, meaning) in enumerate(taken):
        if metadata is None:
            expected = known.setdefault(index, meaning)
            source = "an earlier frame"
        else:
            expected = metadata.action_set[index] if index < len(metadata.action_set) else None
            source = f"{EPISODE_METADATA_NAME} (its action_set)"
        if meaning != expected:
            raise _bad(
                folder / action_file_name(frame),
                f"action {index} is {meaning!r} here but {expected!r} in {source}",
            )
    if metadata is not None:
        return list(metadata.action_set)
    return [known.get(index, "") for index in range(max(known) + 1)]


def _check_metadata(
    source: EpisodeDir, metadata: EpisodeMetadata, num_frames: int, actions: list[int]
) -> None:
    path = source.path / EPISODE_METADATA_NAME
    expected = {
        "game": source.game,
        "episode": source.name,
        "episode_index": source.index,
        "randomness": format_randomness(source.randomness),
        "num_frames": num_frames,
    }
    found = {key: getattr(metadata, key) for key in expected}
    found["randomness"] = format_randomness(metadata.randomness)
    for key, value in expected.items():
        if found[key] != value:
            raise _bad(path, f"says {key}={found[key]!r} but the folder gives {value!r}")
    for frame, (recorded, taken) in enumerate(zip(metadata.actions, actions, strict=True)):
        if recorded != taken:
            raise _bad(
                path,
                f"gives action {recorded} at frame {frame} but {action_file_name(frame)} "
                f"gives {taken}",
            )


def read_episode(source: EpisodeDir) -> Episode:
    """Read and check one episode folder.

    Raises:
        InvalidInputError: naming the first file that is missing, unexpected or malformed.

    """
    folder = source.path
    prefix = os.path.join(folder, "")
    try:
        frame_names, action_names, has_metadata = _list_files(folder)
        count = _check_pairs(folder, frame_names, action_names)
        metadata = None
        if has_metadata:
            limit = _METADATA_BASE_BYTES + MAX_METADATA_BYTES_PER_FRAME * count
            path = folder / EPISODE_METADATA_NAME
            metadata = read_metadata(path, max_bytes=limit)
        frames = []
        taken = []
        parsed: dict[bytes, tuple[int, str]] = {}  # an episode repeats a few action lines
        for index in range(count):
            data = _read(prefix + frame_names[index], MAX_FRAME_BYTES, "a frame")
            problem = frame_problem(data)
            if problem is not None:
                raise _bad(folder / frame_names[index], problem)
            frames.append(data)
            name = action_names[index]
            content = _read(prefix + name, MAX_ACTION_BYTES, "an action file")
            action = parsed.get(content)
            if action is None:
                action = parsed[content] = _parse_action(folder, name, content)
            taken.append(action)
    except OSError as error:
        raise InvalidInputError(
            f"{error.filename or folder}: cannot read ({error.strerror})"
        ) from None
    actions = [index for index, _ in taken]
    meanings = _action_meanings(folder, taken, metadata)
    if metadata is not None:
        _check_metadata(source, metadata, count, actions)
    return Episode(
        game=source.game,
        episode_index=source.index,
        randomness=source.randomness,
        frames=frames,
        actions=actions,
        action_meanings=meanings,
        metadata=metadata,
        branches=_read_branches(folder / BRANCHES_DIR_NAME, count, len(meanings)),
    )


def _read_branches(folder: Path, num_frames: int, num_actions: int) -> list[Branch]:
    """Read and check an episode's ``branches/`` folder ([] when it has none).

    Raises:
        InvalidInputError: naming the file that is missing or malformed, or a branch that
            is not within the episode (its frame, action or steps).

    """
    if not folder.is_dir():
        return []
    prefix = os.path.join(folder, "")

    def frame(name: str) -> bytes:
        data = _read(prefix + name, MAX_FRAME_BYTES, "a frame")
        problem = frame_problem(data)
        if problem is not None:
            raise _bad(folder / name, problem)
        return data

    path = folder / BRANCHES_METADATA_NAME
    try:
        text = _read(
            str(path),
            _METADATA_BASE_BYTES + MAX_METADATA_BYTES_PER_FRAME * num_frames,
            "a branches file",
        ).decode("utf-8")
        branches = branches_from_json(text, frame)
    except OSError as error:
        raise InvalidInputError(
            f"{error.filename or path}: cannot read ({error.strerror})"
        ) from None
    except (ValueError, RecursionError) as error:
        raise _bad(path, f"not a valid branches file ({error})") from None
    for branch in branches:
        if branch.action >= num_actions or branch.frame_number + branch.steps >= num_frames:
            raise _bad(
                path,
                f"its branch of action {branch.action} at frame {branch.frame_number} "
                f"({branch.steps} steps) is not within the episode's {num_frames} frames and "
                f"{num_actions} actions",
            )
    return branches


def read_episodes(
    sources: Iterable[EpisodeDir],
    *,
    on_bad_episodes: OnBadEpisodes = "error",
    skipped: list[BadInput] | None = None,
) -> Iterator[Episode]:
    """Read episode folders in order, raising on a bad one or skipping it.

    Args:
        sources: episode folders, e.g. ``scan_tree(data_dir).episodes``.
        on_bad_episodes: ``"error"`` raises on the first bad episode; ``"skip"`` leaves it
            out and appends it to ``skipped``.
        skipped: receives the skipped episodes (for :func:`warn_skipped`).

    """
    check_on_bad_episodes(on_bad_episodes)
    for source in sources:
        try:
            episode = read_episode(source)
        except InvalidInputError as error:
            if on_bad_episodes == "error":
                raise InvalidInputError(f"{error}{_skip_hint(1)}") from None
            if skipped is not None:
                skipped.append(BadInput(source.path, str(error)))
            continue
        yield episode


def warn_skipped(skipped: Sequence[BadInput]) -> None:
    """Log a warning listing the folders a conversion left out (nothing if none)."""
    if skipped:
        lines = "\n".join(f"  {bad.problem}" for bad in skipped)
        logger.warning("skipped %d bad episode folder(s):\n%s", len(skipped), lines)
