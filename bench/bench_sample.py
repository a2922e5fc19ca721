"""Benchmark of the sampler against a bare loop, with a per-stage profile, in one run.

Prints, on the same games, episodes and frame cap, as ratios:

- the sampler (folder mode, 1 worker) against a bare single-process loop: gymnasium
  ``ALE/<Game>-v5`` step + Pillow PNG at its default level of the RGB observation + two files a
  frame (PNG + action text), no project code (goal: 2x or more);
- a per-stage profile of the sampler (emulation, PNG encode, file writes, the rest), timed
  in-process on the same episodes;
- ``--parallel 2`` against 1 (parallel efficiency, goal 95% or more; 2 workers on 2 cores);
- the Ray backend on a local Ray instance against the local backend (goal: within 15%),
  skipped when ray is not installed;
- PNG settings on the same frames: encodes/s and bytes per frame of the sampler's palette PNG
  at levels 1 and 6 against Pillow's RGB PNG at its default level.

Run from the repository root: ``python3 bench/bench_sample.py`` (about two minutes on two
cores), or ``python3 bench/bench_sample.py --quick`` (seconds; what CI runs). Frame rates
are medians over ``--repeat`` runs; nothing is asserted about them.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import ale_py
import numpy as np
from PIL import Image

from atari_interleaved.games import env_id, resolve_games
from atari_interleaved.generate.emulator import GameEmulator
from atari_interleaved.generate.folder_store import FolderStore
from atari_interleaved.generate.frame_encoder import PaletteFrameEncoder
from atari_interleaved.generate.sampler import sample
from atari_interleaved.generate.settings import EpisodeSettings

DEFAULT_GAMES = "alien,pong,space_invaders"


@dataclass(frozen=True)
class Workload:
    games: list[str]
    episodes: int
    settings: EpisodeSettings


@dataclass
class Row:
    name: str
    short: str
    frames: int
    seconds: float
    against: Row | None = None
    goal: str = ""

    @property
    def rate(self) -> float:
        return self.frames / self.seconds

    def ratio(self) -> str:
        if self.against is None:
            return ""
        return f"{self.rate / self.against.rate:.2f}x {self.against.short}"


class Scratch:
    """Fresh output folders inside one temporary folder this benchmark created."""

    def __init__(self, parent: str | None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bench_sample-", dir=parent))
        self._count = 0

    @contextmanager
    def folder(self) -> Iterator[Path]:
        self._count += 1
        path = self.root / f"run{self._count}"
        try:
            yield path
        finally:
            if path.exists():
                shutil.rmtree(path)

    def remove(self) -> None:
        shutil.rmtree(self.root)


def measure(
    repeat: int, scratch: Scratch, runs: dict[str, Callable[[Path], object]]
) -> dict[str, tuple[int, float]]:
    """Time each ``run(folder)`` ``repeat`` times, interleaved.

    Interleaving spreads whatever else the machine does over all of them alike. Returns, per
    run, the frame files it wrote (counted on disk, the same way for every run) and the
    median seconds.
    """
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    frames: dict[str, int] = {}
    for _ in range(repeat):
        for name, run in runs.items():
            with scratch.folder() as folder:
                started = time.perf_counter()
                run(folder)
                seconds[name].append(time.perf_counter() - started)
                frames[name] = sum(1 for _ in folder.glob("atari_*/episode_*/frame_*.png"))
    return {name: (frames[name], statistics.median(seconds[name])) for name in runs}


# --- the bare loop: gymnasium + Pillow + two files a frame, no project code ----------------


def bare_loop(env_ids: list[str], work: Workload, root: Path) -> None:
    """Play and write the workload the plain way."""
    import gymnasium

    gymnasium.register_envs(ale_py)
    randomness, cap = work.settings.randomness, work.settings.frames_per_env
    for name in env_ids:
        env = gymnasium.make(name)
        meanings = env.unwrapped.get_action_meanings()
        rng = np.random.default_rng(work.settings.seed)
        observation, _ = env.reset(seed=work.settings.seed)
        game_dir = root / ("atari_" + name.split("/")[1].split("-")[0].lower())
        for episode in range(work.episodes):
            if episode:
                observation, _ = env.reset()
            folder = game_dir / f"episode_{episode:03d}_rand{randomness}"
            folder.mkdir(parents=True)
            action = 0
            for frame in range(cap):
                Image.fromarray(observation).save(folder / f"frame_{frame:06d}.png")
                if rng.random() < randomness:
                    action = int(rng.integers(len(meanings)))
                (folder / f"action_{frame:06d}.txt").write_text(f"{action}: {meanings[action]}")
                if frame == cap - 1:
                    break
                observation, _, terminated, truncated, _ = env.step(action)
                if terminated or truncated:
                    break
        env.close()


# --- the sampler -----------------------------------------------------------------------------


def run_sampler(work: Workload, parallel: int, backend: str = "local") -> Callable[[Path], None]:
    def run(folder: Path) -> None:
        sample(
            folder,
            envs=work.games,
            max_episodes=work.episodes,
            parallel=parallel,
            settings=work.settings,
            progress=False,
            backend=backend,  # type: ignore[arg-type]
        )

    return run


# --- per-stage profile ---------------------------------------------------------------------


class _Timed:
    """Forward every method call to ``target``, adding its duration to ``clock[key]``."""

    def __init__(self, target: object, clock: dict[str, float], key: str) -> None:
        self._target, self._clock, self._key = target, clock, key

    def __getattr__(self, name: str) -> object:
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute
        clock, key = self._clock, self._key

        def timed(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return attribute(*args, **kwargs)
            finally:
                clock[key] += time.perf_counter() - started

        setattr(self, name, timed)  # later calls skip __getattr__
        return timed


@contextmanager
def timed_encoder(clock: dict[str, float]) -> Iterator[None]:
    original = PaletteFrameEncoder.encode

    def encode(self: PaletteFrameEncoder, *args: object) -> bytes:
        started = time.perf_counter()
        try:
            return original(self, *args)  # type: ignore[arg-type]
        finally:
            clock["encode"] += time.perf_counter() - started

    PaletteFrameEncoder.encode = encode  # type: ignore[method-assign]
    try:
        yield
    finally:
        PaletteFrameEncoder.encode = original  # type: ignore[method-assign]


def profile(work: Workload, root: Path) -> tuple[int, dict[str, float]]:
    """Sample the workload as one sampler worker does, timing each stage."""
    clock = dict.fromkeys(["rom load", "emulation", "encode", "episode", "write"], 0.0)
    store = FolderStore(root)
    store.prepare(work.settings, overwrite=False)
    frames = 0
    with timed_encoder(clock):
        for game in work.games:
            started = time.perf_counter()
            emulator = GameEmulator(game, work.settings)
            clock["rom load"] += time.perf_counter() - started
            emulator._ale = _Timed(emulator._ale, clock, "emulation")  # type: ignore[assignment]
            for index in range(work.episodes):
                started = time.perf_counter()
                episode = emulator.run_episode(index)
                played = time.perf_counter()
                store.write(episode)
                clock["episode"] += played - started
                clock["write"] += time.perf_counter() - played
                frames += episode.num_frames
    # The encoder asks ALE for RGB only for colours it has not seen: counted in both, rarely.
    clock["rest"] = clock.pop("episode") - clock["emulation"] - clock["encode"]
    return frames, clock


# --- PNG settings ----------------------------------------------------------------------------


def collect_screens(games: list[str], count: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Play ``count`` random frames of each game; return (palette indices, RGB) screens."""
    from ale_py import roms

    rng = np.random.default_rng(seed)
    screens = []
    for game in games:
        ale = ale_py.ALEInterface()
        ale.setInt("frame_skip", 4)
        ale.setInt("random_seed", seed)
        ale.loadROM(roms.get_rom_path(game))
        actions = ale.getMinimalActionSet()
        for _ in range(count):
            if ale.game_over():
                ale.reset_game()
            ale.act(actions[rng.integers(len(actions))])
            screens.append((ale.getScreen(), ale.getScreenRGB()))
    return screens


def png_settings(screens: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[str, float, float]]:
    """Return (setting, encodes/s, bytes/frame) of each PNG setting on the same screens."""

    def palette(level: int) -> Callable[[np.ndarray, np.ndarray], bytes]:
        encoder = PaletteFrameEncoder(level)
        return lambda screen, rgb: encoder.encode(screen, lambda: rgb)

    def pillow_rgb(**options: int) -> Callable[[np.ndarray, np.ndarray], bytes]:
        def encode(screen: np.ndarray, rgb: np.ndarray) -> bytes:
            buffer = io.BytesIO()
            Image.fromarray(rgb).save(buffer, format="PNG", **options)
            return buffer.getvalue()

        return encode

    settings = {
        "Pillow RGB, default level (6)": pillow_rgb(),
        "Pillow RGB, level 1": pillow_rgb(compress_level=1),
        "palette (sampler), level 1": palette(1),
        "palette (sampler), level 6": palette(6),
    }
    results = []
    for name, encode in settings.items():
        started = time.perf_counter()
        encoded = [encode(screen, rgb) for screen, rgb in screens]
        seconds = time.perf_counter() - started
        for data, (_, rgb) in zip(encoded, screens, strict=True):
            decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
            if not np.array_equal(decoded, rgb):
                raise RuntimeError(f"{name} is not lossless")
        results.append((name, len(screens) / seconds, sum(map(len, encoded)) / len(encoded)))
    return results


# --- Ray -------------------------------------------------------------------------------------


def ray_rows(work: Workload, repeat: int, scratch: Scratch) -> list[Row]:
    """Local backend and Ray backend (on a running local Ray instance), 2 workers each."""
    try:
        import ray
    except ImportError:
        print('Ray backend: skipped, ray is not installed (pip install "atari-interleaved[ray]")')
        return []
    started = time.perf_counter()
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.ERROR)
    startup = time.perf_counter() - started
    try:
        runs = {"local": run_sampler(work, 2), "ray": run_sampler(work, 2, backend="ray")}
        timings = measure(repeat, scratch, runs)
    finally:
        ray.shutdown()
    local = Row("sampler, --parallel 2 (again, beside Ray)", "local", *timings["local"])
    on_ray = Row("sampler, Ray backend, 2 CPUs", "ray", *timings["ray"], local, ">= 0.85x")
    frames, seconds = timings["ray"]
    cold = Row(f"  Ray + its start-up ({startup:.1f} s)", "", frames, seconds + startup, local)
    return [local, on_ray, cold]


# --- report ----------------------------------------------------------------------------------


def print_table(rows: list[Row]) -> None:
    header = ("measurement", "frames", "seconds", "frames/s", "ratio", "goal")
    lines = [header] + [
        (
            row.name,
            str(row.frames),
            f"{row.seconds:.2f}",
            f"{row.rate:.0f}",
            row.ratio(),
            row.goal,
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for number, line in enumerate(lines):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if number == 0:
            print("  ".join("-" * width for width in widths))


def print_profile(frames: int, clock: dict[str, float], sampler: Row) -> None:
    total = sum(clock.values())
    print(
        f"\nPer-stage profile of one sampler worker, {frames} frames, in-process "
        f"({frames / total:.0f} frames/s timed, {sampler.rate:.0f} untimed):"
    )
    print(f"{'stage':<10}  {'seconds':>7}  {'share':>5}  {'us/frame':>8}  {'alone, frames/s':>15}")
    for stage, seconds in clock.items():
        alone = f"{frames / seconds:.0f}" if seconds > 0 else "-"
        print(
            f"{stage:<10}  {seconds:7.2f}  {seconds / total:5.0%}  "
            f"{seconds / frames * 1e6:8.0f}  {alone:>15}"
        )


def print_png(results: list[tuple[str, float, float]], frames: int) -> None:
    base_rate, base_bytes = results[0][1], results[0][2]
    print(f"\nPNG settings on the same {frames} frames (all decode to the exact RGB screen):")
    print(f"{'setting':<30}  {'encodes/s':>9}  {'speed':>6}  {'bytes/frame':>11}  {'size':>5}")
    for name, rate, size in results:
        print(
            f"{name:<30}  {rate:9.0f}  {rate / base_rate:5.2f}x  {size:11.0f}  "
            f"{size / base_bytes:5.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny workload (CI smoke run)")
    parser.add_argument("--games", default=DEFAULT_GAMES, help="default: %(default)s")
    parser.add_argument("--episodes", type=int, help="per game (default: 4, quick 2)")
    parser.add_argument("--frames-per-env", type=int, help="frame cap (default: 500, quick 60)")
    parser.add_argument("--repeat", type=int, help="runs per measurement (default: 3, quick 1)")
    parser.add_argument("--workdir", help="where to write frames (default: the temp folder)")
    args = parser.parse_args(argv)
    quick = args.quick
    games = resolve_games(args.games.split(","))
    work = Workload(
        games=games,
        episodes=args.episodes or (2 if quick else 4),
        settings=EpisodeSettings(frames_per_env=args.frames_per_env or (60 if quick else 500)),
    )
    repeat = args.repeat or (1 if quick else 3)
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
    print(
        f"{', '.join(games)}: {work.episodes} episodes of at most "
        f"{work.settings.frames_per_env} frames each, randomness {work.settings.randomness}; "
        f"median of {repeat}; {os.cpu_count()} CPUs; python {sys.version.split()[0]}; "
        f"load average {os.getloadavg()[0]:.2f} (other work on the machine skews the figures)\n"
    )
    scratch = Scratch(args.workdir)
    try:
        env_ids = [env_id(game) for game in games]
        timings = measure(
            repeat,
            scratch,
            {
                "bare": lambda folder: bare_loop(env_ids, work, folder),
                "one": run_sampler(work, 1),
                "two": run_sampler(work, 2),
            },
        )
        bare = Row("bare loop (gymnasium + Pillow + 2 files)", "bare", *timings["bare"])
        one = Row("sampler, folder mode, 1 worker", "1 worker", *timings["one"], bare, ">= 2x")
        two = Row("sampler, --parallel 2", "2 workers", *timings["two"], one, ">= 1.9x (95%)")
        rows = [bare, one, two, *ray_rows(work, repeat, scratch)]
        with scratch.folder() as folder:
            profile_frames, clock = profile(work, folder)
        screens = collect_screens(games, 100 if quick else 1000, work.settings.seed)
        png = png_settings(screens)
    finally:
        scratch.remove()
    print_table(rows)
    print(f"(load average at the end: {os.getloadavg()[0]:.2f})")
    print(
        f"\nparallel efficiency, 2 workers on {os.cpu_count()} CPUs: {two.rate / one.rate / 2:.0%}"
    )
    print_profile(profile_frames, clock, one)
    print_png(png, len(screens))
    return 0


if __name__ == "__main__":
    sys.exit(main())
