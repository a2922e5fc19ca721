"""The emulator against gymnasium's ALE/<Game>-v5, and its determinism."""

from __future__ import annotations

import io
import textwrap

import ale_py
import gymnasium as gym
import numpy as np
import pytest
from PIL import Image

from atari_interleaved.core.settings import AleSettings, EpisodeSettings
from atari_interleaved.generate.emulator import GameEmulator
from atari_interleaved.generate.sampler import sample
from tests.fixtures import hostile_policies
from tests.fixtures.tree_utils import tree_digest


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


@pytest.mark.parametrize("game", ["alien", "breakout", "pong"])
def test_frames_match_gymnasium_v5_without_sticky_actions(game):
    settings = EpisodeSettings(
        policy="repeat",
        frame_cap=120,
        randomness=1.0,
        ale=AleSettings(repeat_action_probability=0.0),
    )
    emulator = GameEmulator(game, settings)
    episode = emulator.run_episode(0)
    gym.register_envs(ale_py)
    env = gym.make(f"ALE/{game.capitalize()}-v5", repeat_action_probability=0.0)
    observation, _ = env.reset(seed=0)
    assert env.unwrapped.get_action_meanings() == episode.action_meanings
    metadata = episode.metadata
    for frame, png in enumerate(episode.frames):
        assert np.array_equal(decode(png), observation), f"frame {frame} differs"
        if frame == episode.num_frames - 1:
            break
        observation, reward, terminated, truncated, info = env.step(episode.actions[frame])
        assert reward == metadata.rewards[frame]
        assert terminated == metadata.terminated[frame + 1]
        assert info["lives"] == metadata.lives[frame + 1]
    env.close()


def test_alien_action_set_matches_pipeline_example():
    emulator = GameEmulator("alien", EpisodeSettings(policy="repeat", frame_cap=2))
    assert emulator.action_meanings[8] == "DOWNRIGHT"


def test_episode_does_not_depend_on_emulator_history():
    settings = EpisodeSettings(policy="repeat", frame_cap=80, randomness=0.5)
    first = GameEmulator("alien", settings)
    reference = first.run_episode(3)
    first.run_episode(4)
    again = first.run_episode(3)
    fresh = GameEmulator("alien", settings).run_episode(3)
    assert reference == again == fresh
    assert reference.frames != first.run_episode(4).frames


def test_randomness_zero_repeats_noop_and_one_varies():
    still = GameEmulator(
        "alien", EpisodeSettings(policy="repeat", frame_cap=50, randomness=0.0)
    ).run_episode(0)
    assert set(still.actions) == {0}
    varied = GameEmulator(
        "alien", EpisodeSettings(policy="repeat", frame_cap=50, randomness=1.0)
    ).run_episode(0)
    assert len(set(varied.actions)) > 5


def test_sticky_actions_change_the_episode():
    def run(probability: float):
        settings = EpisodeSettings(
            policy="repeat",
            frame_cap=100,
            randomness=1.0,
            ale=AleSettings(repeat_action_probability=probability),
        )
        return GameEmulator("alien", settings).run_episode(0)

    plain, sticky = run(0.0), run(0.25)
    assert plain.actions == sticky.actions
    assert plain.frames != sticky.frames


def test_game_over_ends_the_episode():
    settings = EpisodeSettings(policy="repeat", frame_cap=5000, randomness=1.0)
    episode = GameEmulator("breakout", settings).run_episode(0)
    metadata = episode.metadata
    assert metadata.end_reason == "game_over"
    assert episode.num_frames < 5000
    assert metadata.terminated[-1] and not any(metadata.terminated[:-1])
    assert metadata.rewards[-1] == 0.0
    assert metadata.episode_return == sum(metadata.rewards)
    assert metadata.lives[0] == 5 and metadata.lives[-1] == 0


def test_truncation_by_ale_frame_limit():
    settings = EpisodeSettings(
        policy="repeat", frame_cap=100, ale=AleSettings(max_num_frames_per_episode=40)
    )
    metadata = GameEmulator("pong", settings).run_episode(0).metadata
    assert metadata.end_reason == "truncated"
    assert metadata.num_frames == 11  # 10 steps of 4 emulator frames reach the limit of 40
    assert metadata.truncated[-1] and not metadata.terminated[-1]


def test_custom_policy_sees_rgb_frames(tmp_path, monkeypatch):
    (tmp_path / "seen_policy.py").write_text(
        textwrap.dedent(
            """
            seen = []

            def make_policy(context):
                def act(observation, previous_action):
                    seen.append(observation.shape)
                    return 1
                return act
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import seen_policy

    settings = EpisodeSettings(frame_cap=10, randomness=0.0, policy="seen_policy:make_policy")
    episode = GameEmulator("alien", settings).run_episode(0)
    assert episode.actions == [1] * 10
    # The last frame's action is never played: it repeats the previous one, unasked.
    assert seen_policy.seen == [(210, 160, 3)] * 9


@pytest.mark.parametrize("noop_max", [0, 30])
def test_replayed_lives_are_the_recorded_ones(noop_max):
    # Random Breakout loses balls within a few hundred frames, so the lives change.
    settings = EpisodeSettings(policy="repeat", frame_cap=400, randomness=1.0, noop_max=noop_max)
    emulator = GameEmulator("breakout", settings)
    episode = emulator.run_episode(1)
    metadata = episode.metadata
    assert len(set(metadata.lives)) > 1
    replayed = GameEmulator("breakout", settings).replay_lives(
        metadata.start_actions, metadata.applied_actions
    )
    assert replayed == metadata.lives


def test_the_screen_a_plug_in_reads_at_the_first_frame_is_the_episodes(monkeypatch):
    # ALE's saved state does not hold the screen: after another episode it is that one's last.
    monkeypatch.setattr(hostile_policies, "SCREENS", [])
    settings = EpisodeSettings(
        frame_cap=30, randomness=0.0, policy="tests.fixtures.hostile_policies:reads_the_screen"
    )
    used = GameEmulator("alien", settings)
    used.run_episode(0)
    hostile_policies.SCREENS.clear()
    again = used.run_episode(1)
    assert np.array_equal(hostile_policies.SCREENS[0], decode(again.frames[0]))
    assert again == GameEmulator("alien", settings).run_episode(1)


@pytest.mark.slow
def test_a_plug_in_that_reads_the_screen_writes_the_same_files_whatever_the_parallelism(
    tmp_path,
):
    settings = EpisodeSettings(
        frame_cap=20, randomness=0.0, policy="tests.fixtures.hostile_policies:reads_the_screen"
    )
    for parallel in (1, 2):
        sample(
            tmp_path / str(parallel), envs=["alien"], max_episodes=4, parallel=parallel,
            settings=settings, progress=False,
        )  # fmt: skip
    assert tree_digest(tmp_path / "1") == tree_digest(tmp_path / "2")
