"""Per-episode seeds, derived so that an episode never depends on scheduling.

The seed of an episode is a function of the base seed (``--seed``), the game and the
episode number only: the same episode comes out byte-identical whatever ``--parallel``,
the backend, the other games of the run, or the order in which workers pick tasks.

>>> episode_seed(0, "alien", 0) == episode_seed(0, "alien", 0)
True
>>> episode_seed(0, "alien", 0) != episode_seed(0, "alien", 1) != episode_seed(0, "pong", 0)
True
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULT_SEED", "episode_seed", "EpisodeStreams", "episode_streams"]

DEFAULT_SEED = 0


def episode_seed(base_seed: int, game: str, episode_index: int) -> int:
    """Return the 63-bit seed of episode ``episode_index`` of ``game`` under ``base_seed``."""
    entropy = [base_seed, zlib.crc32(game.encode("utf-8")), episode_index]
    words = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return (int(words[0]) << 31) ^ int(words[1])


@dataclass(frozen=True)
class EpisodeStreams:
    """Independent random streams of one episode, all derived from its seed.

    ``exploration`` draws when to act randomly and which action; ``sticky`` draws ALE's
    sticky actions; ``policy`` is handed to the base policy. A policy that draws more or
    fewer numbers does not shift the other two streams.
    """

    exploration: np.random.Generator
    sticky: np.random.Generator
    policy: np.random.Generator


def episode_streams(seed: int) -> EpisodeStreams:
    """Return the random streams of the episode with this seed."""
    exploration, sticky, policy = np.random.SeedSequence(seed).spawn(3)
    return EpisodeStreams(
        exploration=np.random.Generator(np.random.PCG64(exploration)),
        sticky=np.random.Generator(np.random.PCG64(sticky)),
        policy=np.random.Generator(np.random.PCG64(policy)),
    )
