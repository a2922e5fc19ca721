"""The setting flags of ``sample`` and ``build``: declared once, parsed alike, recorded back."""

from __future__ import annotations

import argparse
import shlex

import pytest

from atari_interleaved.cli import build, sample
from atari_interleaved.cli.app import main
from atari_interleaved.cli.options import settings_from_args
from atari_interleaved.core.settings import SETTINGS, AleSettings, EpisodeSettings
from atari_interleaved.publishing.provenance import Provenance

FLAGS = [
    "--frames-per-env", "--randomness", "--seed", "--policy", "--search-budget", "--noop-max",
    "--png-compress-level", "--branch-every", "--branch-steps", "--frameskip",
    "--repeat-action-probability", "--full-action-space", "--max-num-frames-per-episode",
]  # fmt: skip


def parser_of(command) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser


def flags_of(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {flag: action for action in parser._actions for flag in action.option_strings}


@pytest.mark.parametrize("command", [sample, build])
def test_every_setting_has_a_flag_in_sample_and_build(command):
    actions = flags_of(parser_of(command))
    assert [setting.flag for setting in SETTINGS] == FLAGS
    for setting in SETTINGS:
        assert actions[setting.flag].dest == setting.name
        assert actions[setting.flag].help.startswith(setting.help)


def test_the_same_flag_parses_alike_and_build_keeps_its_defaults():
    sample_flags, build_flags = flags_of(parser_of(sample)), flags_of(parser_of(build))
    assert sorted(set(sample_flags) & set(build_flags)) == sorted(
        [*FLAGS, "--envs", "--max-episodes", "--parallel", "--overwrite", "--no-progress", "-h",
         "--help"]
    )  # fmt: skip
    for flag in set(sample_flags) & set(build_flags):
        assert sample_flags[flag].type is build_flags[flag].type, flag
    sampled = settings_from_args(parser_of(sample).parse_args([]))
    built = settings_from_args(parser_of(build).parse_args([]))
    assert sampled == EpisodeSettings()
    assert built == EpisodeSettings(frame_cap=60)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--frames-per-env", "0"],
            "error: --frames-per-env must be a positive integer, but got 0",
        ),
        (
            ["--noop-max", "-1"],
            "error: --noop-max must be an integer in 0..27000 (the steps before ALE's episode "
            "length limit), but got -1",
        ),
        (["--png-compress-level", "10"], "error: --png-compress-level must be in 0..9, but got 10"),
        (["--frameskip", "0"], "error: --frameskip must be a positive integer, but got 0"),
    ],
)
def test_a_bad_setting_gives_the_same_error_in_sample_and_build(tmp_path, capsys, args, message):
    for command in ("sample", "build"):
        assert main([command, *args, "--envs", "pong", "--no-progress"]) == 2
        assert capsys.readouterr().err.strip() == message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--frames-per-env", "lots"],
            "argument --frames-per-env: expected an integer, got 'lots'",
        ),
        (
            ["--randomness", "x"],
            "argument --randomness: expected a number or comma-separated numbers "
            "(0.0,0.25,1.0), got 'x'",
        ),
        (["--max-episodes", "0"], "argument --max-episodes: expected a positive integer, got '0'"),
        (["--parallel", "-1"], "argument --parallel: expected a positive integer, got '-1'"),
    ],
)
def test_a_value_that_does_not_parse_is_refused_alike_by_both_parsers(capsys, args, message):
    for command in ("sample", "build"):
        with pytest.raises(SystemExit) as exited:
            main([command, *args])
        assert exited.value.code == 2
        assert f"atari-interleaved {command}: error: {message}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            EpisodeSettings(),
            "--frames-per-env 60 --randomness 0.2 --seed 0 --policy search "
            "--png-compress-level 6 --frameskip 4 --repeat-action-probability 0.25 "
            "--max-num-frames-per-episode 108000 --search-budget 400.0",
        ),
        (
            EpisodeSettings(
                frame_cap=7,
                randomness=1.0,
                seed=3,
                policy="repeat",
                noop_max=2,
                png_compress_level=1,
                ale=AleSettings(
                    frameskip=2,
                    repeat_action_probability=0.0,
                    full_action_space=True,
                    max_num_frames_per_episode=500,
                ),
            ),  # fmt: skip
            "--frames-per-env 7 --randomness 1.0 --seed 3 --policy repeat "
            "--png-compress-level 1 --frameskip 2 --repeat-action-probability 0.0 "
            "--max-num-frames-per-episode 500 --noop-max 2 --full-action-space",
        ),
        (
            EpisodeSettings(randomness=(1.0, 0.0, 0.25), policy="repeat"),
            "--frames-per-env 60 --randomness 0.0,0.25,1.0 --seed 0 --policy repeat "
            "--png-compress-level 6 --frameskip 4 --repeat-action-probability 0.25 "
            "--max-num-frames-per-episode 108000",
        ),
    ],
)
def test_the_recorded_command_gives_back_the_same_settings(settings, expected):
    provenance = Provenance(
        tree_name="frames", settings=settings.to_dict(), episodes_per_game={"pong": 2},
        max_episodes=2,
    )  # fmt: skip
    command = provenance.sample_command()
    assert command == (
        f"atari-interleaved sample --envs pong --max-episodes 2 {expected} --output-dir frames"
    )
    args = parser_of(sample).parse_args(shlex.split(command)[2:])
    assert settings_from_args(args) == settings
