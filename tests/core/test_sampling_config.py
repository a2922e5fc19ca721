"""The one reader of sampling_config.json: what it gives, and what it refuses (naming the file)."""

from __future__ import annotations

import json

import pytest

from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.core.sampling_config import SamplingConfig, read_sampling_config
from atari_interleaved.core.settings import EpisodeSettings

TREE = {"format": "atari-interleaved/sampling/1", "planner": "", "settings": {"randomness": 0.5}}
DIRECT = {
    "format": "atari-interleaved/sampling-parquet/1",
    "planner": "rollout-iw1-ram/1",
    "settings": {"seed": 7, "ale": {"frameskip": 2}},
    "shards": [["pong", [0, 1]], ["pong", [2]]],
    "env_ids": {"pong": "ALE/Pong-v5"},
    "rom_md5": {"pong": "60e0ea3cbe0913d39803477945e9e5ec"},
    "versions": {"ale-py": "0.12.1"},
}


def test_a_missing_file_is_none_and_a_frame_tree_config_is_read(tmp_path):
    assert read_sampling_config(tmp_path) is None
    (tmp_path / "sampling_config.json").write_text(json.dumps(TREE))
    config = read_sampling_config(tmp_path)
    assert config.format == "atari-interleaved/sampling/1" and not config.is_direct
    assert config.settings.randomness == 0.5
    assert config.settings.ale.frameskip == 4  # unrecorded settings have their default
    assert config.shards == ()


def test_a_direct_config_is_read_and_written_back_as_the_same_json(tmp_path):
    (tmp_path / "sampling_config.json").write_text(json.dumps(DIRECT))
    config = read_sampling_config(tmp_path)
    assert config.is_direct and config.planner == "rollout-iw1-ram/1"
    assert config.shards == (("pong", (0, 1), 0.2), ("pong", (2,), 0.2))
    assert (config.settings.seed, config.settings.ale.frameskip) == (7, 2)
    assert dict(config.env_ids) == {"pong": "ALE/Pong-v5"}
    written = json.loads(config.to_json())
    assert {key: written[key] for key in DIRECT if key != "settings"} == {
        key: value for key, value in DIRECT.items() if key != "settings"
    }
    assert written["settings"]["seed"] == 7 and written["settings"]["ale"]["frameskip"] == 2


def test_the_shards_of_several_levels_name_their_level(tmp_path):
    mixed = {**DIRECT, "settings": {"randomness": [1.0, 0.0]}}
    mixed["shards"] = [["pong", [0, 1], 0.0], ["pong", [0, 1], 1.0]]
    (tmp_path / "sampling_config.json").write_text(json.dumps(mixed))
    config = read_sampling_config(tmp_path)
    assert config.settings.levels == (0.0, 1.0)
    assert config.shards == (("pong", (0, 1), 0.0), ("pong", (0, 1), 1.0))
    written = json.loads(config.to_json())
    assert written["shards"] == mixed["shards"]
    assert written["settings"]["randomness"] == [0.0, 1.0]
    for shards in ([["pong", [0, 1]]], [["pong", [0, 1], 0.5]]):
        (tmp_path / "sampling_config.json").write_text(json.dumps({**mixed, "shards": shards}))
        with pytest.raises(InvalidInputError, match="with a level of settings.randomness"):
            read_sampling_config(tmp_path)


def test_a_frame_tree_config_writes_only_its_three_keys():
    text = SamplingConfig(
        "atari-interleaved/sampling/1", EpisodeSettings(policy="repeat")
    ).to_json()
    assert text.startswith('{\n "format": "atari-interleaved/sampling/1",\n "planner": "",\n')
    assert sorted(json.loads(text)) == ["format", "planner", "settings"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", r"not JSON: Expecting property name"),
        ("[1, 2]", r"not a JSON object"),
        (json.dumps({**TREE, "format": "other/1"}), r"format 'other/1' is not one of atari-"),
        (json.dumps({"format": TREE["format"]}), r"settings: missing"),
        (json.dumps({**TREE, "settings": {"randomness": 2}}), r"settings: --randomness must be in"),
        (
            json.dumps({**TREE, "settings": {"colour": 1}}),
            r"settings: .*unexpected keyword.*colour",
        ),
        (json.dumps({**TREE, "planner": 3}), r"planner: not a string"),
        (json.dumps({**DIRECT, "shards": "all"}), r"shards: not a list of shards"),
        (
            json.dumps({**DIRECT, "shards": [["pong", [0, -1]]]}),
            r"shards: \['pong', \[0, -1\]\] is",
        ),
        (json.dumps({**DIRECT, "env_ids": {}}), r"env_ids and rom_md5 must name every game"),
        (json.dumps({**DIRECT, "versions": None}), r"versions: not an object of strings"),
    ],
)
def test_a_corrupt_config_is_refused_naming_the_file_and_the_fix(tmp_path, content, problem):
    path = tmp_path / "sampling_config.json"
    path.write_text(content)
    with pytest.raises(InvalidInputError) as raised:
        read_sampling_config(tmp_path)
    message = str(raised.value)
    assert message.startswith(f"{path}: not a valid sampling config (")
    assert message.endswith("; restore the file, or sample the folder again with --overwrite")
    assert raised.match(problem)
