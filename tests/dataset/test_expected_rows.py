"""Every path that makes rows gives the hand-written rows of tests/fixtures/handmade_tree.py."""

from __future__ import annotations

from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest

from atari_interleaved.core.features import CONFIG_NAMES, image_columns
from atari_interleaved.dataset.builder import load_frames
from atari_interleaved.dataset.convert import convert
from atari_interleaved.dataset.reader import read_episodes, scan_tree
from atari_interleaved.generate.chunks import Chunk
from atari_interleaved.generate.parquet_store import ParquetStore
from atari_interleaved.publishing.export import export
from tests.fixtures.handmade_tree import EXPECTED, write_handmade_tree


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_handmade_tree(tmp_path_factory.mktemp("handmade") / "sampled_frames_organized")


def with_png_bytes(rows: list[dict], config: str) -> list[dict]:
    """Rows of datasets' arrow data, each image ``{"bytes", "path"}`` replaced by its bytes."""
    for row in rows:
        for column in image_columns(config):
            value = row[column]
            row[column] = [v["bytes"] for v in value] if isinstance(value, list) else value["bytes"]
    return rows


def shard_rows(folder: Path) -> list[dict]:
    return [
        row
        for shard in sorted(folder.glob("*.parquet"))
        for row in pq.read_table(shard).to_pylist()
    ]


@pytest.mark.parametrize("config", CONFIG_NAMES)
def test_convert_writes_the_expected_rows(tree, tmp_path, config):
    convert(tree, tmp_path / "out.parquet", config)
    assert pq.read_table(tmp_path / "out.parquet").to_pylist() == EXPECTED[config]


@pytest.mark.parametrize("config", CONFIG_NAMES)
@pytest.mark.parametrize("streaming", [False, True])
def test_the_builder_gives_the_expected_rows(tree, tmp_path, config, streaming):
    split = load_frames(tree, config, cache_dir=tmp_path, streaming=streaming)["train"]
    rows = list(split.decode(False)) if streaming else split.data.table.to_pylist()
    assert with_png_bytes(rows, config) == EXPECTED[config]


@pytest.mark.parametrize("config", CONFIG_NAMES)
def test_the_export_and_datasets_reading_it_give_the_expected_rows(tree, tmp_path, config):
    folder = tmp_path / "hub"
    export(tree, folder)
    assert shard_rows(folder / config) == EXPECTED[config]
    for streaming in (False, True):
        split = datasets.load_dataset(
            str(folder), config, split="train", streaming=streaming, cache_dir=str(tmp_path)
        )
        rows = list(split.decode(False)) if streaming else split.data.table.to_pylist()
        assert with_png_bytes(rows, config) == EXPECTED[config], streaming


def test_the_direct_modes_shards_hold_the_expected_rows(tree, tmp_path):
    """The writer of ``sample --to-parquet`` turns the same episodes into the same rows."""
    chunks = [Chunk("pong", (0,), 0.5), Chunk("space_invaders", (1,), 0.2)]
    store = ParquetStore(tmp_path, chunks)
    for chunk, episode in zip(chunks, read_episodes(scan_tree(tree).episodes), strict=True):
        with store.chunk_writer(chunk) as write:
            write(episode)
    for config in CONFIG_NAMES:
        assert shard_rows(tmp_path / config) == EXPECTED[config]
