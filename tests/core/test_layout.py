from __future__ import annotations

import math

import numpy as np
import pytest

from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError
from atari_interleaved.core.layout import (
    MAX_RANDOMNESS_CHARS,
    action_file_name,
    check_randomness,
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
from atari_interleaved.core.settings import EpisodeSettings


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


@pytest.mark.parametrize(
    ("randomness", "name"),
    [
        (1e-05, "episode_000_rand0.00001"),
        (0.1 + 0.2, "episode_000_rand0.30000000000000004"),
        (1.0, "episode_000_rand1.0"),
        (0.0, "episode_000_rand0.0"),
        (-0.0, "episode_000_rand0.0"),
        (1e-20, "episode_000_rand0.00000000000000000001"),
        (0.99999, "episode_000_rand0.99999"),
    ],
)
def test_small_and_inexact_randomness_names_without_exponent(randomness, name):
    assert episode_dir_name(0, randomness) == name
    assert parse_episode_dir_name(name).randomness == randomness


def accepted_randomness_grid() -> list[float]:
    """Every value the sampler's range check accepts, over decades, digits and random draws."""
    rng = np.random.default_rng(0)
    values = [digit * 10.0**-exponent for digit in range(1, 10) for exponent in range(0, 30)]
    values += [sum(0.1 for _ in range(count)) for count in range(11)]  # 0.30000000000000004...
    values += list(rng.random(500)) + list(10.0 ** rng.uniform(-40, 0, 500))
    values += [math.nextafter(1.0, 0.0), math.nextafter(0.0, 1.0), 5e-324, 2.2250738585072014e-308]
    return [float(value) for value in values if 0.0 <= value <= 1.0]


def test_every_accepted_randomness_names_folders_that_read_back_exactly():
    refused = 0
    for randomness in accepted_randomness_grid():
        EpisodeSettings(randomness=randomness)  # in range
        try:
            check_randomness(randomness)
        except InvalidArgumentError as error:
            assert "cannot name episode folders" in str(error)
            assert randomness < 1e-22, randomness  # only values far below any real use
            refused += 1
            continue
        name = episode_dir_name(3, randomness)
        assert len(name) <= len("episode_003_rand") + MAX_RANDOMNESS_CHARS
        parsed = parse_episode_dir_name(name)  # the reader's own check of the name
        assert (parsed.index, parsed.randomness) == (3, randomness), name
        assert episode_dir_name(parsed.index, parsed.randomness) == name
    assert 0 < refused < 400


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
    assert parse_action_line("8: DOWNRIGHT\n") == (8, "DOWNRIGHT")
    assert parse_action_line("0: NOOP") == (0, "NOOP")


@pytest.mark.parametrize("line", ["DOWNRIGHT", "8:DOWNRIGHT", "x: FIRE", "8: downright", ""])
def test_malformed_action_line(line):
    with pytest.raises(InvalidInputError, match="malformed"):
        parse_action_line(line)
