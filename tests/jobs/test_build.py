"""``atari-interleaved build``: the whole pipeline on a tiny budget, rerun safely."""

from __future__ import annotations

import hashlib
import os

import datasets
import pandas as pd
import pytest

from atari_interleaved.cli.app import main as cli_main
from atari_interleaved.core.layout import (
    DEFAULT_FRAMES_DIR,
    DEFAULT_HUB_DIR,
    DEFAULT_INTERLEAVED_FILE,
    DEFAULT_SIMPLE_FILE,
)
from atari_interleaved.publishing.manifest import read_manifest, verify
from tests.fixtures.tree_utils import tree_digest

pytestmark = pytest.mark.slow  # real ALE

TINY = [
    "--envs",
    "alien,pong",
    "--max-episodes",
    "2",
    "--frames-per-env",
    "10",
    "--parallel",
    "1",
    "--policy",
    "repeat",
]


def build(*flags: str) -> int:
    return cli_main(["build", *TINY, "--no-progress", *flags])


def test_build_end_to_end_then_rerun(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert build() == 0
    out = capsys.readouterr().out
    assert f"load_dataset('{DEFAULT_HUB_DIR}', 'interleaved')" in out
    assert f"load_dataset('{DEFAULT_HUB_DIR}', 'simple')" in out
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [DEFAULT_FRAMES_DIR, DEFAULT_HUB_DIR, DEFAULT_INTERLEAVED_FILE, DEFAULT_SIMPLE_FILE]
    )
    # PIPELINE.md's "Verify the output", on the seed's files.
    df = pd.read_parquet(DEFAULT_INTERLEAVED_FILE)
    assert df.shape[0] == 4 and sorted(df["environment"].unique()) == ["atari_alien", "atari_pong"]
    assert len(pd.read_parquet(DEFAULT_SIMPLE_FILE)) == 40
    hub = tmp_path / DEFAULT_HUB_DIR
    assert verify(hub).ok
    outputs = read_manifest(hub)["generation"]["build"]["outputs"]
    simple_bytes = (tmp_path / DEFAULT_SIMPLE_FILE).read_bytes()
    assert outputs[DEFAULT_SIMPLE_FILE] == {
        "size": len(simple_bytes),
        "sha256": hashlib.sha256(simple_bytes).hexdigest(),
    }
    loaded = datasets.load_dataset(DEFAULT_HUB_DIR, "interleaved", cache_dir=str(tmp_path / "c"))
    assert loaded["train"]["episode"] == list(df["episode"])

    before = tree_digest(tmp_path)
    assert build() == 0  # a rerun resumes and replaces its own outputs with the same bytes
    assert "Kept 4 complete episodes" in capsys.readouterr().out
    assert tree_digest(tmp_path) == before


def test_build_reads_each_frame_file_once(tmp_path, monkeypatch, file_reads):
    """The seed's two files and the Hub folder's shards come from one pass over the tree."""
    monkeypatch.chdir(tmp_path)
    reads = file_reads
    assert build() == 0
    frames = sorted(os.path.abspath(path) for path in reads if path.endswith(".png"))
    assert len(frames) == 40  # 2 games x 2 episodes x 10 frames
    assert frames == sorted(str(path) for path in (tmp_path / DEFAULT_FRAMES_DIR).rglob("*.png"))
    assert len(reads) == len(set(reads)) == 80  # and each action file once


def test_build_refuses_what_it_did_not_write(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / DEFAULT_SIMPLE_FILE).write_bytes(b"someone else's file")
    assert build() == 2
    assert f"'{DEFAULT_SIMPLE_FILE}' exists and is not the output" in capsys.readouterr().err
    assert not (tmp_path / DEFAULT_FRAMES_DIR).exists()  # refused before any work
    assert build("--overwrite") == 0
    assert verify(tmp_path / DEFAULT_HUB_DIR).ok

    assert build("--max-episodes", "1") == 2  # the tree holds a second episode per game
    assert "holds episodes this build does not ask for" in capsys.readouterr().err
    assert build("--max-episodes", "1", "--overwrite") == 0
    assert len(pd.read_parquet(DEFAULT_INTERLEAVED_FILE)) == 2

    (tmp_path / DEFAULT_HUB_DIR / "README.md").write_text("edited")
    assert build("--max-episodes", "1") == 2
    assert "changed: README.md" in capsys.readouterr().err
