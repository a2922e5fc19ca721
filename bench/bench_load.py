"""Loading windows for training: FrameWindows against datasets and a bare Pillow loop.

    python3 bench/bench_load.py              # about 3 minutes on 2 cores (120k frames)
    python3 bench/bench_load.py --quick      # about 15 s (what the tests run)
    python3 bench/bench_load.py --frames 200000 --windows 4000

The data is made here: real episodes sampled straight into parquet shards (``sample
--to-parquet``, four games, episodes of up to 500 frames) until there are ``--frames``
frames, then exported (``atari-interleaved export``). Everything is measured in the same run,
on the same windows: ``--windows`` windows of 16 consecutive frames, drawn at random (a
shuffled epoch's order), decoded to RGB:

- ``FrameWindows``: ``windows[i]`` (the map-style dataset; its frame cache is built before
  timing, the time of that is printed);
- ``FrameWindows 64x64 area``: the same windows resized to 64x64 RGB, ``size=(64, 64)``,
  ``resample="area"`` (DIAMOND's frames; the resized frames are prepared once before timing,
  the time of that is printed);
- ``datasets with_format("numpy")``: the same frames as the 16 consecutive rows
  ``dataset[first:first + 16]["image"]`` of ``load_dataset(folder, "simple")``, and
  (``row by row``) as ``dataset[row]["image"]`` for each of the 16 rows;
- ``bare Pillow loop``: no project code and no reading: the windows' PNG bytes, already in
  memory, each decoded with ``Image.open(...).convert("RGB")`` and ``np.asarray``.

Each runs in 1 and in 2 worker processes (forked, each taking half of the windows; the
time is until both finish), best of ``--repeat`` rounds of all six. Frames/s count real
frames. Peak memory: the peak RSS of a
fresh process that opens ``FrameWindows`` on a dataset (building its cache) and reads
``--windows`` random windows, for a quarter of the shards and for all of them.
"""

from __future__ import annotations

import argparse
import io
import math
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from bench_table import Ratio, print_columns, print_summary
from PIL import Image

from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.dataset.windows import FrameWindows
from atari_interleaved.generate.sampler import sample
from atari_interleaved.publishing.export import export

GAMES = ["alien", "pong", "space_invaders", "ms_pacman"]
WINDOW = 16
FRAMEWINDOWS = "FrameWindows"
RESIZED = "FrameWindows 64x64 area"
RESIZED_SIZE = (64, 64)
RESIZED_GOAL = 0.8
DATASETS = 'datasets with_format("numpy")'
ROW_BY_ROW = f"{DATASETS}, row by row"
BARE = "bare Pillow loop"
SPEED_GOAL, SPEED_FLOOR = 5.0, 3.0
EFFICIENCY_GOAL = 0.90
MEMORY_GOAL = 1.1

# Peak RSS from /proc (VmHWM, of this process image only), as bench_convert.py measures it.
MEMORY_PROBE = """
import re, sys
import numpy as np
from atari_interleaved.dataset.windows import FrameWindows
folder, cache, count, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), eval(sys.argv[4])
windows = FrameWindows(folder, 16, cache_dir=cache, size=size)
for index in np.random.default_rng(0).permutation(len(windows))[:count]:
    windows[int(index)]
with open("/proc/self/status") as status:
    print(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1))
"""


def make_dataset(work: Path, frames: int, episode_frames: int) -> Path:
    """Sample at least ``frames`` frames straight to parquet and export them; return the export."""
    episodes = math.ceil(1.3 * frames / (len(GAMES) * episode_frames))
    sampled = work / "sampled"
    sample(
        sampled,
        envs=GAMES,
        max_episodes=episodes,
        parallel=os.cpu_count() or 1,
        # The fast repeat policy: what is measured is loading, and planned play would take
        # about an hour to sample the full run's frames on 2 cores.
        settings=EpisodeSettings(frame_cap=episode_frames, policy="repeat"),
        to_parquet=True,
        progress=False,
    )
    folder = work / "exported"
    export(sampled, folder)
    shutil.rmtree(sampled)  # the export holds hard links of the shards
    return folder


def quarter(folder: Path, target: Path) -> Path:
    """Hard-link a quarter of ``folder``'s ``simple`` shards into ``target`` (a smaller dataset)."""
    shards = sorted((folder / "simple").glob("train-*.parquet"))
    (target / "simple").mkdir(parents=True)
    for shard in shards[: max(1, len(shards) // 4)]:
        os.link(shard, target / "simple" / shard.name)
    return target


def in_workers(run: Callable[[Sequence[int]], object], items: Sequence[int], workers: int) -> float:
    """Run ``run`` on ``workers`` forked processes, each on a share of ``items``; return seconds."""
    if workers == 1:
        started = time.perf_counter()
        run(items)
        return time.perf_counter() - started
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=run, args=(items[worker::workers],)) for worker in range(workers)
    ]
    started = time.perf_counter()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        if process.exitcode:
            raise RuntimeError(f"a worker failed with exit code {process.exitcode}")
    return time.perf_counter() - started


def throughput(folder: Path, work: Path, count: int, repeat: int) -> dict[tuple[str, int], float]:
    """Measure frames/s of the three readers on the same ``count`` random windows.

    Each rate is the best of ``repeat`` rounds; a round runs every reader once, so a change
    of the machine's load falls on all of them.
    """
    import datasets

    datasets.disable_progress_bars()
    started = time.perf_counter()
    windows = FrameWindows(folder, WINDOW, cache_dir=work / "cache")
    print(f"FrameWindows: cache of {windows.num_frames} frames built in "
          f"{time.perf_counter() - started:.1f} s; {len(windows)} windows of {WINDOW}")  # fmt: skip
    started = time.perf_counter()
    dataset = datasets.load_dataset(str(folder), "simple", split="train", cache_dir=work / "hf")
    dataset = dataset.with_format("numpy")
    print(
        f"datasets: load_dataset prepared its arrow files in {time.perf_counter() - started:.1f} s"
    )
    started = time.perf_counter()
    resized = FrameWindows(folder, WINDOW, cache_dir=work / "cache", size=RESIZED_SIZE)
    print(f"{RESIZED}: frames prepared in {time.perf_counter() - started:.1f} s")
    chosen = np.random.default_rng(0).permutation(len(windows))[:count].tolist()
    firsts = []
    for index in chosen:
        episode, start = windows.locate(index)
        firsts.append(int(windows.cache.episode_starts[episode]) + start)
    images = pq.read_table(
        sorted((folder / "simple").glob("train-*.parquet")), columns=["image"]
    ).column(0)
    pngs = {first: images[first : first + WINDOW].to_pylist() for first in firsts}
    by_index = dict(zip(chosen, firsts, strict=True))

    def frame_windows(share: Sequence[int]) -> None:
        for index in share:
            windows[index]

    def resized_windows(share: Sequence[int]) -> None:
        for index in share:
            resized[index]

    def with_datasets(share: Sequence[int]) -> None:
        for index in share:
            first = by_index[index]
            dataset[first : first + WINDOW]["image"]

    def row_by_row(share: Sequence[int]) -> None:
        for index in share:
            first = by_index[index]
            for row in range(first, first + WINDOW):
                dataset[row]["image"]

    def bare(share: Sequence[int]) -> None:
        for index in share:
            for data in pngs[by_index[index]]:
                np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))

    first = by_index[chosen[0]]  # the readers read the same frames
    same = np.stack(list(dataset[first : first + WINDOW]["image"]))
    assert np.array_equal(windows[chosen[0]]["frames"], same)
    frames = count * WINDOW
    rates: dict[tuple[str, int], float] = {}
    for _ in range(repeat):
        readers = (
            (FRAMEWINDOWS, frame_windows),
            (RESIZED, resized_windows),
            (DATASETS, with_datasets),
            (BARE, bare),
        )
        for name, run in (*readers, (ROW_BY_ROW, row_by_row)):
            for workers in (1, 2):
                rate = frames / in_workers(run, chosen, workers)
                rates[(name, workers)] = max(rate, rates.get((name, workers), 0.0))
    print(
        f"\nthroughput, {count} random windows of {WINDOW} frames ({frames} frames), RGB, "
        f"best of {repeat}:"
    )
    print_columns(
        ("reader", "workers", "frames/s"),
        [(name, str(workers), f"{rate:.0f}") for (name, workers), rate in rates.items()],
    )
    return rates


def peak_rss_mb(folder: Path, cache: Path, count: int, size: tuple[int, int] | None) -> float:
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(folder), str(cache), str(count), repr(size)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout.split()[-1]) / 1024


def peak_memory(folders: dict[int, Path], work: Path, count: int) -> dict[str, list[float]]:
    peaks = {
        name: [
            peak_rss_mb(folder, work / f"cache-{frames}", count, size)
            for frames, folder in folders.items()
        ]
        for name, size in ((FRAMEWINDOWS, None), (RESIZED, RESIZED_SIZE))
    }
    print(f"\nPeak RSS of a process opening FrameWindows and reading {count} windows, MB")
    print_columns(
        ("reader", *(f"{frames} frames" for frames in folders)),
        [(name, *(f"{peak:.0f}" for peak in values)) for name, values in peaks.items()],
    )
    return peaks


def summary_ratios(
    rates: dict[tuple[str, int], float], peaks: dict[str, list[float]], sizes: list[int]
) -> list[Ratio]:
    ratios = [
        Ratio(f"{FRAMEWINDOWS} / {DATASETS}, {workers} worker{'s' * (workers > 1)}",
              rates[(FRAMEWINDOWS, workers)] / rates[(DATASETS, workers)],
              SPEED_GOAL if workers == 1 else None)
        for workers in (1, 2)
    ]  # fmt: skip
    ratios.append(
        Ratio(f"{FRAMEWINDOWS} / {ROW_BY_ROW}, 1 worker",
              rates[(FRAMEWINDOWS, 1)] / rates[(ROW_BY_ROW, 1)])
    )  # fmt: skip
    ratios += [
        Ratio(f"{FRAMEWINDOWS} / {BARE}, {workers} worker{'s' * (workers > 1)}",
              rates[(FRAMEWINDOWS, workers)] / rates[(BARE, workers)],
              1.0 if workers == 1 else None)
        for workers in (1, 2)
    ]  # fmt: skip
    ratios += [
        Ratio(f"parallel efficiency, {name}, 2 workers", rates[(name, 2)] / (2 * rates[(name, 1)]),
              EFFICIENCY_GOAL if name == FRAMEWINDOWS else None, percent=True)
        for name in (FRAMEWINDOWS, DATASETS, BARE)
    ]  # fmt: skip
    ratios += [
        Ratio(f"{RESIZED} / {FRAMEWINDOWS} (full resolution), {workers} worker"
              f"{'s' * (workers > 1)}", rates[(RESIZED, workers)] / rates[(FRAMEWINDOWS, workers)],
              RESIZED_GOAL if workers == 1 else None)
        for workers in (1, 2)
    ]  # fmt: skip
    small, large = sizes
    ratios += [
        Ratio(f"peak memory, {name}: {large} / {small} frames", peaks[name][1] / peaks[name][0],
              MEMORY_GOAL, at_most=True)
        for name in (FRAMEWINDOWS, RESIZED)
    ]  # fmt: skip
    return ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny data (the tests' run)")
    parser.add_argument("--frames", type=int, help="frames of the data at least (default 120000)")
    parser.add_argument("--episode-frames", type=int, help="frames per episode (default 500)")
    parser.add_argument("--windows", type=int, help="random windows read (default 2000)")
    parser.add_argument("--repeat", type=int, help="rounds of measurements (default 3)")
    parser.add_argument("--workdir", help="where to write the data (default: the temp folder)")
    args = parser.parse_args(argv)
    frames = args.frames or (1200 if args.quick else 120_000)
    episode_frames = args.episode_frames or (100 if args.quick else 500)
    count = args.windows or (40 if args.quick else 2000)
    repeat = args.repeat or (1 if args.quick else 3)
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}; load average {load:.2f}")
    if load > 0.5:
        print("(other work is running on this machine: it skews the figures)")
    work = Path(tempfile.mkdtemp(prefix="bench_load-", dir=args.workdir))
    try:
        folder = make_dataset(work, frames, episode_frames)
        small = quarter(folder, work / "quarter")
        sizes = [
            sum(pq.read_metadata(shard).num_rows for shard in (path / "simple").glob("*.parquet"))
            for path in (small, folder)
        ]
        print(f"data: {sizes[1]} frames of {', '.join(GAMES)} (and a quarter: {sizes[0]})\n")
        rates = throughput(folder, work, count, repeat)
        peaks = peak_memory(dict(zip(sizes, (small, folder), strict=True)), work, count)
    finally:
        shutil.rmtree(work)
    print_summary(
        "Summary: ratios of frames/s (higher is better) and of peak memory (lower is "
        f"better); FrameWindows / datasets must reach {SPEED_FLOOR:.0f}x at least",
        summary_ratios(rates, peaks, sizes),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
