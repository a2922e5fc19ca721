"""Preview pictures: contact sheet and animated episode, of a tree, an export, a direct folder."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from atari_interleaved.cli import preview as preview_command
from atari_interleaved.cli.app import main as cli_main
from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.publishing.preview import (
    ANIMATION_NAME,
    CONTACT_SHEET_NAME,
    MAX_ANIMATION_FRAMES,
    PreviewFrames,
    animation_frames,
    contact_sheet,
    environment_label,
    write_previews,
    write_previews_of,
)
from tests.fixtures.frame_trees import ALIEN_EPISODE, FRAMES, GAMES
from tests.fixtures.paths import REPO
from tests.fixtures.png_utils import palette_header_png


def frame(tree, index):
    return (tree / ALIEN_EPISODE / f"frame_{index:06d}.png").read_bytes()


def gif_milliseconds(path) -> int:
    """The GIF's playing time: Pillow merges identical consecutive frames, adding up their
    durations, so the time tells how many frames it holds (15 a second: 200 ms every 3)."""
    gif = Image.open(path)
    durations = []
    for index in range(gif.n_frames):
        gif.seek(index)
        durations.append(gif.info["duration"])
    return sum(durations)


def test_contact_sheet_tiles_frames_with_captions(frame_tree):
    tiles = [(f"Game {i}", frame(frame_tree, i)) for i in range(3)]
    sheet = contact_sheet(tiles, columns=2)
    assert sheet.mode == "RGB"
    assert sheet.width > 2 * 160 and sheet.height > 2 * 210  # 2 rows of 2, with captions
    first = Image.open(frame_tree / ALIEN_EPISODE / "frame_000000.png").convert("RGB")
    assert sheet.crop((4, 4, 164, 214)).tobytes() == first.tobytes()


def test_animation_is_enlarged_and_capped(frame_tree):
    frames = [frame(frame_tree, i) for i in range(FRAMES)]
    images = animation_frames(frames, max_frames=5, scale=2)
    assert len(images) == 5 and images[0].size == (320, 420)
    with pytest.raises(InvalidInputError, match="no frames"):
        animation_frames([])
    with pytest.raises(InvalidInputError, match="no frames"):
        contact_sheet([])


def test_previews_of_a_tree_and_of_its_export_are_identical(frame_tree, exported_folder, tmp_path):
    from_tree = write_previews_of(frame_tree, tmp_path / "a")
    from_export = write_previews_of(exported_folder, tmp_path / "b")
    assert from_tree == from_export
    assert from_tree.episode_label == "Alien, episode_000_rand0.2"
    for name in (CONTACT_SHEET_NAME, ANIMATION_NAME):
        data = (tmp_path / "a" / name).read_bytes()
        assert data == (tmp_path / "b" / name).read_bytes()
        assert data == (exported_folder / name).read_bytes()
    assert Image.open(tmp_path / "a" / ANIMATION_NAME).size == (320, 420)
    assert gif_milliseconds(tmp_path / "a" / ANIMATION_NAME) == 800  # 12 frames at 15 a second
    sheet = Image.open(tmp_path / "a" / CONTACT_SHEET_NAME)
    assert sheet.width > len(GAMES) * 160


def test_the_caption_says_which_frames_the_gif_holds(frame_tree, exported_folder, tmp_path):
    frames = [frame(frame_tree, i % FRAMES) for i in range(MAX_ANIMATION_FRAMES + 10)]
    long = write_previews(
        PreviewFrames([("Alien", frames[0])], "Alien, episode_000_rand0.2", frames), tmp_path
    )
    assert long.animation_caption == (
        "The first 150 of the 160 frames of an episode of Alien (episode_000_rand0.2)"
    )
    assert gif_milliseconds(tmp_path / ANIMATION_NAME) == 150 // 3 * 200
    card = (exported_folder / "README.md").read_text()
    assert "*The 12 frames of an episode of Alien (episode_000_rand0.2), played back at 15" in card
    assert gif_milliseconds(exported_folder / ANIMATION_NAME) == 12 // 3 * 200


def test_the_help_and_docs_give_the_animations_length():
    said = f"at most its first {MAX_ANIMATION_FRAMES} frames"
    assert said in preview_command.DESCRIPTION
    assert said in (REPO / "docs" / "export.md").read_text()


def test_preview_writes_beside_its_source_by_default(tree_copy, capsys):
    assert cli_main(["preview", str(tree_copy)]) == 0
    beside = tree_copy.parent
    assert (beside / CONTACT_SHEET_NAME).is_file() and (beside / ANIMATION_NAME).is_file()
    assert not Path(CONTACT_SHEET_NAME).exists()  # not in the current folder
    out = capsys.readouterr().out
    assert f"Wrote {beside / CONTACT_SHEET_NAME} and {beside / ANIMATION_NAME}." in out
    assert "episode.gif: The 12 frames of an episode of Alien (episode_000_rand0.2)." in out


def test_preview_command(frame_tree, tmp_path, capsys):
    assert cli_main(["preview", str(frame_tree), "--output-dir", str(tmp_path)]) == 0
    assert (tmp_path / CONTACT_SHEET_NAME).is_file() and (tmp_path / ANIMATION_NAME).is_file()
    assert "contact_sheet.png" in capsys.readouterr().out
    missing = ["preview", str(tmp_path / "missing"), "--output-dir", str(tmp_path / "out")]
    assert cli_main(missing) == 2
    assert "does not exist" in capsys.readouterr().err


def test_preview_keeps_existing_pictures_unless_overwrite(frame_tree, tmp_path, capsys):
    (tmp_path / "previews").mkdir()
    (tmp_path / ANIMATION_NAME).write_bytes(b"my own gif")
    argv = ["preview", str(frame_tree), "--output-dir", str(tmp_path)]
    assert cli_main(argv) == 2
    error = capsys.readouterr().err
    assert f"error: '{tmp_path / ANIMATION_NAME}' already exists; pass --overwrite" in error
    assert (tmp_path / ANIMATION_NAME).read_bytes() == b"my own gif"
    assert not (tmp_path / CONTACT_SHEET_NAME).exists()
    assert cli_main([*argv, "--overwrite"]) == 0
    assert (tmp_path / ANIMATION_NAME).read_bytes()[:6] == b"GIF89a"


def test_previews_of_a_direct_folder_are_those_of_its_frame_tree(
    direct_folder, exported_folder, tmp_path
):
    assert cli_main(["preview", str(direct_folder), "--output-dir", str(tmp_path)]) == 0
    for name in (CONTACT_SHEET_NAME, ANIMATION_NAME):
        assert (tmp_path / name).read_bytes() == (exported_folder / name).read_bytes()


def test_environment_label():
    assert environment_label("atari_space_invaders") == "Space Invaders"
    assert environment_label("CustomGame") == "CustomGame"


def test_a_bomb_in_an_exported_shard_is_refused_before_decoding(export_copy, tmp_path):
    shard = export_copy / "interleaved" / "train-00000-of-00001.parquet"
    table = pq.read_table(shard)
    rows = table.to_pylist()
    rows[0]["images"][0] = palette_header_png(30_000, 30_000, 30_000, 3751)
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), shard)
    with pytest.raises(InvalidInputError) as caught:
        write_previews_of(export_copy, tmp_path)
    assert str(caught.value) == (
        f"{shard}: {rows[0]['episode']}, frame 0: 30000x30000 pixels (width x height), but an "
        "Atari frame is 160x210"
    )
