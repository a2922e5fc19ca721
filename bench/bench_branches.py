"""Counterfactual branches: how much the next frame depends on the action, and what they cost.

Prints two tables and a summary:

- **Action dependence**, per game: over the branch points of a few episodes (``repeat``
  policy, randomness 0.5, ``--branch-every 10 --branch-steps H``), the mean share of pixels
  that differ between the branches of one point, averaged over every pair of actions, at
  1 step and at H steps ahead (a pixel differs when its ALE colour differs). Games whose
  actions show at once have a high share at 1 step; games where they show only later have a
  low share at 1 step and a higher one at H.
- **Cost**: sampling speed (recorded frames/s of the episode itself, writing the frame tree
  with ``--parallel 1``) with ``--branch-every 1 --branch-steps 1`` against the same run
  without branches, under ``repeat`` and under the default planner (``search``, its
  default budget), and with ``--branch-every`` larger than the episodes (one branch point
  each, at frame 0) under ``repeat``. Speeds are medians over ``--repeat`` runs, the runs
  with and without branches one after the other.

Run from the repository root: ``python3 bench/bench_branches.py`` (a few minutes on two
cores), or ``--quick`` (seconds; figures meaningless).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_table import Ratio, print_columns, print_summary

from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate.emulator import GameEmulator
from atari_interleaved.generate.sampler import sample
from atari_interleaved.storage.png_decode import decode_png

GAMES = "alien,breakout,pong,seaquest,space_invaders,ms_pacman,freeway,enduro"
COST_GAMES = "breakout,pong"


def differing_share(frames: list[np.ndarray]) -> float:
    """Return the mean share of pixels differing between two of ``frames``, over all pairs."""
    pairs = list(itertools.combinations(frames, 2))
    return float(np.mean([np.mean(first != second) for first, second in pairs]))


def dependence(game: str, episodes: int, frames: int, steps: int) -> tuple[int, float, float]:
    """Return (branch points, mean share at step 1, at step ``steps``) of ``game``."""
    settings = EpisodeSettings(
        policy="repeat", randomness=0.5, frame_cap=frames, branch_every=10, branch_steps=steps
    )
    emulator = GameEmulator(game, settings)
    first, last, points = [], [], 0
    for index in range(episodes):
        by_point: dict[int, list] = {}
        for branch in emulator.run_episode(index).branches:
            by_point.setdefault(branch.frame_number, []).append(branch)
        for branches in by_point.values():
            points += 1
            first.append(differing_share([decode_png(b.frames[0], rgb=False) for b in branches]))
            if all(branch.steps == steps for branch in branches):
                last.append(
                    differing_share([decode_png(b.frames[-1], rgb=False) for b in branches])
                )
    return points, float(np.mean(first)), float(np.mean(last)) if last else float("nan")


def speed(work: Path, games: list[str], settings: EpisodeSettings, episodes: int) -> float:
    """Return the recorded frames/s of one folder-mode run with ``--parallel 1``."""
    output = work / "run"
    started = time.perf_counter()
    report = sample(
        output, envs=games, max_episodes=episodes, parallel=1, settings=settings, progress=False
    )
    seconds = time.perf_counter() - started
    shutil.rmtree(output)
    return report.frames_written / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", default=GAMES)
    parser.add_argument("--cost-games", default=COST_GAMES)
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--frames-per-env", type=int, default=300)
    parser.add_argument("--branch-steps", type=int, default=8, metavar="H")
    parser.add_argument("--planner-frames", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--quick", action="store_true", help="tiny runs (a smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.games, args.cost_games = "breakout,pong", "pong"
        args.episodes, args.frames_per_env, args.branch_steps = 1, 30, 3
        args.planner_frames, args.repeat = 6, 1
    print(f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}; "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip

    steps = args.branch_steps
    rows = []
    for game in args.games.split(","):
        points, one, many = dependence(game, args.episodes, args.frames_per_env, steps)
        rows.append((game, str(points), f"{one:.2%}", f"{many:.2%}"))
    print(f"\nAction dependence: pixels differing between the branches of a point "
          f"({args.episodes} episodes of {args.frames_per_env} frames a game, repeat r=0.5, "
          f"--branch-every 10)")  # fmt: skip
    print_columns(("game", "points", "1 step", f"{steps} steps"), rows)

    games = args.cost_games.split(",")
    every = {"branch_every": 1, "branch_steps": 1}
    rare = {"branch_every": 10_000, "branch_steps": 1}
    cases = {
        "repeat": (EpisodeSettings(policy="repeat", frame_cap=args.frames_per_env), args.episodes),
        "planner": (EpisodeSettings(frame_cap=args.planner_frames), 1),
    }
    runs = [("repeat", every), ("planner", every), ("repeat", rare)]
    work = Path(tempfile.mkdtemp(dir=args.workdir))
    try:
        rates: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.repeat):
            for policy, branch in runs:
                settings, episodes = cases[policy]
                branched = EpisodeSettings.from_dict({**settings.to_dict(), **branch})
                label = f"{policy}, --branch-every {branch['branch_every']}"
                for name, chosen in (("without", settings), (label, branched)):
                    rate = speed(work, games, chosen, episodes)
                    rates.setdefault((label, name), []).append(rate)
    finally:
        shutil.rmtree(work)
    table, ratios = [], []
    for policy, branch in runs:
        label = f"{policy}, --branch-every {branch['branch_every']}"
        without = statistics.median(rates[label, "without"])
        branched = statistics.median(rates[label, label])
        table.append((label, f"{without:.1f}", f"{branched:.1f}"))
        ratios.append(Ratio(f"sampling speed with / without branches, {label}", branched / without))
    print(f"\nCost: recorded frames/s, --parallel 1, folder mode, games {args.cost_games} "
          f"(medians of {args.repeat})")  # fmt: skip
    print_columns(("run", "without branches", "with branches"), table)
    print_summary("Summary: ", ratios)


if __name__ == "__main__":
    main()
