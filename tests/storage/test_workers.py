"""Worker processes: capped at what helps, and gone with their parent."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

import atari_interleaved.dataset.convert as convert_module
import atari_interleaved.generate.local_backend as local_backend
from atari_interleaved.dataset.convert import convert
from atari_interleaved.generate.sampler import sample
from atari_interleaved.storage.lock import pid_is_alive
from atari_interleaved.storage.workers import usable_cpus, worker_count
from tests.fixtures.frame_trees import EPISODES, GAMES, SETTINGS
from tests.fixtures.tree_utils import tree_digest

CPUS = len(os.sched_getaffinity(0))
EXPECTED_POOLS = [min(CPUS, len(GAMES) * EPISODES)] if CPUS > 1 else []
"""Pools started for the test tree: one, of a worker per CPU (none on one CPU)."""

PARENT = textwrap.dedent(
    """
    import multiprocessing, os, sys, time
    from atari_interleaved.storage import workers
    if sys.argv[1] == "watchdog":
        workers._set_parent_death_signal = lambda: False
    def child(parent):
        workers.die_with_parent(parent)
        print(os.getpid(), flush=True)
        time.sleep(120)
    multiprocessing.get_context("fork").Process(target=child, args=(os.getpid(),)).start()
    time.sleep(120)
    """
)


@pytest.mark.parametrize("how", ["prctl", "watchdog"])
def test_a_worker_dies_when_its_parent_is_killed(tmp_path, how):
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, how],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        worker = int(parent.stdout.readline())
        assert pid_is_alive(worker)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while pid_is_alive(worker):
            assert time.monotonic() < deadline, f"worker {worker} outlived its parent ({how})"
            time.sleep(0.05)
    finally:
        try:
            os.killpg(parent.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        parent.wait()


def test_worker_count_caps_at_cpus_and_tasks(caplog):
    assert usable_cpus() == CPUS
    with caplog.at_level(logging.WARNING):
        assert worker_count(100_000, 50, flag="--num-proc") == min(CPUS, 50)
    assert f"--num-proc 100000 capped at {min(CPUS, 50)} processes" in caplog.text
    assert worker_count(100_000, 3, flag="--parallel", cpu_bound=False) == 3
    assert worker_count(1, 3, flag="--parallel") == 1


class CountingPool(ProcessPoolExecutor):
    """A real pool that records how many workers it was asked for."""

    sizes: list[int] = []

    def __init__(self, max_workers=None, **options):
        CountingPool.sizes.append(max_workers)
        super().__init__(max_workers, **options)


def test_num_proc_100000_starts_no_more_processes_than_cpus(frame_tree, tmp_path, monkeypatch):
    monkeypatch.setattr(convert_module, "ProcessPoolExecutor", CountingPool)
    CountingPool.sizes = []
    convert(frame_tree, tmp_path / "many.parquet", num_proc=100_000)
    convert(frame_tree, tmp_path / "one.parquet", num_proc=1)
    assert CountingPool.sizes == EXPECTED_POOLS
    assert (tmp_path / "many.parquet").read_bytes() == (tmp_path / "one.parquet").read_bytes()


def test_parallel_100000_starts_no_more_processes_than_cpus(frame_tree, tmp_path, monkeypatch):
    monkeypatch.setattr(local_backend, "ProcessPoolExecutor", CountingPool)
    CountingPool.sizes = []
    sample(
        tmp_path / "frames",
        envs=list(GAMES),
        max_episodes=EPISODES,
        parallel=100_000,
        settings=SETTINGS,
        progress=False,
    )
    assert CountingPool.sizes == EXPECTED_POOLS
    assert tree_digest(tmp_path / "frames") == tree_digest(frame_tree)
