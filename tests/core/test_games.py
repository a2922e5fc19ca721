from __future__ import annotations

import ale_py
import gymnasium as gym
import pytest

from atari_interleaved.core.errors import InvalidArgumentError
from atari_interleaved.core.games import (
    all_games,
    display_name,
    env_id,
    resolve_game,
    resolve_games,
)


def test_every_registered_v5_game_is_known():
    gym.register_envs(ale_py)
    registered = {
        spec_id
        for spec_id, spec in gym.registry.items()
        if spec_id.startswith("ALE/") and spec_id.endswith("-v5")
    }
    assert {env_id(game) for game in all_games()} == registered
    assert all_games() == sorted(all_games())


@pytest.mark.parametrize("name", ["alien", "Alien", "ALE/Alien-v5", " alien ", "ALIEN"])
def test_resolve_spellings(name):
    assert resolve_game(name) == "alien"


def test_resolve_multiword():
    assert resolve_game("MontezumaRevenge") == "montezuma_revenge"
    assert resolve_game("ALE/MontezumaRevenge-v5") == "montezuma_revenge"
    assert display_name("montezuma_revenge") == "Montezuma Revenge"


def test_unknown_game_suggests():
    with pytest.raises(InvalidArgumentError, match="Did you mean 'pong'"):
        resolve_game("pongg")


def test_resolve_games_keeps_order_and_drops_repeats():
    assert resolve_games(["pong", "Alien", "ALE/Pong-v5", ""]) == ["pong", "alien"]
    # No list: every game of ale-py 0.12.1 (104 ALE/<Game>-v5 ids), in name order.
    every = resolve_games(None)
    assert len(every) == len(set(every)) == 104
    assert every[:3] == ["adventure", "air_raid", "alien"]
    assert every[-3:] == ["word_zapper", "yars_revenge", "zaxxon"]
    assert {"pong", "montezuma_revenge", "space_invaders"} <= set(every)
    with pytest.raises(InvalidArgumentError, match="names no game"):
        resolve_games([""])
