"""Counterfactual branches (``--branch-every``): the episode is unchanged, branches are exact.

On real ALE games: an episode is byte-identical with and without branches (under the
planner too), the taken action's branch is the episode's next frames where the applied
actions agree, and every branch frame is what an independent replay of the recorded actions
gives (ALE's reset state, the start and applied actions up to the branch point, then the
branch's applied actions).
"""

from __future__ import annotations

import io

import ale_py
import numpy as np
import pytest
from ale_py import roms
from PIL import Image

from atari_interleaved.core.errors import InvalidArgumentError
from atari_interleaved.core.settings import AleSettings, EpisodeSettings
from atari_interleaved.generate.emulator import GameEmulator

GAMES = ("breakout", "pong")
STICKY = AleSettings(repeat_action_probability=0.25)


def rgb(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


class Replay:
    """An ALE of its own that replays recorded actions (sticky actions off, as recorded)."""

    def __init__(self, game: str, action_set: list[str]) -> None:
        self.ale = ale_py.ALEInterface()
        self.ale.setFloat("repeat_action_probability", 0.0)
        self.ale.setInt("frame_skip", 1)
        self.ale.loadROM(roms.get_rom_path(game))
        actions = {action.name: action for action in self.ale.getLegalActionSet()}
        self.actions = [actions[name] for name in action_set]

    def screen_after(self, *steps: list[int]) -> np.ndarray:
        self.ale.reset_game()
        for step in steps:
            for action in step:
                self.ale.act(self.actions[action])
        return self.ale.getScreenRGB()


@pytest.mark.parametrize(
    "settings",
    [
        EpisodeSettings(policy="repeat", randomness=0.5, frame_cap=24, noop_max=3, ale=STICKY),
        EpisodeSettings(policy="search", search_budget=40, frame_cap=8, ale=STICKY),
    ],
    ids=["repeat", "planner"],
)
def test_branches_leave_the_episode_as_it_is_and_replay_exactly(settings):
    with_branches = EpisodeSettings.from_dict(
        {**settings.to_dict(), "branch_every": 3, "branch_steps": 2}
    )
    for game in GAMES:
        plain = GameEmulator(game, settings).run_episode(1)
        episode = GameEmulator(game, with_branches).run_episode(1)
        assert episode.frames == plain.frames and episode.metadata == plain.metadata
        assert not plain.branches
        metadata, replay = episode.metadata, Replay(game, episode.action_meanings)
        last = episode.num_frames - 1
        points = sorted({branch.frame_number for branch in episode.branches})
        assert points == [frame for frame in range(0, last, 3)]
        assert {(b.frame_number, b.action) for b in episode.branches} == {
            (frame, action) for frame in points for action in range(len(episode.action_meanings))
        }
        agreeing = 0
        for branch in episode.branches:
            t = branch.frame_number
            assert branch.steps == min(2, last - t) or branch.terminated[-1]
            history = [metadata.start_actions, *metadata.applied_actions[:t]]
            for step in range(branch.steps):
                steps = branch.applied_actions[: step + 1]
                expected = replay.screen_after(*history, *steps)
                assert np.array_equal(rgb(branch.frames[step]), expected), (game, t, step)
                assert replay.ale.lives() == branch.lives[step]
            if branch.action != metadata.actions[t]:
                continue
            # The taken action's branch draws the episode's own sticky draws: its first step
            # is the episode's next frame; later ones too while the applied actions agree.
            assert branch.applied_actions[0] == metadata.applied_actions[t]
            for step in range(branch.steps):
                if branch.applied_actions[: step + 1] != metadata.applied_actions[t : t + step + 1]:
                    break
                assert branch.frames[step] == episode.frames[t + 1 + step]
                assert branch.rewards[step] == metadata.rewards[t + step]
                agreeing += 1
        assert agreeing >= len(points)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"branch_every": -1},
            r"--branch-every must be 0 \(off\) or a positive integer, but got -1",
        ),
        ({"branch_every": 2, "branch_steps": 0}, r"--branch-steps must be a positive integer"),
        ({"branch_steps": 2}, r"--branch-steps 2 needs --branch-every"),
        ({"branch_every": 1, "branch_steps": 60}, r"--branch-steps 60 goes past the end of every"),
    ],
)
def test_bad_branch_settings_are_refused_naming_the_flag(values, message):
    with pytest.raises(InvalidArgumentError, match=message):
        EpisodeSettings(**values)
