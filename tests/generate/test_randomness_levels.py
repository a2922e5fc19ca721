"""Several randomness levels in one run: ``sample --randomness 0.0,0.25,1.0``.

Each level has its own episode folders and seeds; the run resumes, does not depend on
``--parallel``, and converts, exports and samples straight to parquet like a run of one level.
"""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from atari_interleaved.cli.app import main
from atari_interleaved.core.episode import read_metadata
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.dataset.convert import convert
from atari_interleaved.generate.sampler import sample
from atari_interleaved.generate.seeding import episode_seed
from atari_interleaved.publishing.export import export
from atari_interleaved.storage.workers import usable_cpus
from tests.fixtures.blocking_policy import POLICY as BLOCKING_POLICY
from tests.fixtures.blocking_policy import (
    blocking_environment,
    environment,
    wait_until_blocked,
)
from tests.fixtures.paths import SAMPLE_SCRIPT
from tests.fixtures.tree_utils import tree_digest

GAMES = ["pong", "breakout"]
LEVELS = ["0.0", "0.25", "1.0"]
EPISODES = 2
SETTINGS = EpisodeSettings(policy="repeat", frame_cap=8, randomness=(1.0, 0.0, 0.25))


def run(output: Path, settings: EpisodeSettings = SETTINGS, **options) -> None:
    options = {"max_episodes": EPISODES, "parallel": 1, "progress": False, **options}
    sample(output, envs=GAMES, settings=settings, **options)


@pytest.fixture(scope="module")
def mixed_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mixed") / "frames"
    run(root, parallel=2)
    return root


def test_each_level_has_its_own_folders_and_seeds(mixed_tree):
    for game in GAMES:
        names = sorted(path.name for path in (mixed_tree / f"atari_{game}").iterdir())
        assert names == sorted(
            f"episode_{index:03d}_rand{level}" for index in range(EPISODES) for level in LEVELS
        )
    seeds = []
    for game in GAMES:
        for level in LEVELS:
            for index in range(EPISODES):
                folder = mixed_tree / f"atari_{game}" / f"episode_{index:03d}_rand{level}"
                metadata = read_metadata(folder / "episode.json")
                assert metadata.randomness == float(level)
                assert metadata.seed == episode_seed(0, game, index, level=float(level))
                seeds.append(metadata.seed)
                if level == "0.0":  # repeat at randomness 0.0: NOOP throughout
                    assert set(metadata.actions) == {0}
    assert len(set(seeds)) == len(seeds)
    # A run of one level seeds as before levels came: no level of a mixed run shares them.
    single = {episode_seed(0, game, index) for game in GAMES for index in range(EPISODES)}
    assert not single & set(seeds)
    recorded = json.loads((mixed_tree / "sampling_config.json").read_text())
    assert recorded["settings"]["randomness"] == [0.0, 0.25, 1.0]


def test_a_level_does_not_depend_on_the_other_levels_of_the_run(mixed_tree, tmp_path):
    settings = EpisodeSettings(policy="repeat", frame_cap=8, randomness=(0.25, 0.5))
    run(tmp_path / "other", settings)
    for game in GAMES:
        for index in range(EPISODES):
            name = f"atari_{game}/episode_{index:03d}_rand0.25"
            assert tree_digest(tmp_path / "other" / name) == tree_digest(mixed_tree / name)


def test_a_mixed_run_does_not_depend_on_parallel(mixed_tree, tmp_path):
    run(tmp_path / "one", parallel=1)
    assert tree_digest(tmp_path / "one") == tree_digest(mixed_tree)


def test_other_levels_are_another_run(mixed_tree, tmp_path, capsys):
    args = ["sample", "--envs", ",".join(GAMES), "--policy", "repeat", "--frames-per-env", "8",
            "--max-episodes", str(EPISODES), "--no-progress",
            "--output-dir", str(mixed_tree)]  # fmt: skip
    before = tree_digest(mixed_tree)
    assert main([*args, "--randomness", "0.0,1.0"]) == 2
    assert "randomness: (0.0, 0.25, 1.0) in the folder, (0.0, 1.0) now" in capsys.readouterr().err
    # The same levels in another order are the same run: everything is kept.
    assert main([*args, "--randomness", "1.0,0.25,0.0", "--parallel", "1"]) == 0
    assert "Kept 12 complete episodes" in capsys.readouterr().out
    assert tree_digest(mixed_tree) == before


def test_direct_shards_hold_the_rows_convert_writes_and_export_tables_every_level(
    mixed_tree, tmp_path
):
    run(tmp_path / "direct", to_parquet=True, episodes_per_shard=1, parallel=2)
    plan = json.loads((tmp_path / "direct" / "sampling_config.json").read_text())["shards"]
    assert plan[:3] == [["breakout", [0], 0.0], ["breakout", [1], 0.0], ["breakout", [0], 0.25]]
    assert len(plan) == len(GAMES) * len(LEVELS) * EPISODES
    for config in ("interleaved", "simple"):
        convert(mixed_tree, tmp_path / f"{config}.parquet", config, progress=False)
        converted = pq.read_table(tmp_path / f"{config}.parquet")
        direct = pq.read_table(sorted((tmp_path / "direct" / config).glob("train-*.parquet")))
        assert direct.to_pylist() == converted.to_pylist()
    for source in (mixed_tree, tmp_path / "direct"):
        hub = tmp_path / f"hub_{source.name}"
        export(source, hub, progress=False)
        card = (hub / "README.md").read_text()
        for game in ("Breakout", "Pong"):
            for level in LEVELS:
                assert f"| {game} | `ALE/{game}-v5` | {level} | {EPISODES} | " in card
        manifest = json.loads((hub / "manifest.json").read_text())
        assert "--randomness 0.0,0.25,1.0 " in manifest["generation"]["sampling"]["sample_command"]


def test_the_recorded_command_samples_the_same_tree_again(mixed_tree, tmp_path):
    hub = tmp_path / "hub"
    export(mixed_tree, hub, progress=False)
    manifest = json.loads((hub / "manifest.json").read_text())
    command = manifest["generation"]["sampling"]["sample_command"]
    arguments = shlex.split(command)
    assert arguments[:2] == ["atari-interleaved", "sample"]
    output = arguments.index("--output-dir") + 1
    arguments[output] = str(tmp_path / "again")
    assert main([*arguments[1:], "--no-progress", "--parallel", "1"]) == 0
    assert tree_digest(tmp_path / "again") == tree_digest(mixed_tree)


@pytest.mark.slow
def test_a_killed_mixed_run_resumes_to_the_clean_tree(tmp_path):
    args = [sys.executable, str(SAMPLE_SCRIPT), "--envs", ",".join(GAMES), "--frames-per-env",
            "8", "--max-episodes", str(EPISODES), "--randomness", "0.0,0.25,1.0", "--policy",
            BLOCKING_POLICY, "--parallel", "2", "--no-progress", "--output-dir", "out"]  # fmt: skip
    (tmp_path / "clean").mkdir()
    clean = subprocess.run(args, cwd=tmp_path / "clean", env=environment(), capture_output=True,
                           text=True, timeout=300)  # fmt: skip
    assert clean.returncode == 0, clean.stderr
    block = tmp_path / "block"
    block.mkdir()
    with open(tmp_path / "log", "w") as log:
        parent = subprocess.Popen(
            args, cwd=tmp_path, env=blocking_environment(block, 5), stdout=log, stderr=log,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_until_blocked(block, min(2, usable_cpus()), parent)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=60)
    finally:
        if parent.poll() is None:
            parent.kill()
    written = [path for path in (tmp_path / "out").rglob("episode_*") if path.is_dir()]
    assert len(written) == 5
    result = subprocess.run(args, cwd=tmp_path, env=environment(), capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Kept 5 complete episodes" in result.stdout
    assert tree_digest(tmp_path / "out") == tree_digest(tmp_path / "clean" / "out")
