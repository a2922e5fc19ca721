"""The one shard writer (export's shards cut by bytes, direct mode's numbered shards) and the
one check of a shard."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from atari_interleaved.storage.shard_check import shard_problem
from atari_interleaved.storage.shard_writer import ShardWriter, by_bytes, by_episodes
from tests.fixtures.byte_tables import SCHEMA, table


def test_shards_cut_by_bytes_appear_whole_when_closed(tmp_path):
    folder = tmp_path / "ds" / "simple"
    with ShardWriter(folder, SCHEMA, by_bytes(25_000), binary_columns=["image"]) as w:
        for index in range(7):
            w.write(table(10, 1000, start=10 * index))  # about 10 kB a table
        assert not folder.exists()
        shards = w.close()
    assert [p.name for p in shards] == [f"train-0000{i}-of-00004.parquet" for i in range(4)]
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == ["simple"]
    assert [pq.read_metadata(p).num_rows for p in shards] == [20, 20, 20, 10]
    assert pq.read_table(folder)["name"].to_pylist() == [f"row{i}" for i in range(70)]


def test_closing_replaces_the_older_shards_of_its_split_only(tmp_path):
    folder = tmp_path / "interleaved"
    for split in ("train", "validation"):
        with ShardWriter(folder, SCHEMA, by_episodes(1), split=split) as writer:
            for index in range(3):
                writer.write(table(1, start=index))
            writer.close()
    (folder / "README.md").write_text("mine")
    with ShardWriter(folder, SCHEMA, by_episodes(1)) as writer:
        writer.write(table(2))
        assert writer.close() == [folder / "train-00000-of-00001.parquet"]
    validation = [f"validation-0000{i}-of-00003.parquet" for i in range(3)]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["README.md", "train-00000-of-00001.parquet", *validation]
    )


def test_an_interrupted_write_leaves_the_old_shards(tmp_path):
    folder = tmp_path / "simple"
    with ShardWriter(folder, SCHEMA, by_bytes(10**9)) as writer:
        writer.write(table(2))
        writer.close()
    before = sorted(folder.iterdir())
    with pytest.raises(RuntimeError, match="disk full"):
        with ShardWriter(folder, SCHEMA, by_bytes(1)) as writer:
            writer.write(table(5))
            writer.write(table(5))
            raise RuntimeError("disk full")
    assert sorted(folder.iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["simple"]


def test_numbered_shards_get_their_final_name_when_each_is_complete(tmp_path):
    folder = tmp_path / "simple"
    with pytest.raises(RuntimeError, match="worker died"):
        with ShardWriter(folder, SCHEMA, by_episodes(2), numbering=(3, 6)) as writer:
            for index in range(3):
                writer.write(table(1, start=index))
            raise RuntimeError("worker died")
    # The first shard (2 episodes) was whole and is kept; the unfinished one is gone.
    assert [p.name for p in folder.iterdir()] == ["train-00003-of-00006.parquet"]
    assert pq.read_table(folder / "train-00003-of-00006.parquet")["name"].to_pylist() == [
        "row0",
        "row1",
    ]
    with ShardWriter(folder, SCHEMA, by_episodes(2), numbering=(4, 6)) as writer:
        writer.write(table(1))
        assert writer.close() == [folder / "train-00004-of-00006.parquet"]


def test_shard_problem_names_what_is_wrong(tmp_path):
    path = tmp_path / "train-00000-of-00001.parquet"
    assert shard_problem(path) == "missing"
    pq.write_table(table(3), path)
    assert shard_problem(path, SCHEMA, 3) is None
    assert shard_problem(path, SCHEMA, 4) == "3 rows, not 4"
    other = pa.schema([("name", pa.string())])
    assert shard_problem(path, other) == (
        "its columns are not those of this dataset (found name, image)"
    )
    path.write_bytes(path.read_bytes()[:-10])
    assert shard_problem(path, SCHEMA).startswith("not a readable parquet file (")
