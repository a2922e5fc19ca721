"""The README's training loop runs, on an exported folder, as a user would paste it."""

from __future__ import annotations

import re

from atari_interleaved.publishing.export import export
from tests.fixtures.frame_trees import give_returns
from tests.fixtures.paths import REPO
from tests.fixtures.prerequisites import required_module

README = REPO / "README.md"


def python_blocks() -> list[str]:
    """The python code blocks of README's section on windows, in order."""
    section = README.read_text(encoding="utf-8").split("## Training on windows of frames", 1)[1]
    section = section.split("\n## ", 1)[0]
    return re.findall(r"^```python\n(.*?)^```", section, flags=re.M | re.S)


def training_loop() -> str:
    return python_blocks()[0]


def test_the_training_loop_of_the_readme_runs(exported_folder, tmp_path, monkeypatch):
    required_module("torch", 'pip install -c .ci/torch-cpu.txt -e ".[torch]"')
    code = training_loop()
    (tmp_path / "atari_interleaved_hub").symlink_to(exported_folder)
    monkeypatch.chdir(tmp_path)
    names: dict[str, object] = {}
    exec(compile(code, str(README), "exec"), names)
    assert names["batch"]["frames"].shape[1:] == (16, 210, 160, 3)
    assert names["loss"].item() > 0


def test_the_training_loop_reads_windows_without_torch(exported_folder, tmp_path, monkeypatch):
    """The same windows, iterated in plain Python (what runs where torch is not installed)."""
    import atari_interleaved

    (tmp_path / "atari_interleaved_hub").symlink_to(exported_folder)
    monkeypatch.chdir(tmp_path)
    line = next(line for line in training_loop().splitlines() if "FrameWindows(" in line)
    names: dict[str, object] = {"atari_interleaved": atari_interleaved}
    exec(line, names)
    windows = names["windows"]
    assert len(windows) == 4 * 12  # 4 episodes of 12 frames: one window ending at each frame
    assert all(item["mask"].sum() == 16 + min(0, item["start_frame"]) for item in windows)


def test_the_episode_choice_of_the_readme_keeps_the_best_tenth_of_each_game(
    tree_copy, tmp_path, monkeypatch
):
    scores = {"alien": [0.0, 10.0], "pong": [-1.0, 1.0]}
    returns = {
        f"atari_{game}/episode_{index:03d}_rand0.2": value
        for game, values in scores.items()
        for index, value in enumerate(values)
    }
    export(give_returns(tree_copy, returns), tmp_path / "atari_interleaved_hub")
    monkeypatch.chdir(tmp_path)
    code = python_blocks()[1]
    assert "episodes=" in code and len(python_blocks()) == 2
    names: dict[str, object] = {}
    exec(compile(code, str(README), "exec"), names)
    windows = names["windows"]
    kept = {(meta["environment"], meta["episode"]): meta["return"] for meta in windows.episodes}
    assert kept == {
        ("atari_alien", "episode_001_rand0.2"): 10.0,
        ("atari_pong", "episode_001_rand0.2"): 1.0,
    }
    assert windows[0]["frames"].shape == (16, 64, 64, 3)  # DIAMOND's frames, as it says


def test_the_package_names_the_readme_uses_resolve_in_a_fresh_process():
    """``import atari_interleaved`` then each dotted name README writes, as a user would."""
    import subprocess
    import sys

    names = sorted(set(re.findall(r"\batari_interleaved(?:\.[A-Za-z_]\w*)+", README.read_text())))
    names = [name for name in names if name != "atari_interleaved.py"]
    assert "atari_interleaved.core.features.features" in names
    code = "import atari_interleaved, importlib\n" + "".join(
        f"obj = atari_interleaved\nfor part in {name.split('.')[1:]!r}:\n"
        "    obj = (getattr(obj, part) if hasattr(obj, part)\n"
        "           else importlib.import_module(obj.__name__ + '.' + part))\n"
        for name in names
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert len(names) >= 3
