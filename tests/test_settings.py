from __future__ import annotations

import pytest

from atari_interleaved.errors import InvalidArgumentError
from atari_interleaved.generate.settings import AleSettings, EpisodeSettings


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"frames_per_env": 0}, "--frames-per-env must be a positive integer, but got 0"),
        ({"randomness": 1.5}, r"--randomness must be in \[0, 1\], but got 1.5"),
        ({"randomness": -0.1}, r"--randomness must be in \[0, 1\]"),
        ({"randomness": float("nan")}, r"--randomness must be in \[0, 1\]"),
        ({"seed": -1}, "--seed must be >= 0"),
        ({"png_compress_level": 10}, "--png-compress-level must be in 0..9"),
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
