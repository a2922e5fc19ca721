"""Sampling work split into tasks: chunks of episodes of one game, and what is left to do.

A task is a chunk of episodes of one game at one randomness level
(:mod:`~atari_interleaved.generate.worker_loop` runs one). Chunks keep a worker on one game
for a while (loading a ROM costs about as much as a short episode) yet are small enough that every
worker stays busy until the work runs out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Chunk", "pending_episodes", "plan_chunks"]


@dataclass(frozen=True)
class Chunk:
    """Episodes ``indices`` of ``game`` at level ``randomness``, sampled in order by one worker."""

    game: str
    indices: tuple[int, ...]
    randomness: float


Pending = dict[tuple[str, float], list[int]]
"""The episode numbers still to sample, per ``(game, randomness level)``."""


def plan_chunks(pending: Pending, workers: int) -> list[Chunk]:
    """Cut the pending episodes into chunks, large first and single episodes last.

    Guided self-scheduling: each chunk takes ``1 / (2 * workers)`` of the episodes still
    unplanned, without crossing from one game (or level) to the next, so workers start on
    long runs of one game (a ROM load costs about as much as a short episode) and finish on
    single episodes, close together.

    >>> plan = plan_chunks({("alien", 0.2): [0, 1, 2], ("pong", 0.2): [0, 1]}, 1)
    >>> [(c.game, c.indices) for c in plan]
    [('alien', (0, 1)), ('alien', (2,)), ('pong', (0,)), ('pong', (1,))]
    >>> [len(c.indices) for c in plan_chunks({("alien", 0.2): list(range(20))}, workers=2)]
    [5, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1]
    """
    remaining = sum(len(indices) for indices in pending.values())
    chunks = []
    for (game, randomness), indices in pending.items():
        start = 0
        while start < len(indices):
            size = min(max(1, remaining // (2 * workers)), len(indices) - start)
            chunks.append(Chunk(game, tuple(indices[start : start + size]), randomness))
            start += size
            remaining -= size
    return chunks


def pending_episodes(
    games: Sequence[str],
    levels: Sequence[float],
    max_episodes: int,
    is_complete: Callable[[str, int, float], bool],
) -> Pending:
    """Return, per game and level, the episode numbers below ``max_episodes`` not complete."""
    return {
        (game, level): [
            index for index in range(max_episodes) if not is_complete(game, index, level)
        ]
        for game in games
        for level in levels
    }
