"""The frame cache of FrameWindows: built by one builder at a time, never trusted damaged."""

from __future__ import annotations

import json
import subprocess
import sys
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


def zero(path):
    """What a crash leaves of a file whose blocks were never written: its size, in zeros."""
    with open(path, "r+b") as file:  # in place: the same file, as readers that hold it see it
        file.write(bytes(path.stat().st_size))


def flip_a_byte(path, at=0.5):
    with open(path, "r+b") as file:
        file.seek(int(path.stat().st_size * at))
        byte = file.read(1)
        file.seek(-1, 1)
        file.write(bytes([byte[0] ^ 0x10]))


def another_caches_index(folder):
    index = json.loads((folder / "index.json").read_text())
    index["key"] = "0" * 32
    (folder / "index.json").write_text(json.dumps(index))


DAMAGES = {
    "zeroed frames.bin": lambda folder: zero(folder / "frames.bin"),
    "a changed byte of frames.bin": lambda folder: flip_a_byte(folder / "frames.bin"),
    "another cache's folder": another_caches_index,
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


def test_windows_made_after_a_rebuild_read_the_rebuilt_cache(exported_folder, tmp_path):
    """A process that read the cache before it was damaged and rebuilt reads the new files."""
    root = tmp_path / "cache"
    expected = items(FrameWindows(exported_folder, 4, cache_dir=root))  # opens frames.bin
    zero(cache_folder(root) / "frames.bin")
    assert_same(items(FrameWindows(exported_folder, 4, cache_dir=root)), expected)


def prepared_file(root, form):
    (path,) = root.glob(f"*.{form}.bin")
    return path


def other_formats_file(path):
    """The same frames prepared in another format of as many bytes a frame (96x128 grey)."""
    other = prepared_file(path.parent, "96x128-gray-area")
    path.write_bytes(other.read_bytes())


PREPARED_DAMAGES = {
    "zeroed": zero,
    "a changed byte": flip_a_byte,
    "a changed byte of its digest": lambda path: flip_a_byte(path, at=1 - 1e-6),
    "another format's frames": other_formats_file,
    "truncated": truncate,
}


@pytest.mark.parametrize("damage", list(PREPARED_DAMAGES))
def test_damaged_prepared_frames_are_prepared_again_and_never_served(
    exported_folder, tmp_path, damage
):
    root = tmp_path / "cache"
    FrameWindows(exported_folder, 4, cache_dir=root, size=(96, 128), gray=True)
    first = FrameWindows(exported_folder, 4, cache_dir=root, size=(64, 64))
    expected = items(first)  # the file is read (and open) before it is damaged
    path = prepared_file(root, "64x64-rgb-area")
    PREPARED_DAMAGES[damage](path)
    again = FrameWindows(exported_folder, 4, cache_dir=root, size=(64, 64))
    assert_same(items(again), expected)
    assert prepared_file(root, "64x64-rgb-area").read_bytes() != b""
    assert not [path for path in root.iterdir() if path.name.startswith(".")]


# A builder that stops for good once its temporary exists: the prepared frames' (its decode
# waits after the first chunk) or the frame cache's (its rows wait after the first table).
STOPPED_BUILDER = """
import sys, time
from pathlib import Path
from atari_interleaved import FrameWindows
from atari_interleaved.dataset.frame_cache import FrameCache
from atari_interleaved.dataset.frame_format import FrameFormat
from atari_interleaved.dataset.frame_source import resolve_source
from atari_interleaved.dataset.prepared_frames import PreparedFrames
source, root, what = sys.argv[1:]
def stop(*_):
    print("writing", flush=True)
    time.sleep(600)
if what == "prepared":
    windows = FrameWindows(source, 4, cache_dir=root)
    PreparedFrames.build(windows.cache, FrameFormat.checked(size=(64, 64)), stop)
else:
    rows = resolve_source(source, "train")
    def tables():
        yield from rows.tables(rows.units[0])
        stop()
    FrameCache.build(tables(), Path(root) / "key", rows.description)
"""


def stopped_builder(source, root, what):
    builder = subprocess.Popen(
        [sys.executable, "-c", STOPPED_BUILDER, str(source), str(root), what],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert builder.stdout.readline() == "writing\n"
    return builder


def temporaries(root):
    return sorted(path.name for path in root.iterdir() if path.name.startswith(".tmp-"))


def test_temporaries_of_killed_cache_builders_are_removed_and_live_ones_kept(
    exported_folder, tmp_path
):
    root = tmp_path / "cache"
    live, killed = (stopped_builder(exported_folder, root, "cache") for _ in range(2))
    try:
        assert len(temporaries(root)) == 2
        killed.kill()
        killed.wait()
        with pytest.raises(InvalidInputError, match="holds no frames"):
            FrameCache.build([], root / "key", "nothing")  # removes the dead one's first
        assert temporaries(root) == [name for name in temporaries(root) if f"-{live.pid}-" in name]
        assert len(temporaries(root)) == 1
    finally:
        live.kill()
        live.wait()


def test_prepared_frames_wait_for_a_live_builder_and_remove_a_killed_ones_temporary(
    exported_folder, tmp_path
):
    root = tmp_path / "cache"
    expected = items(FrameWindows(exported_folder, 4, cache_dir=tmp_path / "other", size=(64, 64)))
    builder = stopped_builder(exported_folder, root, "prepared")
    (temporary,) = temporaries(root)
    done = []
    waiting = threading.Thread(
        target=lambda: done.append(FrameWindows(exported_folder, 4, cache_dir=root, size=(64, 64)))
    )
    waiting.start()
    waiting.join(timeout=3)
    assert waiting.is_alive() and temporaries(root) == [temporary]  # the live one's is kept
    builder.kill()
    builder.wait()
    waiting.join(timeout=120)
    assert_same(items(done[0]), expected)
    # The killed builder's lock goes a moment before its pid: the next build removes it.
    FrameWindows(exported_folder, 4, cache_dir=root, size=(64, 64))
    assert temporaries(root) == []


def test_a_temporary_a_writer_holds_is_kept_whatever_its_pid(exported_folder, tmp_path):
    """A writer in another container has a pid this machine's processes do not see."""
    root = tmp_path / "cache"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    held = root / f".tmp-key-{gone.stdout.strip()}-0a1b2c3d"
    held.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from atari_interleaved.storage.lock import "
         "writing_temporary as w\nwith w(sys.argv[1]): print('held', flush=True); sys.stdin.read()",
         str(held)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == "held\n"
        source = resolve_source(exported_folder, "train")
        tables = (table for unit in source.units for table in source.tables(unit))
        FrameCache.build(tables, root / "key", source.description)
        assert held.is_dir()
    finally:
        holder.communicate("")
    FrameCache.build([], root / "key", source.description)  # whole: the check is all it does
    assert not held.exists()
