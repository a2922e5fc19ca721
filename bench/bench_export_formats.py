"""The size of the Minari and LeRobot exports against the PNG frames they hold.

    python3 bench/bench_export_formats.py            # about 3,400 frames, a minute on 2 cores
    python3 bench/bench_export_formats.py --quick    # about 300 frames (what the tests run)

Real frames are sampled (Breakout and Ms. Pac-Man, the ``repeat`` policy at randomness 0.2
and 1.0, ``--episodes`` of each game at each level, ``--frames-per-env`` frames at most per
episode), then exported with
``export --format minari`` and, where lerobot can run, ``export --format lerobot``. Every size
is divided by the bytes of the PNG frame files of the sampled tree (the baseline, measured in
the same run). The lines:

- ``minari export / PNG frames``: the whole Minari export (goal at most 10x, issue 24);
- ``minari episodes (data/) / PNG frames``: its episodes' files alone (each dataset also
  holds Minari's ``metadata.json``, whose observation space writes out the bounds of every
  pixel: about 1 MB per game, whatever the number of frames);
- ``Minari arrow, uncompressed / PNG frames``: the same episode files written as Minari
  writes them (Arrow IPC, no compression; what the export wrote before issue 24);
- ``lerobot export / PNG frames``: the LeRobot v3 export (lerobot re-encodes the frames as
  PNG with Pillow). lerobot runs in its own environment: the Python named by
  ``ATARI_INTERLEAVED_LEROBOT_PYTHON``, else this one; ``skipped: no lerobot`` without it.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from bench_table import Ratio, print_summary

from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate.sampler import sample
from atari_interleaved.publishing.minari_export import export_minari

GAMES = ["breakout", "ms_pacman"]
LEROBOT_PYTHON = "ATARI_INTERLEAVED_LEROBOT_PYTHON"
MINARI_GOAL = 10.0


def size(paths: list[Path]) -> int:
    return sum(path.stat().st_size for path in paths if path.is_file())


def uncompressed(arrow_files: list[Path]) -> int:
    """The bytes of the Arrow IPC files rewritten without compression."""
    total = 0
    for path in arrow_files:
        with pa.ipc.open_file(path) as reader:
            sink = io.BytesIO()
            with pa.ipc.new_file(sink, reader.schema) as writer:
                for index in range(reader.num_record_batches):
                    writer.write_batch(reader.get_batch(index))
            total += sink.tell()
    return total


def lerobot_python() -> str | None:
    if os.environ.get(LEROBOT_PYTHON):
        return os.environ[LEROBOT_PYTHON]
    return sys.executable if importlib.util.find_spec("lerobot") else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="about 300 frames (the tests' run)")
    parser.add_argument("--episodes", type=int, help="per game and level (default 2)")
    parser.add_argument("--frames-per-env", type=int, help="frames per episode (default 900)")
    parser.add_argument("--workdir", help="where to write (default: the temporary folder)")
    args = parser.parse_args(argv)
    frame_cap = args.frames_per_env or (80 if args.quick else 900)
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}; load average {load:.2f}")

    work = Path(tempfile.mkdtemp(prefix="bench_export_formats-", dir=args.workdir))
    try:
        settings = EpisodeSettings(policy="repeat", frame_cap=frame_cap, randomness=(0.2, 1.0))
        frames = work / "frames"
        episodes = args.episodes or (1 if args.quick else 2)
        sample(frames, envs=GAMES, max_episodes=episodes, settings=settings, progress=False)
        pngs = list(frames.rglob("frame_*.png"))
        png = size(pngs)
        print(f"{len(pngs)} frames of {', '.join(GAMES)}: {png:,} bytes of PNG files")

        started = time.perf_counter()
        export_minari(frames, work / "minari")
        seconds = time.perf_counter() - started
        minari_files = list((work / "minari").rglob("*"))
        episode_files = list((work / "minari").glob("*/*/data/*/*"))
        arrow_files = [path for path in episode_files if path.suffix == ".arrow"]
        print(f"minari export: {size(minari_files):,} bytes in {seconds:.1f} s")
        ratios = [
            Ratio("minari export / PNG frames", size(minari_files) / png, MINARI_GOAL, True),
            Ratio("minari episodes (data/) / PNG frames", size(episode_files) / png),
            Ratio("Minari arrow, uncompressed / PNG frames", uncompressed(arrow_files) / png),
        ]

        python = lerobot_python()
        label = "lerobot export / PNG frames"
        if python is None:
            print(f"lerobot is not installed (set {LEROBOT_PYTHON}, docs/export.md)")
            ratios.append(Ratio(label, None, missing="skipped: no lerobot"))
        else:
            started = time.perf_counter()
            subprocess.run(
                [python, "-m", "atari_interleaved.cli.app", "export", "--format", "lerobot",
                 "--input-dir", str(frames), "--output-dir", str(work / "lerobot")],
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            seconds = time.perf_counter() - started
            lerobot = size(list((work / "lerobot").rglob("*")))
            print(f"lerobot export: {lerobot:,} bytes in {seconds:.1f} s (with its start-up)")
            ratios.append(Ratio(label, lerobot / png))
        print_summary("Summary: sizes divided by the PNG frames' (lower is smaller)", ratios)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
