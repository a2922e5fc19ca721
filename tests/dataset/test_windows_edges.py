"""FrameWindows and StreamingFrameWindows at their edges: indices, empty and disordered data,
episodes across row groups, the unshuffled stream and padded starts."""

from __future__ import annotations

import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from atari_interleaved import FrameWindows, StreamingFrameWindows
from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.dataset.frame_cache import FrameCache
from tests.fixtures.frame_trees import EPISODES, FRAMES, GAMES


def key(item) -> tuple[str, str, int]:
    return (item["environment"], item["episode"], item["start_frame"])


def same_item(first, second) -> bool:
    return list(first) == list(second) and all(
        np.array_equal(np.asarray(first[name]), np.asarray(second[name])) for name in first
    )


def simple_table(folder) -> pa.Table:
    [shard] = sorted((folder / "simple").glob("train-*.parquet"))
    return pq.read_table(shard)


def rewrite_simple(folder, table: pa.Table, **options) -> None:
    [shard] = sorted((folder / "simple").glob("train-*.parquet"))
    pq.write_table(table, shard, **options)


def test_negative_indices_count_from_the_end_and_others_raise(exported_folder, tmp_path):
    windows = FrameWindows(exported_folder, 5, stride=3, cache_dir=tmp_path)
    count = len(windows)
    assert count == len(GAMES) * EPISODES * 3  # starts 0, 3, 6 of 12 frames
    assert same_item(windows[-1], windows[count - 1])
    assert same_item(windows[-count], windows[0])
    assert same_item(windows[np.int64(-2)], windows[count - 2])
    assert windows.locate(-1) == (len(GAMES) * EPISODES - 1, 6)
    for index in (count, -count - 1, 10**9):
        with pytest.raises(IndexError):
            windows[index]
    with pytest.raises(TypeError, match="window indices are integers, not float"):
        windows[1.0]
    with pytest.raises(TypeError, match="not slice"):
        windows[0:2]
    shard = windows.shard(1, 2)
    assert same_item(shard[-1], windows[count - 1]) and len(shard) == count // 2
    with pytest.raises(IndexError):
        shard[len(shard)]
    assert [key(item) for item in windows] == [key(windows[i]) for i in range(count)]


def test_an_empty_source_is_refused(export_copy, tmp_path):
    table = simple_table(export_copy)
    rewrite_simple(export_copy, table.slice(0, 0))
    with pytest.raises(InvalidInputError, match="holds no frames"):
        FrameWindows(export_copy, 4, cache_dir=tmp_path / "cache")
    assert not any((tmp_path / "cache").rglob("episodes.json"))  # no cache left as if whole
    assert list(StreamingFrameWindows(export_copy, 4)) == []
    with pytest.raises(InvalidInputError, match="holds no frames"):
        FrameCache.build([], tmp_path / "direct", "nothing")


@pytest.mark.parametrize(
    ("reorder", "message"),
    [
        # The rows of the first episode, then of the second, then the first again.
        (lambda rows: [*rows[:6], *rows[12:24], *rows[6:12], *rows[24:]], "are not consecutive"),
        # Frames 0, 1, 3, 2, ... of the first episode.
        (lambda rows: [*rows[:2], rows[3], rows[2], *rows[4:]], "has frame 3 where frame 2"),
        # An episode without its first frame.
        (lambda rows: rows[1:], "has frame 1 where frame 0 was expected"),
    ],
)
def test_rows_out_of_order_are_refused_naming_the_episode(export_copy, tmp_path, reorder, message):
    table = simple_table(export_copy)
    order = reorder(list(range(table.num_rows)))
    rewrite_simple(export_copy, table.take(order))
    with pytest.raises(InvalidInputError, match=rf"atari_alien/episode_000_rand0\.2 .*{message}"):
        FrameWindows(export_copy, 4, cache_dir=tmp_path / "cache")
    assert not any((tmp_path / "cache").rglob("episodes.json"))
    with pytest.raises(InvalidInputError, match=r"episode_000_rand0\.2 of .* is not whole and in"):
        list(StreamingFrameWindows(export_copy, 4, shuffle_buffer=0))


def test_an_episode_across_row_groups_gives_the_same_windows(
    exported_folder, export_copy, tmp_path
):
    rewrite_simple(export_copy, simple_table(export_copy), row_group_size=5)
    [shard] = sorted((export_copy / "simple").glob("train-*.parquet"))
    assert pq.ParquetFile(shard).num_row_groups == len(GAMES) * EPISODES * FRAMES // 5 + 1
    reference = {
        key(item): item
        for item in FrameWindows(exported_folder, 6, stride=2, cache_dir=tmp_path / "a")
    }
    rebuilt = FrameWindows(export_copy, 6, stride=2, cache_dir=tmp_path / "b")
    streamed = StreamingFrameWindows(export_copy, 6, stride=2, shuffle_buffer=3)
    for items in (list(rebuilt), list(streamed)):
        assert sorted(map(key, items)) == sorted(reference)
        assert all(same_item(item, reference[key(item)]) for item in items)


@pytest.mark.parametrize("shuffle_buffer", [0, 1])
def test_an_unshuffled_stream_gives_the_map_style_order(
    exported_folder, frame_tree, tmp_path, shuffle_buffer
):
    for source in (exported_folder, frame_tree):
        windows = FrameWindows(source, 5, stride=2, cache_dir=tmp_path)
        expected = [windows[index] for index in range(len(windows))]
        for seed, epoch in ((0, 0), (9, 3)):  # no seed or epoch changes the data's order
            stream = StreamingFrameWindows(source, 5, stride=2, shuffle_buffer=shuffle_buffer)
            stream.seed = seed
            stream.set_epoch(epoch)
            items = list(stream)
            assert [key(item) for item in items] == [key(item) for item in expected]
            assert all(same_item(a, b) for a, b in zip(items, expected, strict=True))


@pytest.mark.parametrize(("window", "stride"), [(5, 2), (12, 5), (3, 1)])
def test_a_padded_stream_gives_the_padded_map_style_windows(
    exported_folder, tmp_path, window, stride
):
    windows = FrameWindows(
        exported_folder, window, stride=stride, pad_start=True, cache_dir=tmp_path
    )
    expected = {key(item): item for item in windows}
    assert min(start for _, _, start in expected) == -((window - 1) // stride) * stride
    stream = StreamingFrameWindows(
        exported_folder, window, stride=stride, pad_start=True, shuffle_buffer=4
    )
    items = list(stream)
    assert sorted(map(key, items)) == sorted(expected)
    for item in items:
        assert same_item(item, expected[key(item)])
        padding = max(0, -item["start_frame"])
        assert not item["mask"][:padding].any() and item["mask"][padding:].all()
        assert not item["frames"][:padding].any()


def test_a_copy_of_the_source_reads_the_same(exported_folder, tmp_path):
    """The cache key follows the data: a copy of a folder builds its own cache, same windows."""
    copy = tmp_path / "copy"
    shutil.copytree(exported_folder, copy)
    first = FrameWindows(exported_folder, 4, cache_dir=tmp_path / "cache")
    second = FrameWindows(copy, 4, cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache").iterdir())) == 2
    assert all(same_item(a, b) for a, b in zip(first, second, strict=True))
