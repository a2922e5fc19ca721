"""Killing a sampler, and two runs on one output: nothing is lost or mixed.

The point of interruption is deterministic: ``tests/fixtures/blocking_policy.py`` lets a set number
of episodes run and then holds every worker still, so the test knows exactly what is
written when it signals the parent (only the parent, as a supervisor would).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from atari_interleaved.storage.lock import pid_is_alive
from atari_interleaved.storage.workers import usable_cpus
from tests.fixtures.blocking_policy import (
    POLICY,
    blocking_environment,
    environment,
    wait_until_blocked,
)
from tests.fixtures.paths import SAMPLE_SCRIPT
from tests.fixtures.tree_utils import tree_digest

ARGS = ["--envs", "alien,pong", "--frames-per-env", "20", "--max-episodes", "3"]
ARGS += [
    "--parallel",
    "2",
    "--policy",
    POLICY,
    "--no-progress",
]
WRITTEN_BEFORE_THE_KILL = 2
WORKERS = min(2, usable_cpus())


def run_sampler(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SAMPLE_SCRIPT), *ARGS, *args],
        cwd=cwd, env=environment(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def clean_tree(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clean")
    result = run_sampler("--output-dir", "out", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / "out"


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_killed_parent_takes_its_workers_and_a_rerun_gives_the_clean_tree(
    tmp_path, clean_tree, how
):
    block = tmp_path / "block"
    block.mkdir()
    # Output to a file, not a pipe: a surviving worker would hold a pipe open.
    with open(tmp_path / "log", "w") as log:
        parent = subprocess.Popen(
            [sys.executable, str(SAMPLE_SCRIPT), *ARGS, "--output-dir", "out"],
            cwd=tmp_path, env=blocking_environment(block, WRITTEN_BEFORE_THE_KILL),
            stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
    try:
        workers = wait_until_blocked(block, WORKERS, parent)
        root = tmp_path / "out"
        assert len(list(root.glob("atari_*/episode_*"))) == WRITTEN_BEFORE_THE_KILL
        config = (root / "sampling_config.json").read_bytes()

        # A second run on the folder in use is refused, naming it and the running process.
        second = run_sampler("--seed", "2", "--overwrite", "--output-dir", "out", cwd=tmp_path)
        assert second.returncode == 2, second.stderr
        assert f"'out' is in use by another run: process {parent.pid} (" in second.stderr
        assert "sample_all_envs.py" in second.stderr and "Traceback" not in second.stderr
        assert (root / "sampling_config.json").read_bytes() == config

        parent.send_signal(how)
        assert parent.wait(timeout=30) == -how
        wait_until(lambda: not any(pid_is_alive(pid) for pid in workers), "workers to die")
    finally:
        try:  # the workers are in the parent's process group, even once it is dead
            os.killpg(parent.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        parent.wait()
    rerun = run_sampler("--output-dir", "out", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert f"Kept {WRITTEN_BEFORE_THE_KILL} complete episodes" in rerun.stdout
    assert tree_digest(root) == tree_digest(clean_tree)
    assert [path.name for path in tmp_path.glob(".*")] == [], "no lock left beside the output"
