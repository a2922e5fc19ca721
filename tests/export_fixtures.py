"""Pytest fixtures: the Hub folder exported from ``frame_tree`` (tests/frame_tree_fixtures.py).

``exported_folder`` is exported once per session and must not be modified; ``export_copy``
gives a test its own copy. Use with
``pytest_plugins = ("tests.frame_tree_fixtures", "tests.export_fixtures")``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from atari_interleaved.export import export
from tests.export_utils import REPO_ID

__all__ = ["exported_folder", "export_copy"]


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
