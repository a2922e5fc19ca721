"""Pytest fixtures: frame trees made by the real sampler, for the builder and convert tests.

``frame_tree`` is sampled once per session (``tests/frame_trees.py`` says what it holds:
2 games, 2 episodes of 12 frames, real ALE) and must not be modified; ``tree_copy`` gives a
test its own copy to break. Use them with ``pytest_plugins = ("tests.frame_tree_fixtures",)``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from atari_interleaved.convert import convert
from atari_interleaved.features import CONFIG_NAMES
from tests.frame_trees import sample_tree

__all__ = ["converted", "frame_tree", "tree_copy"]


@pytest.fixture(scope="session")
def frame_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real frame tree (read-only): ``<tree>/atari_{alien,pong}/episode_00{0,1}_rand0.2``."""
    return sample_tree(tmp_path_factory.mktemp("frames") / "sampled_frames_organized")


@pytest.fixture
def tree_copy(frame_tree: Path, tmp_path: Path) -> Path:
    """A copy of ``frame_tree`` that the test may change."""
    return Path(shutil.copytree(frame_tree, tmp_path / "sampled_frames_organized"))


@pytest.fixture(scope="session")
def converted(frame_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict]]:
    """The rows ``convert`` writes from ``frame_tree``, one file per config (PIPELINE.md's)."""
    folder = tmp_path_factory.mktemp("converted")
    rows = {}
    for config in CONFIG_NAMES:
        convert(frame_tree, folder / f"{config}.parquet", config)
        rows[config] = pq.read_table(folder / f"{config}.parquet").to_pylist()
    return rows
