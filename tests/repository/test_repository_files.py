"""What a newcomer meets first: ignored outputs, ``--version``, the card's word on frames."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from importlib import metadata

import pytest

from atari_interleaved.cli.app import main as cli_main
from atari_interleaved.core.layout import (
    DEFAULT_FRAMES_DIR,
    DEFAULT_HUB_DIR,
    DEFAULT_INTERLEAVED_FILE,
    DEFAULT_SIMPLE_FILE,
)
from atari_interleaved.publishing.preview import CONTACT_SHEET_NAME
from tests.fixtures.paths import REPO


def test_what_build_and_preview_write_is_ignored_by_git():
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    outputs = [
        f"{DEFAULT_FRAMES_DIR}/atari_alien/episode_000_rand0.2/frame_000000.png",
        DEFAULT_INTERLEAVED_FILE,
        DEFAULT_SIMPLE_FILE,
        f"{DEFAULT_HUB_DIR}/README.md",
        f"{DEFAULT_HUB_DIR}/simple/train-00000-of-00001.parquet",
        CONTACT_SHEET_NAME,
        ".tmp-atari_interleaved_hub-123/manifest.json",
    ]
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", *outputs],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == outputs


def test_version_comes_from_the_installed_package(capsys):
    with pytest.raises(SystemExit) as exited:
        cli_main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"atari-interleaved {metadata.version('atari-interleaved')}\n"
    result = subprocess.run(
        [sys.executable, "-m", "atari_interleaved.cli.app", "--version"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0 and result.stdout.startswith("atari-interleaved 0.")


def test_the_card_gives_the_bit_depths_the_sampler_writes(frame_tree, exported_folder):
    depths = set()
    for frame in frame_tree.rglob("frame_*.png"):
        depths.add(struct.unpack(">B", frame.read_bytes()[24:25])[0])  # IHDR bit depth
    assert depths <= {1, 2, 4, 8} and 4 in depths
    card = (exported_folder / "README.md").read_text()
    assert "8-bit palette" not in card
    assert "palette PNGs of 1, 2, 4 or 8 bits per pixel" in card
