"""The frame cache of FrameWindows: built by one builder at a time, never trusted damaged."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from atari_interleaved import FrameWindows
from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.dataset.frame_cache import FrameCache
from atari_interleaved.dataset.frame_source import resolve_source


def cache_folder(root):
    (folder,) = root.iterdir()
    return folder


def truncate(path):
    path.write_bytes(path.read_bytes()[:-7])


def change_episode_starts(folder):
    starts = np.load(folder / "episode_starts.npy")
    starts[-1] = 1000000000019
    np.save(folder / "episode_starts.npy", starts)


def drop_index(folder):
    (folder / "index.json").unlink()  # a folder left half-written


def flip_an_action(folder):
    actions = np.load(folder / "actions.npy")
    actions[3] += 1
    np.save(folder / "actions.npy", actions)


def shorten_the_frame_count(folder):
    index = json.loads((folder / "index.json").read_text())
    index["frames"] -= 1
    (folder / "index.json").write_text(json.dumps(index))


DAMAGES = {
    "truncated frames.bin": lambda folder: truncate(folder / "frames.bin"),
    "truncated actions.npy": lambda folder: truncate(folder / "actions.npy"),
    "changed episode_starts": change_episode_starts,
    "changed action": flip_an_action,
    "no index": drop_index,
    "index of other counts": shorten_the_frame_count,
}


def items(windows):
    return [windows[index] for index in range(len(windows))]


def assert_same(first, second):
    assert len(first) == len(second)
    for one, other in zip(first, second, strict=True):
        for key, value in one.items():
            assert np.array_equal(np.asarray(value), np.asarray(other[key])), key


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_cache_is_refused_when_opened_and_rebuilt_by_the_next_build(
    exported_folder, tmp_path, damage
):
    expected = items(FrameWindows(exported_folder, 4, cache_dir=tmp_path / "reference"))
    root = tmp_path / "cache"
    FrameWindows(exported_folder, 4, cache_dir=root)
    folder = cache_folder(root)
    DAMAGES[damage](folder)
    with pytest.raises(InvalidInputError, match=rf"frame cache '{folder}' is damaged .*delete"):
        FrameCache.open(folder)
    rebuilt = FrameWindows(exported_folder, 4, cache_dir=root)
    assert_same(items(rebuilt), expected)
    assert list(root.iterdir()) == [folder]  # the damaged copy is gone, no temporaries left
    FrameCache.open(folder)


def test_a_folder_without_its_index_does_not_block_later_builds(exported_folder, tmp_path):
    root = tmp_path / "cache"
    FrameWindows(exported_folder, 4, cache_dir=root)
    folder = cache_folder(root)
    for path in folder.iterdir():
        if path.name != "frames.bin":
            path.unlink()
    for _ in range(2):
        assert len(FrameWindows(exported_folder, 4, cache_dir=root)) > 0


def test_builders_of_one_process_at_once_never_share_a_folder(exported_folder, tmp_path):
    expected = items(FrameWindows(exported_folder, 4, cache_dir=tmp_path / "reference"))
    source = resolve_source(exported_folder, "train")
    rows = [table for unit in source.units for table in source.tables(unit)]
    tables = [table.slice(start, 10) for table in rows for start in range(0, len(table), 10)]
    root, builders = tmp_path / "cache", 3
    all_started = threading.Barrier(builders)
    errors = []

    def slowly():  # every builder has written its first rows before any goes on
        yield tables[0]
        all_started.wait(timeout=30)
        yield from tables[1:]

    def build() -> None:
        try:
            FrameCache.build(slowly(), root / "key", source.description)
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=build) for _ in range(builders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [path.name for path in root.iterdir()] == ["key"]
    FrameCache.open(root / "key")
    assert_same(items(FrameWindows(exported_folder, 4, cache_dir=root)), expected)
