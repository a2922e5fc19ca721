"""FrameWindows and StreamingFrameWindows: window contents against the `simple` rows."""

from __future__ import annotations

import io
import pickle

import huggingface_hub
import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from atari_interleaved import FrameWindows, StreamingFrameWindows
from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError
from atari_interleaved.core.palette import NTSC_PALETTE
from atari_interleaved.core.splits import split_plan
from atari_interleaved.publishing.export import export
from atari_interleaved.publishing.publish import publish
from tests.fixtures.export_utils import REPO_ID
from tests.fixtures.frame_trees import EPISODES, FRAMES, GAMES, drop_metadata

pytestmark = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning"
)


def simple_rows(folder, split="train") -> dict[tuple[str, str], list[dict]]:
    """The `simple` rows of a folder's split, per episode, images decoded with Pillow."""
    episodes: dict[tuple[str, str], list[dict]] = {}
    for shard in sorted((folder / "simple").glob(f"{split}-*.parquet")):
        for row in pq.read_table(shard).to_pylist():
            row["rgb"] = np.asarray(Image.open(io.BytesIO(row["image"])).convert("RGB"))
            episodes.setdefault((row["environment"], row["episode"]), []).append(row)
    return episodes


@pytest.fixture(scope="module")
def rows(exported_folder):
    return simple_rows(exported_folder)


def by_key(items) -> dict[tuple[str, str, int], dict]:
    return {(item["environment"], item["episode"], item["start_frame"]): item for item in items}


def assert_same_items(items, expected) -> None:
    items = by_key(items)
    assert set(items) == set(expected)
    for key, item in items.items():
        assert list(item) == list(expected[key])
        for name, value in item.items():
            assert np.array_equal(np.asarray(value), np.asarray(expected[key][name])), (key, name)


def expected_starts(length: int, window: int, stride: int, pad_start: bool) -> list[int]:
    """Window starts by the definition: multiples of stride, some real frame, no overrun."""
    lowest = -window + 1 if pad_start else 0
    return [s for s in range(lowest, length) if s % stride == 0 and s + window <= length]


@pytest.mark.parametrize(
    ("window", "stride", "pad_start"), [(5, 1, False), (5, 2, True), (12, 1, False), (3, 4, True)]
)
def test_windows_are_the_simple_rows_of_one_episode(
    exported_folder, rows, tmp_path, window, stride, pad_start
):
    windows = FrameWindows(
        exported_folder, window, stride=stride, pad_start=pad_start, cache_dir=tmp_path
    )
    starts = expected_starts(FRAMES, window, stride, pad_start)
    assert len(windows) == len(GAMES) * EPISODES * len(starts)
    seen = []
    for item in windows:
        episode = rows[(item["environment"], item["episode"])]
        start = item["start_frame"]
        seen.append((item["environment"], item["episode"], start))
        assert item["frames"].shape == (window, 210, 160, 3) and item["frames"].dtype == np.uint8
        for position in range(window):
            frame = start + position
            if frame < 0:
                assert not item["mask"][position] and not item["frames"][position].any()
                assert item["actions"][position] == 0 and not item["is_first"][position]
                continue
            row = episode[frame]
            assert item["mask"][position]
            assert np.array_equal(item["frames"][position], row["rgb"])
            assert item["actions"][position] == row["action_index"]
            assert item["rewards"][position] == row["reward"]
            assert item["is_first"][position] == (frame == 0)
            assert item["terminated"][position] == row["terminated"]
            assert item["truncated"][position] == row["truncated"]
    assert sorted(seen) == sorted(
        (environment, episode, start) for environment, episode in rows for start in starts
    )


def test_ale_values_index_the_ntsc_palette_and_columns_choose_the_keys(exported_folder, tmp_path):
    rgb = FrameWindows(exported_folder, 4, cache_dir=tmp_path)
    values = FrameWindows(exported_folder, 4, rgb=False, cache_dir=tmp_path)
    few = FrameWindows(exported_folder, 4, columns=["actions", "mask"], cache_dir=tmp_path)
    for index in (0, len(rgb) - 1):
        frames = values[index]["frames"]
        assert frames.shape == (4, 210, 160) and not (frames % 2).any()
        assert np.array_equal(NTSC_PALETTE[frames], rgb[index]["frames"])
        assert list(few[index]) == ["actions", "mask"]
        assert np.array_equal(few[index]["actions"], rgb[index]["actions"])


def test_every_source_kind_gives_the_same_windows(
    exported_folder,
    direct_folder,
    direct_export,
    frame_tree,
    tree_copy,
    hub_server,
    tmp_path,
    monkeypatch,
):
    reference = by_key(FrameWindows(exported_folder, 6, stride=3, cache_dir=tmp_path))
    for source in (direct_folder, direct_export, frame_tree):
        assert_same_items(FrameWindows(source, 6, stride=3, cache_dir=tmp_path), reference)
    publish(exported_folder, REPO_ID)
    assert_same_items(FrameWindows(REPO_ID, 6, stride=3, cache_dir=tmp_path), reference)
    with pytest.raises(InvalidArgumentError, match=r"split='test' is not in Hub dataset .*'train'"):
        FrameWindows(REPO_ID, 6, split="test", cache_dir=tmp_path)
    with monkeypatch.context() as offline:  # the downloaded shards are in the HF cache
        offline.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        requests = len(hub_server.server.requests)
        assert len(FrameWindows(REPO_ID, 6, stride=3, cache_dir=tmp_path / "new")) == len(reference)
        assert len(hub_server.server.requests) == requests
    before = len(hub_server.server.requests)
    streamed = list(StreamingFrameWindows(REPO_ID, 6, stride=3, shuffle_buffer=7, seed=3))
    assert_same_items(streamed, reference)
    assert list(by_key(streamed)) != list(reference)  # shuffled
    ranges = [r for r in hub_server.server.requests[before:] if r[2] == 206]
    assert ranges and all("/resolve/" in path for _, path, _ in ranges)  # read, not downloaded
    # A tree of another tool (no episode.json): no rewards or flags, the rest the same.
    drop_metadata(tree_copy)
    bare = FrameWindows(tree_copy, 6, stride=3, cache_dir=tmp_path)
    assert len(bare) == len(reference)
    item = bare[0]
    assert np.isnan(item["rewards"]).all() and not item["terminated"].any()
    assert np.array_equal(
        item["frames"], reference[(item["environment"], item["episode"], 0)]["frames"]
    )


def test_a_split_of_an_export_is_read_by_name(frame_tree, tmp_path):
    folder = tmp_path / "hub"
    export(frame_tree, folder, split_plan=split_plan("train=0.7,validation=0.3"))
    splits = {}
    for split in ("train", "validation"):
        windows = FrameWindows(folder, 4, split=split, cache_dir=tmp_path / "cache")
        splits[split] = {(item["environment"], item["episode"]) for item in windows}
        assert splits[split] == set(simple_rows(folder, split))
    assert splits["train"] and splits["validation"] and not splits["train"] & splits["validation"]
    with pytest.raises(InvalidArgumentError, match=r"split='test' is not in .*'train', 'valid"):
        FrameWindows(folder, 4, split="test", cache_dir=tmp_path / "cache")


def test_shards_split_the_windows_between_ranks_and_survive_pickling(exported_folder, tmp_path):
    windows = FrameWindows(exported_folder, 5, cache_dir=tmp_path)
    shards = [windows.shard(rank, 3) for rank in range(3)]
    keys = [list(by_key(shard)) for shard in shards]
    assert sorted(k for part in keys for k in part) == sorted(by_key(windows))
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    copy = pickle.loads(pickle.dumps(shards[1]))
    assert_same_items(copy, by_key(shards[1]))


def test_ranks_of_a_stream_share_its_windows_and_epochs_reshuffle(exported_folder, tmp_path):
    expected = by_key(FrameWindows(exported_folder, 5, stride=2, cache_dir=tmp_path))
    ranks = [
        [key for key in by_key(StreamingFrameWindows(exported_folder, 5, stride=2, rank=rank,
                                                     world_size=2, shuffle_buffer=4))]
        for rank in range(2)
    ]  # fmt: skip
    assert ranks[0] and ranks[1] and not set(ranks[0]) & set(ranks[1])
    assert sorted(ranks[0] + ranks[1]) == sorted(expected)
    stream = StreamingFrameWindows(exported_folder, 5, stride=2, shuffle_buffer=4)
    first = [key for key in by_key(stream)]
    stream.set_epoch(1)
    second = [key for key in by_key(stream)]
    assert sorted(first) == sorted(second) and first != second
    with pytest.raises(InvalidArgumentError, match=r"rank must be in 0..1, got 2"):
        StreamingFrameWindows(exported_folder, 5, rank=2, world_size=2)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"window": 0}, InvalidArgumentError, r"window must be an integer >= 1, but got 0"),
        ({"stride": -1}, InvalidArgumentError, r"stride must be an integer >= 1"),
        ({"split": "valid"}, InvalidArgumentError, r"split='valid' is not in exported folder"),
        ({"columns": ["frame"]}, InvalidArgumentError, r"columns=\['frame'\]: choose among"),
        ({"window": 13}, InvalidArgumentError, r"window=13 is longer than every episode of"),
    ],
)
def test_bad_arguments_are_named(exported_folder, tmp_path, arguments, error, message):
    with pytest.raises(error, match=message):
        FrameWindows(exported_folder, **{"cache_dir": tmp_path, **arguments})


def test_sources_that_hold_nothing_of_this_project_are_refused(tmp_path, hub_server):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match=r"source .*empty' holds nothing atari-interl"):
        FrameWindows(tmp_path / "empty", cache_dir=tmp_path)
    with pytest.raises(InvalidInputError, match=r"is not a folder, and not a Hub dataset repo"):
        FrameWindows(tmp_path / "missing" / "x" / "y", cache_dir=tmp_path)
    with pytest.raises(InvalidInputError, match=r"'nobody/nothing' is not a local folder, and"):
        FrameWindows("nobody/nothing", cache_dir=tmp_path)


def test_the_cache_is_reused_and_rebuilt_when_the_data_changes(export_copy, tmp_path):
    cache = tmp_path / "cache"
    FrameWindows(export_copy, 4, cache_dir=cache)
    first = list(cache.iterdir())
    FrameWindows(export_copy, 4, cache_dir=cache)
    assert list(cache.iterdir()) == first and len(first) == 1
    shard = sorted((export_copy / "simple").glob("train-*.parquet"))[0]
    table = pq.read_table(shard)
    pq.write_table(table.slice(0, table.num_rows - FRAMES), shard)
    changed = FrameWindows(export_copy, 4, cache_dir=cache)
    assert len(list(cache.iterdir())) == 2
    assert changed.num_frames == len(GAMES) * EPISODES * FRAMES - FRAMES
