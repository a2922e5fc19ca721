"""The dataset card: YAML that matches the data, figures, commands, examples that run."""

from __future__ import annotations

import argparse
import json
import re
import shlex
from collections import Counter

import datasets
import pyarrow.parquet as pq
import pytest
from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCard

from atari_interleaved.cli.app import main as cli_main
from atari_interleaved.cli.options import settings_from_args
from atari_interleaved.cli.sample import add_arguments
from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError
from atari_interleaved.core.features import CONFIG_NAMES, features
from atari_interleaved.core.settings import SETTINGS, EpisodeSettings
from atari_interleaved.core.splits import split_plan
from atari_interleaved.generate.parquet_store import plan_shards
from atari_interleaved.publishing.card import (
    FIELD_DESCRIPTIONS,
    PLACEHOLDER_REPO_ID,
    PLACEHOLDERS,
    CardInputs,
    card_values,
    check_template,
    read_template,
    split_sizes,
)
from atari_interleaved.publishing.export import export
from atari_interleaved.publishing.preview import ANIMATION_NAME, CONTACT_SHEET_NAME, PreviewFiles
from atari_interleaved.publishing.provenance import read_provenance
from atari_interleaved.publishing.stats import stats_from_parquet
from tests.fixtures.export_utils import REPO_ID, card_yaml
from tests.fixtures.frame_trees import EPISODES, FRAMES, GAMES, drop_metadata
from tests.fixtures.tree_utils import tree_digest


@pytest.fixture(scope="module")
def card(exported_folder) -> str:
    return (exported_folder / "README.md").read_text(encoding="utf-8")


def card_inputs(folder, tree) -> CardInputs:
    return CardInputs(
        repo_id=REPO_ID,
        stats=stats_from_parquet(folder),
        provenance=read_provenance(tree),
        splits={config: split_sizes(folder, config) for config in CONFIG_NAMES},
        previews=PreviewFiles(
            CONTACT_SHEET_NAME, ANIMATION_NAME, "Alien, episode_000_rand0.2", 12, 12
        ),
        commands=[],
        tool_version="0",
    )


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.M | re.S)


def test_yaml_declares_both_configs_with_their_files_features_and_sizes(card, exported_folder):
    header = card_yaml(card)
    assert header["configs"] == [
        {
            "config_name": "interleaved",
            "data_files": [{"split": "train", "path": "interleaved/train-*"}],
            "default": True,
        },
        {"config_name": "simple", "data_files": [{"split": "train", "path": "simple/train-*"}]},
    ]
    infos = {info["config_name"]: info for info in header["dataset_info"]}
    assert list(infos) == list(CONFIG_NAMES)
    for config in CONFIG_NAMES:
        shards = sorted((exported_folder / config).glob("train-*.parquet"))
        # As datasets reads a Hub card: the declared Features, RGB images included.
        parsed = DatasetInfosDict.from_dataset_card_data(DatasetCard(card).data)[config]
        assert parsed.features == features(config)
        split = infos[config]["splits"][0]
        assert split["name"] == "train"
        assert split["num_examples"] == sum(pq.read_metadata(s).num_rows for s in shards)
        assert infos[config]["download_size"] == sum(s.stat().st_size for s in shards)
    assert infos["simple"]["splits"][0]["num_examples"] == len(GAMES) * EPISODES * FRAMES
    simple = DatasetInfosDict.from_dataset_card_data(DatasetCard(card).data)["simple"]
    assert simple.features["image"] == datasets.Image(mode="RGB")
    assert simple.splits["train"].num_examples == len(GAMES) * EPISODES * FRAMES
    assert header["license"] == "other"
    assert {"atari", "reinforcement-learning", "world-model"} <= set(header["tags"])
    assert "reinforcement-learning" in header["task_categories"]
    assert header["pretty_name"]


def test_every_placeholder_is_filled_and_pictures_exist(card, exported_folder):
    assert "${" not in card and "your-username" not in card
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", card)
    assert pictures == ["previews/contact_sheet.png", "previews/episode.gif"]
    assert all((exported_folder / picture).is_file() for picture in pictures)
    for needle in ("Bellemare", "Machado", "10.1613/jair.3912", "10.1613/jair.5699"):
        assert needle in card
    for needle in ("repeat_action_probability", "0.25", "minimal", "ALE/Alien-v5", '"P"'):
        assert needle in card


def sample_line(card: str) -> str:
    return next(line for line in code_blocks(card, "bash")[0].splitlines() if " sample " in line)


def test_the_sample_command_in_the_card_makes_the_same_tree(card, frame_tree):
    command = sample_line(card)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(shlex.split(command)[2:])
    recorded = json.loads((frame_tree / "sampling_config.json").read_text())["settings"]
    assert settings_from_args(args) == EpisodeSettings.from_dict(recorded)
    assert args.envs == ",".join(GAMES) and args.max_episodes == EPISODES
    assert args.output_dir == frame_tree.name


# Random and human scores of Mnih et al. (2015), extended data table 2.
HUMAN_REFERENCE = {"alien": (227.8, 7127.7), "pong": (-20.7, 14.6), "breakout": (1.7, 30.5)}


def test_games_table_gives_the_figures_of_each_game(card, frame_tree):
    for game in GAMES:
        returns = [
            json.loads(path.read_text())["episode_return"]
            for path in sorted((frame_tree / f"atari_{game}").glob("*/episode.json"))
        ]
        name = game.capitalize()
        row = next(line for line in card.splitlines() if line.startswith(f"| {name} |"))
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[1:5] == [
            f"`ALE/{name}-v5`",
            str(EPISODES),
            str(EPISODES * FRAMES),
            f"{sum(returns) / len(returns):.1f}",
        ]
        random, human = HUMAN_REFERENCE[game]
        mean = float(cells[4])
        assert cells[5] == f"{(mean - random) / (human - random):.2f}"
        assert cells[6] == f"{EPISODES} frame_cap" and "%" in cells[7]


def test_stats_of_the_export_are_those_of_its_tree(frame_tree, exported_folder):
    stats = stats_from_parquet(exported_folder)
    assert list(stats.games) == sorted(f"atari_{game}" for game in GAMES)
    for environment, game in stats.games.items():
        recorded = [
            json.loads(path.read_text())
            for path in sorted((frame_tree / environment).glob("episode_*/episode.json"))
        ]
        actions = Counter(
            path.read_text().strip().split(": ")[1]
            for path in (frame_tree / environment).glob("episode_*/action_*.txt")
        )
        assert game.episodes == EPISODES == len(recorded)
        assert game.frames == EPISODES * FRAMES
        assert game.returns == [episode["episode_return"] for episode in recorded]
        assert game.actions == actions
        assert game.end_reasons == Counter(episode["end_reason"] for episode in recorded)


def test_loading_examples_of_the_card_run(card, exported_folder, capsys):
    local = str(exported_folder)
    blocks = code_blocks(card, "python")
    loading = blocks[0].replace(f'"{REPO_ID}"', repr(local))
    pandas_block = blocks[1].replace(f"hf://datasets/{REPO_ID}", local)
    for code in (loading, pandas_block):
        exec(compile(code, "<card>", "exec"), {})
    out = capsys.readouterr().out
    assert "text: Atari Alien Environment (randomness=0.2)" in out
    assert "frame 0 (160, 210)" in out


def test_every_column_has_a_description():
    for config in CONFIG_NAMES:
        assert list(FIELD_DESCRIPTIONS[config]) == list(features(config))


def test_a_tree_without_metadata_still_gets_a_card(tree_copy, tmp_path):
    export(drop_metadata(tree_copy), tmp_path / "hub")
    card = (tmp_path / "hub" / "README.md").read_text()
    assert "sampled by another tool" in card
    assert "| n/a | - | n/a |" in card  # mean return, its score and end reasons are unknown
    assert card_yaml(card)["dataset_info"][0]["splits"][0]["num_examples"] == len(GAMES) * EPISODES


def test_template_errors_name_the_problem(exported_folder, tmp_path):
    template = tmp_path / "card.md"
    template.write_text("---\n${yaml}---\n${no_such_field}\n")
    with pytest.raises(InvalidArgumentError, match=r"unknown placeholder \$\{no_such_field\}"):
        export(exported_folder.parent.parent / "missing", tmp_path / "x", card_template=template)
    assert "${yaml}" in read_template()


def test_template_placeholders_are_exactly_the_values(exported_folder, frame_tree):
    assert set(card_values(card_inputs(exported_folder, frame_tree))) == PLACEHOLDERS
    with pytest.raises(InvalidArgumentError, match="stray '\\$' on line 2"):
        check_template("price:\ncosts $ 5")
    assert check_template("costs $$5 ${yaml}") == "costs $$5 ${yaml}"


def without_sizes(header: dict) -> dict:
    """The card's YAML without the byte sizes (which depend on how rows are sharded)."""
    header = json.loads(json.dumps(header))
    for info in header["dataset_info"]:
        del info["download_size"], info["dataset_size"], info["splits"][0]["num_bytes"]
    return header


def test_the_card_of_a_direct_folder_is_that_of_its_frame_tree(card, direct_export):
    direct = (direct_export / "README.md").read_text(encoding="utf-8")
    header = card_yaml(direct)
    assert without_sizes(header) == without_sizes(card_yaml(card))
    for info in header["dataset_info"]:
        shards = sorted((direct_export / info["config_name"]).glob("train-*.parquet"))
        assert len(shards) == len(GAMES) * EPISODES  # an episode a shard
        assert info["download_size"] == sum(shard.stat().st_size for shard in shards)
    # Everything but the commands and shard names: figures, tables, settings, schemas.
    assert code_blocks(direct, "bash")[0] != code_blocks(card, "bash")[0]
    strip = re.compile(r"^---\n.*?^---\n|^```bash\n.*?^```|-of-\d{5}", flags=re.M | re.S)
    assert strip.sub("", direct) == strip.sub("", card)


@pytest.mark.slow
def test_the_sample_command_in_the_card_of_a_direct_folder_makes_it_again(
    direct_folder, direct_export, tmp_path, monkeypatch
):
    command = sample_line((direct_export / "README.md").read_text(encoding="utf-8"))
    assert "--to-parquet --output-dir sampled_parquet" in command
    assert "--episodes-per-shard" not in command  # the default plan
    monkeypatch.chdir(tmp_path)
    assert cli_main([*shlex.split(command)[1:], "--no-progress"]) == 0
    assert tree_digest(tmp_path / "sampled_parquet") == tree_digest(direct_folder)


def test_a_direct_folder_of_other_shards_names_its_episodes_per_shard(direct_folder, tmp_path):
    folder = tmp_path / "sampled_parquet"
    folder.mkdir()
    config = json.loads((direct_folder / "sampling_config.json").read_text())
    plan = plan_shards(GAMES, [0.2], 2, 2)
    config["shards"] = [[chunk.game, list(chunk.indices)] for chunk in plan]
    (folder / "sampling_config.json").write_text(json.dumps(config))
    provenance = read_provenance(folder)
    assert provenance.episodes_per_game == dict.fromkeys(GAMES, EPISODES)
    assert provenance.sample_command().endswith(
        " --to-parquet --episodes-per-shard 2 --output-dir sampled_parquet"
    )
    config["shards"] = [["alien", [0, 1]], ["pong", [0]]]
    (folder / "sampling_config.json").write_text(json.dumps(config))
    with pytest.raises(InvalidInputError, match="not one 'sample --to-parquet' makes"):
        read_provenance(folder)
    plan = plan_shards(GAMES, [0.2], 2, 2)
    config["shards"] = [[chunk.game, list(chunk.indices)] for chunk in plan]
    del config["env_ids"]
    (folder / "sampling_config.json").write_text(json.dumps(config))
    with pytest.raises(InvalidInputError, match="not a valid sampling config .*env_ids"):
        export(folder, tmp_path / "hub")


def test_every_setting_has_a_row_in_the_card_and_is_unknown_without_a_config(
    card, exported_folder, tree_copy
):
    assert "| Frames per episode at most (`--frames-per-env`) | 12 |" in card
    assert "| Base policy (`--policy`) | `repeat` |" in card
    assert "| Action set | minimal (per game) |" in card
    assert "| Episode length limit (emulator frames) | 108000 |" in card
    values = card_values(card_inputs(exported_folder, drop_metadata(tree_copy)))
    rows = (values["settings_table"] + "\n" + values["ale_table"]).splitlines()
    for setting in SETTINGS:
        row = next(row for row in rows if row.startswith(f"| {setting.card_label} |"))
        assert row.removeprefix(f"| {setting.card_label} | ") in ("unknown |", "`unknown` |")
    assert values["frames_per_env_note"] == "see the table of games"


def test_the_loading_examples_read_a_split_the_export_has(frame_tree, tmp_path, capsys):
    folder = tmp_path / "hub"
    export(frame_tree, folder, split_plan=split_plan("test=1"))
    card = (folder / "README.md").read_text()
    assert 'split="train"' not in card and card.count('split="test"') == 4
    loading = code_blocks(card, "python")[0].replace(f'"{PLACEHOLDER_REPO_ID}"', repr(str(folder)))
    exec(compile(loading, "<card>", "exec"), {})
    assert "frame 0 (160, 210)" in capsys.readouterr().out
