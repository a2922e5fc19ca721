from __future__ import annotations

import pytest

from atari_interleaved.errors import InvalidInputError
from atari_interleaved.layout import (
    action_file_name,
    clean_action,
    episode_dir_name,
    format_action_line,
    format_randomness,
    frame_file_name,
    game_dir_name,
    game_from_dir_name,
    parse_action_line,
    parse_episode_dir_name,
    parse_frame_file_name,
)


def test_names_follow_pipeline_layout():
    assert game_dir_name("alien") == "atari_alien"
    assert episode_dir_name(0, 0.2) == "episode_000_rand0.2"
    assert episode_dir_name(12, 1) == "episode_012_rand1.0"
    assert episode_dir_name(1234, 0.0) == "episode_1234_rand0.0"
    assert frame_file_name(0) == "frame_000000.png"
    assert action_file_name(42) == "action_000042.txt"
    assert format_action_line(8, "DOWNRIGHT") == "8: DOWNRIGHT"


@pytest.mark.parametrize("randomness", [0.0, 0.2, 0.25, 0.5, 1.0, 0.123])
def test_episode_dir_name_round_trips(randomness):
    parsed = parse_episode_dir_name(episode_dir_name(7, randomness))
    assert (parsed.index, parsed.randomness) == (7, randomness)
    assert format_randomness(parsed.randomness) == format_randomness(randomness)


def test_parse_names():
    assert game_from_dir_name("atari_montezuma_revenge") == "montezuma_revenge"
    assert parse_frame_file_name("frame_000003.png") == ("frame", 3)
    assert parse_frame_file_name("action_000003.txt") == ("action", 3)
    assert parse_frame_file_name("frame_000003.txt") is None
    assert parse_frame_file_name("frame_3.png") is None


@pytest.mark.parametrize("name", ["alien", "atari_", "atari_Alien", "atari alien"])
def test_bad_game_folder(name):
    with pytest.raises(InvalidInputError, match="atari_<game>"):
        game_from_dir_name(name)


@pytest.mark.parametrize("name", ["episode_0_rand0.2", "episode_000", "ep_000_rand0.2"])
def test_bad_episode_folder(name):
    with pytest.raises(InvalidInputError, match=r"episode_<NNN>_rand<r>"):
        parse_episode_dir_name(name)


def test_action_cleaning():
    assert clean_action("8: DOWNRIGHT") == "DOWNRIGHT"
    assert parse_action_line("8: DOWNRIGHT\n") == (8, "DOWNRIGHT")
    assert clean_action("0: NOOP") == "NOOP"


@pytest.mark.parametrize("line", ["DOWNRIGHT", "8:DOWNRIGHT", "x: FIRE", "8: downright", ""])
def test_malformed_action_line(line):
    with pytest.raises(InvalidInputError, match="malformed"):
        parse_action_line(line)
