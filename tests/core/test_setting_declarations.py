"""The declaration of each sampling setting, and what derives from it in the data contract."""

from __future__ import annotations

import typing

import pytest

from atari_interleaved.core.episode import EpisodeMetadata
from atari_interleaved.core.errors import InvalidArgumentError
from atari_interleaved.core.settings import (
    SETTINGS,
    AleSettings,
    EpisodeSettings,
    command_arguments,
    episode_fields,
)

# Every setting that decides an episode, in the order of the recorded command: its field,
# flag and default (the ALE ones are those of ALE/<Game>-v5).
DECLARED = [
    ("frame_cap", "--frames-per-env", 60),
    ("randomness", "--randomness", 0.2),
    ("seed", "--seed", 0),
    ("policy", "--policy", "search"),
    ("search_budget", "--search-budget", 400.0),
    ("noop_max", "--noop-max", 0),
    ("png_compress_level", "--png-compress-level", 6),
    ("branch_every", "--branch-every", 0),
    ("branch_steps", "--branch-steps", 1),
    ("frameskip", "--frameskip", 4),
    ("repeat_action_probability", "--repeat-action-probability", 0.25),
    ("full_action_space", "--full-action-space", False),
    ("max_num_frames_per_episode", "--max-num-frames-per-episode", 108_000),
]

# Settings where every value differs from its default.
CHANGED = EpisodeSettings(
    frame_cap=7, randomness=0.5, seed=3, policy="repeat", search_budget=50.0, noop_max=2,
    png_compress_level=1, branch_every=2, branch_steps=3,
    ale=AleSettings(frameskip=2, repeat_action_probability=0.0, full_action_space=True,
                    max_num_frames_per_episode=500),
)  # fmt: skip


def test_every_setting_is_declared_with_its_flag_and_default():
    assert [(item.name, item.flag, item.default) for item in SETTINGS] == DECLARED
    assert [item.name for item in SETTINGS if item.ale] == [
        "frameskip", "repeat_action_probability", "full_action_space",
        "max_num_frames_per_episode",
    ]  # fmt: skip
    assert all(item.help and item.card_label for item in SETTINGS)


def test_from_values_takes_settings_by_name_and_ignores_the_rest():
    values = {
        "frame_cap": 7, "randomness": 0.5, "seed": 3, "policy": "repeat", "search_budget": 50.0,
        "noop_max": 2, "png_compress_level": 1, "branch_every": 2, "branch_steps": 3,
        "frameskip": 2, "repeat_action_probability": 0.0,
        "full_action_space": True, "max_num_frames_per_episode": 500,
    }  # fmt: skip
    assert EpisodeSettings.from_values({**values, "envs": "pong", "ale": None}) == CHANGED
    assert EpisodeSettings.from_values({"noop_max": 4}) == EpisodeSettings(noop_max=4)


def test_a_check_names_the_flag_and_sees_the_ale_settings():
    with pytest.raises(InvalidArgumentError, match=r"^--noop-max must be an integer in 0\.\.3 "):
        EpisodeSettings(noop_max=4, ale=AleSettings(frameskip=4, max_num_frames_per_episode=12))


def test_episode_fields_are_the_settings_of_episode_json():
    assert episode_fields(CHANGED) == {
        "frame_cap": 7, "randomness": 0.5, "base_seed": 3, "policy": "repeat",
        "search_budget": 50.0, "noop_max": 2, "frameskip": 2, "repeat_action_probability": 0.0,
        "full_action_space": True, "max_num_frames_per_episode": 500,
    }  # fmt: skip


def test_command_arguments_name_the_defaults_a_reader_needs():
    assert command_arguments(CHANGED) == [
        "--frames-per-env", "7", "--randomness", "0.5", "--seed", "3", "--policy", "repeat",
        "--png-compress-level", "1", "--frameskip", "2", "--repeat-action-probability", "0.0",
        "--max-num-frames-per-episode", "500", "--noop-max", "2", "--branch-every", "2",
        "--branch-steps", "3", "--full-action-space",
    ]  # fmt: skip
    assert command_arguments(EpisodeSettings())[-2:] == ["--search-budget", "400.0"]


def test_each_setting_field_of_episode_json_has_the_type_of_its_setting():
    hints = typing.get_type_hints(EpisodeMetadata)
    fields = {item.episode_field: item.kind for item in SETTINGS if item.episode_field is not None}
    # A run may have several randomness levels; each episode has one of them.
    assert fields["randomness"] == float | tuple[float, ...]
    fields["randomness"] = float
    assert {name: hints[name] for name in fields} == fields
    assert [item.name for item in SETTINGS if item.episode_field is None] == [
        "png_compress_level", "branch_every", "branch_steps",
    ]  # fmt: skip
