"""The sampling command end to end, on real ALE games, as users run it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from atari_interleaved.convert import convert
from atari_interleaved.games import all_games
from atari_interleaved.generate.sampler import sample
from atari_interleaved.generate.settings import EpisodeSettings
from tests.tree_utils import tree_digest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "generate" / "sample_all_envs.py"


def run_script(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--no-progress"],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}: {result.stderr}")
    return result


SMALL = ["--envs", "alien,pong", "--frames-per-env", "25", "--max-episodes", "2"]


@pytest.mark.slow
def test_seed_command_samples_every_game(tmp_path):
    result = run_script(
        "--frames-per-env", "60", "--max-episodes", "3", "--randomness", "0.2",
        "--parallel", "8", "--output-dir", "sampled_frames_organized",
        cwd=tmp_path,
    )  # fmt: skip
    root = tmp_path / "sampled_frames_organized"
    games = sorted(path.name for path in root.iterdir() if path.is_dir())
    assert games == [f"atari_{game}" for game in all_games()]
    for game_dir in root.iterdir():
        if game_dir.is_dir():
            episodes = sorted(path.name for path in game_dir.iterdir())
            assert episodes == [f"episode_00{i}_rand0.2" for i in range(3)], game_dir
    alien = root / "atari_alien" / "episode_000_rand0.2"
    assert len(list(alien.glob("frame_*.png"))) == 60
    assert len(list(alien.glob("action_*.txt"))) == 60
    assert "Wrote 312 episodes" in result.stdout


@pytest.mark.slow
def test_installed_command_and_parallel_give_identical_trees(tmp_path):
    subprocess.run(
        ["atari-interleaved", "sample", *SMALL, "--parallel", "1", "--output-dir", "one",
         "--no-progress"],
        cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    run_script(*SMALL, "--parallel", "2", "--output-dir", "two", cwd=tmp_path)
    run_script(*SMALL, "--parallel", "2", "--output-dir", "again", cwd=tmp_path)
    one = tree_digest(tmp_path / "one")
    assert len(one) == 1 + 2 * 2 * (2 * 25 + 1)
    assert one == tree_digest(tmp_path / "two") == tree_digest(tmp_path / "again")
    run_script(*SMALL, "--seed", "7", "--output-dir", "seven", cwd=tmp_path)
    assert tree_digest(tmp_path / "seven") != one


@pytest.mark.slow
def test_subset_of_games_does_not_change_episodes(tmp_path):
    run_script(*SMALL, "--output-dir", "both", cwd=tmp_path)
    run_script("--envs", "pong", *SMALL[2:], "--output-dir", "pong", cwd=tmp_path)
    both = tree_digest(tmp_path / "both" / "atari_pong")
    assert both == tree_digest(tmp_path / "pong" / "atari_pong")


def _wait_for_episodes(root: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while len(list(root.glob("atari_*/episode_*"))) < count:
        assert process.poll() is None, "sampler ended before it could be interrupted"
        assert time.monotonic() < deadline, "sampler wrote no episode in time"
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_run_resumes_to_the_clean_tree(tmp_path, how):
    args = ["--envs", "alien,pong", "--frames-per-env", "60", "--max-episodes", "40"]
    args += ["--parallel", "2"]
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), *args, "--output-dir", "resumed", "--no-progress"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    root = tmp_path / "resumed"
    _wait_for_episodes(root, 2, process)
    if how == signal.SIGKILL:
        os.killpg(process.pid, signal.SIGKILL)
    else:
        process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    complete = list(root.glob("atari_*/episode_*"))
    assert 2 <= len(complete) < 80, "the run finished before the interruption"
    if how == signal.SIGINT:
        assert process.returncode == 130
        assert "rerun the same command to finish" in stderr
    result = run_script(*args, "--output-dir", "resumed", cwd=tmp_path)
    assert "Kept" in result.stdout
    run_script(*args, "--output-dir", "clean", cwd=tmp_path)
    assert tree_digest(root) == tree_digest(tmp_path / "clean")


@pytest.mark.slow
def test_rerun_with_other_settings_is_refused_then_overwritten(tmp_path):
    run_script(*SMALL, "--output-dir", "out", cwd=tmp_path)
    before = tree_digest(tmp_path / "out")
    refused = run_script(*SMALL, "--randomness", "0.5", "--output-dir", "out", cwd=tmp_path,
                         check=False)  # fmt: skip
    assert refused.returncode == 2
    assert "randomness: 0.2 in the folder, 0.5 now" in refused.stderr
    assert "--overwrite" in refused.stderr
    assert tree_digest(tmp_path / "out") == before
    run_script(*SMALL, "--randomness", "0.5", "--output-dir", "out", "--overwrite", cwd=tmp_path)
    assert sorted(p.name for p in (tmp_path / "out" / "atari_alien").iterdir()) == [
        "episode_000_rand0.5",
        "episode_001_rand0.5",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--envs", "pongg"], "unknown Atari game 'pongg' in --envs. Did you mean 'pong'?"),
        (["--randomness", "1.5"], "--randomness must be in [0, 1], but got 1.5"),
        (["--randomness", "-0.2"], "--randomness must be in [0, 1], but got -0.2"),
        (["--frames-per-env", "0"], "--frames-per-env must be a positive integer, but got 0"),
        (["--max-episodes", "-1"], "--max-episodes must be a positive integer, but got -1"),
        (["--parallel", "0"], "--parallel must be a positive integer, but got 0"),
        (["--output-dir", "a_file"], "is a file, not a folder"),
        (["--output-dir", "a_file/below"], "is not writable"),
        (["--randomness", "lots"], "expected a number, got 'lots'"),
        (["--randomness", "5e-324"], "--randomness 5e-324 cannot name episode folders"),
        (["--output-dir", "a" * 240], "an output's names can be at most 223 bytes here"),
        (["--output-dir", "x/" + "é" * 150], "is 300 bytes long"),
    ],
)
def test_bad_input_fails_before_any_work(tmp_path, args, message):
    (tmp_path / "a_file").write_text("keep me")
    result = run_script("--envs", "alien", *args, cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]
    assert (tmp_path / "a_file").read_text() == "keep me"


@pytest.fixture
def small_disk(tmp_path):
    mount_point = tmp_path / "small_disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
        capture_output=True, text=True,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


@pytest.mark.slow
def test_full_disk_fails_cleanly_and_resumes(tmp_path, small_disk):
    args = ["--envs", "alien", "--frames-per-env", "40", "--max-episodes", "6", "--parallel", "1"]
    failed = run_script(*args, "--output-dir", str(small_disk / "out"), cwd=tmp_path, check=False)
    assert failed.returncode == 2
    assert "No space left on device" in failed.stderr
    assert "rerun the same command to resume" in failed.stderr
    assert "Traceback" not in failed.stderr
    complete = sorted(p.name for p in (small_disk / "out" / "atari_alien").iterdir())
    assert 1 <= len(complete) < 6
    assert all(name.startswith("episode_") for name in complete)  # no temporary left behind
    for name in complete:
        assert len(list((small_disk / "out" / "atari_alien" / name).iterdir())) == 81
    subprocess.run(["mount", "-o", "remount,size=8m", str(small_disk)], check=True)
    run_script(*args, "--output-dir", str(small_disk / "out"), cwd=tmp_path)
    run_script(*args, "--output-dir", "clean", cwd=tmp_path)
    assert tree_digest(small_disk / "out") == tree_digest(tmp_path / "clean")


def test_a_small_randomness_gives_a_tree_that_converts(tmp_path):
    sample(tmp_path / "frames", envs=["pong"], max_episodes=1, progress=False,
           settings=EpisodeSettings(frames_per_env=3, randomness=0.00001))  # fmt: skip
    assert [path.name for path in (tmp_path / "frames" / "atari_pong").iterdir()] == [
        "episode_000_rand0.00001"
    ]
    report = convert(tmp_path / "frames", tmp_path / "data.parquet")
    assert (report.episodes, report.frames) == (1, 3)
