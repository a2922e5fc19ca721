"""``load_dataset("atari_interleaved", ...)`` after ``import atari_interleaved`` (datasets 5.x).

The same on datasets 3.x runs in tests/test_loading_script.py.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import types
from pathlib import Path

import datasets
import pytest

import atari_interleaved  # noqa: F401  (registers the builder)
from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError
from atari_interleaved.core.features import CONFIG_NAMES
from atari_interleaved.core.folder_kind import folder_kind, require_folder_kind
from atari_interleaved.dataset.registration import register_builder
from tests.fixtures.export_utils import row_digests
from tests.fixtures.paths import REPO


def load(config: str, data_dir: Path | None, cache: Path) -> list:
    dataset = datasets.load_dataset("atari_interleaved", config, data_dir=data_dir, cache_dir=cache)
    return row_digests(dataset["train"])


@pytest.mark.parametrize("config", CONFIG_NAMES)
def test_every_kind_of_folder_loads_from_the_repo_root(
    config, frame_tree, direct_folder, exported_folder, converted, tmp_path, monkeypatch
):
    monkeypatch.chdir(REPO)  # where the package folder would be taken for data
    expected = row_digests(converted[config])
    for source in (frame_tree, direct_folder, exported_folder):
        assert load(config, source, tmp_path / source.name) == expected, source


def test_without_data_dir_it_loads_what_build_wrote_here(
    frame_tree, exported_folder, converted, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not data of this project")
    with pytest.raises(InvalidArgumentError, match="data_dir is required: the current folder"):
        load("simple", None, tmp_path / "cache-0")
    shutil.copytree(frame_tree, tmp_path / "sampled_frames_organized")
    assert load("simple", None, tmp_path / "cache-1") == row_digests(converted["simple"])
    shutil.copytree(exported_folder, tmp_path / "atari_interleaved_hub")
    shutil.rmtree(tmp_path / "sampled_frames_organized")
    assert load("interleaved", None, tmp_path / "cache-2") == row_digests(converted["interleaved"])


def test_a_folder_of_nothing_of_ours_is_named(tmp_path, monkeypatch):
    (tmp_path / "data" / "x").mkdir(parents=True)
    (tmp_path / "data" / "x" / "a.csv").write_text("a\n1\n")
    with pytest.raises(InvalidInputError, match="holds nothing of this project; give a frame tree"):
        load("simple", tmp_path / "data", tmp_path / "cache")
    with pytest.raises(InvalidInputError, match="data_dir '.*missing' does not exist"):
        require_folder_kind(tmp_path / "missing")


def test_folder_kinds(frame_tree, direct_folder, exported_folder, tmp_path):
    kinds = [folder_kind(p) for p in (frame_tree, frame_tree / "atari_pong", tmp_path)]
    assert kinds == ["frame_tree", "frame_tree", None]
    assert (folder_kind(direct_folder), folder_kind(exported_folder)) == ("direct", "exported")
    assert folder_kind(frame_tree / "sampling_config.json") is None


def test_the_private_table_is_checked_before_use():
    changed = types.SimpleNamespace(_PACKAGED_DATASETS_MODULES=[], _hash_python_lines=hash)
    with pytest.warns(UserWarning, match="changed the private table.*use atari_interleaved.load"):
        assert register_builder(changed) is False
    table = {"csv": ("datasets.packaged_modules.csv.csv", "0" * 64)}
    fine = types.SimpleNamespace(_PACKAGED_DATASETS_MODULES=table, _hash_python_lines=str)
    assert register_builder(fine) is True
    assert table["atari_interleaved"][0] == "atari_interleaved.dataset.builder"


def test_import_stays_light_and_registers_when_datasets_loads(tmp_path):
    code = (
        "import sys, atari_interleaved\n"
        "assert 'datasets' not in sys.modules\n"
        "from datasets.packaged_modules import _PACKAGED_DATASETS_MODULES as table\n"
        "print(table['atari_interleaved'][0])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "atari_interleaved.dataset.builder"
