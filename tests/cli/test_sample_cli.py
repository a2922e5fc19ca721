"""The sampling command end to end, on real ALE games, as users run it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from atari_interleaved.cli.app import main as cli_main
from atari_interleaved.core.games import all_games
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.dataset.convert import convert
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


def run_script(
    *args: str, cwd: Path, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(SAMPLE_SCRIPT), *args, "--no-progress"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}: {result.stderr}")
    return result


SMALL = [
    "--envs",
    "alien,pong",
    "--frames-per-env",
    "25",
    "--max-episodes",
    "2",
    "--policy",
    "repeat",
]


@pytest.mark.slow
def test_seed_command_samples_every_game(tmp_path):
    result = run_script(
        "--frames-per-env", "60", "--max-episodes", "3", "--randomness", "0.2",
        "--policy", "repeat", "--parallel", "8", "--output-dir", "sampled_frames_organized",
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
    # The console script installed beside this Python, found without PATH.
    installed = Path(sys.executable).parent / "atari-interleaved"
    assert installed.is_file(), f"no atari-interleaved script beside {sys.executable}"
    result = subprocess.run(
        [str(installed), "sample", *SMALL, "--parallel", "1", "--output-dir", "one",
         "--no-progress"],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PATH": ""},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
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


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_run_resumes_to_the_clean_tree(tmp_path, how):
    args = ["--envs", "alien,pong", "--frames-per-env", "60", "--max-episodes", "3"]
    args += ["--policy", BLOCKING_POLICY, "--parallel", "2"]
    block = tmp_path / "block"
    block.mkdir()
    # Two episodes are written, then every worker is held still: interrupted there.
    process = subprocess.Popen(
        [sys.executable, str(SAMPLE_SCRIPT), *args, "--output-dir", "resumed", "--no-progress"],
        cwd=tmp_path, env=blocking_environment(block, 2), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    root = tmp_path / "resumed"
    try:
        wait_until_blocked(block, min(2, usable_cpus()), process)
        assert len(list(root.glob("atari_*/episode_*"))) == 2
        os.killpg(process.pid, how)  # to every process of the run, as Ctrl-C in a terminal
        _, stderr = process.communicate(timeout=60)
    finally:
        try:  # its workers are in its process group, even once it is dead
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
    assert len(list(root.glob("atari_*/episode_*"))) == 2
    assert process.returncode == (130 if how == signal.SIGINT else -signal.SIGKILL)
    if how == signal.SIGINT:
        assert "rerun the same command to finish" in stderr
    result = run_script(*args, "--output-dir", "resumed", cwd=tmp_path, env=environment())
    assert "Kept 2 complete episodes" in result.stdout
    run_script(*args, "--output-dir", "clean", cwd=tmp_path, env=environment())
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
        (["--max-episodes", "-1"], "--max-episodes: expected a positive integer, got '-1'"),
        (["--parallel", "0"], "--parallel: expected a positive integer, got '0'"),
        (["--output-dir", "a_file"], "is a file, not a folder"),
        (["--output-dir", "a_file/below"], "is not writable"),
        (["--randomness", "lots"], "expected a number or comma-separated numbers"),
        (["--randomness", "0.2,,1.0"], "got '0.2,,1.0' (an empty item)"),
        (["--randomness", "0.2,0.2"], "--randomness must be distinct levels, each given once"),
        (["--randomness", "0.0,1.5"], "--randomness must be levels in [0, 1], but got 0.0,1.5"),
        (["--randomness", "0.0,5e-324"], "--randomness 5e-324 cannot name episode folders"),
        (["--randomness", "5e-324"], "--randomness 5e-324 cannot name episode folders"),
        (["--output-dir", "a" * 240], "an output's names can be at most 223 bytes here"),
        (["--output-dir", "x/" + "é" * 150], "is 300 bytes long"),
        (["--search-budget", "0"], "--search-budget must be a positive number of emulator"),
        (["--search-budget", "-5"], "--search-budget must be a positive number of emulator"),
        (["--search-budget", "nan"], "--search-budget must be a positive number of emulator"),
        (["--search-budget", "1e12"], "recorded frame, at most 50,000, but got 1000000000000.0"),
        (["--search-budget", "lots"], "expected a number, got 'lots'"),
        (["--search-budget", "3"], "--search-budget 3 is too small for --policy search"),
        (["--search-budget", "7", "--frameskip", "8"], "at least --frameskip (8)"),
        (["--noop-max", "-1"], "--noop-max must be an integer in 0..27000"),
        (["--noop-max", "27001"], "--noop-max must be an integer in 0..27000"),
        (["--frameskip", "1000000000"], "--frameskip 1000000000 is more than the episode"),
        (["--max-num-frames-per-episode", "3000000000"], "must be an integer in 1..2147483647"),
        (["--policy", "search:"], "is neither one of repeat, search nor 'module.path:factory'"),
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


@pytest.mark.slow
def test_full_disk_fails_cleanly_and_resumes(tmp_path, small_disk):
    args = [
        "--envs",
        "alien",
        "--frames-per-env",
        "40",
        "--max-episodes",
        "6",
        "--parallel",
        "1",
        "--policy",
        "repeat",
    ]
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
    settings = EpisodeSettings(frame_cap=3, randomness=0.00001, policy="repeat")
    sample(tmp_path / "frames", envs=["pong"], max_episodes=1, progress=False, settings=settings)
    assert [path.name for path in (tmp_path / "frames" / "atari_pong").iterdir()] == [
        "episode_000_rand0.00001"
    ]
    report = convert(tmp_path / "frames", tmp_path / "data.parquet")
    assert (report.episodes, report.frames) == (1, 3)


@pytest.mark.slow
def test_search_policy_gives_identical_trees_whatever_the_workers(tmp_path):
    args = ["--envs", "breakout,pong", "--frames-per-env", "12", "--max-episodes", "2",
            "--policy", "search", "--search-budget", "30", "--randomness", "0.1"]  # fmt: skip
    run_script(*args, "--parallel", "1", "--output-dir", "one", cwd=tmp_path)
    run_script(*args, "--parallel", "2", "--output-dir", "two", cwd=tmp_path)
    one = tree_digest(tmp_path / "one")
    assert len(one) == 1 + 2 * 2 * (2 * 12 + 1)
    assert one == tree_digest(tmp_path / "two")
    metadata = json.loads(
        (tmp_path / "one/atari_pong/episode_001_rand0.1/episode.json").read_text()
    )
    assert metadata["planner"] == "rollout-iw1-ram/5" and metadata["search_budget"] == 30.0
    config = json.loads((tmp_path / "one/sampling_config.json").read_text())
    assert config["planner"] == "rollout-iw1-ram/5"
    assert config["settings"]["search_budget"] == 30.0 and config["settings"]["noop_max"] == 0


FAILING_ON_PONG = """
def make_policy(context):
    if context.game == "pong":
        return lambda observation, previous_action: None
    return lambda observation, previous_action: previous_action
"""


@pytest.mark.slow
@pytest.mark.parametrize("parallel", ["1", "2"])
def test_a_failing_policy_stops_the_run_and_keeps_complete_episodes(tmp_path, parallel):
    (tmp_path / "failing.py").write_text(FAILING_ON_PONG)
    result = subprocess.run(
        [sys.executable, str(SAMPLE_SCRIPT), "--envs", "alien,pong", "--max-episodes", "2",
         "--frames-per-env", "10", "--randomness", "0.0", "--policy", "failing:make_policy",
         "--parallel", parallel, "--output-dir", "out", "--no-progress"],
        cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(
        "error: policy 'failing:make_policy' returned None at frame 0, not an action index "
        "(an integer in 0..5) in pong (episode episode_00"
    ), result.stderr
    # What was written is complete: alien's episodes (sampled first with one worker), and
    # never a pong episode or a temporary folder.
    episodes = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").glob("*/*"))
    assert all(name.startswith("atari_alien/episode_00") for name in episodes), episodes
    if parallel == "1":
        assert len(episodes) == 2
    for episode in episodes:
        folder = tmp_path / "out" / episode
        assert len(list(folder.glob("frame_*.png"))) == 10
        assert json.loads((folder / "episode.json").read_text())["num_frames"] == 10


def test_memory_follows_the_frames_recorded_not_the_cap(tmp_path):
    # A Pong episode of random play ends at game over after about a thousand frames; the cap
    # of 10^8 frames once allocated 4.5 GB up front.
    code = (
        "import resource, sys\n"
        "from atari_interleaved.generate.emulator import GameEmulator\n"
        "from atari_interleaved.core.settings import EpisodeSettings\n"
        "settings = EpisodeSettings(frame_cap=int(sys.argv[1]), randomness=1.0,\n"
        "                           policy='repeat', png_compress_level=0)\n"
        "episode = GameEmulator('pong', settings).run_episode(0)\n"
        "print(episode.num_frames, episode.metadata.end_reason,\n"
        "      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    peaks = {}
    for cap in ("1500", "100000000"):
        result = subprocess.run(
            [sys.executable, "-c", code, cap], cwd=tmp_path, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        frames, end_reason, peak_kib = result.stdout.split()
        peaks[cap] = int(peak_kib)
        assert end_reason == "game_over" and int(frames) < 1500
    assert peaks["100000000"] < peaks["1500"] + 20_000  # KiB: the same episode, the same memory


@pytest.mark.parametrize("to_parquet", [[], ["--to-parquet"]])
def test_a_corrupt_sampling_config_is_named_on_resume_and_overwritten_on_request(
    tmp_path, capsys, to_parquet
):
    argv = ["sample", *SMALL, "--max-episodes", "1", "--frames-per-env", "3", *to_parquet]
    argv += ["--output-dir", str(tmp_path / "out"), "--no-progress"]
    assert cli_main(argv) == 0
    config = tmp_path / "out" / "sampling_config.json"
    written = config.read_bytes()
    before = tree_digest(tmp_path / "out")
    config.write_text('{"format": "atari-interleaved/sampling/1", "settings": ')
    capsys.readouterr()
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert f"error: {config}: not a valid sampling config (not JSON: " in err
    assert "sample the folder again with --overwrite" in err and "Traceback" not in err
    config.write_bytes(written)
    assert tree_digest(tmp_path / "out") == before  # nothing else was touched
    config.write_text("[]")
    assert cli_main([*argv, "--overwrite"]) == 0
    assert config.read_bytes() == written
    assert tree_digest(tmp_path / "out") == before
