"""Pytest fixtures: Hub folders exported from ``frame_tree`` and from its direct-mode twin.

``exported_folder`` is exported once per session and must not be modified; ``export_copy``
gives a test its own copy. ``direct_folder`` holds the same episodes as ``frame_tree``
(same games, episodes and settings) sampled with ``to_parquet=True`` (``sample
--to-parquet``), and ``direct_export`` is its export; both are read-only. Use with
``pytest_plugins = ("tests.frame_tree_fixtures", "tests.export_fixtures")``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from atari_interleaved.export import export
from tests.export_utils import REPO_ID
from tests.frame_trees import sample_tree

__all__ = ["exported_folder", "export_copy", "direct_folder", "direct_export"]


@pytest.fixture(scope="session")
def exported_folder(frame_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``frame_tree`` exported (read-only) with the card naming ``REPO_ID``."""
    folder = tmp_path_factory.mktemp("export") / "atari_interleaved_hub"
    export(frame_tree, folder, repo_id=REPO_ID)
    return folder


@pytest.fixture
def export_copy(exported_folder: Path, tmp_path: Path) -> Path:
    """A copy of ``exported_folder`` that the test may change."""
    return Path(shutil.copytree(exported_folder, tmp_path / "atari_interleaved_hub"))


@pytest.fixture(scope="session")
def direct_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The episodes of ``frame_tree`` sampled straight into parquet shards (read-only).

    One shard per episode (the default plan for so few episodes):
    ``<folder>/{interleaved,simple}/train-0000{0..3}-of-00004.parquet``.
    """
    return sample_tree(tmp_path_factory.mktemp("direct") / "sampled_parquet", to_parquet=True)


@pytest.fixture(scope="session")
def direct_export(direct_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``direct_folder`` exported (read-only) with the card naming ``REPO_ID``."""
    folder = tmp_path_factory.mktemp("direct-export") / "atari_interleaved_hub"
    export(direct_folder, folder, repo_id=REPO_ID)
    return folder
