"""Sampling on several Ray nodes of one machine (Ray's own ``Cluster``: a head without CPUs and
worker nodes of one CPU), into a local folder and into an object store, losing a node."""

from __future__ import annotations

import logging
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
SETTINGS = EpisodeSettings(policy="repeat", frame_cap=200, seed=5)
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


def test_progress_on_ray_moves_per_frame(cluster, tmp_path: Path) -> None:
    """A long episode's frames are reported while it is sampled, before its summary."""
    from atari_interleaved.generate.chunks import Chunk
    from atari_interleaved.generate.parquet_store import ParquetStore
    from atari_interleaved.generate.ray_backend import run_ray
    from atari_interleaved.generate.worker_loop import EpisodeSummary, FramesSampled, TaskPlaced

    settings = EpisodeSettings(policy="repeat", frame_cap=1500, seed=5)
    chunk = Chunk("pong", (0,), settings.randomness)
    store = ParquetStore(tmp_path / "direct", [chunk])
    store.prepare(settings, overwrite=False)
    reports: list = []
    run_ray([chunk], settings, store, 1, reports.append)
    kinds = [type(report) for report in reports]
    assert kinds[0] is TaskPlaced and kinds[-1] is EpisodeSummary, kinds
    frames = [report.count for report in reports if isinstance(report, FramesSampled)]
    assert frames and sum(frames) < reports[-1].num_frames


class _Placements(logging.Handler):
    """The node of each task the sampler logs as placed, in order."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.nodes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "Ray node" in record.getMessage():
            self.nodes.append(record.args[-1])


def test_a_node_lost_mid_run_has_its_task_rerun_elsewhere_into_the_store(
    cluster, local_run: dict[str, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    import fsspec

    placements = _Placements()
    logger = logging.getLogger("atari_interleaved.generate.sampler")
    logger.addHandler(placements)
    logger.setLevel(logging.INFO)
    with start_s3_server() as s3:
        url = f"s3://{BUCKET}/cluster"
        fs = fsspec.filesystem("s3", **s3.options)
        removed: list[str] = []

        def remove_a_busy_node() -> None:
            """Once a task has ended, remove the node of the task started next, at its start."""
            deadline = time.monotonic() + 120
            while len(placements.nodes) < 3 and time.monotonic() < deadline:
                time.sleep(0.005)
            busy = placements.nodes[-1]
            for node in cluster.list_all_nodes():
                if node.node_id == busy:
                    cluster.remove_node(node, allow_graceful=False)
                    removed.append(busy)

        remover = threading.Thread(target=remove_a_busy_node)
        remover.start()
        try:
            with caplog.at_level(logging.WARNING, "atari_interleaved.generate.ray_backend"):
                report = sample(url, parallel=2, backend="ray", storage_options=s3.options,
                                **OPTIONS)  # fmt: skip
        finally:
            remover.join()
            logger.removeHandler(placements)
            cluster.add_node(num_cpus=1)
            cluster.wait_for_nodes()
        assert removed, "no node was removed"
        assert "was lost with its worker or node" in caplog.text  # and was run again
        assert len(report.task_nodes) > len(GAMES) * EPISODES
        assert report.episodes_written == len(GAMES) * EPISODES  # each counted once
        fs.invalidate_cache()
        root = f"{BUCKET}/cluster"
        assert {path[len(root) + 1 :]: fs.cat_file(path) for path in fs.find(root)} == local_run
