"""The loading script ``atari_interleaved.py`` on datasets < 4, run in a second environment.

datasets >= 4 runs no loading scripts, so this test drives the Python of another virtual
environment, given by ``ATARI_INTERLEAVED_LEGACY_PYTHON``, made with::

    python3 -m venv /tmp/legacy-datasets
    /tmp/legacy-datasets/bin/pip install -e . "datasets>=3.6,<4"
    export ATARI_INTERLEAVED_LEGACY_PYTHON=/tmp/legacy-datasets/bin/python

Locally the test is skipped when the variable is unset; on CI it fails
(``tests/fixtures/prerequisites.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import datasets
import pyarrow.parquet as pq
import pytest

import atari_interleaved  # noqa: F401  (registers the builder with datasets)
from atari_interleaved.core.features import CONFIG_NAMES
from atari_interleaved.dataset.builder import load_frames
from tests.fixtures.frame_trees import FRAMES, ORDER
from tests.fixtures.paths import REPO
from tests.fixtures.prerequisites import missing_prerequisite

LEGACY_PYTHON_VARIABLE = "ATARI_INTERLEAVED_LEGACY_PYTHON"

# Run by the legacy Python beside the script, named as users name it.
LOAD_WITH_SCRIPT = """
import sys
import datasets
import pyarrow.parquet as pq

data_dir, cache_dir, output = sys.argv[1:]
print(datasets.__version__)
for config in ("interleaved", "simple"):
    dataset = datasets.load_dataset(
        "./atari_interleaved.py", config, data_dir=data_dir, cache_dir=cache_dir,
        trust_remote_code=True,
    )
    pq.write_table(dataset["train"].data.table, f"{output}/{config}.parquet")
    row = dataset["train"][0]
    image = row["images"][0] if config == "interleaved" else row["image"]
    print(config, type(image).__name__, image.mode)
"""


@pytest.fixture(scope="module")
def legacy_python() -> str:
    python = os.environ.get(LEGACY_PYTHON_VARIABLE)
    if python:
        return python
    reason = (
        f"{LEGACY_PYTHON_VARIABLE} is not set: point it at the python of a virtual environment "
        'made with `python3 -m venv DIR && DIR/bin/pip install -e . "datasets>=3.6,<4"`'
    )
    missing_prerequisite(reason)


@pytest.mark.parametrize("where", ["repository", "empty folder"])
def test_loading_script_gives_the_builder_rows(legacy_python, frame_tree, tmp_path, where):
    folder = REPO
    if where == "empty folder":  # the script's name then shadows the package it imports
        folder = tmp_path / "elsewhere"
        folder.mkdir()
        shutil.copy(REPO / "atari_interleaved.py", folder)
    result = subprocess.run(
        [
            legacy_python,
            "-c",
            LOAD_WITH_SCRIPT,
            str(frame_tree),
            str(tmp_path / "cache"),
            str(tmp_path),
        ],
        cwd=folder,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    version, *decoded = result.stdout.split()
    assert int(version.split(".")[0]) < 4, f"{legacy_python} has datasets {version}"
    assert decoded == ["interleaved", "Image", "RGB", "simple", "Image", "RGB"]
    for config in CONFIG_NAMES:
        legacy = pq.read_table(tmp_path / f"{config}.parquet")
        current = load_frames(frame_tree, config, cache_dir=tmp_path / "current")[
            "train"
        ].data.table
        assert legacy.schema.remove_metadata() == current.schema.remove_metadata()
        assert legacy.to_pylist() == current.to_pylist()
        assert legacy.num_rows == len(ORDER) * (FRAMES if config == "simple" else 1)


# After `import atari_interleaved`, the builder is registered with datasets 3.x too.
LOAD_BY_NAME = """
import sys
import atari_interleaved
import datasets
import pyarrow.parquet as pq

cache_dir, output, *data_dirs = sys.argv[1:]
print(datasets.__version__)
for number, data_dir in enumerate(data_dirs):
    for config in ("interleaved", "simple"):
        dataset = datasets.load_dataset(
            "atari_interleaved", config, data_dir=data_dir, cache_dir=cache_dir
        )
        pq.write_table(dataset["train"].data.table, f"{output}/{number}-{config}.parquet")
"""


@pytest.mark.parametrize("where", ["repository", "empty folder"])
def test_the_registered_name_loads_every_kind_of_folder(
    legacy_python, frame_tree, direct_folder, exported_folder, tmp_path, where
):
    folder = REPO if where == "repository" else tmp_path
    sources = [frame_tree, direct_folder, exported_folder]
    # datasets 5.x fills the cache first: 3.x must not read what it cannot (5.x `List` features).
    current = {
        config: datasets.load_dataset(
            "atari_interleaved", config, data_dir=frame_tree, cache_dir=tmp_path / "cache"
        )["train"]
        for config in CONFIG_NAMES
    }
    result = subprocess.run(
        [legacy_python, "-c", LOAD_BY_NAME, str(tmp_path / "cache"), str(tmp_path), *sources],
        cwd=folder,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[0].split(".")[0]) < 4
    for config in CONFIG_NAMES:
        for number in range(len(sources)):
            legacy = pq.read_table(tmp_path / f"{number}-{config}.parquet")
            assert legacy.to_pylist() == current[config].data.table.to_pylist(), sources[number]
