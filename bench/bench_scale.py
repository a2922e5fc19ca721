"""Benchmark of sampling on several Ray nodes, and into an object store, in one run.

Starts Ray's own test cluster on this machine (``ray.cluster_utils.Cluster``: a head node
without CPUs and 1, 2 then 4 worker nodes of one CPU each) and samples the same
``--to-parquet`` run on each, into a local folder; then, on 2 nodes, the same run into an
S3 API server (moto's ``moto_server`` on 127.0.0.1, as the tests use). Prints frames/s and,
in a summary, the ratios: 2 and 4 nodes against 1, and the object store against the local
folder. On a machine with fewer cores than nodes the extra nodes share the cores, so the
scaling flattens there (2 cores: nothing past 2 nodes). Nothing is asserted.

Run from the repository root: ``python3 bench/bench_scale.py`` (needs the ray and s3 extras
and moto: ``pip install -e ".[test,ray]"``), or with ``--quick`` (tiny; figures meaningless).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate.sampler import sample


def moto(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        ["moto_server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/data.json").close()
            return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto_server did not start")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_on(nodes: int, output: str, options: dict[str, Any], **storage: Any) -> float:
    """Sample on a fresh cluster of ``nodes`` worker nodes; return frames/s."""
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    try:
        for _ in range(nodes):
            cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, include_dashboard=False, logging_level="ERROR")
        # Warm every node's workers (Ray starts them, they import ALE) outside the timing.
        sample(output + "-warm", parallel=nodes, backend="ray", **{**options, "max_episodes": 1},
               **storage)  # fmt: skip
        started = time.perf_counter()
        report = sample(output, parallel=nodes, backend="ray", **options, **storage)
        return report.frames_written / (time.perf_counter() - started)
    finally:
        ray.shutdown()
        cluster.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--games", default="pong,breakout")
    parser.add_argument("--episodes", type=int, default=6, help="per game")
    parser.add_argument("--frames-per-env", type=int, default=500)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    frames = 20 if args.quick else args.frames_per_env
    options = {
        "envs": args.games.split(","),
        "max_episodes": 2 if args.quick else args.episodes,
        "settings": EpisodeSettings(policy="repeat", frame_cap=frames),
        "progress": False,
        "to_parquet": True,
        "episodes_per_shard": 1,
    }
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    rates: dict[str, float] = {}
    try:
        for nodes in (1, 2, 4):
            rates[f"{nodes} nodes, local folder"] = run_on(nodes, str(work / f"n{nodes}"), options)
        port = free_port()
        server = moto(port)
        try:
            endpoint = {"endpoint_url": f"http://127.0.0.1:{port}", "key": "k", "secret": "s"}
            import fsspec

            fsspec.filesystem("s3", **endpoint).mkdir("bench")
            rates["2 nodes, object store"] = run_on(
                2, "s3://bench/run", options, storage_options=endpoint
            )
        finally:
            server.kill()
            server.wait()
    finally:
        shutil.rmtree(work)
    print(f"\n{'measurement':<32}{'frames/s':>10}")
    for name, rate in rates.items():
        print(f"{name:<32}{rate:>10.0f}")
    base = rates["1 nodes, local folder"]
    print("\nSummary: ratios (same run, same frames)")
    print(f"{'2 nodes / 1 node, local folder':<48}{rates['2 nodes, local folder'] / base:.2f}x")
    print(f"{'4 nodes / 1 node, local folder':<48}{rates['4 nodes, local folder'] / base:.2f}x")
    store = rates["2 nodes, object store"] / rates["2 nodes, local folder"]
    print(f"{'object store / local folder, 2 nodes':<48}{store:.2f}x")


if __name__ == "__main__":
    main()
