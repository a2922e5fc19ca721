"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import os
import signal

import pytest

_CALLERS_HUB_SETTINGS = ("HF_", "HUGGINGFACE_", "HUGGING_FACE_", "TRANSFORMERS_OFFLINE")
"""The caller's Hugging Face variables (``HF_HUB_OFFLINE``, ``HF_ENDPOINT``, ``HF_TOKEN``,
``HF_HOME``, ...): the tests set their own, whatever the shell running them has set."""


def _drop_callers_hub_settings() -> None:
    for name in [name for name in os.environ if name.startswith(_CALLERS_HUB_SETTINGS)]:
        del os.environ[name]


# Before huggingface_hub and datasets are imported: both read these once, at import.
_drop_callers_hub_settings()

pytest_plugins = [
    "tests.fixtures.hub_fixtures",
    "tests.fixtures.frame_tree_fixtures",
    "tests.fixtures.export_fixtures",
    "tests.fixtures.file_reads",
    "tests.fixtures.mounts",
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
    """Point every Hugging Face cache at a temporary folder, and keep the tests offline, whatever
    Hugging Face variables the caller has set."""
    for name in [name for name in os.environ if name.startswith(_CALLERS_HUB_SETTINGS)]:
        monkeypatch.delenv(name)  # set by an earlier test's own code: each test starts without
    cache = tmp_path_factory.mktemp("hf_cache")
    monkeypatch.setenv("HF_HOME", str(cache))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache / "datasets"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
