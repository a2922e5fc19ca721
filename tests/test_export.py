"""The exported Hub folder: layout, offline loading with datasets and pandas, safe replacement."""

from __future__ import annotations

import io

import datasets
import pandas as pd
import pyarrow.parquet as pq
import pytest
from PIL import Image

import atari_interleaved.export as export_module
from atari_interleaved.cli import main as cli_main
from atari_interleaved.convert import convert
from atari_interleaved.errors import InvalidArgumentError, InvalidInputError, OutputExistsError
from atari_interleaved.export import export
from atari_interleaved.features import CONFIG_NAMES, features
from atari_interleaved.manifest import verify
from tests.export_utils import row_digests
from tests.frame_trees import EPISODES, FRAMES, GAMES
from tests.tree_utils import tree_digest

ROWS = {"interleaved": len(GAMES) * EPISODES, "simple": len(GAMES) * EPISODES * FRAMES}


def test_layout_is_what_push_to_hub_writes(exported_folder):
    assert sorted(tree_digest(exported_folder)) == [
        "README.md",
        "interleaved/train-00000-of-00001.parquet",
        "manifest.json",
        "previews/contact_sheet.png",
        "previews/episode.gif",
        "simple/train-00000-of-00001.parquet",
    ]
    assert verify(exported_folder).ok


@pytest.fixture(scope="module")
def converted(frame_tree, tmp_path_factory):
    """The rows convert writes to one file per config (PIPELINE.md's files)."""
    folder = tmp_path_factory.mktemp("converted")
    rows = {}
    for config in CONFIG_NAMES:
        convert(frame_tree, folder / f"{config}.parquet", config)
        rows[config] = pq.read_table(folder / f"{config}.parquet").to_pylist()
    return rows


@pytest.mark.parametrize("config", CONFIG_NAMES)
def test_load_dataset_offline_gives_images_and_the_converted_rows(
    exported_folder, converted, tmp_path, config
):
    dataset = datasets.load_dataset(str(exported_folder), config, cache_dir=str(tmp_path))
    train = dataset["train"]
    assert train.features == features(config)
    assert train.num_rows == ROWS[config]
    first = train[0]
    image = first["images"][0] if config == "interleaved" else first["image"]
    assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (160, 210)
    assert row_digests(train) == row_digests(converted[config])


@pytest.mark.parametrize("config", CONFIG_NAMES)
def test_streaming_gives_the_same_rows(exported_folder, converted, config):
    stream = datasets.load_dataset(str(exported_folder), config, split="train", streaming=True)
    assert row_digests(stream) == row_digests(converted[config])


def test_pandas_reads_png_bytes_from_the_shards(exported_folder):
    df = pd.read_parquet(exported_folder / "interleaved")
    assert len(df) == ROWS["interleaved"]
    episode = df.iloc[0]
    for entry in episode["inputs"]:
        if entry["type"] == "image_gen":
            frame = Image.open(io.BytesIO(episode["images"][entry["image_index"]]))
            assert frame.mode == "P" and frame.convert("RGB").size == (160, 210)
    simple = pd.read_parquet(exported_folder / "simple")
    assert isinstance(simple["image"][0], bytes) and len(simple) == ROWS["simple"]


def test_export_is_byte_identical_when_repeated(frame_tree, exported_folder, tmp_path):
    again = tmp_path / "atari_interleaved_hub"
    export(frame_tree, again, repo_id="test-user/atari_interleaved")
    assert tree_digest(again) == tree_digest(exported_folder)


def test_small_shards_split_whole_episodes_and_still_load(frame_tree, tmp_path):
    folder = tmp_path / "hub"
    cli_main(["export", "--input-dir", str(frame_tree), "--output-dir", str(folder),
              "--max-shard-bytes", "10kB", "--no-progress"])  # fmt: skip
    shards = sorted(path.name for path in (folder / "interleaved").iterdir())
    assert 1 < len(shards) <= ROWS["interleaved"]
    assert shards[-1] == f"train-{len(shards) - 1:05d}-of-{len(shards):05d}.parquet"
    dataset = datasets.load_dataset(str(folder), "interleaved", cache_dir=str(tmp_path / "c"))
    assert dataset["train"]["episode"] == [f"episode_00{i}_rand0.2" for i in range(2)] * 2


def test_refuses_an_existing_folder_unless_overwrite(frame_tree, export_copy):
    before = tree_digest(export_copy)
    with pytest.raises(OutputExistsError, match="--overwrite"):
        export(frame_tree, export_copy)
    assert tree_digest(export_copy) == before
    export(frame_tree, export_copy, overwrite=True, repo_id="someone/else")
    assert "someone/else" in (export_copy / "README.md").read_text()
    assert verify(export_copy).ok


def test_never_replaces_a_folder_that_is_not_an_export(frame_tree, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(OutputExistsError, match="not a folder written by"):
        export(frame_tree, folder, overwrite=True)
    assert (folder / "notes.txt").read_text() == "keep me"


def test_refuses_an_output_inside_the_input(frame_tree):
    with pytest.raises(InvalidArgumentError, match="overlaps"):
        export(frame_tree, frame_tree / "hub")


def test_interrupted_export_leaves_nothing_and_keeps_the_old_folder(
    frame_tree, export_copy, monkeypatch
):
    before = tree_digest(export_copy)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(export_module, "write_manifest", interrupt)
    with pytest.raises(KeyboardInterrupt):
        export(frame_tree, export_copy, overwrite=True)
    assert tree_digest(export_copy) == before
    assert sorted(path.name for path in export_copy.parent.iterdir()) == [export_copy.name]


def test_skips_bad_episodes_when_asked(tree_copy, tmp_path):
    bad = tree_copy / "atari_pong" / "episode_001_rand0.2"
    (bad / "frame_000003.png").write_bytes(b"not a png")
    with pytest.raises(InvalidInputError, match="frame_000003.png"):
        export(tree_copy, tmp_path / "hub")
    assert not (tmp_path / "hub").exists()
    report = export(tree_copy, tmp_path / "hub", on_bad_episodes="skip")
    assert report.splits["interleaved"].num_examples == ROWS["interleaved"] - 1
    assert "3 episodes" in (tmp_path / "hub" / "README.md").read_text()
