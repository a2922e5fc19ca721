"""Benchmark of the guard around base policy calls: what owning the real state costs.

The sampler saves ALE's real state before every call of a base policy and restores it after
(``generate/policy_call.py``), except for the built-in ``repeat``, which never touches the
emulator. In one process, on the same episodes, this prints:

- ``repeat`` as shipped (no save) and with the save forced: what the exemption spares;
- ``search`` as shipped, and what a save and a restore of its state cost, measured on the
  same emulator: the guard's cost on the planner, per recorded frame (the planner cannot
  run without it: it leaves the emulator in a simulated state);
- the guard's own call on ``repeat`` (the view's gate, the action check): a call through
  :class:`PolicyCall` against a bare call of the policy;
- a summary of the ratios (the goal: the guard costs ``search`` at most 2%).

The variants of a measurement alternate within each of ``--repeat`` rounds and medians are
printed, so other work on the machine slows them alike. Nothing is asserted.

Run from the repository root: ``python3 bench/bench_guard.py`` (about a minute on two idle
cores), or ``python3 bench/bench_guard.py --quick`` (a few seconds; what the tests run).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from unittest import mock

import ale_py
from ale_py import roms
from bench_table import Ratio, print_columns, print_summary

from atari_interleaved.core.errors import PolicyError
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate import policy_call
from atari_interleaved.generate.emulator import GameEmulator
from atari_interleaved.generate.policy import PolicyContext, repeat_previous
from atari_interleaved.generate.policy_call import PolicyCall

GAME = "alien"


def frames_per_second(emulator: GameEmulator, episodes: int, saves: bool | None) -> float:
    """Sample ``episodes`` episodes; ``saves`` forces the state save on (True) or off (False)."""
    forced = (
        nullcontext()
        if saves is None
        else mock.patch.object(policy_call, "never_touches_the_emulator", lambda policy: not saves)
    )
    with forced:
        started = time.perf_counter()
        frames = sum(emulator.run_episode(index).num_frames for index in range(episodes))
    return frames / (time.perf_counter() - started)


def medians(runs: int, variants: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Run every variant once per round, ``runs`` rounds, and return each one's median."""
    results: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, measure in variants.items():
            results[name].append(measure())
    return {name: statistics.median(values) for name, values in results.items()}


def call_microseconds(calls: int) -> dict[str, float]:
    """Return the microseconds of a call of ``repeat`` bare and through :class:`PolicyCall`,
    and of a save and a restore of the state, on a fresh emulator."""
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
    ale = ale_py.ALEInterface()
    ale.loadROM(roms.get_rom_path(GAME))
    actions = list(ale.getMinimalActionSet())
    for _ in range(200):  # into the game
        ale.act(actions[1])

    def fail(problem: str) -> PolicyError:
        return PolicyError(problem)

    def context(view: object) -> PolicyContext:
        return PolicyContext(GAME, [], None, view, 1.0)  # type: ignore[arg-type]

    guarded = PolicyCall(repeat_previous, context, ale, actions, 4, fail)
    bare = repeat_previous(context(None))

    def save_and_restore() -> None:
        ale.restoreState(ale.cloneState())

    timed = {
        "repeat, bare": lambda: bare(None, 1),
        "repeat, through the guard": lambda: guarded(None, 1, 1),
        "save and restore of the state": save_and_restore,
    }
    result = {}
    for name, call in timed.items():
        started = time.perf_counter()
        for _ in range(calls):
            call()
        result[name] = (time.perf_counter() - started) / calls * 1e6
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny workload (the tests' run)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (medians are printed)")
    args = parser.parse_args(argv)
    quick = args.quick
    rounds = 1 if quick else args.repeat
    repeat = GameEmulator(GAME, EpisodeSettings(policy="repeat", frame_cap=40 if quick else 300))
    search = GameEmulator(GAME, EpisodeSettings(policy="search", frame_cap=6 if quick else 30))
    episodes = 1 if quick else 4
    repeat.run_episode(0)  # the first episode of a process reads the versions and the ROM's md5
    rates = medians(
        rounds,
        {
            "repeat, as shipped (no save)": lambda: frames_per_second(repeat, episodes, None),
            "repeat, save forced": lambda: frames_per_second(repeat, episodes, True),
            "search, as shipped (save)": lambda: frames_per_second(search, 1, None),
        },
    )
    print(f"{GAME}, medians of {rounds} rounds\n")
    print_columns(("measurement", "frames/s"), [(k, f"{v:.1f}") for k, v in rates.items()])
    calls = call_microseconds(2_000 if quick else 50_000)
    repeat_us = 1e6 / rates["repeat, as shipped (no save)"]
    search_us = 1e6 / rates["search, as shipped (save)"]
    save_us = calls["save and restore of the state"]
    guard_us = calls["repeat, through the guard"] - calls["repeat, bare"]
    print()
    print_columns(
        ("one call or frame", "us"),
        [*((name, f"{value:.2f}") for name, value in calls.items()),
         ("a recorded frame of repeat", f"{repeat_us:.1f}"),
         ("a recorded frame of search", f"{search_us:.1f}")],
    )  # fmt: skip
    print_summary(
        "Summary: ",
        [
            Ratio(
                "repeat, save forced / as shipped (time per frame)",
                rates["repeat, as shipped (no save)"] / rates["repeat, save forced"],
            ),
            Ratio(
                "search / search without the guard's save (time per frame)",
                search_us / (search_us - save_us),
                goal=1.02,
                at_most=True,
            ),
            Ratio(
                "repeat / repeat without the guard's call (time per frame)",
                repeat_us / (repeat_us - guard_us),
            ),
        ],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
