"""Sampling Atari games into a frame tree: the whole run, from checks to summary."""

from __future__ import annotations

import functools
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from atari_interleaved.core.errors import InvalidArgumentError, OutputWriteError
from atari_interleaved.core.games import resolve_games
from atari_interleaved.core.layout import check_randomness, episode_dir_name
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate.chunks import Chunk, pending_episodes, plan_chunks
from atari_interleaved.generate.folder_store import FolderStore
from atari_interleaved.generate.local_backend import run_local
from atari_interleaved.generate.parquet_store import (
    ParquetStore,
    default_episodes_per_shard,
    plan_shards,
)
from atari_interleaved.generate.policy import load_policy_factory
from atari_interleaved.generate.progress import SamplingProgress
from atari_interleaved.generate.search import check_search_budget
from atari_interleaved.generate.worker_loop import EpisodeSummary, Report, TaskPlaced
from atari_interleaved.storage.location import RemoteFolder, is_url, local_path, remote_folder
from atari_interleaved.storage.lock import output_lock
from atari_interleaved.storage.output_check import check_output
from atari_interleaved.storage.remote_lock import remote_lock
from atari_interleaved.storage.workers import worker_count

__all__ = ["BACKENDS", "Backend", "SampleReport", "sample"]

Backend = Literal["local", "ray"]
BACKENDS: tuple[Backend, ...] = ("local", "ray")


@dataclass
class SampleReport:
    """What a sampling run did."""

    output_dir: Path | str
    """The output folder, or the URL of an object store prefix."""
    games: list[str]
    episodes_written: int = 0
    episodes_kept: int = 0
    frames_written: int = 0
    bytes_written: int = 0
    seconds: float = 0.0
    end_reasons: dict[str, int] = field(default_factory=dict)
    redone: list[str] = field(default_factory=list)
    """Episodes found incomplete under their final name, and sampled again."""
    kept_aside: list[Path] = field(default_factory=list)
    """Incomplete episode folders kept (under a hidden name) for files the layout does
    not name."""
    task_nodes: list[tuple[Chunk, str]] = field(default_factory=list)
    """With the Ray backend, each task run (a shard with --to-parquet) and its node's id."""

    def summary(self) -> str:
        """Return the human summary printed at the end of a run."""
        rate = self.frames_written / self.seconds if self.seconds > 0 else 0.0
        reasons = ", ".join(
            f"{count} {reason}" for reason, count in sorted(self.end_reasons.items())
        )
        lines = [
            f"Wrote {self.episodes_written} episodes ({self.frames_written} frames, "
            f"{self.bytes_written / 1e6:.1f} MB) of {len(self.games)} games to {self.output_dir} "
            f"in {self.seconds:.1f} s ({rate:.0f} frames/s).",
        ]
        if reasons:
            lines.append(f"Episodes ended by: {reasons}.")
        if self.episodes_kept:
            lines.append(f"Kept {self.episodes_kept} complete episodes from an earlier run.")
        if self.redone:
            lines.append(
                f"Sampled again {len(self.redone)} incomplete episodes of an earlier run "
                f"({', '.join(self.redone[:3])}{', ...' if len(self.redone) > 3 else ''})."
            )
        nodes = Counter(node for _, node in self.task_nodes)
        if nodes:
            lines.append(
                f"Ray ran {len(self.task_nodes)} tasks on {len(nodes)} nodes: "
                + ", ".join(f"{node[:8]} ({count})" for node, count in sorted(nodes.items()))
                + "."
            )
        for folder in self.kept_aside:
            lines.append(
                f"Kept {folder}: it held an incomplete episode and files that are not "
                "frames, actions or episode.json; delete it once you have looked at it."
            )
        return "\n".join(lines)


def sample(
    output_dir: str | Path,
    *,
    envs: Sequence[str] | None = None,
    max_episodes: int = 3,
    parallel: int = 1,
    settings: EpisodeSettings | None = None,
    overwrite: bool = False,
    progress: bool = True,
    backend: Backend = "local",
    ray_address: str | None = None,
    to_parquet: bool = False,
    episodes_per_shard: int | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> SampleReport:
    """Sample ``max_episodes`` episodes of each game (at each randomness level) into ``output_dir``.

    Args:
        output_dir: root of the frame tree (created if missing).
        envs: games to sample (``alien``, ``Alien``, ``ALE/Alien-v5``); None for all of them.
        max_episodes: episodes per game and randomness level (``settings.levels``).
        parallel: worker processes.
        settings: what decides the content of an episode; the defaults if None.
        overwrite: replace a tree sampled with other settings instead of refusing.
        progress: show a progress bar.
        backend: ``local`` (worker processes on this machine) or ``ray`` (Ray tasks; the
            output folder must then be reachable from every node).
        ray_address: with ``backend="ray"``, the Ray cluster to run on; None starts a local
            Ray instance with ``parallel`` CPUs.
        to_parquet: write the parquet shards of both configs instead of frame folders
            (see ``parquet_store.py``).
        episodes_per_shard: with ``to_parquet``, episodes of one game per shard; by default
            as many as make about 100k frames.
        storage_options: with an object store URL as ``output_dir`` (``s3://bucket/run``,
            ``to_parquet`` only), options of its fsspec filesystem; by default the store's
            library reads its endpoint and credentials from the environment.

    Returns:
        What was written, for the summary.

    Raises:
        OutputInUseError: if another run is writing ``output_dir``.

    """
    settings = settings or EpisodeSettings()
    remote = None
    if is_url(output_dir):
        remote = remote_folder(os.fspath(output_dir), "--output-dir", storage_options)
        if not to_parquet:
            raise InvalidArgumentError(
                f"--output-dir {remote.url!r} is an object store, which frame folders (two small "
                "files a frame) are not written to; add --to-parquet to write parquet shards "
                "there, or give a local folder"
            )
    else:
        output_dir = local_path(output_dir)
    if max_episodes < 1:
        raise InvalidArgumentError(
            f"--max-episodes must be a positive integer, but got {max_episodes}"
        )
    if parallel < 1:
        raise InvalidArgumentError(f"--parallel must be a positive integer, but got {parallel}")
    for level in settings.levels:
        check_randomness(level)
    run, cpu_bound = _backend_runner(backend, ray_address)
    games = resolve_games(envs)
    load_policy_factory(settings.policy)
    if settings.policy == "search":
        check_search_budget(settings.search_budget, settings.ale.frameskip)
    if remote is not None:
        remote.check_writable("--output-dir")
    else:
        check_output(output_dir, "--output-dir", kind="folder")
    with remote_lock(remote) if remote else output_lock(output_dir):
        return _sample(
            remote or Path(output_dir),
            games,
            max_episodes,
            parallel,
            settings,
            overwrite=overwrite,
            progress=progress,
            run=run,
            cpu_bound=cpu_bound,
            to_parquet=to_parquet,
            episodes_per_shard=episodes_per_shard,
        )


def _sample(
    output_dir: Path | RemoteFolder,
    games: list[str],
    max_episodes: int,
    parallel: int,
    settings: EpisodeSettings,
    *,
    overwrite: bool,
    progress: bool,
    run: Callable[..., None],
    cpu_bound: bool,
    to_parquet: bool,
    episodes_per_shard: int | None,
) -> SampleReport:
    """Sample into ``output_dir``, whose lock is held (see :func:`sample`)."""
    sink: FolderStore | ParquetStore
    redone: list[str] = []
    kept_aside: list[Path] = []
    if to_parquet:
        shards = plan_shards(
            sorted(games),  # the order convert reads a tree in, whatever the --envs order
            settings.levels,
            max_episodes,
            default_episodes_per_shard(
                settings.frame_cap, max_episodes, len(games) * len(settings.levels)
            )
            if episodes_per_shard is None
            else episodes_per_shard,
        )
        sink = ParquetStore(output_dir, shards)
        sink.prepare(settings, overwrite=overwrite)
        chunks = sink.pending()
        parallel = worker_count(parallel, len(chunks), flag="--parallel", cpu_bound=cpu_bound)
    else:
        if episodes_per_shard is not None:
            raise InvalidArgumentError("--episodes-per-shard needs --to-parquet")
        assert isinstance(output_dir, Path)  # a URL needs --to-parquet (sample)
        store = sink = FolderStore(output_dir)
        store.prepare(settings, overwrite=overwrite)
        pending = pending_episodes(games, settings.levels, max_episodes, store.is_complete)
        for (game, level), indices in pending.items():
            for index in indices:
                if store.episode_path(game, index, level).exists():
                    several = len(settings.levels) > 1
                    name = episode_dir_name(index, level) if several else index
                    redone.append(f"{game}/{name}")
                    kept = store.set_aside(game, index, level)
                    kept_aside += [kept] if kept else []
        tasks = sum(len(indices) for indices in pending.values())
        parallel = worker_count(parallel, tasks, flag="--parallel", cpu_bound=cpu_bound)
        chunks = plan_chunks(pending, parallel)
    total = sum(len(chunk.indices) for chunk in chunks)
    report = SampleReport(
        output_dir=output_dir.url if isinstance(output_dir, RemoteFolder) else output_dir,
        games=games,
        episodes_kept=len(games) * len(settings.levels) * max_episodes - total,
        redone=redone,
        kept_aside=kept_aside,
    )
    started = time.perf_counter()
    shown = SamplingProgress(total, settings.frame_cap, enabled=progress)

    def on_report(message: Report) -> None:
        if isinstance(message, TaskPlaced):
            report.task_nodes.append((message.chunk, message.node))
            logging.getLogger(__name__).info(
                "%s episodes %s: Ray node %s",
                message.chunk.game,
                list(message.chunk.indices),
                message.node,
            )
            return
        shown.add(message)
        if not isinstance(message, EpisodeSummary):
            return
        report.episodes_written += 1
        report.frames_written += message.num_frames
        report.bytes_written += message.bytes_written
        report.end_reasons[message.end_reason] = report.end_reasons.get(message.end_reason, 0) + 1

    try:
        run(chunks, settings, sink, min(parallel, max(1, len(chunks))), on_report)
    except OSError as error:
        raise OutputWriteError(
            f"writing to {str(report.output_dir)!r} failed: {error}. The {report.episodes_written} "
            "episodes completed by this run are kept and nothing partial is left; free "
            "space or fix the folder, then rerun the same command to resume."
        ) from error
    finally:
        shown.close()
        report.seconds = time.perf_counter() - started
    return report


def _backend_runner(backend: str, ray_address: str | None) -> tuple[Callable[..., None], bool]:
    """Return the function running the chunks on ``backend`` (checking it can run), and more.

    The second value says whether its workers share this machine's CPUs (processes beyond
    them do not help); a Ray cluster, given by its address or already connected in this
    process, has CPUs of its own.
    """
    if backend == "local":
        if ray_address is not None:
            raise InvalidArgumentError("--ray-address needs --backend ray")
        return run_local, True
    if backend == "ray":
        from atari_interleaved.generate.ray_backend import check_address, import_ray, run_ray

        ray = import_ray()
        check_address(ray_address)
        local = ray_address is None and not ray.is_initialized()
        return functools.partial(run_ray, address=ray_address), local
    raise InvalidArgumentError(
        f"--backend must be one of {', '.join(BACKENDS)}, but got {backend!r}"
    )
