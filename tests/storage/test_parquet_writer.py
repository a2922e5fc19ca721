from __future__ import annotations

import io
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from atari_interleaved.core.errors import OutputExistsError
from atari_interleaved.core.features import CONFIG_NAMES, arrow_schema
from atari_interleaved.storage.parquet_writer import (
    ParquetFileWriter,
    ShardedParquetWriter,
    leaf_paths,
    shard_name,
)

SCHEMA = pa.schema([("name", pa.string()), ("image", pa.binary())])


def table(rows: int, size: int = 1000, start: int = 0) -> pa.Table:
    return pa.table(
        {
            "name": [f"row{start + i}" for i in range(rows)],
            "image": [os.urandom(size) for _ in range(rows)],
        },
        schema=SCHEMA,
    )


@pytest.mark.parametrize("config", CONFIG_NAMES)
def test_leaf_paths_are_the_parquet_column_paths(config):
    schema = arrow_schema(config)
    buffer = io.BytesIO()
    pq.write_table(schema.empty_table(), buffer)
    written = [column.path for column in pq.ParquetFile(io.BytesIO(buffer.getvalue())).schema]
    assert [path for item in schema for path in leaf_paths(item)] == written


def test_row_groups_are_sized_by_bytes(tmp_path):
    path = tmp_path / "out.parquet"
    with ParquetFileWriter(
        path, SCHEMA, binary_columns=["image"], row_group_bytes=50_000
    ) as writer:
        for index in range(10):
            writer.write(table(8, 1000, start=8 * index))  # about 8 kB a table
        assert not path.exists()
        writer.close()
    metadata = pq.ParquetFile(path).metadata
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert sizes == [56, 24]  # 7 tables pass 50 kB; the rest is the last group
    assert pq.read_table(path)["name"].to_pylist() == [f"row{i}" for i in range(80)]
    image = metadata.row_group(0).column(1)
    assert (image.path_in_schema, image.compression) == ("image", "UNCOMPRESSED")
    assert not image.is_stats_set
    assert metadata.row_group(0).column(0).compression == "ZSTD"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]


def test_an_error_leaves_neither_file_nor_temporary(tmp_path):
    path = tmp_path / "out.parquet"
    with pytest.raises(KeyboardInterrupt):
        with ParquetFileWriter(path, SCHEMA, row_group_bytes=1) as writer:
            writer.write(table(3))
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_shards(tmp_path):
    folder = tmp_path / "ds" / "simple"
    with ShardedParquetWriter(
        folder, SCHEMA, binary_columns=["image"], max_shard_bytes=25_000
    ) as w:
        for index in range(7):
            w.write(table(10, 1000, start=10 * index))  # about 10 kB a table
        assert not folder.exists()
        shards = w.close()
    assert [p.name for p in shards] == [shard_name(i, 4) for i in range(4)]
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == ["simple"]
    assert [pq.read_metadata(p).num_rows for p in shards] == [20, 20, 20, 10]
    assert pq.read_table(folder)["name"].to_pylist() == [f"row{i}" for i in range(70)]


def test_existing_shards_are_kept_unless_overwrite(tmp_path):
    folder = tmp_path / "interleaved"
    with ShardedParquetWriter(folder, SCHEMA, max_shard_bytes=1) as writer:
        for index in range(3):
            writer.write(table(1, start=index))
        writer.close()
    with pytest.raises(OutputExistsError, match="already holds parquet shards"):
        ShardedParquetWriter(folder, SCHEMA)
    (folder / "README.md").write_text("mine")
    with ShardedParquetWriter(folder, SCHEMA, overwrite=True) as writer:
        writer.write(table(2))
        shards = writer.close()
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", shard_name(0, 1)]
    assert shards == [folder / shard_name(0, 1)]


def test_an_interrupted_sharded_write_leaves_the_old_shards(tmp_path):
    folder = tmp_path / "simple"
    with ShardedParquetWriter(folder, SCHEMA) as writer:
        writer.write(table(2))
        writer.close()
    before = sorted(folder.iterdir())
    with pytest.raises(RuntimeError):
        with ShardedParquetWriter(folder, SCHEMA, overwrite=True, max_shard_bytes=1) as writer:
            writer.write(table(5))
            writer.write(table(5))
            raise RuntimeError("disk full")
    assert sorted(folder.iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["simple"]
