from __future__ import annotations

import numpy as np

from atari_interleaved.generate.seeding import episode_seed, episode_streams


def test_episode_seed_depends_only_on_base_game_and_index():
    seeds = {
        (base, game, index): episode_seed(base, game, index)
        for base in (0, 1)
        for game in ("alien", "pong")
        for index in range(3)
    }
    assert len(set(seeds.values())) == len(seeds)
    assert seeds[(0, "alien", 1)] == episode_seed(0, "alien", 1)
    assert all(0 <= seed < 2**63 for seed in seeds.values())


def test_streams_are_reproducible_and_independent():
    first, second = episode_streams(123), episode_streams(123)
    assert np.array_equal(first.exploration.random(5), second.exploration.random(5))
    # Drawing from the policy stream does not shift the sticky stream.
    first.policy.random(100)
    assert np.array_equal(first.sticky.random(5), second.sticky.random(5))
    assert not np.array_equal(episode_streams(124).sticky.random(5), first.sticky.random(5))
