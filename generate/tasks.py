"""Sampling work split into tasks, and the function a worker runs on one task.

A task is a chunk of episodes of one game. Chunks keep a worker on one game for a while
(loading a ROM costs about as much as a short episode) yet are small enough that every
worker stays busy until the work runs out.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from atari_interleaved.episode import Episode
from atari_interleaved.generate.emulator import GameEmulator
from atari_interleaved.generate.settings import EpisodeSettings

__all__ = [
    "Chunk",
    "EpisodeSink",
    "EpisodeSummary",
    "pending_episodes",
    "plan_chunks",
    "sample_chunk",
]

_EMULATORS_PER_WORKER = 2


@dataclass(frozen=True)
class Chunk:
    """Episodes ``indices`` of ``game``, sampled in order by one worker."""

    game: str
    indices: tuple[int, ...]


@dataclass(frozen=True)
class EpisodeSummary:
    """What a worker reports of an episode it wrote."""

    game: str
    index: int
    num_frames: int
    episode_return: float
    end_reason: str
    bytes_written: int


def plan_chunks(pending: dict[str, list[int]], workers: int) -> list[Chunk]:
    """Cut the pending episodes into chunks, large first and single episodes last.

    Guided self-scheduling: each chunk takes ``1 / (2 * workers)`` of the episodes still
    unplanned, without crossing from one game to the next, so workers start on long runs of
    one game (a ROM load costs about as much as a short episode) and finish on single
    episodes, close together.

    >>> [(c.game, c.indices) for c in plan_chunks({"alien": [0, 1, 2], "pong": [0, 1]}, 1)]
    [('alien', (0, 1)), ('alien', (2,)), ('pong', (0,)), ('pong', (1,))]
    >>> [len(chunk.indices) for chunk in plan_chunks({"alien": list(range(20))}, workers=2)]
    [5, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1]
    """
    remaining = sum(len(indices) for indices in pending.values())
    chunks = []
    for game, indices in pending.items():
        start = 0
        while start < len(indices):
            size = min(max(1, remaining // (2 * workers)), len(indices) - start)
            chunks.append(Chunk(game, tuple(indices[start : start + size])))
            start += size
            remaining -= size
    return chunks


class _EmulatorCache:
    """The few most recently used games' emulators of one worker process."""

    def __init__(self) -> None:
        self._emulators: OrderedDict[tuple[str, EpisodeSettings], GameEmulator] = OrderedDict()

    def get(self, game: str, settings: EpisodeSettings) -> GameEmulator:
        key = (game, settings)
        if key in self._emulators:
            self._emulators.move_to_end(key)
        else:
            self._emulators[key] = GameEmulator(game, settings)
            while len(self._emulators) > _EMULATORS_PER_WORKER:
                self._emulators.popitem(last=False)
        return self._emulators[key]


_CACHE = _EmulatorCache()


class EpisodeSink(Protocol):
    """Where workers put episodes: a frame tree (``FolderStore``) or parquet shards."""

    def chunk_writer(self, chunk: Chunk) -> AbstractContextManager[Callable[[Episode], int]]:
        """Open the output of ``chunk``; the function it gives writes an episode."""
        ...


def sample_chunk(
    chunk: Chunk, settings: EpisodeSettings, sink: EpisodeSink
) -> Iterator[EpisodeSummary]:
    """Sample the episodes of ``chunk`` into ``sink``, yielding each one's summary once written.

    Runs in a worker process; emulators are reused across the chunks a worker gets. The
    chunk's output is complete once the generator is exhausted.
    """
    emulator = _CACHE.get(chunk.game, settings)
    with sink.chunk_writer(chunk) as write:
        for index in chunk.indices:
            episode = emulator.run_episode(index)
            written = write(episode)
            metadata = episode.metadata
            yield EpisodeSummary(
                game=chunk.game,
                index=index,
                num_frames=episode.num_frames,
                episode_return=metadata.episode_return if metadata else 0.0,
                end_reason=metadata.end_reason if metadata else "frame_cap",
                bytes_written=written,
            )


def pending_episodes(
    games: Sequence[str], max_episodes: int, is_complete: Callable[[str, int], bool]
) -> dict[str, list[int]]:
    """Return, per game, the episode numbers below ``max_episodes`` not yet complete."""
    return {
        game: [index for index in range(max_episodes) if not is_complete(game, index)]
        for game in games
    }
