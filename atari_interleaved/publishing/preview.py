"""Preview pictures of a dataset: a contact sheet of one frame per game, and an animated episode.

The pictures are made from a frame tree or from the ``interleaved`` parquet shards of an
exported folder or of a direct folder (``sample --to-parquet``), and written as
``previews/contact_sheet.png`` and ``previews/episode.gif``, which the dataset card shows
by relative path. The animation holds an episode's first :data:`MAX_ANIMATION_FRAMES` frames
at most; :attr:`PreviewFiles.animation_caption` says which.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow.parquet as pq
from PIL import Image, ImageDraw, ImageFont

from atari_interleaved.core.episode import Episode
from atari_interleaved.core.errors import InvalidInputError, OutputExistsError
from atari_interleaved.core.folder_kind import require_folder_kind
from atari_interleaved.core.games import display_name
from atari_interleaved.core.layout import game_from_dir_name
from atari_interleaved.dataset.reader import read_episode, scan_tree
from atari_interleaved.storage.atomic import Staged
from atari_interleaved.storage.lock import check_not_in_use
from atari_interleaved.storage.output_check import check_output
from atari_interleaved.storage.parquet_writer import existing_shards
from atari_interleaved.storage.png_check import frame_problem
from atari_interleaved.storage.shard_check import open_shard, reading_shard

__all__ = [
    "PREVIEW_DIR",
    "CONTACT_SHEET_NAME",
    "ANIMATION_NAME",
    "MAX_ANIMATION_FRAMES",
    "PreviewFrames",
    "PreviewFiles",
    "environment_label",
    "contact_sheet",
    "animation_frames",
    "preview_frames_from_episodes",
    "preview_frames_from_parquet",
    "write_previews",
    "default_output_dir",
    "write_previews_of",
]

PREVIEW_DIR = "previews"
CONTACT_SHEET_NAME = f"{PREVIEW_DIR}/contact_sheet.png"
ANIMATION_NAME = f"{PREVIEW_DIR}/episode.gif"

_LABEL_HEIGHT = 16
_MARGIN = 4
_BACKGROUND = (24, 24, 24)
_TEXT = (230, 230, 230)
_MAX_COLUMNS = 6
_ANIMATION_SCALE = 2
MAX_ANIMATION_FRAMES = 150
"""The animation shows at most an episode's first this many frames (10 s at 15 a second)."""
_FRAME_MS = (70, 70, 60)
"""15 frames a second (GIF durations are in hundredths of a second): real time for ALE's
60 Hz with frameskip 4."""


@dataclass(frozen=True)
class PreviewFrames:
    """The frames the pictures are made of (PNG bytes).

    ``tiles`` holds one ``(label, frame)`` per game for the contact sheet; ``episode`` the
    frames of one episode, named ``episode_label``, for the animation.
    """

    tiles: list[tuple[str, bytes]]
    episode_label: str
    episode: list[bytes]


@dataclass(frozen=True)
class PreviewFiles:
    """Where the pictures were written, and what the animation shows.

    The paths are relative to the output folder (POSIX); the animation holds the first
    ``animation_frames`` of the ``episode_frames`` frames of ``episode_label``.
    """

    contact_sheet: str
    animation: str
    episode_label: str
    animation_frames: int
    episode_frames: int

    @property
    def animation_caption(self) -> str:
        """Which frames the animation holds, for the card.

        >>> PreviewFiles("a.png", "b.gif", "Pong, episode_000_rand0.2", 12, 12).animation_caption
        'The 12 frames of an episode of Pong (episode_000_rand0.2)'
        >>> PreviewFiles("a.png", "b.gif", "Pong, episode_000_rand0.2", 150, 4500).animation_caption
        'The first 150 of the 4,500 frames of an episode of Pong (episode_000_rand0.2)'
        """
        game, _, episode = self.episode_label.partition(", ")
        episode_of = f"an episode of {game} ({episode})" if episode else f"{game}"
        if self.animation_frames == self.episode_frames:
            return f"The {self.episode_frames:,} frames of {episode_of}"
        return (
            f"The first {self.animation_frames:,} of the {self.episode_frames:,} frames of "
            f"{episode_of}"
        )


def environment_label(environment: str) -> str:
    """Return the display name of an ``environment`` value: ``"atari_alien"`` gives ``"Alien"``.

    Values that are not game folder names are returned as they are.
    """
    try:
        return display_name(game_from_dir_name(environment))
    except InvalidInputError:
        return environment


def _decode(frame: bytes) -> Image.Image:
    return Image.open(io.BytesIO(frame)).convert("RGB")


def contact_sheet(tiles: Sequence[tuple[str, bytes]], *, columns: int | None = None) -> Image.Image:
    """Tile one frame per game, each captioned with its label, into one RGB picture.

    Args:
        tiles: ``(label, PNG bytes)`` pairs, in display order.
        columns: tiles per row; up to 6 by default.

    """
    if not tiles:
        raise InvalidInputError("no frames to put on a contact sheet: the dataset is empty")
    images = [(label, _decode(frame)) for label, frame in tiles]
    width = max(image.width for _, image in images)
    height = max(image.height for _, image in images)
    columns = columns or min(len(images), _MAX_COLUMNS)
    rows = math.ceil(len(images) / columns)
    cell_w, cell_h = width + _MARGIN, height + _LABEL_HEIGHT + _MARGIN
    sheet = Image.new("RGB", (columns * cell_w + _MARGIN, rows * cell_h + _MARGIN), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for position, (label, image) in enumerate(images):
        left = _MARGIN + (position % columns) * cell_w
        top = _MARGIN + (position // columns) * cell_h
        sheet.paste(image, (left, top))
        draw.text((left, top + height + 2), label, fill=_TEXT, font=font)
    return sheet


def animation_frames(
    frames: Sequence[bytes],
    *,
    max_frames: int = MAX_ANIMATION_FRAMES,
    scale: int = _ANIMATION_SCALE,
) -> list[Image.Image]:
    """Decode the first ``max_frames`` frames of an episode, enlarged ``scale`` times (nearest)."""
    if not frames:
        raise InvalidInputError("no frames to animate: the episode is empty")
    images = []
    for frame in frames[:max_frames]:
        image = _decode(frame)
        images.append(image.resize((image.width * scale, image.height * scale), Image.NEAREST))
    return images


def preview_frames_from_episodes(episodes: Iterable[Episode]) -> PreviewFrames:
    """Pick the pictures' frames from episodes: the middle frame of each game's first episode.

    The animation shows the first episode seen.
    """
    tiles: dict[str, bytes] = {}
    first: Episode | None = None
    for episode in episodes:
        if first is None:
            first = episode
        if episode.game not in tiles and episode.frames:
            tiles[episode.game] = episode.frames[len(episode.frames) // 2]
    if first is None:
        raise InvalidInputError("no episodes to preview: the frame tree is empty")
    return PreviewFrames(
        tiles=[(display_name(game), frame) for game, frame in sorted(tiles.items())],
        episode_label=f"{display_name(first.game)}, {first.name}",
        episode=list(first.frames),
    )


def preview_frames_from_parquet(folder: Path, config: str = "interleaved") -> PreviewFrames:
    """Pick the pictures' frames from an exported folder's ``<config>/*.parquet`` shards.

    Reads the small ``environment`` column of every shard, then only the row groups holding
    the first episode of each environment.
    """
    shards = existing_shards(Path(folder) / config, "*")
    if not shards:
        raise InvalidInputError(
            f"{str(folder)!r} has no {config}/train-*.parquet shards: give a folder written by "
            "'atari-interleaved export' or a frame tree"
        )
    first_rows: dict[str, tuple[Path, int]] = {}
    for shard in shards:
        with reading_shard(shard):
            environments = pq.read_table(shard, columns=["environment"]).column(0).to_pylist()
        for row, environment in enumerate(environments):
            first_rows.setdefault(environment, (shard, row))
    tiles = []
    episode_label, episode = "", []
    for environment, (shard, row) in sorted(first_rows.items()):
        name, frames = _read_row(shard, row)
        tiles.append((environment_label(environment), frames[len(frames) // 2]))
        if (shard, row) == (shards[0], 0):
            episode_label, episode = f"{environment_label(environment)}, {name}", frames
    return PreviewFrames(tiles=tiles, episode_label=episode_label, episode=episode)


def _read_row(shard: Path, row: int) -> tuple[str, list[bytes]]:
    """Return the episode name and frames of one row, reading only its row group."""
    file = open_shard(shard)
    for group in range(file.num_row_groups):
        rows = file.metadata.row_group(group).num_rows
        if row < rows:
            with reading_shard(shard):
                table = file.read_row_group(group, columns=["episode", "images"]).slice(row, 1)
            name, frames = table.column("episode")[0].as_py(), table.column("images")[0].as_py()
            for position, frame in enumerate(frames):  # checked before Pillow decodes any
                problem = frame_problem(frame)
                if problem is not None:
                    raise InvalidInputError(f"{shard}: {name}, frame {position}: {problem}")
            return name, frames
        row -= rows
    raise InvalidInputError(f"{shard}: has no row {row}")


def write_previews(frames: PreviewFrames, output_dir: Path) -> PreviewFiles:
    """Write the contact sheet (PNG) and the animation (GIF) under ``output_dir/previews/``."""
    output_dir = Path(output_dir)
    (output_dir / PREVIEW_DIR).mkdir(parents=True, exist_ok=True)
    sheet_path = output_dir / CONTACT_SHEET_NAME
    _save_atomically(sheet_path, lambda file: contact_sheet(frames.tiles).save(file, "PNG"))
    images = animation_frames(frames.episode)
    _save_atomically(
        output_dir / ANIMATION_NAME,
        lambda file: images[0].save(
            file,
            "GIF",
            save_all=True,
            append_images=images[1:],
            duration=[_FRAME_MS[i % len(_FRAME_MS)] for i in range(len(images))],
            loop=0,
        ),
    )
    return PreviewFiles(
        contact_sheet=CONTACT_SHEET_NAME,
        animation=ANIMATION_NAME,
        episode_label=frames.episode_label,
        animation_frames=len(images),
        episode_frames=len(frames.episode),
    )


def _save_atomically(path: Path, save: Callable[[BinaryIO], None]) -> None:
    with Staged(path) as staged, open(staged.temporary, "wb") as file:
        save(file)


def default_output_dir(source: Path) -> Path:
    """Return where the pictures of ``source`` go by default: beside it, in the folder holding it.

    >>> str(default_output_dir(Path("/data/sampled_frames_organized/")))
    '/data'
    """
    return Path(os.path.abspath(source)).parent


def write_previews_of(
    source: Path, output_dir: Path | None = None, *, overwrite: bool = False
) -> PreviewFiles:
    """Write the pictures of a frame tree, a folder written by ``export`` or a direct folder.

    They go to ``output_dir/previews/``, by default beside ``source``
    (:func:`default_output_dir`).

    An export or a direct folder is read from its ``interleaved`` parquet shards; a frame
    tree (:func:`~atari_interleaved.core.folder_kind.folder_kind` tells which) from the first
    episode of each game.

    Raises:
        InvalidInputError: if ``source`` is none of those (checked first, naming it).
        OutputExistsError: if a picture exists in ``output_dir`` and ``overwrite`` is False
            (checked before anything is read).

    """
    source = Path(source)
    output_dir = default_output_dir(source) if output_dir is None else Path(output_dir)
    check_output(output_dir, "--output-dir", kind="folder")
    existing = [
        name for name in (CONTACT_SHEET_NAME, ANIMATION_NAME) if (output_dir / name).exists()
    ]
    if existing and not overwrite:
        raise OutputExistsError(
            f"{str(output_dir / existing[0])!r} already exists; pass --overwrite to "
            "replace the preview pictures, or choose another --output-dir"
        )
    if require_folder_kind(source, "SOURCE") != "frame_tree":
        check_not_in_use(source, "SOURCE")  # shards a running sample or export still writes
        frames = preview_frames_from_parquet(source)
    else:
        firsts = {}
        for episode in scan_tree(source).episodes:
            firsts.setdefault(episode.game, episode)
        frames = preview_frames_from_episodes(read_episode(first) for first in firsts.values())
    return write_previews(frames, output_dir)
