"""Sampling on several Ray nodes of one machine (Ray's own ``Cluster``: a head without CPUs and
worker nodes of one CPU), into a local folder and into an object store, losing a node."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate.sampler import sample
from tests.fixtures.blocking_policy import POLICY as BLOCKING_POLICY
from tests.fixtures.blocking_policy import release
from tests.fixtures.paths import REPO
from tests.fixtures.prerequisites import required_module
from tests.fixtures.s3_server import BUCKET, start_s3_server
from tests.fixtures.slow_policy import POLICY as SLOW_POLICY
from tests.fixtures.slow_policy import SECONDS_PER_ACTION

pytestmark = pytest.mark.slow

GAMES = ["pong", "breakout"]
EPISODES = 3
# The blocking policy (which repeats the previous action) lets a test hold tasks still.
SETTINGS = EpisodeSettings(policy=BLOCKING_POLICY, frame_cap=200, seed=5)
RUNTIME_ENV = {"env_vars": {"PYTHONPATH": str(REPO)}}  # Ray's workers import the policy
OPTIONS = {"envs": GAMES, "max_episodes": EPISODES, "settings": SETTINGS, "progress": False,
           "to_parquet": True, "episodes_per_shard": 1}  # fmt: skip


@pytest.fixture(scope="module")
def cluster():
    """A head node with no CPUs and two worker nodes with one each; the driver connected."""
    required_module("ray", 'pip install -e ".[test,ray]"')
    import ray
    from ray.cluster_utils import Cluster

    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    try:
        for _ in range(2):
            nodes.add_node(num_cpus=1)
        nodes.wait_for_nodes()
        ray.init(address=nodes.address, include_dashboard=False, runtime_env=RUNTIME_ENV)
        yield nodes
    finally:
        ray.shutdown()
        nodes.shutdown()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    root = tmp_path_factory.mktemp("local") / "direct"
    sample(root, parallel=2, **OPTIONS)
    return files(root)


def files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*.*")}


def test_tasks_run_on_several_nodes_into_identical_shards(
    cluster, local_run: dict[str, bytes], tmp_path: Path
) -> None:
    report = sample(tmp_path / "direct", parallel=2, backend="ray", **OPTIONS)
    nodes = {node for _, node in report.task_nodes}
    assert len(report.task_nodes) == 6 and len(nodes) == 2, report.task_nodes
    assert "Ray ran 6 tasks on 2 nodes" in report.summary()
    assert files(tmp_path / "direct") == local_run


def test_progress_on_ray_moves_per_frame(cluster, tmp_path: Path) -> None:
    """A long episode's frames are reported while it is sampled, before its summary."""
    from atari_interleaved.generate.chunks import Chunk
    from atari_interleaved.generate.parquet_store import ParquetStore
    from atari_interleaved.generate.ray_backend import run_ray
    from atari_interleaved.generate.worker_loop import (
        FRAME_REPORT_SECONDS,
        EpisodeSummary,
        FramesSampled,
        TaskPlaced,
    )

    # An episode lasting over twice the report interval, however fast the machine.
    frame_cap = 1 + round(2 * FRAME_REPORT_SECONDS / SECONDS_PER_ACTION)
    settings = EpisodeSettings(policy=SLOW_POLICY, frame_cap=frame_cap, seed=5)
    chunk = Chunk("pong", (0,), settings.randomness)
    store = ParquetStore(tmp_path / "direct", [chunk])
    store.prepare(settings, overwrite=False)
    reports: list = []
    run_ray([chunk], settings, store, 1, reports.append)
    kinds = [type(report) for report in reports]
    assert kinds[0] is TaskPlaced and kinds[-1] is EpisodeSummary, kinds
    frames = [report.count for report in reports if isinstance(report, FramesSampled)]
    assert frames and sum(frames) < reports[-1].num_frames


def test_a_node_lost_mid_run_has_its_task_rerun_elsewhere_into_the_store(
    cluster, local_run: dict[str, bytes], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """Two episodes run, then the task on each node is held still; one node is removed there,
    and the held tasks' workers end with it."""
    import fsspec
    import ray

    block = tmp_path / "block"
    block.mkdir()
    blocking = {"PYTHONPATH": str(REPO), "BLOCK_DIR": str(block), "BLOCK_AFTER": "2"}
    ray.shutdown()  # the run's workers get the blocking policy's settings
    ray.init(address=cluster.address, include_dashboard=False,
             runtime_env={"env_vars": blocking})  # fmt: skip
    with start_s3_server() as s3:
        url = f"s3://{BUCKET}/cluster"
        fs = fsspec.filesystem("s3", **s3.options)
        removed: list[str] = []
        ended = threading.Event()

        def remove_a_busy_node() -> None:
            """Once both nodes' tasks are held still, remove one node, then let the rest go on."""
            deadline = time.monotonic() + 120
            while len(list(block.glob("blocked-*"))) < 2 and time.monotonic() < deadline:
                if ended.wait(0.01):
                    return
            held = sorted(block.glob("blocked-*"))
            if len(held) >= 2:  # a task on each one-CPU node
                node = next(iter(cluster.worker_nodes))
                cluster.remove_node(node, allow_graceful=False)
                removed.append(node.node_id)
                # A lost machine takes its processes with it; on this one machine a removed
                # node's worker may outlive its raylet and finish its task: end both held ones.
                for marker in held:
                    os.kill(int(marker.name.removeprefix("blocked-")), signal.SIGKILL)
            release(block)

        remover = threading.Thread(target=remove_a_busy_node)
        remover.start()
        try:
            with caplog.at_level(logging.WARNING, "atari_interleaved.generate.ray_backend"):
                report = sample(url, parallel=2, backend="ray", storage_options=s3.options,
                                **OPTIONS)  # fmt: skip
        finally:
            ended.set()
            remover.join()
            ray.shutdown()
            cluster.add_node(num_cpus=1)
            cluster.wait_for_nodes()
            ray.init(address=cluster.address, include_dashboard=False, runtime_env=RUNTIME_ENV)
        assert removed, "no node was removed while its task was held"
        assert removed[0] in {node for _, node in report.task_nodes}
        assert "was lost with its worker or node" in caplog.text  # and was run again
        assert len(report.task_nodes) > len(GAMES) * EPISODES
        assert report.episodes_written == len(GAMES) * EPISODES  # each counted once
        fs.invalidate_cache()
        root = f"{BUCKET}/cluster"
        assert {path[len(root) + 1 :]: fs.cat_file(path) for path in fs.find(root)} == local_run
