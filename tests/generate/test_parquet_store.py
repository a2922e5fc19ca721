"""The sampler's direct mode: episodes streamed straight into parquet shards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from atari_interleaved.cli.app import main
from atari_interleaved.core.errors import InvalidArgumentError, OutputExistsError
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.dataset.convert import convert
from atari_interleaved.generate.parquet_store import ParquetStore, plan_shards
from atari_interleaved.generate.sampler import sample
from atari_interleaved.storage.workers import usable_cpus
from tests.fixtures.blocking_policy import POLICY as BLOCKING_POLICY
from tests.fixtures.blocking_policy import (
    blocking_environment,
    environment,
    wait_until_blocked,
)
from tests.fixtures.paths import SAMPLE_SCRIPT
from tests.fixtures.tree_utils import tree_digest

SETTINGS = EpisodeSettings(policy="repeat", frame_cap=20, randomness=0.3)
GAMES = ["alien", "pong"]


def run(output: Path, **options) -> None:
    options = {"envs": GAMES, "max_episodes": 3, "settings": SETTINGS, "progress": False} | options
    sample(output, **options)


def test_plan_does_not_depend_on_workers():
    plan = plan_shards(["alien", "pong"], [0.2], 5, 2)
    assert [(chunk.game, chunk.indices) for chunk in plan] == [
        ("alien", (0, 1)), ("alien", (2, 3)), ("alien", (4,)),
        ("pong", (0, 1)), ("pong", (2, 3)), ("pong", (4,)),
    ]  # fmt: skip
    with pytest.raises(InvalidArgumentError, match="--episodes-per-shard must be a positive"):
        plan_shards(["alien"], [0.2], 5, 0)


@pytest.mark.slow
def test_direct_rows_equal_convert_of_the_frame_folders(tmp_path):
    run(tmp_path / "direct", to_parquet=True, episodes_per_shard=2, parallel=2)
    run(tmp_path / "frames", parallel=2)
    for config in ("interleaved", "simple"):
        shards = sorted((tmp_path / "direct" / config).glob("train-*.parquet"))
        assert [shard.name for shard in shards] == [
            f"train-0000{i}-of-00004.parquet" for i in range(4)
        ]
        convert(tmp_path / "frames", tmp_path / f"{config}.parquet", config)
        converted = pq.read_table(tmp_path / f"{config}.parquet")
        direct = pq.read_table(shards)
        assert direct.schema == converted.schema
        assert direct.to_pylist() == converted.to_pylist()


@pytest.mark.slow
def test_shards_are_identical_whatever_the_workers(tmp_path):
    run(tmp_path / "one", to_parquet=True, parallel=1)
    run(tmp_path / "two", to_parquet=True, parallel=2)
    one = tree_digest(tmp_path / "one")
    shards = [f"train-0000{i}-of-00006.parquet" for i in range(6)]  # an episode a shard
    assert sorted(one) == sorted(
        ["sampling_config.json"]
        + [f"{c}/{name}" for c in ("interleaved", "simple") for name in shards]
    )
    assert one == tree_digest(tmp_path / "two")


@pytest.mark.slow
def test_other_runs_are_refused(tmp_path):
    run(tmp_path / "out", to_parquet=True)
    before = tree_digest(tmp_path / "out")
    with pytest.raises(OutputExistsError, match="max-episodes"):
        run(tmp_path / "out", to_parquet=True, max_episodes=4)
    with pytest.raises(OutputExistsError, match="randomness: 0.3 in the folder, 0.5 now"):
        run(tmp_path / "out", to_parquet=True, settings=EpisodeSettings(20, 0.5, policy="repeat"))
    assert tree_digest(tmp_path / "out") == before
    run(tmp_path / "out", to_parquet=True, max_episodes=4, overwrite=True)
    assert len(pq.read_table(tmp_path / "out" / "interleaved")) == 8
    run(tmp_path / "frames")
    with pytest.raises(OutputExistsError, match="holds a frame tree"):
        run(tmp_path / "frames", to_parquet=True, overwrite=True)
    with pytest.raises(InvalidArgumentError, match="--episodes-per-shard needs --to-parquet"):
        run(tmp_path / "frames", episodes_per_shard=2)


@pytest.mark.slow
def test_interrupted_direct_run_resumes_per_shard(tmp_path):
    args = ["--envs", "alien,pong", "--frames-per-env", "60", "--max-episodes", "3"]
    args += ["--policy", BLOCKING_POLICY]
    args += ["--parallel", "2", "--to-parquet", "--episodes-per-shard", "1", "--no-progress"]
    block = tmp_path / "block"
    block.mkdir()
    # Two one-episode shards are written, then every worker is held still: killed there.
    process = subprocess.Popen(
        [sys.executable, str(SAMPLE_SCRIPT), *args, "--output-dir", "resumed"],
        cwd=tmp_path, env=blocking_environment(block, 2), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_until_blocked(block, min(2, usable_cpus()), process)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    for config in ("interleaved", "simple"):
        assert len(list((tmp_path / "resumed" / config).glob("train-*.parquet"))) == 2
    for output in ("resumed", "clean"):
        result = subprocess.run(
            [sys.executable, str(SAMPLE_SCRIPT), *args, "--output-dir", output],
            cwd=tmp_path, env=environment(), capture_output=True, text=True,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    assert tree_digest(tmp_path / "resumed") == tree_digest(tmp_path / "clean")


@pytest.mark.parametrize("value", ["0", "-1"])
def test_episodes_per_shard_zero_is_refused_like_a_negative_one(tmp_path, capsys, value):
    argv = ["sample", "--envs", "pong", "--to-parquet", "--episodes-per-shard", value]
    assert main([*argv, "--output-dir", str(tmp_path / "out"), "--no-progress"]) == 2
    assert f"--episodes-per-shard must be a positive integer, but got {value}" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("config", ["interleaved", "simple"])
def test_a_truncated_shard_under_its_final_name_is_written_again(tmp_path, config):
    run(tmp_path / "direct", to_parquet=True, episodes_per_shard=2)
    clean = tree_digest(tmp_path / "direct")
    shard = sorted((tmp_path / "direct" / config).glob("train-*.parquet"))[1]
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    store = ParquetStore(tmp_path / "direct", plan_shards(GAMES, SETTINGS.levels, 3, 2))
    assert [chunk.indices for chunk in store.pending()] == [(2,)]
    path, problem = store.shard_problem(store.pending()[0])
    assert path == shard and "not a readable parquet file" in problem
    run(tmp_path / "direct", to_parquet=True, episodes_per_shard=2)
    assert tree_digest(tmp_path / "direct") == clean
