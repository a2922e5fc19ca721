"""Convert and export against a bare pyarrow write of the same bytes, and their peak memory.

    python3 bench/bench_convert.py                 # about five minutes on 2 cores
    python3 bench/bench_convert.py --quick         # about 10 s (what the tests run)
    python3 bench/bench_convert.py --frames 250000,1000000 --episode-frames 500

The input is a tree of real frames: a few episodes are sampled (real ALE), then hard-linked
into as many episode folders as the sizes need, each with its own ``episode.json`` (the
sampler's, renumbered), so convert reads and checks what it reads in a sampled tree.
Everything is measured in the same run:

- throughput on the smaller tree, best of ``--repeat`` runs, warm file cache: ``convert``
  (both formats, 1 and 2 processes) and ``export`` (both configs, dataset card, previews,
  manifest; 1 and 2 processes), against three baselines with pyarrow and no project code:
  "bare read+write, PNG files" reads every PNG file and writes the bytes as one binary
  column; "bare read+write, PNG + action files" also reads every action file and writes its
  text as a second column (the least any converter of the frame tree does: a frame is two
  files); "bare write, bytes in memory" writes the PNG bytes already in memory. The bare
  writes turn dictionary encoding off: the tree repeats its seed frames, which pyarrow's
  default dictionary would store once each, something unique real frames never allow.
  Ratios are of times: 1.30x means 30% slower than the baseline.
- memory: peak RSS of ``convert`` and of ``export`` run alone in a fresh process, at both
  input sizes, and of a process that only imports them. Flat means the larger
  input does not raise the peak. Memory is bounded by a row group (100 MB of table by
  default), so the default sizes both exceed one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from bench_table import Ratio, print_columns, print_summary

from atari_interleaved.core.layout import (
    EPISODE_METADATA_NAME,
    SAMPLING_CONFIG_NAME,
    episode_dir_name,
)
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.dataset.convert import convert
from atari_interleaved.generate.sampler import sample
from atari_interleaved.publishing.export import export

SEED_GAMES = ["alien", "pong", "breakout", "space_invaders"]
PNG_ONLY = "bare read+write, PNG files"
WITH_ACTIONS = "bare read+write, PNG + action files"
IN_MEMORY = "bare write, bytes in memory"
CONVERT_GOAL = 1.5  # issue 5 (issue 3: 2x)
MEMORY_GOAL = 1.1

# Peak RSS from /proc (VmHWM, of this process image only): ru_maxrss would report the
# benchmark's own size, which Linux carries over to a child across fork and exec.
MEMORY_PROBE = """
import re, sys
job, args = sys.argv[1], sys.argv[2:]
from atari_interleaved.dataset.convert import convert
from atari_interleaved.publishing.export import export
if job == "convert":
    convert(args[0], args[1], args[2], overwrite=True, row_group_bytes=int(args[3]))
elif job == "export":
    export(args[0], args[1])
with open("/proc/self/status") as status:
    print(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1))
"""


def make_tree(seed_tree: Path, root: Path, frames: int) -> Path:
    """Hard-link the seed episodes into ``root`` until it holds ``frames`` frames."""
    episodes = sorted(seed_tree.glob("atari_*/episode_*"))
    randomness = EpisodeSettings().randomness
    root.mkdir()
    shutil.copy(seed_tree / SAMPLING_CONFIG_NAME, root / SAMPLING_CONFIG_NAME)
    total, copy = 0, 0
    while total < frames:
        source = episodes[copy % len(episodes)]
        index = copy // len(episodes)
        target = root / source.parent.name / episode_dir_name(index, randomness)
        target.mkdir(parents=True)
        for file in source.iterdir():
            if file.name.startswith("frame_") or file.name.startswith("action_"):
                os.link(file, target / file.name)
        metadata = json.loads((source / EPISODE_METADATA_NAME).read_text(encoding="utf-8"))
        metadata.update(episode=target.name, episode_index=index)
        (target / EPISODE_METADATA_NAME).write_text(json.dumps(metadata), encoding="utf-8")
        total += metadata["num_frames"]
        copy += 1
    return root


def bare_read_write(tree: Path, output: Path, actions: bool) -> int:
    """Read the tree's PNG (and action) files, write them as binary (and string) columns.

    Returns the frames written.
    """
    schema = pa.schema([("image", pa.binary())] + ([("action", pa.string())] if actions else []))
    suffixes = (".png", ".txt") if actions else (".png",)
    count = 0
    with pq.ParquetWriter(output, schema, use_dictionary=False) as writer:
        for episode in sorted(tree.glob("atari_*/episode_*")):
            files: dict[str, list[bytes]] = {suffix: [] for suffix in suffixes}
            for name in sorted(os.listdir(episode)):
                suffix = name[-4:]
                if suffix in files:
                    with open(episode / name, "rb") as file:
                        files[suffix].append(file.read())
            columns: dict[str, list] = {"image": files[".png"]}
            if actions:
                columns["action"] = [line.decode("ascii") for line in files[".txt"]]
            writer.write_table(pa.table(columns, schema=schema))
            count += len(columns["image"])
    return count


def best_of(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def throughput(tree: Path, work: Path, repeat: int) -> tuple[int, dict[str, float]]:
    """Time the baselines, convert and export on ``tree``; return frames and seconds."""
    out, exported = work / "out.parquet", work / "exported"
    frames = bare_read_write(tree, out, actions=True)  # also warms the file cache
    images = pq.read_table(out)["image"].combine_chunks()
    print(
        f"throughput on {frames} frames ({images.nbytes / 1e6:.0f} MB of PNG and offsets), "
        f"best of {repeat}:"
    )

    def run_export(num_proc: int) -> None:
        if exported.exists():
            shutil.rmtree(exported)
        export(tree, exported, num_proc=num_proc)

    seconds = {
        PNG_ONLY: best_of(repeat, lambda: bare_read_write(tree, out, actions=False)),
        WITH_ACTIONS: best_of(repeat, lambda: bare_read_write(tree, out, actions=True)),
        IN_MEMORY: best_of(
            repeat, lambda: pq.write_table(pa.table({"image": images}), out, use_dictionary=False)
        ),
    }
    for config in ("interleaved", "simple"):
        for num_proc in (1, 2):
            seconds[f"convert {config}, num_proc={num_proc}"] = best_of(
                repeat,
                lambda c=config, n=num_proc: convert(tree, out, c, overwrite=True, num_proc=n),
            )
    for num_proc in (1, 2):
        seconds[f"export, num_proc={num_proc}"] = best_of(repeat, lambda n=num_proc: run_export(n))
    shutil.rmtree(exported)
    out.unlink()
    baselines = (PNG_ONLY, WITH_ACTIONS, IN_MEMORY)
    print_columns(
        ("measurement", "seconds", "frames/s", "x PNG files", "x PNG + actions", "x in memory"),
        [
            (
                name,
                f"{time_:.2f}",
                f"{frames / time_:.0f}",
                *(f"{time_ / seconds[base]:.2f}x" for base in baselines),
            )
            for name, time_ in seconds.items()
        ],
    )
    return frames, seconds


def peak_rss_mb(*args: str) -> float:
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, *args], capture_output=True, text=True, check=True
    )
    return int(result.stdout.split()[-1]) / 1024


def peak_memory(
    trees: dict[int, Path], work: Path, row_groups: list[int]
) -> dict[str, list[float]]:
    """Return the peak RSS (MB) of convert and export, each alone in a process, per tree."""
    out, exported = work / "out.parquet", work / "exported"
    peaks: dict[str, list[float]] = {}
    for config in ("interleaved", "simple"):
        for row_group in row_groups:
            peaks[f"convert {config}, row groups {row_group >> 20} MB"] = [
                peak_rss_mb("convert", str(tree), str(out), config, str(row_group))
                for tree in trees.values()
            ]
    out.unlink()
    peaks["export"] = []
    for tree in trees.values():
        peaks["export"].append(peak_rss_mb("export", str(tree), str(exported)))
        shutil.rmtree(exported)
    print(f"\nPeak RSS, MB (a process that only imports them: {peak_rss_mb('import'):.0f})")
    print_columns(
        ("job", *(f"{frames} frames" for frames in trees)),
        [(job, *(f"{peak:.0f}" for peak in job_peaks)) for job, job_peaks in peaks.items()],
    )
    return peaks


def summary_ratios(
    seconds: dict[str, float], peaks: dict[str, list[float]], sizes: tuple[int, int]
) -> list[Ratio]:
    """Return the ratios the issues ask for, with their goals."""
    jobs = [name for name in seconds if not name.startswith("bare")]
    ratios = [
        Ratio(
            f"{name} / {base}",
            seconds[name] / seconds[base],
            CONVERT_GOAL if name.startswith("convert") else None,
            at_most=True,
        )
        for base in (PNG_ONLY, WITH_ACTIONS)
        for name in jobs
    ]
    ratios += [
        Ratio(f"{name} / {IN_MEMORY}", seconds[name] / seconds[IN_MEMORY])
        for name in jobs
        if name.endswith("num_proc=1")
    ]
    small, large = sizes
    ratios += [
        Ratio(f"peak memory, {job}: {large} / {small} frames", b / a, MEMORY_GOAL, at_most=True)
        for job, (a, b) in peaks.items()
    ]
    return ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs (the tests' run)")
    parser.add_argument("--frames", help="two input sizes, in frames (default 250000,1000000)")
    parser.add_argument("--episode-frames", type=int, help="frames per episode (default 500)")
    parser.add_argument("--repeat", type=int, help="runs per measurement (default 3)")
    parser.add_argument("--workdir", help="where to write trees (default: the temp folder)")
    args = parser.parse_args(argv)
    quick = args.quick
    small, large = (
        int(n) for n in (args.frames or ("2000,4000" if quick else "250000,1000000")).split(",")
    )
    episode_frames = args.episode_frames or (100 if quick else 500)
    repeat = args.repeat or (1 if quick else 3)
    row_groups = [100 * 2**20] if quick else [100 * 2**20, 8 * 2**20]
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}; load average {load:.2f}")
    if load > 0.5:
        print("(other work is running on this machine: it skews the figures)")

    work = Path(tempfile.mkdtemp(prefix="bench_convert-", dir=args.workdir))
    try:
        seed = work / "seed"
        sample(
            seed,
            envs=SEED_GAMES,
            max_episodes=1,
            parallel=os.cpu_count() or 1,
            settings=EpisodeSettings(policy="repeat", frame_cap=episode_frames),
            progress=False,
        )
        trees = {n: make_tree(seed, work / f"tree_{n}", n) for n in (small, large)}
        print(
            f"input: trees of {small} and {large} frames, episodes of up to {episode_frames} "
            f"frames of {', '.join(SEED_GAMES)}\n"
        )
        _, seconds = throughput(trees[small], work, repeat)
        peaks = peak_memory(trees, work, row_groups)
    finally:
        shutil.rmtree(work)
    print_summary(
        "Summary: ratios of times and of peak memory (lower is better), goals of issues 3 and 5",
        summary_ratios(seconds, peaks, (small, large)),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
