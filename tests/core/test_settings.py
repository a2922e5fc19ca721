from __future__ import annotations

import json
import math

import pytest

from atari_interleaved.core.errors import InvalidArgumentError
from atari_interleaved.core.settings import AleSettings, EpisodeSettings
from atari_interleaved.generate.policy import planner_of


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"frame_cap": 0}, "--frames-per-env must be a positive integer, but got 0"),
        ({"randomness": 1.5}, r"--randomness must be in \[0, 1\], but got 1.5"),
        ({"randomness": -0.1}, r"--randomness must be in \[0, 1\]"),
        ({"randomness": float("nan")}, r"--randomness must be in \[0, 1\]"),
        ({"seed": -1}, "--seed must be >= 0"),
        ({"png_compress_level": 10}, "--png-compress-level must be in 0..9"),
        ({"search_budget": 0.0}, "--search-budget must be a positive number"),
        ({"search_budget": float("inf")}, "--search-budget must be a positive number"),
        ({"search_budget": 50_000.5}, "--search-budget must be .* at most 50,000, but got 50000.5"),
        ({"noop_max": -1}, r"--noop-max must be an integer in 0..27000"),
    ],
)
def test_bad_episode_settings(kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        EpisodeSettings(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"frameskip": 0}, "--frameskip"),
        ({"repeat_action_probability": 2.0}, "--repeat-action-probability"),
        ({"max_num_frames_per_episode": 0}, "--max-num-frames-per-episode"),
    ],
)
def test_bad_ale_settings(kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        AleSettings(**kwargs)


def test_defaults_are_ale_v5_and_round_trip():
    settings = EpisodeSettings()
    assert settings.ale == AleSettings(4, 0.25, False, 108_000)
    assert EpisodeSettings.from_dict(settings.to_dict()) == settings


def test_settings_recorded_before_the_search_policy_still_read_and_resume(tmp_path):
    from atari_interleaved.generate.folder_store import settings_differences

    older = {
        "frame_cap": 60, "randomness": 0.2, "seed": 0, "policy": "repeat",
        "png_compress_level": 6,
        "ale": {"frameskip": 4, "repeat_action_probability": 0.25, "full_action_space": False,
                "max_num_frames_per_episode": 108000},
    }  # fmt: skip
    settings = EpisodeSettings.from_dict(older)
    assert settings.search_budget == 400.0 and settings.noop_max == 0
    assert planner_of(settings.policy) == ""
    assert settings_differences(settings, EpisodeSettings(policy="repeat")) == []
    assert settings_differences(settings, EpisodeSettings(policy="repeat", noop_max=3)) == [
        "noop_max: 0 in the folder, 3 now"
    ]


def test_an_episode_json_of_an_older_version_still_reads(tmp_path):
    import json

    from atari_interleaved.core.episode import read_metadata

    fields = {
        "env_id": "ALE/Pong-v5", "game": "pong", "episode": "episode_000_rand0.2",
        "episode_index": 0, "seed": 1, "base_seed": 0, "randomness": 0.2, "policy": "repeat",
        "frame_cap": 2, "frameskip": 4, "repeat_action_probability": 0.25,
        "full_action_space": False, "max_num_frames_per_episode": 108000,
        "action_set": ["NOOP"], "num_frames": 2, "actions": [0, 0], "rewards": [0.0, 0.0],
        "terminated": [False, False], "truncated": [False, False], "lives": [0, 0],
        "episode_return": 0.0, "end_reason": "frame_cap", "png": {}, "rom_md5": "x",
        "versions": {}, "format": "atari-interleaved/episode/1",
    }  # fmt: skip
    path = tmp_path / "episode.json"
    path.write_text(json.dumps(fields))
    metadata = read_metadata(path)
    assert metadata.applied_actions == [] and metadata.start_actions == []
    assert metadata.search_budget == 0.0 and metadata.planner == "" and metadata.noop_max == 0


def test_several_randomness_levels_are_a_set_in_increasing_order():
    settings = EpisodeSettings(randomness=(1.0, 0.0, 0.25))
    assert settings.randomness == settings.levels == (0.0, 0.25, 1.0)
    assert EpisodeSettings(randomness=[0.2]).randomness == 0.2  # one level: a float, as before
    assert EpisodeSettings.from_dict(settings.to_dict()) == settings
    assert EpisodeSettings.from_dict({"randomness": [0.25, 1.0, 0.0]}) == settings
    assert settings.at_level(0.25).randomness == 0.25
    with pytest.raises(ValueError, match="not a level"):
        settings.at_level(0.5)
    with pytest.raises(InvalidArgumentError, match="--randomness must be at least one level"):
        EpisodeSettings(randomness=())


def test_an_episode_whose_recorded_emulator_frames_would_not_fit_in_memory_is_refused():
    huge = AleSettings(frameskip=1_000_000_000, max_num_frames_per_episode=2**31 - 1)
    with pytest.raises(InvalidArgumentError, match=r"let an episode run 2,147,483,647 emulator"):
        EpisodeSettings(frame_cap=60, ale=huge)
    long = AleSettings(max_num_frames_per_episode=2**31 - 1)  # capped by the frames recorded
    assert EpisodeSettings(frame_cap=60, ale=long).ale.max_steps > 0


@pytest.mark.parametrize(("given", "same"), [(-0.0, 0.0), ((1.0, -0.0), (0.0, 1.0))])
def test_negative_zero_randomness_is_recorded_as_zero(given, same):
    settings = EpisodeSettings(randomness=given)
    assert math.copysign(1.0, settings.levels[0]) == 1.0
    recorded = json.dumps(EpisodeSettings(randomness=same).to_dict())
    assert json.dumps(settings.to_dict()) == recorded
