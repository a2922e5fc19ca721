"""The README's training loop runs, on an exported folder, as a user would paste it."""

from __future__ import annotations

import re

from tests.fixtures.paths import REPO
from tests.fixtures.prerequisites import required_module

README = REPO / "README.md"


def training_loop() -> str:
    section = README.read_text(encoding="utf-8").split("## Training on windows of frames", 1)[1]
    return re.search(r"^```python\n(.*?)^```", section, flags=re.M | re.S).group(1)


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
