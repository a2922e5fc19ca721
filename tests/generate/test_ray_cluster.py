"""Sampling on several Ray nodes of one machine (Ray's own ``Cluster``: a head without CPUs and
worker nodes of one CPU), into a local folder and into an object store, losing a node."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate.sampler import sample
from tests.fixtures.prerequisites import required_module
from tests.fixtures.s3_server import BUCKET, start_s3_server

pytestmark = pytest.mark.slow

GAMES = ["pong", "breakout"]
EPISODES = 3
SETTINGS = EpisodeSettings(policy="repeat", frame_cap=30, seed=5)
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
        ray.init(address=nodes.address, include_dashboard=False)
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


def test_a_node_lost_mid_run_has_its_task_rerun_elsewhere_into_the_store(
    cluster, local_run: dict[str, bytes]
) -> None:
    import fsspec

    with start_s3_server() as s3:
        url = f"s3://{BUCKET}/cluster"
        fs = fsspec.filesystem("s3", **s3.options)
        doomed = cluster.list_all_nodes()[-1]

        def remove_once_a_shard_is_put() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                fs.invalidate_cache()
                if fs.glob(f"{BUCKET}/cluster/simple/*.parquet"):
                    cluster.remove_node(doomed, allow_graceful=False)
                    return
                time.sleep(0.05)

        remover = threading.Thread(target=remove_once_a_shard_is_put)
        remover.start()
        try:
            report = sample(url, parallel=2, backend="ray", storage_options=s3.options, **OPTIONS)
        finally:
            remover.join()
            cluster.add_node(num_cpus=1)
        assert doomed not in cluster.list_all_nodes()
        assert report.episodes_written == len(GAMES) * EPISODES  # each counted once
        assert len(report.task_nodes) >= 6
        fs.invalidate_cache()
        root = f"{BUCKET}/cluster"
        assert {path[len(root) + 1 :]: fs.cat_file(path) for path in fs.find(root)} == local_run
