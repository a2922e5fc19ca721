"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import signal

import pytest

pytest_plugins = [
    "tests.fixtures.hub_fixtures",
    "tests.fixtures.frame_tree_fixtures",
    "tests.fixtures.export_fixtures",
    "tests.fixtures.file_reads",
    "tests.fixtures.small_disk",
]

# A test run started in the background of a non-interactive shell inherits SIGINT ignored, and
# so would every sampler it starts: the Ctrl-C tests need Python's usual KeyboardInterrupt.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _empty_current_folder(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
):
    """Run every test in an empty folder of its own: none may depend on the folder pytest runs in
    (README's first command leaves its outputs in the repository root)."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(autouse=True)
def _isolated_hf_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point every Hugging Face cache at a temporary folder, and keep the tests offline."""
    cache = tmp_path_factory.mktemp("hf_cache")
    monkeypatch.setenv("HF_HOME", str(cache))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache / "datasets"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
