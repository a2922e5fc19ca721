"""The datasets builder (datasets >= 4): same rows as convert, stable, sharded, streamed."""

from __future__ import annotations

import logging
import shutil

import datasets
import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

import atari_interleaved
from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError
from atari_interleaved.core.features import CONFIG_NAMES, features, image_columns
from atari_interleaved.dataset.builder import AtariInterleaved, load_frames
from tests.fixtures.frame_trees import ALIEN_EPISODE, FRAMES, ORDER


def as_png_bytes(table: pa.Table, config: str) -> list[dict]:
    """Rows of a datasets arrow table with each image ``{"bytes", "path"}`` as its bytes."""
    rows = table.to_pylist()
    for row in rows:
        for column in image_columns(config):
            value = row[column]
            row[column] = [v["bytes"] for v in value] if isinstance(value, list) else value["bytes"]
    return rows


@pytest.mark.parametrize("config", CONFIG_NAMES)
@pytest.mark.parametrize("num_proc", [None, 2])
def test_builder_rows_equal_convert_rows(frame_tree, converted, tmp_path, config, num_proc):
    dataset = load_frames(frame_tree, config, cache_dir=tmp_path, num_proc=num_proc)["train"]
    assert dataset.features == features(config)
    assert as_png_bytes(dataset.data.table, config) == converted[config]


@pytest.mark.parametrize("config", CONFIG_NAMES)
def test_streaming_gives_the_same_rows(frame_tree, converted, tmp_path, config):
    streamed = load_frames(frame_tree, config, cache_dir=tmp_path, streaming=True)["train"]
    rows = list(streamed.decode(False))
    assert as_png_bytes(pa.Table.from_pylist(rows), config) == converted[config]
    first = next(iter(streamed))
    image = first["images"][0] if config == "interleaved" else first["image"]
    expected = Image.open(frame_tree / ALIEN_EPISODE / "frame_000000.png").convert("RGB")
    assert image.mode == "RGB" and np.array_equal(np.asarray(image), np.asarray(expected))


def test_one_liner_and_order(frame_tree, tmp_path):
    dataset = atari_interleaved.load_frames(frame_tree, cache_dir=tmp_path)
    assert isinstance(dataset, datasets.DatasetDict)
    train = dataset["train"]
    assert [f"{r['environment']}/{r['episode']}" for r in train] == ORDER
    assert train[0]["images"][0].mode == "RGB"
    assert len(train[0]["images"]) == FRAMES


# PIPELINE.md's columns of each format, first and in its order, then the ones this project adds.
COLUMNS = {
    "interleaved": [
        *["inputs", "images", "images_front", "environment", "episode", "num_frames"],
        *["randomness", "env_id", "seed", "actions", "rewards", "episode_return", "terminated"],
        *["truncated", "end_reason", "applied_actions", "start_actions"],
    ],
    "simple": [
        *["environment", "episode", "frame_number", "action", "action_raw", "image"],
        *["action_index", "is_first", "is_last", "reward", "terminated", "truncated", "env_id"],
        *["seed", "applied_actions", "start_actions"],
    ],
}


def test_builder_configs(tmp_path):
    assert AtariInterleaved.DEFAULT_CONFIG_NAME == "interleaved"
    assert [config.name for config in AtariInterleaved.BUILDER_CONFIGS] == ["interleaved", "simple"]
    assert str(AtariInterleaved.VERSION) == "1.0.0"
    for name, columns in COLUMNS.items():
        declared = AtariInterleaved(config_name=name, cache_dir=str(tmp_path)).info.features
        assert list(declared) == columns
        assert declared["episode"] == datasets.Value("string")
    assert declared["image"] == datasets.Image(mode="RGB")
    assert declared["frame_number"] == datasets.Value("int32")


def test_writer_batch_is_small_for_episode_rows(frame_tree, tmp_path):
    sizes = {
        config: AtariInterleaved(
            config_name=config, data_dir=str(frame_tree), cache_dir=str(tmp_path)
        )
        for config in CONFIG_NAMES
    }
    assert sizes["interleaved"]._writer_batch_size <= 8
    assert sizes["simple"]._writer_batch_size >= 100


def test_a_sampled_again_tree_is_read_again(tree_copy, tmp_path):
    assert len(load_frames(tree_copy, "interleaved", cache_dir=tmp_path)["train"]) == len(ORDER)
    shutil.rmtree(tree_copy / ALIEN_EPISODE)
    assert len(load_frames(tree_copy, "interleaved", cache_dir=tmp_path)["train"]) == len(ORDER) - 1


def test_bad_episodes_error_or_skip(tree_copy, tmp_path, caplog):
    (tree_copy / ALIEN_EPISODE / "frame_000004.png").write_bytes(b"not a png")
    with pytest.raises(datasets.exceptions.DatasetGenerationError) as error:
        load_frames(tree_copy, "simple", cache_dir=tmp_path / "a")
    assert isinstance(error.value.__cause__, InvalidInputError)
    assert "frame_000004.png: not a valid PNG" in str(error.value.__cause__)
    with caplog.at_level(logging.WARNING):
        dataset = load_frames(tree_copy, "simple", cache_dir=tmp_path / "b", on_bad_episodes="skip")
    assert len(dataset["train"]) == (len(ORDER) - 1) * FRAMES
    assert "skipped 1 bad episode folder(s)" in caplog.text


def test_data_dir_is_required(tmp_path):
    builder = AtariInterleaved(config_name="simple", cache_dir=str(tmp_path))
    with pytest.raises(InvalidArgumentError, match="data_dir is required"):
        builder.download_and_prepare()


def test_bad_option_values(frame_tree, tmp_path):
    with pytest.raises(InvalidArgumentError, match="on_bad_episodes"):
        load_frames(frame_tree, "simple", cache_dir=tmp_path, on_bad_episodes="ignore")
    with pytest.raises(InvalidArgumentError, match="unknown format/config"):
        load_frames(frame_tree, "pairs", cache_dir=tmp_path)
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_frames(tmp_path / "missing", cache_dir=tmp_path)
