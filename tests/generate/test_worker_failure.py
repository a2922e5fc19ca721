"""A worker process that dies in a parallel run: a clear error, exit 2, complete episodes kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.fixtures.paths import SAMPLE_SCRIPT
from tests.fixtures.tree_utils import tree_digest

# A policy whose process ends at once (as the kernel's out-of-memory killer would end it) in
# pong while DIE_IN_PONG is set; without it, it repeats the previous action.
DYING_IN_PONG = """
import os

def make_policy(context):
    def act(observation, previous_action):
        if context.game == "pong" and os.environ.get("DIE_IN_PONG"):
            os._exit(3)
        return previous_action
    act.needs_observation = False
    return act
"""
ARGS = ["--envs", "alien,pong", "--max-episodes", "2", "--frames-per-env", "10"]
ARGS += ["--randomness", "0.0", "--policy", "dying:make_policy", "--parallel", "2", "--no-progress"]


def run(tmp_path, output: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SAMPLE_SCRIPT), *ARGS, "--output-dir", output],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(tmp_path), **extra},
    )  # fmt: skip


@pytest.mark.slow
def test_a_dead_worker_stops_the_run_with_a_clear_error_and_keeps_complete_episodes(tmp_path):
    (tmp_path / "dying.py").write_text(DYING_IN_PONG)
    failed = run(tmp_path, "out", DIE_IN_PONG="1")
    assert failed.returncode == 2, failed.stderr
    assert "Traceback" not in failed.stderr
    assert failed.stderr.startswith("error: a worker process of the run ended abruptly (killed")
    assert "rerun the same command to resume" in failed.stderr
    kept = sorted(path.relative_to(tmp_path / "out") for path in (tmp_path / "out").glob("*/*"))
    for episode in kept:  # never a pong episode, and alien's are whole
        assert str(episode).startswith("atari_alien/episode_00"), kept
        folder = tmp_path / "out" / episode
        assert len(list(folder.glob("frame_*.png"))) == 10
        assert json.loads((folder / "episode.json").read_text())["num_frames"] == 10
    resumed = run(tmp_path, "out")
    assert resumed.returncode == 0, resumed.stderr
    assert f"Wrote {2 * 2 - len(kept)} episodes " in resumed.stdout  # the others were kept
    clean = run(tmp_path, "clean")
    assert clean.returncode == 0, clean.stderr
    assert tree_digest(tmp_path / "out") == tree_digest(tmp_path / "clean")
