"""What a dataset's ``branches`` config holds, for its card: counts and one branch point drawn.

:func:`branch_summary` reads the ``branches`` shards of an exported folder (their small
columns only), counts the branch points and frames, and draws the first branch point as
``previews/branch_point.png``: the frame, then the next frame under every action of the
game's action set, each labelled with its action (the taken one marked), on one contact
sheet (:func:`~atari_interleaved.publishing.preview.contact_sheet`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from atari_interleaved.core.features import BRANCHES_CONFIG
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.publishing.preview import PREVIEW_DIR, contact_sheet, environment_label
from atari_interleaved.storage.parquet_writer import existing_shards
from atari_interleaved.storage.shard_check import open_shard

__all__ = ["BRANCH_POINT_NAME", "BranchSummary", "branch_summary"]

BRANCH_POINT_NAME = f"{PREVIEW_DIR}/branch_point.png"
_KEYS = ["environment", "episode", "frame_number"]


@dataclass(frozen=True)
class BranchSummary:
    """The branches of a dataset: how many points and frames, and the picture of one."""

    points: int
    frames: int
    every: int
    steps: int
    picture: str
    """The branch point's picture, relative to the folder (POSIX)."""
    caption: str


def _point_tiles(folder: Path, shard: Path) -> tuple[list[tuple[str, bytes]], str]:
    """Return the tiles of the first branch point of ``shard`` and its caption."""
    first = pq.ParquetFile(shard).read_row_group(0)
    point = {key: first[key][0].as_py() for key in _KEYS}
    chosen = first.filter(
        pc.and_(
            pc.and_(
                pc.equal(first["environment"], point["environment"]),
                pc.equal(first["episode"], point["episode"]),
            ),
            pc.and_(
                pc.equal(first["frame_number"], point["frame_number"]), pc.equal(first["step"], 1)
            ),
        )
    )
    frame = None
    for simple in existing_shards(folder / "simple", "*"):
        rows = pq.read_table(simple, columns=[*_KEYS, "image"])
        mask = pc.and_(
            pc.and_(
                pc.equal(rows["environment"], point["environment"]),
                pc.equal(rows["episode"], point["episode"]),
            ),
            pc.equal(rows["frame_number"], point["frame_number"]),
        )
        found = rows.filter(mask)
        if found.num_rows:
            frame = found["image"][0].as_py()
            break
    tiles = [] if frame is None else [(f"frame {point['frame_number']}", frame)]
    for row in chosen.select(["action", "taken", "image"]).to_pylist():
        tiles.append((f"{row['action']}{' (taken)' if row['taken'] else ''}", row["image"]))
    game = environment_label(point["environment"])
    caption = (
        f"A branch point of {game} ({point['episode']}, frame {point['frame_number']}): the "
        "frame, then the next frame under every action of the game's action set"
    )
    return tiles, caption


def branch_summary(folder: Path, settings: EpisodeSettings) -> BranchSummary:
    """Count the branches of an exported folder and draw its first branch point.

    Args:
        folder: the staging folder of an export (its ``branches`` and ``simple`` shards
            written; the picture is written there).
        settings: the run's settings (``--branch-every``, ``--branch-steps``).

    """
    shards = existing_shards(folder / BRANCHES_CONFIG, "*")
    points = frames = 0
    for shard in shards:
        keys = open_shard(shard).read(columns=_KEYS)
        frames += keys.num_rows
        points += keys.group_by(_KEYS).aggregate([]).num_rows if keys.num_rows else 0
    picture, caption = "", ""
    if frames:
        first = next(shard for shard in shards if pq.read_metadata(shard).num_rows)
        tiles, caption = _point_tiles(folder, first)
        path = folder / BRANCH_POINT_NAME  # in the export's staging folder, renamed whole
        path.parent.mkdir(exist_ok=True)
        contact_sheet(tiles).save(path, format="PNG")
        picture = BRANCH_POINT_NAME
    return BranchSummary(
        points, frames, settings.branch_every, settings.branch_steps, picture, caption
    )
