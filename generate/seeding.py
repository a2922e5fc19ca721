"""Per-episode seeds, derived so that an episode never depends on scheduling.

The seed of an episode is a function of the base seed (``--seed``), the game and the
episode number only: the same episode comes out byte-identical whatever ``--parallel``,
the backend, the other games of the run, or the order in which workers pick tasks. In a run
of several randomness levels (``--randomness 0.0,0.25,1.0``) the level is part of the seed
too, so each level has episode seeds of its own, whatever the other levels of the run; a run
of one level seeds as runs did before levels came.

>>> episode_seed(0, "alien", 0)
9035295628607482573
>>> episode_seed(0, "alien", 1), episode_seed(0, "pong", 0)
(7298264571724221717, 8125289406144648946)
>>> episode_seed(0, "alien", 0, level=0.0), episode_seed(0, "alien", 0, level=0.25)
(2775715721299400954, 604594012870173702)
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

__all__ = [
    "episode_seed",
    "EpisodeStreams",
    "episode_streams",
    "ExplorationDraws",
    "sticky_keeps",
]


def episode_seed(
    base_seed: int, game: str, episode_index: int, *, level: float | None = None
) -> int:
    """Return the 63-bit seed of episode ``episode_index`` of ``game`` under ``base_seed``.

    ``level`` is the episode's randomness in a run of several levels (None in a run of one):
    its IEEE-754 bits plus one are a fourth word of entropy (plus one: ``SeedSequence``
    ignores a trailing zero, and level 0.0 would seed as a run of one level).
    """
    entropy = [base_seed, zlib.crc32(game.encode("utf-8")), episode_index]
    if level is not None:
        entropy.append(struct.unpack("<Q", struct.pack("<d", float(level) + 0.0))[0] + 1)
    words = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return (int(words[0]) << 31) ^ int(words[1])


@dataclass(frozen=True)
class EpisodeStreams:
    """Independent random streams of one episode, all derived from its seed.

    ``exploration`` draws when to act randomly and which action; ``sticky`` draws ALE's
    sticky actions; ``policy`` is handed to the base policy; ``start`` draws the number of
    no-op steps before frame 0 (``--noop-max``). A policy that draws more or fewer numbers
    does not shift the other streams.
    """

    exploration: np.random.Generator
    sticky: np.random.Generator
    policy: np.random.Generator
    start: np.random.Generator


def episode_streams(seed: int) -> EpisodeStreams:
    """Return the random streams of the episode with this seed."""
    # Spawned children depend on their position only: adding ``start`` last kept the others.
    exploration, sticky, policy, start = np.random.SeedSequence(seed).spawn(4)
    return EpisodeStreams(
        exploration=np.random.Generator(np.random.PCG64(exploration)),
        sticky=np.random.Generator(np.random.PCG64(sticky)),
        policy=np.random.Generator(np.random.PCG64(policy)),
        start=np.random.Generator(np.random.PCG64(start)),
    )


_CHUNK = 1024


class ExplorationDraws:
    """The exploration draws of an episode of at most ``limit`` frames, made as frames come.

    Frame ``i`` acts at random when the ``i``-th number of ``exploration.random(limit)`` is
    below ``randomness``, with action ``exploration.integers(num_actions, size=limit)[i]``
    drawn after those ``limit`` numbers. The same numbers are drawn here in chunks, from a
    copy of the generator advanced past them, so memory follows the frames recorded, not
    ``limit``.
    """

    def __init__(self, exploration: np.random.Generator, limit: int, num_actions: int) -> None:
        self._flags = exploration
        self._actions = np.random.Generator(np.random.PCG64())
        self._actions.bit_generator.state = exploration.bit_generator.state
        self._actions.bit_generator.advance(limit)
        self._limit, self._num_actions = limit, num_actions
        self._drawn = self._used = 0
        self._uniforms: list[float] = []
        self._random_actions: list[int] = []

    def next(self) -> tuple[float, int]:
        """Return the next frame's uniform number (compared with randomness) and random action."""
        if self._used == len(self._uniforms):
            size = min(_CHUNK, self._limit - self._drawn)
            self._uniforms = self._flags.random(size).tolist()
            self._random_actions = self._actions.integers(self._num_actions, size=size).tolist()
            self._drawn += size
            self._used = 0
        self._used += 1
        return self._uniforms[self._used - 1], self._random_actions[self._used - 1]


def sticky_keeps(sticky: np.random.Generator, frameskip: int, probability: float) -> list[bool]:
    """Return, for each emulator frame of one step, whether the previous action is kept.

    One step after the other, these are the rows of ``sticky.random((steps, frameskip)) <
    probability``, drawn in chunks.
    """
    keeps: list[bool] = []
    while len(keeps) < frameskip:
        size = min(_CHUNK, frameskip - len(keeps))
        keeps += (sticky.random(size) < probability).tolist()
    return keeps
