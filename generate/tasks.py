"""Sampling work split into tasks, and the function a worker runs on one task.

A task is a chunk of episodes of one game. Chunks keep a worker on one game for a while
(loading a ROM costs about as much as a short episode) yet are small enough that every
worker stays busy until the work runs out.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from atari_interleaved.episode import Episode
from atari_interleaved.generate.emulator import GameEmulator
from atari_interleaved.generate.settings import EpisodeSettings

__all__ = [
    "Chunk",
    "EpisodeSummary",
    "TASKS_PER_WORKER",
    "pending_episodes",
    "plan_chunks",
    "sample_chunk",
]

TASKS_PER_WORKER = 4
"""Aim for this many chunks per worker, so that the last ones finish close together."""

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
    """Split the pending episodes of each game into chunks for ``workers`` workers.

    >>> plan_chunks({"alien": [0, 1, 2], "pong": [0, 1, 2]}, workers=1)
    [Chunk(game='alien', indices=(0, 1, 2)), Chunk(game='pong', indices=(0, 1, 2))]
    >>> [c.indices for c in plan_chunks({"alien": [0, 1, 2, 3]}, workers=2)]
    [(0,), (1,), (2,), (3,)]
    """
    games = [game for game, indices in pending.items() if indices]
    if not games:
        return []
    parts_per_game = max(1, math.ceil(TASKS_PER_WORKER * workers / len(games)))
    chunks = []
    for game in games:
        indices = pending[game]
        size = max(1, math.ceil(len(indices) / parts_per_game))
        for start in range(0, len(indices), size):
            chunks.append(Chunk(game, tuple(indices[start : start + size])))
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


def sample_chunk(
    chunk: Chunk,
    settings: EpisodeSettings,
    write: Callable[[Episode], int],
    report: Callable[[EpisodeSummary], None] | None = None,
) -> list[EpisodeSummary]:
    """Sample the episodes of ``chunk``, hand each to ``write`` and report it.

    Runs in a worker process; emulators are reused across the chunks a worker gets.
    """
    emulator = _CACHE.get(chunk.game, settings)
    summaries = []
    for index in chunk.indices:
        episode = emulator.run_episode(index)
        written = write(episode)
        summary = EpisodeSummary(
            game=chunk.game,
            index=index,
            num_frames=episode.num_frames,
            episode_return=sum(episode.metadata.rewards) if episode.metadata else 0.0,
            end_reason=episode.metadata.end_reason if episode.metadata else "frame_cap",
            bytes_written=written,
        )
        if report is not None:
            report(summary)
        summaries.append(summary)
    return summaries


def pending_episodes(
    games: Sequence[str], max_episodes: int, is_complete: Callable[[str, int], bool]
) -> dict[str, list[int]]:
    """Return, per game, the episode numbers below ``max_episodes`` not yet complete."""
    return {
        game: [index for index in range(max_episodes) if not is_complete(game, index)]
        for game in games
    }
