from __future__ import annotations

import io
import json

import datasets
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image

from atari_interleaved.core.errors import InvalidArgumentError
from atari_interleaved.core.features import (
    CONFIG_NAMES,
    arrow_schema,
    dataset_info_features_yaml,
    features,
    image_columns,
)
from atari_interleaved.dataset.convert import convert, write_config
from tests.fixtures.frame_trees import ALIEN_EPISODE, FRAMES, ORDER, drop_metadata


def write_card(folder, configs=CONFIG_NAMES) -> None:
    """A README.md with the YAML that push_to_hub writes: configs and dataset_info."""
    card = {
        "configs": [
            {"config_name": c, "data_files": [{"split": "train", "path": f"{c}/train-*"}]}
            for c in configs
        ],
        "dataset_info": [
            {"config_name": c, "features": dataset_info_features_yaml(c)} for c in configs
        ],
    }
    (folder / "README.md").write_text(f"---\n{yaml.safe_dump(card, sort_keys=False)}---\n")


def rgb(path) -> Image.Image:
    return Image.open(path).convert("RGB")


@pytest.mark.parametrize("config", CONFIG_NAMES)
def test_yaml_round_trip_keeps_rgb_images(config):
    text = yaml.safe_dump(dataset_info_features_yaml(config))
    restored = datasets.Features._from_yaml_list(yaml.safe_load(text))
    assert restored == features(config)
    for column in image_columns(config):
        image = restored[column].feature if column == "images" else restored[column]
        assert image == datasets.Image(mode="RGB")


@pytest.mark.parametrize("config", CONFIG_NAMES)
def test_parquet_schema_stores_png_bytes(config):
    schema = arrow_schema(config)
    declared = features(config).arrow_schema
    assert schema.names == declared.names
    for field in schema:
        if field.name == "images":
            assert field.type == pa.list_(pa.binary())
        elif field.name in ("images_front", "image"):
            assert field.type == pa.binary()
        else:
            assert field.type == declared.field(field.name).type
    recorded = json.loads(schema.metadata[b"huggingface"])["info"]["features"]
    assert datasets.Features.from_dict(recorded) == features(config)


def test_image_columns():
    assert image_columns("interleaved") == ["images", "images_front"]
    assert image_columns("simple") == ["image"]


def test_unknown_config():
    with pytest.raises(InvalidArgumentError, match="unknown format/config 'pairs'"):
        features("pairs")


def test_pandas_gets_int_image_indexes_and_png_bytes_in_a_mixed_tree(tree_copy, tmp_path):
    drop_metadata(tree_copy / "atari_pong")  # one game with episode.json, one without
    output = tmp_path / "mixed.parquet"
    convert(tree_copy, output, "interleaved")
    frame = pd.read_parquet(output)
    assert list(frame["environment"] + "/" + frame["episode"]) == ORDER
    for _, episode in frame.iterrows():
        images = [
            episode["images"][entry["image_index"]]
            for entry in episode["inputs"]
            if entry["type"] == "image_gen"
        ]
        assert len(images) == episode["num_frames"] == FRAMES
        assert all(
            isinstance(entry["image_index"], (int, np.integer)) for entry in episode["inputs"]
        )
        assert Image.open(io.BytesIO(images[0])).size == (160, 210)
    assert frame["env_id"].tolist()[:2] == ["ALE/Alien-v5"] * 2
    assert frame["env_id"].isna().tolist()[2:] == [True, True]


@pytest.fixture(scope="module")
def hub_folder(frame_tree, tmp_path_factory):
    """A dataset folder: both configs' shards and a README.md with dataset_info."""
    folder = tmp_path_factory.mktemp("hub") / "atari_interleaved"
    for config in CONFIG_NAMES:
        write_config(frame_tree, config, folder)
    write_card(folder)
    return folder


@pytest.mark.parametrize("streaming", [False, True])
def test_load_dataset_folder_with_card_gives_rgb_images(
    hub_folder, frame_tree, tmp_path, streaming
):
    first_frame = rgb(frame_tree / ALIEN_EPISODE / "frame_000000.png")
    last_frame = rgb(frame_tree / ALIEN_EPISODE / f"frame_{FRAMES - 1:06d}.png")
    interleaved = datasets.load_dataset(
        str(hub_folder), "interleaved", cache_dir=str(tmp_path), streaming=streaming
    )["train"]
    episode = next(iter(interleaved))
    assert isinstance(episode["images"][0], Image.Image)
    assert episode["images"][0].mode == "RGB"
    assert np.array_equal(np.asarray(episode["images"][0]), np.asarray(first_frame))
    assert np.array_equal(np.asarray(episode["images"][-1]), np.asarray(last_frame))
    assert np.array_equal(np.asarray(episode["images_front"]), np.asarray(first_frame))
    simple = datasets.load_dataset(
        str(hub_folder), "simple", cache_dir=str(tmp_path), streaming=streaming
    )["train"]
    row = next(iter(simple))
    assert row["image"].mode == "RGB"
    assert np.array_equal(np.asarray(row["image"]), np.asarray(first_frame))
    if not streaming:
        assert len(simple) == sum(interleaved["num_frames"]) == len(ORDER) * FRAMES


def test_load_parquet_files_with_features(hub_folder, tmp_path):
    files = sorted(str(path) for path in (hub_folder / "simple").glob("*.parquet"))
    dataset = datasets.load_dataset(
        "parquet", data_files=files, features=features("simple"), cache_dir=str(tmp_path)
    )["train"]
    assert dataset.features == features("simple")
    assert dataset[0]["image"].mode == "RGB"
    assert dataset[0]["action_raw"] == f"{dataset[0]['action_index']}: {dataset[0]['action']}"


def test_pandas_reads_png_bytes_from_the_shards(hub_folder):
    table = pq.read_table(hub_folder / "simple")
    frame = table.to_pandas()
    assert isinstance(frame["image"][0], bytes)
    assert len(frame) == len(ORDER) * FRAMES
