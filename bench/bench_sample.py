"""Benchmark of the sampler against a bare loop, with a per-stage profile, in one run.

Prints, on the same games, episodes and frame cap for every sampler measurement:

- the bare loop: gymnasium ``ALE/<Game>-v5`` step + Pillow PNG at its default level of the
  RGB observation + two files a frame (PNG + action text), no project code; the baseline;
- the sampler with 1 worker in folder mode (the frame tree) and in direct-to-parquet mode
  (``sample(..., to_parquet=True)``), against the bare loop and against each other
  (goals: 2x the bare loop in folder mode, 2.5x in direct mode);
- the sampler with ``--parallel`` workers (all cores) in both modes against 1 worker:
  parallel efficiency (goal: 95% or more);
- the Ray backend on a local Ray instance against the local backend, same workers (goal:
  within 15%), skipped when ray is not installed;
- a per-stage profile of one worker in both modes (ROM load, emulation, PNG encode, the
  rest of an episode, writing), timed in-process on the same episodes;
- PNG settings on the same frames: encodes/s and bytes per frame of the sampler's palette
  PNG at levels 1 and 6, Pillow's RGB PNG and Pillow's palette PNG;
- a summary of the ratios with their goals.

Every measurement runs in a fresh process forked for it (nothing cached from an earlier
one: a worker keeps its games' emulators), the measurements of a repeat one after the
other, so other work on the machine spreads over all of them alike. Frame rates are
medians over ``--repeat`` runs; nothing is asserted about them.

Run from the repository root: ``python3 bench/bench_sample.py`` (about two minutes on two
cores), or ``python3 bench/bench_sample.py --quick`` (about 15 s; what the tests run).
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import logging
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import ale_py
import numpy as np
from bench_table import Ratio, print_columns, print_summary
from PIL import Image

from atari_interleaved.core.games import env_id, resolve_games
from atari_interleaved.core.optional import install_hint
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate.chunks import Chunk
from atari_interleaved.generate.emulator import GameEmulator
from atari_interleaved.generate.folder_store import FolderStore
from atari_interleaved.generate.frame_encoder import PaletteFrameEncoder
from atari_interleaved.generate.parquet_store import (
    ParquetStore,
    default_episodes_per_shard,
    plan_shards,
)
from atari_interleaved.generate.sampler import sample
from atari_interleaved.generate.worker_loop import EpisodeSink

DEFAULT_GAMES = "alien,pong,space_invaders"


@dataclass(frozen=True)
class Workload:
    games: list[str]
    episodes: int
    settings: EpisodeSettings


@dataclass(frozen=True)
class Timing:
    """One run: frames written, seconds, start-up seconds before them, disk used."""

    frames: int
    seconds: float
    disk_bytes: int
    startup: float = 0.0


@dataclass(frozen=True)
class Row:
    """The median of the runs of one measurement."""

    name: str
    frames: int
    seconds: float
    disk_bytes: int
    startup: float

    @property
    def rate(self) -> float:
        return self.frames / self.seconds


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


def disk_usage(root: Path) -> int:
    """Bytes of disk blocks the files under ``root`` take (what ``du`` counts)."""
    return sum(
        os.stat(os.path.join(folder, name)).st_blocks * 512
        for folder, _, names in os.walk(root)
        for name in names
    )


def in_fresh_process(run: Callable[[Path], Timing], folder: Path) -> Timing:
    """Run ``run(folder)`` in a process forked for it and return its timing."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def child() -> None:
        try:
            sender.send(("ok", run(folder)))
        except BaseException:
            sender.send(("error", traceback.format_exc()))
            raise

    process = context.Process(target=child)
    process.start()
    sender.close()
    try:
        status, result = receiver.recv()
    except EOFError:
        status, result = "error", "it exited without a result"
    process.join()
    if status != "ok":
        raise RuntimeError(f"a measurement failed in its process:\n{result}")
    return result


def measure(
    repeat: int, scratch: Scratch, runs: dict[str, Callable[[Path], Timing]]
) -> dict[str, list[Timing]]:
    """Run each of ``runs`` ``repeat`` times, each in a fresh process and a fresh folder."""
    timings: dict[str, list[Timing]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            with scratch.folder() as folder:
                timings[name].append(in_fresh_process(run, folder))
    return timings


def median_row(name: str, timings: list[Timing]) -> Row:
    frames = {timing.frames for timing in timings}
    if len(frames) != 1:
        raise RuntimeError(f"{name}: runs wrote different frame counts {sorted(frames)}")
    return Row(
        name,
        frames.pop(),
        statistics.median(t.seconds for t in timings),
        timings[0].disk_bytes,
        statistics.median(t.startup for t in timings),
    )


# --- the bare loop: gymnasium + Pillow + two files a frame, no project code ----------------


def bare_loop(work: Workload, root: Path) -> int:
    """Play and write the workload the plain way; return the frames written."""
    import gymnasium

    gymnasium.register_envs(ale_py)
    randomness, cap = work.settings.randomness, work.settings.frame_cap
    frames = 0
    for game in work.games:
        env = gymnasium.make(env_id(game))
        meanings = env.unwrapped.get_action_meanings()
        rng = np.random.default_rng(work.settings.seed)
        observation, _ = env.reset(seed=work.settings.seed)
        for episode in range(work.episodes):
            if episode:
                observation, _ = env.reset()
            folder = root / f"atari_{game}" / f"episode_{episode:03d}_rand{randomness}"
            folder.mkdir(parents=True)
            action = 0
            for frame in range(cap):
                Image.fromarray(observation).save(folder / f"frame_{frame:06d}.png")
                if rng.random() < randomness:
                    action = int(rng.integers(len(meanings)))
                (folder / f"action_{frame:06d}.txt").write_text(f"{action}: {meanings[action]}")
                frames += 1
                if frame == cap - 1:
                    break
                observation, _, terminated, truncated, _ = env.step(action)
                if terminated or truncated:
                    break
        env.close()
    return frames


def run_bare(work: Workload) -> Callable[[Path], Timing]:
    def run(folder: Path) -> Timing:
        started = time.perf_counter()
        frames = bare_loop(work, folder)
        return Timing(frames, time.perf_counter() - started, disk_usage(folder))

    return run


# --- the sampler -----------------------------------------------------------------------------


def run_sampler(
    work: Workload, parallel: int, *, to_parquet: bool = False, ray: bool = False
) -> Callable[[Path], Timing]:
    """Return a run of ``sample`` on the workload (on a new local Ray instance if ``ray``)."""

    def run(folder: Path) -> Timing:
        startup = 0.0
        if ray:
            import ray as ray_module

            started = time.perf_counter()
            ray_module.init(
                address="local",
                num_cpus=parallel,
                include_dashboard=False,
                logging_level=logging.ERROR,
            )
            startup = time.perf_counter() - started
        try:
            started = time.perf_counter()
            report = sample(
                folder,
                envs=work.games,
                max_episodes=work.episodes,
                parallel=parallel,
                settings=work.settings,
                progress=False,
                backend="ray" if ray else "local",
                to_parquet=to_parquet,
            )
            seconds = time.perf_counter() - started
        finally:
            if ray:
                ray_module.shutdown()
        return Timing(report.frames_written, seconds, disk_usage(folder), startup)

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


def profile(work: Workload, root: Path, to_parquet: bool) -> tuple[int, dict[str, float]]:
    """Sample the workload as one sampler worker does, timing each stage.

    "write" is everything a chunk of episodes costs besides playing them: writing the
    frame files, or building the rows and writing the parquet shard.
    """
    sink: EpisodeSink
    if to_parquet:
        per_shard = default_episodes_per_shard(
            work.settings.frame_cap, work.episodes, len(work.games)
        )
        chunks = plan_shards(work.games, work.settings.levels, work.episodes, per_shard)
        sink = store = ParquetStore(root, chunks)
    else:
        chunks = [
            Chunk(game, tuple(range(work.episodes)), level)
            for game in work.games
            for level in work.settings.levels
        ]
        sink = store = FolderStore(root)  # type: ignore[assignment]
    store.prepare(work.settings, overwrite=False)
    clock = dict.fromkeys(["rom load", "emulation", "encode", "episode", "chunk"], 0.0)
    emulators: dict[str, GameEmulator] = {}
    frames = 0
    with timed_encoder(clock):
        for chunk in chunks:
            if chunk.game not in emulators:
                started = time.perf_counter()
                emulator = GameEmulator(chunk.game, work.settings)
                clock["rom load"] += time.perf_counter() - started
                emulator._ale = _Timed(emulator._ale, clock, "emulation")  # type: ignore[assignment]
                emulators[chunk.game] = emulator
            emulator = emulators[chunk.game]
            chunk_started = time.perf_counter()
            with sink.chunk_writer(chunk) as write:
                for index in chunk.indices:
                    started = time.perf_counter()
                    episode = emulator.run_episode(index, chunk.randomness)
                    clock["episode"] += time.perf_counter() - started
                    write(episode)
                    frames += episode.num_frames
            clock["chunk"] += time.perf_counter() - chunk_started
    # The encoder asks ALE for RGB only for colours it has not seen: counted in both, rarely.
    stages = {
        "rom load": clock["rom load"],
        "emulation": clock["emulation"],
        "encode": clock["encode"],
        "rest": clock["episode"] - clock["emulation"] - clock["encode"],
        "write": clock["chunk"] - clock["episode"],
    }
    return frames, stages


# --- PNG settings ----------------------------------------------------------------------------

Screens = list[tuple[np.ndarray, np.ndarray]]


def collect_screens(games: list[str], count: int, seed: int) -> Screens:
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


def png_settings(screens: Screens) -> list[tuple[str, float, float]]:
    """Return (setting, encodes/s, bytes/frame) of each PNG setting on the same screens.

    Each setting is checked to decode to the exact RGB screen.
    """
    colours = np.zeros((256, 3), dtype=np.uint8)  # ALE's palette, as the screens show it
    for screen, rgb in screens:
        colours[screen.reshape(-1)] = rgb.reshape(-1, 3)
    palette = colours.tobytes()

    def sampler(level: int) -> Callable[[np.ndarray, np.ndarray], bytes]:
        encoder = PaletteFrameEncoder(level)
        return lambda screen, rgb: encoder.encode(screen, lambda: rgb)

    def pillow(rgb_mode: bool, **options: int) -> Callable[[np.ndarray, np.ndarray], bytes]:
        def encode(screen: np.ndarray, rgb: np.ndarray) -> bytes:
            if rgb_mode:
                image = Image.fromarray(rgb)
            else:
                height, width = screen.shape
                image = Image.frombuffer("P", (width, height), screen, "raw", "P", 0, 1)
                image.putpalette(palette)
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", **options)
            return buffer.getvalue()

        return encode

    settings = {
        "Pillow RGB, default level (6)": pillow(True),
        "Pillow RGB, level 1": pillow(True, compress_level=1),
        "Pillow palette, default level (6)": pillow(False),
        "Pillow palette, level 1": pillow(False, compress_level=1),
        "sampler palette, level 6 (default)": sampler(6),
        "sampler palette, level 1": sampler(1),
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


# --- report ----------------------------------------------------------------------------------


def print_rows(rows: list[Row]) -> None:
    print_columns(
        ("measurement", "frames", "seconds", "frames/s", "disk/frame"),
        [
            (
                row.name,
                str(row.frames),
                f"{row.seconds:.2f}",
                f"{row.rate:.0f}",
                f"{row.disk_bytes / row.frames:.0f} B" if row.disk_bytes else "",
            )
            for row in rows
        ],
    )


def print_profile(frames: int, modes: dict[str, dict[str, float]]) -> None:
    print(f"\nPer-stage profile of one sampler worker, in-process, {frames} frames (us/frame):")
    header = ("stage", *(f"{mode}, us/frame" for mode in modes), *(f"{m}, share" for m in modes))
    totals = {mode: sum(clock.values()) for mode, clock in modes.items()}
    lines = [
        (
            stage,
            *(f"{clock[stage] / frames * 1e6:.0f}" for clock in modes.values()),
            *(f"{clock[stage] / totals[mode]:.0%}" for mode, clock in modes.items()),
        )
        for stage in next(iter(modes.values()))
    ]
    lines.append(
        (
            "total",
            *(f"{totals[mode] / frames * 1e6:.0f}" for mode in modes),
            *(f"{frames / totals[mode]:.0f} frames/s" for mode in modes),
        )
    )
    print_columns(header, lines)


def print_png(results: list[tuple[str, float, float]], frames: int) -> None:
    base_rate, base_bytes = results[0][1], results[0][2]
    print(f"\nPNG settings on the same {frames} frames (all decode to the exact RGB screen):")
    print_columns(
        ("setting", "encodes/s", "speed", "bytes/frame", "size"),
        [
            (
                name,
                f"{rate:.0f}",
                f"{rate / base_rate:.2f}x",
                f"{size:.0f}",
                f"{size / base_bytes:.2f}",
            )
            for name, rate, size in results
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny workload (the tests' run)")
    parser.add_argument("--games", default=DEFAULT_GAMES, help="default: %(default)s")
    parser.add_argument("--episodes", type=int, help="per game (default: 4, quick 2)")
    parser.add_argument("--frames-per-env", type=int, help="frame cap (default: 500, quick 60)")
    parser.add_argument("--repeat", type=int, help="runs per measurement (default: 3, quick 1)")
    parser.add_argument(
        "--parallel", type=int, default=max(2, os.cpu_count() or 1), help="default: %(default)s"
    )
    parser.add_argument("--workdir", help="where to write frames (default: the temp folder)")
    args = parser.parse_args(argv)
    if args.parallel < 2:
        parser.error(
            f"--parallel must be 2 or more to measure parallel efficiency, got {args.parallel}"
        )
    quick = args.quick
    games = resolve_games(args.games.split(","))
    work = Workload(
        games=games,
        episodes=args.episodes or (2 if quick else 4),
        settings=EpisodeSettings(
            policy="repeat", frame_cap=args.frames_per_env or (60 if quick else 500)
        ),
    )
    repeat = args.repeat or (1 if quick else 3)
    parallel = args.parallel
    has_ray = importlib.util.find_spec("ray") is not None
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
    load = os.getloadavg()[0]
    print(
        f"{', '.join(games)}: {work.episodes} episodes of at most "
        f"{work.settings.frame_cap} frames each, randomness {work.settings.randomness}, "
        f"for every measurement; median of {repeat}; {os.cpu_count()} CPUs; "
        f"python {sys.version.split()[0]}; load average {load:.2f}"
    )
    if load > 0.5:
        print("(other work is running on this machine: it skews the figures, parallel ones most)")
    if not has_ray:
        print(f"Ray backend: skipped, ray is not installed ({install_hint('ray')})")
    print()

    runs = {
        "bare": run_bare(work),
        "folder": run_sampler(work, 1),
        "direct": run_sampler(work, 1, to_parquet=True),
        "folder P": run_sampler(work, parallel),
        "direct P": run_sampler(work, parallel, to_parquet=True),
    }
    if has_ray:
        runs["ray"] = run_sampler(work, parallel, ray=True)
    names = {
        "bare": "bare loop (gymnasium + Pillow + 2 files)",
        "folder": "sampler, folder mode, 1 worker",
        "direct": "sampler, direct-to-parquet, 1 worker",
        "folder P": f"sampler, folder mode, --parallel {parallel}",
        "direct P": f"sampler, direct-to-parquet, --parallel {parallel}",
        "ray": f"sampler, folder mode, Ray backend, {parallel} CPUs",
    }
    scratch = Scratch(args.workdir)
    try:
        timings = measure(repeat, scratch, runs)
        modes = {}
        for mode, to_parquet in (("folder", False), ("direct", True)):
            with scratch.folder() as folder:
                profile_frames, modes[mode] = profile(work, folder, to_parquet)
        screens = collect_screens(games, 100 if quick else 1000, work.settings.seed)
        png = png_settings(screens)
    finally:
        scratch.remove()

    rows = {key: median_row(names[key], runs_of_key) for key, runs_of_key in timings.items()}
    sampled = {row.frames for key, row in rows.items() if key != "bare"}
    if len(sampled) != 1:
        raise RuntimeError(f"sampler measurements wrote different frame counts: {sampled}")
    print_rows(list(rows.values()))
    print(f"(load average at the end: {os.getloadavg()[0]:.2f})")
    if "ray" in rows:
        print(f"(Ray's start-up, not counted above: {rows['ray'].startup:.1f} s)")
    print_profile(profile_frames, modes)
    print_png(png, len(screens))

    print_summary(
        "Summary: ratios of frame rates (higher is better), goals of issues 2 and 5",
        summary_ratios(rows, parallel),
    )
    return 0


def summary_ratios(rows: dict[str, Row], parallel: int) -> list[Ratio]:
    """Return the ratios the issues ask for, from the measurements' rows."""
    bare, folder, direct = rows["bare"], rows["folder"], rows["direct"]
    ray_missing = "skipped: no ray"
    on_ray = rows.get("ray")
    with_startup = None
    if on_ray is not None:
        with_startup = on_ray.frames / (on_ray.seconds + on_ray.startup) / rows["folder P"].rate
    return [
        Ratio("folder mode, 1 worker / bare loop", folder.rate / bare.rate, 2.0),
        Ratio("direct-to-parquet, 1 worker / bare loop", direct.rate / bare.rate, 2.5),
        Ratio("direct-to-parquet / folder mode, 1 worker each", direct.rate / folder.rate),
        Ratio(
            f"folder mode, {parallel} workers / 1 worker (speed-up)",
            rows["folder P"].rate / folder.rate,
        ),
        Ratio(
            f"parallel efficiency, folder mode, {parallel} workers",
            rows["folder P"].rate / folder.rate / parallel,
            0.95,
            percent=True,
        ),
        Ratio(
            f"parallel efficiency, direct-to-parquet, {parallel} workers",
            rows["direct P"].rate / direct.rate / parallel,
            0.95,
            percent=True,
        ),
        Ratio(
            f"Ray backend (local instance) / local backend, {parallel} workers",
            None if on_ray is None else on_ray.rate / rows["folder P"].rate,
            0.85,
            missing=ray_missing,
        ),
        Ratio("  the same, counting Ray's start-up", with_startup, missing=ray_missing),
    ]


if __name__ == "__main__":
    sys.exit(main())
