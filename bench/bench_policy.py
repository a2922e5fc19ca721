"""Benchmark of the base policies: how well ``search`` plays against ``repeat`` and random play.

On the 26 games of the Atari 100k benchmark (or ``--games``), with sticky actions on (the v5
default), the same episode seeds for every policy and whole-game episodes of at most
``--frames`` recorded frames (4,500 by default: 18,000 emulator frames, the 5 minutes the
published planners were measured on), it plays:

- ``repeat`` at randomness 0.2 (the baseline) and the default policy (``search`` at
  randomness 0.0, the default ``--search-budget``);
- with ``--variants``, also uniformly random play (randomness 1.0), ``search`` at half and
  twice the budget, and ``search`` at randomness 0.2.

Per game and as medians over the games: the return, the human-normalised score
((return - random) / (human - random), reference scores of
:mod:`atari_interleaved.core.reference_scores`), the ratio of the return to ``repeat``'s, the
emulator frames the planner simulated per recorded frame, recorded frames/s per core (the
worker process's CPU time, so other work on the machine does not count), and the share of
the planner's time spent inside ALE. That share is estimated without timing
every call: each game's worker times ALE's act, cloneState, restoreState and getRAM on that
game before and after each run of the planner, and the planner counts its calls. The
published medians of the planning papers and of the seed's trained agents, normalised with
the same reference scores, are printed beside the measured one; the summary holds the goals.

Games run in ``--parallel`` processes (one game each at a time); nothing is written to disk.

Run from the repository root: ``python3 bench/bench_policy.py --parallel 2`` (about 20 minutes
on 2 idle cores; with ``--variants`` several times that), ``--games pong,breakout`` for a
subset, or ``--quick`` (what the tests run: one game, a few frames, every variant).
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any

from bench_table import Ratio, print_columns, print_summary

from atari_interleaved.core.games import resolve_games
from atari_interleaved.core.reference_scores import human_normalised
from atari_interleaved.core.settings import DEFAULT_SEARCH_BUDGET, EpisodeSettings
from atari_interleaved.generate.emulator import GameEmulator
from atari_interleaved.generate.search import SearchPolicy, SearchStats

ATARI_100K = (
    "alien", "amidar", "assault", "asterix", "bank_heist", "battle_zone", "boxing", "breakout",
    "chopper_command", "crazy_climber", "demon_attack", "freeway", "frostbite", "gopher",
    "hero", "jamesbond", "kangaroo", "krull", "kung_fu_master", "ms_pacman", "pong",
    "private_eye", "qbert", "road_runner", "seaquest", "up_n_down",
)  # fmt: skip
QUICK_GAMES = ("pong",)
QUICK_FRAMES = 12
RECORDING_POLICY = "bench_policy:recording_search"
"""The built-in search, through the plug-in interface, keeping each episode's planner."""

_planners: list[SearchPolicy] = []


def recording_search(context: Any) -> SearchPolicy:
    """A factory of the ``search`` policy that keeps the policy to read its counters."""
    policy = SearchPolicy(context)
    _planners.append(policy)
    return policy


def planners() -> list[SearchPolicy]:
    """The planners made by :func:`recording_search` (in the module the sampler imported)."""
    return importlib.import_module("bench_policy")._planners


@dataclass(frozen=True)
class Variant:
    """One policy setting the benchmark plays."""

    label: str
    policy: str
    randomness: float
    budget_factor: float = 1.0

    @property
    def searches(self) -> bool:
        return self.policy != "repeat"


DEFAULT_VARIANTS = (
    Variant("repeat r=0.2", "repeat", 0.2),
    Variant("search r=0", RECORDING_POLICY, 0.0),
)
MORE_VARIANTS = (
    Variant("random", "repeat", 1.0),
    Variant("search r=0, budget/2", RECORDING_POLICY, 0.0, 0.5),
    Variant("search r=0, budget*2", RECORDING_POLICY, 0.0, 2.0),
    Variant("search r=0.2", RECORDING_POLICY, 0.2),
)
BASELINE = DEFAULT_VARIANTS[0].label
MAIN = DEFAULT_VARIANTS[1].label
PUBLISHED_MEDIANS = (
    ("Rollout IW(1), B-PROST, 0.5 s a decision (AAAI 2018)", 0.38),
    ("Rollout IW(1), B-PROST, 0.5 s, risk-averse (AAAI 2018)", 1.10),
    ("IW(1) over RAM, 150,000 frames a decision (IJCAI 2015)", 2.19),
    ("the seed's agents, sample-factory APPO atari_2B", 2.77),
)
"""Median human-normalised scores over the 26 games, whole-game episodes of 18,000 emulator
frames, normalised with the same reference scores (the sources: shared/FACTS.md)."""


@dataclass(frozen=True)
class Result:
    """What one policy did on one game, over the benchmark's episodes."""

    game: str
    variant: str
    episode_return: float
    frames: int
    seconds: float
    """CPU seconds of the worker process playing the episodes."""
    simulated_per_frame: float | None
    ale_share: float | None

    @property
    def normalised(self) -> float | None:
        return human_normalised(self.game, self.episode_return)

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def ale_costs(game: str, calls: int = 300) -> dict[str, float]:
    """Time ALE's act (one frame), cloneState, restoreState and getRAM on ``game``, in s."""
    import ale_py
    from ale_py import roms

    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
    ale = ale_py.ALEInterface()
    ale.setInt("random_seed", 0)
    ale.setFloat("repeat_action_probability", 0.0)
    ale.loadROM(roms.get_rom_path(game))
    action = ale.getMinimalActionSet()[-1]
    state = ale.cloneState()
    costs = {}
    started = time.perf_counter()
    for _ in range(calls):
        ale.act(action)
    costs["act"] = (time.perf_counter() - started) / calls
    started = time.perf_counter()
    for _ in range(calls):
        ale.cloneState()
    costs["clone"] = (time.perf_counter() - started) / calls
    started = time.perf_counter()
    for _ in range(calls):
        ale.restoreState(state)
    costs["restore"] = (time.perf_counter() - started) / calls
    started = time.perf_counter()
    for _ in range(calls):
        ale.getRAM()
    costs["ram"] = (time.perf_counter() - started) / calls
    return costs


def ale_seconds(stats: SearchStats, costs: dict[str, float]) -> float:
    """The time the planner's counted ALE calls take at the measured costs."""
    return (
        stats.frames * costs["act"]
        + stats.clones * costs["clone"]
        + stats.restores * costs["restore"]
        + stats.ram_reads * costs["ram"]
    )


def run_game(
    game: str, frames: int, episodes: int, budget: float, variants: tuple[Variant, ...]
) -> list[Result]:
    """Play every variant on ``game``; runs in a worker process."""
    results = []
    for variant in variants:
        # ALE's costs around each run, averaged: other work on the machine changes them.
        before = ale_costs(game) if variant.searches else {}
        settings = EpisodeSettings(
            frame_cap=frames,
            randomness=variant.randomness,
            policy=variant.policy,
            search_budget=budget * variant.budget_factor,
        )
        emulator = GameEmulator(game, settings)
        planners().clear()
        total_return, total_frames, seconds = 0.0, 0, 0.0
        for index in range(episodes):
            started = time.process_time()  # CPU time: other work on the cores does not count
            episode = emulator.run_episode(index)
            seconds += time.process_time() - started
            assert episode.metadata is not None
            total_return += episode.metadata.episode_return
            total_frames += episode.num_frames
        simulated = share = None
        if variant.searches:
            after = ale_costs(game)
            costs = {call: (before[call] + after[call]) / 2 for call in after}
            stats = [planner.stats for planner in planners()]
            simulated = sum(s.frames for s in stats) / total_frames
            planning = sum(s.seconds for s in stats)
            share = sum(ale_seconds(s, costs) for s in stats) / planning if planning else None
        results.append(
            Result(
                game,
                variant.label,
                total_return / episodes,
                total_frames,
                seconds,
                simulated,
                share,
            )  # fmt: skip
        )
    return results


def _run_game(arguments: tuple[str, int, int, float, tuple[Variant, ...]]) -> list[Result]:
    return run_game(*arguments)


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ratio(result: Result, baseline: Result) -> float | None:
    if baseline.episode_return == 0:
        return None
    return result.episode_return / baseline.episode_return


def beats(result: Result, baseline: Result) -> bool:
    """Whether ``result`` scores higher than ``baseline`` (the same counts as not beating)."""
    return result.episode_return > baseline.episode_return


def print_game(results: list[Result]) -> None:
    baseline = results[0]
    lines = [
        (
            result.variant,
            f"{result.episode_return:.1f}",
            _number(result.normalised),
            _number(_ratio(result, baseline)),
            _number(result.simulated_per_frame, 0),
            f"{result.frames_per_second:.1f}",
            "-" if result.ale_share is None else f"{result.ale_share:.0%}",
        )
        for result in results
    ]
    print(f"\n{results[0].game} ({results[0].frames} recorded frames of {BASELINE})")
    print_columns(
        ("policy", "return", "human-norm.", "/ repeat", "sim. frames/frame", "frames/s/core",
         "in ALE"),
        lines,
    )  # fmt: skip
    sys.stdout.flush()


def _median(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def print_medians(
    by_game: dict[str, list[Result]], variants: tuple[Variant, ...]
) -> dict[str, dict[str, float | None]]:
    """Print the table of medians over the games; return it by variant."""
    medians: dict[str, dict[str, float | None]] = {}
    lines = []
    for number, variant in enumerate(variants):
        rows = [results[number] for results in by_game.values()]
        baselines = [results[0] for results in by_game.values()]
        wins = sum(beats(row, base) for row, base in zip(rows, baselines, strict=True))
        medians[variant.label] = {
            "return": _median([row.episode_return for row in rows]),
            "normalised": _median([row.normalised for row in rows]),
            "ratio": _median(
                [_ratio(row, base) for row, base in zip(rows, baselines, strict=True)]
            ),
            "simulated": _median([row.simulated_per_frame for row in rows]),
            "fps": _median([row.frames_per_second for row in rows]),
            "share": _median([row.ale_share for row in rows]),
            "wins": float(wins),
        }
        m = medians[variant.label]
        lines.append(
            (
                variant.label,
                _number(m["return"], 1),
                _number(m["normalised"]),
                _number(m["ratio"]),
                "-" if number == 0 else f"{wins}/{len(rows)}",
                _number(m["simulated"], 0),
                _number(m["fps"], 1),
                "-" if m["share"] is None else f"{m['share']:.0%}",
            )
        )
    print(f"\nMedians over {len(by_game)} games")
    print_columns(
        ("policy", "return", "human-norm.", "/ repeat", "beats repeat", "sim. frames/frame",
         "frames/s/core", "in ALE"),
        lines,
    )  # fmt: skip
    return medians


def print_published(measured: float | None, budget: float) -> None:
    """Print the published medians beside the one measured here."""
    lines = [(label, f"{median:.2f}") for label, median in PUBLISHED_MEDIANS]
    which = "default budget" if budget == DEFAULT_SEARCH_BUDGET else f"budget {budget:g}"
    lines.append((f"measured here: search r=0, {which}", _number(measured)))
    print("\nMedian human-normalised score, 26 games (published: whole-game episodes)")
    print_columns(("planner", "median"), lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", default=None, help="comma-separated games (default: the 26)")
    parser.add_argument("--frames", type=int, default=4500,
                        help="recorded frames per episode at most (default 4500: 18,000 "
                        "emulator frames)")  # fmt: skip
    parser.add_argument("--episodes", type=int, default=1, help="episodes per game and policy")
    parser.add_argument("--budget", type=float, default=DEFAULT_SEARCH_BUDGET,
                        help="the default --search-budget to measure around")  # fmt: skip
    parser.add_argument("--parallel", type=int, default=1, help="processes, one game each")
    parser.add_argument(
        "--variants",
        action="store_true",
        help="also random play, budgets x0.5 and x2, search at randomness 0.2",
    )
    parser.add_argument("--quick", action="store_true",
                        help="one game, a few frames, every variant (tests)")  # fmt: skip
    parser.add_argument("--workdir", default=None, help="unused: nothing is written")
    args = parser.parse_args(argv)
    games = resolve_games(args.games.split(",")) if args.games else list(ATARI_100K)
    frames = args.frames
    variants = DEFAULT_VARIANTS + (MORE_VARIANTS if args.variants or args.quick else ())
    if args.quick:
        games, frames = list(QUICK_GAMES), QUICK_FRAMES
    print(
        f"{len(games)} games, {args.episodes} episode(s) each, at most {frames} recorded "
        f"frames, sticky actions 0.25, default budget {args.budget:g} emulator frames per "
        f"recorded frame, {args.parallel} process(es)"
    )
    work = [(game, frames, args.episodes, args.budget, variants) for game in games]
    by_game: dict[str, list[Result]] = {}
    with multiprocessing.get_context("fork").Pool(max(1, args.parallel)) as pool:
        for results in pool.imap_unordered(_run_game, work):
            print_game(results)
            by_game[results[0].game] = results
    by_game = {game: by_game[game] for game in games}
    medians = print_medians(by_game, variants)
    main_median = medians[MAIN]
    print_published(main_median["normalised"], args.budget)
    below = sum(
        1
        for results in by_game.values()
        if (score := results[1].normalised) is not None and score < 0.5
    )
    at_default = args.budget == DEFAULT_SEARCH_BUDGET
    print_summary(
        f"Summary: search at randomness 0, budget {args.budget:g}, against the goals of issue 21",
        [
            Ratio(
                "median human-normalised score",
                main_median["normalised"],
                2.5 if at_default else 1.69 if args.budget == 100 else None,
            ),
            Ratio(
                "games where search beats repeat",
                (main_median["wins"] or 0) / len(games),
                25 / 26,
                percent=True,
            ),
            Ratio(
                f"games below 0.5 human-normalised / {len(games)}",
                below / len(games),
                3 / 26 if at_default else None,
                at_most=True,
                percent=True,
            ),
            Ratio(
                f"median emulator frames per recorded frame / {args.budget:g}",
                None
                if main_median["simulated"] is None
                else main_median["simulated"] / args.budget,
                1.0,
                at_most=True,
            ),
            Ratio("median share of planner time inside ALE", main_median["share"], 0.75,
                  percent=True),
        ],
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
