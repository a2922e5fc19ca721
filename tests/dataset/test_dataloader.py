"""FrameWindows and StreamingFrameWindows in torch's DataLoader worker processes, and the
package's promise never to import torch itself.

torch is a test prerequisite (``pip install torch --index-url
https://download.pytorch.org/whl/cpu``, the CPU build; ``.ci/run`` installs it): without it these
tests are skipped here and fail on CI.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from atari_interleaved import FrameWindows, StreamingFrameWindows
from tests.fixtures.frame_trees import EPISODES, GAMES
from tests.fixtures.prerequisites import required_module

TORCH_INSTALL = "pip install torch --index-url https://download.pytorch.org/whl/cpu"


def keys_of(batches) -> list[tuple[str, str, int]]:
    keys = []
    for batch in batches:
        starts = batch["start_frame"].tolist()
        keys += zip(batch["environment"], batch["episode"], starts, strict=True)
    return keys


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_map_style_windows_in_two_workers_are_those_of_the_main_process(
    exported_folder, tmp_path, context
):
    """Each worker reads the cache through its own descriptor (forked: after the main process
    opened one; spawned: from the unpickled copy) and gives the main process's items."""
    torch = required_module("torch", TORCH_INSTALL)
    from torch.utils.data import DataLoader

    windows = FrameWindows(exported_folder, 8, stride=2, cache_dir=tmp_path)
    expected = {(i["environment"], i["episode"], i["start_frame"]): i for i in windows}
    loader = DataLoader(
        windows, batch_size=3, shuffle=True, num_workers=2, multiprocessing_context=context
    )
    keys = []
    for batch in loader:
        assert batch["frames"].dtype == torch.uint8
        assert batch["frames"].shape[1:] == (8, 210, 160, 3)
        for row, key in enumerate(keys_of([batch])):
            keys.append(key)
            for name in ("frames", "actions", "rewards", "mask", "is_first"):
                assert np.array_equal(batch[name][row].numpy(), expected[key][name]), (key, name)
    assert sorted(keys) == sorted(expected)


@pytest.mark.parametrize("source", ["exported_folder", "frame_tree"])
def test_the_stream_gives_every_window_once_over_two_workers(request, tmp_path, source):
    """Whole units per worker (a frame tree's four episodes), or every second episode of the
    one ``simple`` shard of the export: no window twice, none missing."""
    required_module("torch", TORCH_INSTALL)
    from torch.utils.data import DataLoader, IterableDataset

    folder = request.getfixturevalue(source)
    windows = FrameWindows(folder, 8, stride=2, cache_dir=tmp_path)
    stream = StreamingFrameWindows(folder, 8, stride=2, seed=1)
    assert isinstance(stream, IterableDataset)
    keys = keys_of(DataLoader(stream, batch_size=3, num_workers=2))
    assert len(keys) == len(windows) == len(GAMES) * EPISODES * 3
    assert sorted(keys) == sorted(
        (i["environment"], i["episode"], i["start_frame"]) for i in windows
    )


def test_the_package_never_imports_torch(exported_folder, tmp_path):
    """Importing, building and iterating both forms never tries to import torch: a finder
    first on ``sys.meta_path`` refuses any such attempt, whether torch is installed or not
    (``import torch`` inside ``try: ... except ImportError`` included)."""
    guard = textwrap.dedent(
        """
        import sys

        class RefuseTorch:
            def find_spec(self, name, path=None, target=None):
                # An import (not a look-up such as datasets' find_spec("torch")) of torch.
                importing = sys._getframe(2).f_code.co_name == "_find_and_load_unlocked"
                if importing and name.split(".")[0] == "torch":
                    raise AssertionError(f"something imported {name}")

        sys.meta_path.insert(0, RefuseTorch())
        """
    )
    use = textwrap.dedent(
        """
        import atari_interleaved
        windows = atari_interleaved.FrameWindows(sys.argv[1], 4, cache_dir=sys.argv[2])
        assert windows[0]["frames"].shape == (4, 210, 160, 3)
        stream = atari_interleaved.StreamingFrameWindows(sys.argv[1], 4)
        assert sum(1 for _ in stream) == len(windows)
        """
    )
    arguments = [str(exported_folder), str(tmp_path)]
    run = subprocess.run(
        [sys.executable, "-c", guard + use, *arguments], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    refused = subprocess.run(
        [
            sys.executable,
            "-c",
            guard + "try:\n    import torch\nexcept ImportError:\n    pass\n" + use,
            *arguments,
        ],
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "something imported torch" in refused.stderr
