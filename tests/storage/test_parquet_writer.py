from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest

from atari_interleaved.core.features import CONFIG_NAMES, arrow_schema
from atari_interleaved.storage.parquet_writer import ParquetFileWriter, leaf_paths
from tests.fixtures.byte_tables import SCHEMA, table


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
