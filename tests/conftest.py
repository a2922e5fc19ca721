"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.hub_fixtures", "tests.frame_tree_fixtures", "tests.export_fixtures"]


@pytest.fixture(autouse=True)
def _isolated_hf_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point every Hugging Face cache at a temporary folder, and keep the tests offline."""
    cache = tmp_path_factory.mktemp("hf_cache")
    monkeypatch.setenv("HF_HOME", str(cache))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache / "datasets"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
