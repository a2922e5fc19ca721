"""Convert throughput against a bare pyarrow write of the same PNG bytes, and peak memory.

    python3 bench/bench_convert.py                      # about two minutes on 2 cores
    python3 bench/bench_convert.py --frames 50000,200000 --episode-frames 500

The input is a tree of real frames: a few episodes are sampled (real ALE) and hard-linked
into as many episode folders as the sizes need. Everything is measured in the same run:

- throughput: ``convert`` (both formats, 1 and 2 processes) against two baselines on the
  same tree: "read+write", the least any converter does (read every PNG file, write the
  bytes as a binary parquet column with pyarrow's defaults), and "write", pyarrow writing
  the same bytes already in memory. Best of ``--repeat`` runs, warm file cache.
- memory: peak RSS of ``convert`` run alone in a fresh process, at two input sizes, with
  the default row groups (100 MB) and with small ones (8 MB); "import" is the peak RSS of a
  process that only imports the converter.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from atari_interleaved.convert import convert
from atari_interleaved.generate.sampler import sample
from atari_interleaved.generate.settings import EpisodeSettings

# Peak RSS from /proc (VmHWM, of this process image only): ru_maxrss would report the
# benchmark's own size, which Linux carries over to a child across fork and exec.
MEMORY_PROBE = """
import re, sys
from atari_interleaved.convert import convert
if sys.argv[1] != "import":
    convert(sys.argv[1], sys.argv[2], sys.argv[3], overwrite=True, row_group_bytes=int(sys.argv[4]))
with open("/proc/self/status") as status:
    print(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1))
"""


def make_tree(seed_tree: Path, root: Path, frames: int) -> Path:
    """Hard-link the seed episodes into ``root`` until it holds ``frames`` frames."""
    episodes = sorted(seed_tree.glob("atari_*/episode_*"))
    total, index = 0, 0
    while total < frames:
        source = episodes[index % len(episodes)]
        target = root / source.parent.name / f"episode_{index // len(episodes):03d}_rand0.2"
        target.mkdir(parents=True)
        for file in source.iterdir():
            if file.name.startswith("frame_") or file.name.startswith("action_"):
                os.link(file, target / file.name)  # no episode.json: its index would differ
        total += len(list(source.glob("frame_*.png")))
        index += 1
    return root


def bare_read_write(tree: Path, output: Path) -> int:
    """Read every PNG of the tree and write the bytes as one binary column; return frames."""
    schema = pa.schema([("image", pa.binary())])
    count = 0
    with pq.ParquetWriter(output, schema) as writer:
        for episode in sorted(tree.glob("atari_*/episode_*")):
            names = sorted(n for n in os.listdir(episode) if n.endswith(".png"))
            images = []
            for name in names:
                with open(episode / name, "rb") as file:
                    images.append(file.read())
            writer.write_table(pa.table({"image": images}, schema=schema))
            count += len(images)
    return count


def best_of(repeat: int, run) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def peak_rss_mb(*args: str) -> float:
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, *args], capture_output=True, text=True, check=True
    )
    return int(result.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", default="50000,200000", help="two input sizes, in frames")
    parser.add_argument("--episode-frames", type=int, default=500, help="frames per episode")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    small, large = (int(n) for n in args.frames.split(","))
    work = Path(tempfile.mkdtemp(prefix="bench_convert_"))
    try:
        seed = work / "seed"
        sample(
            seed,
            envs=["alien", "pong", "breakout", "space_invaders"],
            max_episodes=1,
            parallel=os.cpu_count() or 1,
            settings=EpisodeSettings(frames_per_env=args.episode_frames),
            progress=False,
        )
        trees = {n: make_tree(seed, work / f"tree_{n}", n) for n in (small, large)}
        tree = trees[large]
        out = work / "out.parquet"
        frames = bare_read_write(tree, out)  # also warms the file cache
        png_mb = sum(len(b) for b in pq.read_table(out)["image"].to_pylist()) / 1e6
        print(f"input: {frames} frames, {png_mb:.0f} MB of PNG, episodes of {args.episode_frames}")

        base = best_of(args.repeat, lambda: bare_read_write(tree, out))
        images = pq.read_table(out)["image"].combine_chunks()
        write_only = best_of(args.repeat, lambda: pq.write_table(pa.table({"image": images}), out))
        print(f"{'baseline read+write':28s} {frames / base:9.0f} frames/s")
        print(f"{'baseline write (in memory)':28s} {frames / write_only:9.0f} frames/s")
        for config in ("interleaved", "simple"):
            for num_proc in (1, 2):
                seconds = best_of(
                    args.repeat,
                    lambda c=config, n=num_proc: convert(tree, out, c, overwrite=True, num_proc=n),
                )
                print(
                    f"{f'convert {config} num_proc={num_proc}':28s} {frames / seconds:9.0f} "
                    f"frames/s   {seconds / base:4.2f}x read+write"
                    f"   {seconds / write_only:5.2f}x write"
                )

        print(f"\npeak RSS, MB (import only: {peak_rss_mb('import'):.0f})")
        print(f"{'':28s} {small:>9d} {large:>9d} frames")
        for config in ("interleaved", "simple"):
            for row_group in (100 * 2**20, 8 * 2**20):
                peaks = [
                    peak_rss_mb(str(trees[n]), str(out), config, str(row_group))
                    for n in (small, large)
                ]
                label = f"{config}, row groups {row_group >> 20} MB"
                print(f"{label:28s} {peaks[0]:9.0f} {peaks[1]:9.0f}")
                out.unlink()
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
