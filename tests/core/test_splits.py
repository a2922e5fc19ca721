"""Held-out splits: assignment, the shards and card of an export, load_dataset per split."""

from __future__ import annotations

import shutil

import datasets
import pyarrow.parquet as pq
import pytest

from atari_interleaved.cli.app import main as cli_main
from atari_interleaved.core.errors import InvalidArgumentError
from atari_interleaved.core.splits import split_plan
from atari_interleaved.publishing.export import export
from atari_interleaved.publishing.publish import publish
from tests.fixtures.export_utils import REPO_ID, card_yaml, row_digests
from tests.fixtures.frame_trees import EPISODES, FRAMES, GAMES

# The test tree's episodes hash to alien 0: 0.63, alien 1: 0.94, pong 0: 0.90, pong 1: 0.77
# (sha256 of "<environment>/<seed>"), so these fractions give:
SPLITS = "train=0.8,validation=0.2,test=0"
EXPECTED = {
    "train": {("atari_alien", "episode_000_rand0.2"), ("atari_pong", "episode_001_rand0.2")},
    "validation": {("atari_alien", "episode_001_rand0.2"), ("atari_pong", "episode_000_rand0.2")},
}


def episodes_of(folder, config: str = "simple") -> dict[str, set[tuple[str, str]]]:
    """The (environment, episode) pairs of each split's shards of a config."""
    found: dict[str, set[tuple[str, str]]] = {}
    for shard in sorted((folder / config).glob("*.parquet")):
        rows = pq.read_table(shard, columns=["environment", "episode"]).to_pylist()
        split = shard.name.split("-")[0]
        found.setdefault(split, set()).update((r["environment"], r["episode"]) for r in rows)
    return found


def test_fractions_split_many_episodes_in_proportion_and_test_games_go_whole():
    plan = split_plan("train=0.9,validation=0.05,test=0.05", "pong")
    counts = dict.fromkeys(plan.names, 0)
    for seed in range(20_000):
        counts[plan.split_of("atari_alien", seed, "episode_000_rand0.2")] += 1
    assert 17_700 < counts["train"] < 18_300 and 850 < counts["validation"] < 1_150
    assert 850 < counts["test"] < 1_150
    assert {plan.split_of("atari_pong", seed, "e") for seed in range(100)} == {"test"}
    # Without a seed (a tree of another tool) the folder name is hashed instead.
    names = {plan.split_of("atari_alien", None, f"episode_{i:03d}_rand0.2") for i in range(200)}
    assert names == {"train", "validation", "test"}


def test_export_writes_each_split_and_an_episode_keeps_its_split_when_data_is_added(
    frame_tree, tree_copy, tmp_path, capsys
):
    folder = tmp_path / "hub"
    argv = ["export", "--input-dir", str(frame_tree), "--output-dir", str(folder)]
    assert cli_main([*argv, "--splits", SPLITS, "--no-progress"]) == 0
    assert "\nSplits: train (2 episodes, 24 frames), validation (2 episodes, 24 frames).\n" in (
        capsys.readouterr().out
    )
    for config in ("interleaved", "simple"):
        assert episodes_of(folder, config) == EXPECTED
    assert sorted(path.name for path in (folder / "simple").iterdir()) == [
        "train-00000-of-00001.parquet",
        "validation-00000-of-00001.parquet",
    ]
    # Fewer episodes in the run: those left keep their split.
    shutil.rmtree(tree_copy / "atari_pong" / "episode_001_rand0.2")
    smaller = tmp_path / "smaller"
    export(tree_copy, smaller, split_plan=split_plan(SPLITS))
    for split, episodes in episodes_of(smaller).items():
        assert episodes <= EXPECTED[split]
    card = (folder / "README.md").read_text(encoding="utf-8")
    header = card_yaml(card)
    assert header["configs"][1] == {
        "config_name": "simple",
        "data_files": [
            {"split": "train", "path": "simple/train-*"},
            {"split": "validation", "path": "simple/validation-*"},
        ],
    }
    info = {entry["config_name"]: entry for entry in header["dataset_info"]}["simple"]
    assert [(s["name"], s["num_examples"]) for s in info["splits"]] == [
        ("train", 2 * FRAMES),
        ("validation", 2 * FRAMES),
    ]
    assert "`validation` (2 episodes, 24 frames)" in card
    assert "No episode fell in `test`: empty splits are not written." in card
    assert f"--splits {SPLITS}" in card
    for split, episodes in EXPECTED.items():
        loaded = datasets.load_dataset(str(folder), "simple", split=split)
        assert {(row["environment"], row["episode"]) for row in loaded} == episodes


def test_test_games_are_held_out_and_a_direct_folder_splits_the_same(
    frame_tree, direct_folder, tmp_path
):
    plan = split_plan(SPLITS, "pong")
    export(frame_tree, tmp_path / "tree", split_plan=plan)
    export(direct_folder, tmp_path / "direct", split_plan=plan)
    found = episodes_of(tmp_path / "tree")
    assert found == {
        "train": {("atari_alien", "episode_000_rand0.2")},
        "validation": {("atari_alien", "episode_001_rand0.2")},
        "test": {(f"atari_{GAMES[1]}", f"episode_{i:03d}_rand0.2") for i in range(EPISODES)},
    }
    for split in found:
        rows = [
            row_digests(
                pq.read_table(folder / "simple" / f"{split}-00000-of-00001.parquet").to_pylist()
            )
            for folder in (tmp_path / "tree", tmp_path / "direct")
        ]
        assert rows[0] == rows[1]
    assert (
        "Every episode of Pong is held out in `test`."
        in (tmp_path / "tree" / "README.md").read_text()
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--splits", "train=0.9,test=0.2"],
            r"--splits 'train=0.9,test=0.2': the fractions sum to 1.1",
        ),
        (["--splits", "train:1"], r"--splits 'train:1': expected name=fraction pairs"),
        (["--splits", "train=0.5,train=0.5"], r"names the split 'train' twice"),
        (["--splits", "train=0.5,all=0.5"], r"'all' is not a split name"),
        (
            ["--test-games", "pongg"],
            r"unknown Atari game 'pongg' in --test-games. Did you mean 'pong'",
        ),
    ],
)
def test_bad_split_flags_exit_2_before_any_work(frame_tree, tmp_path, capsys, flags, message):
    for command in (
        ["export", "--input-dir", str(frame_tree), "--output-dir", str(tmp_path / "out")],
        ["build", "--frames-dir", str(tmp_path / "frames"), "--hub-dir", str(tmp_path / "hub")],
    ):
        assert cli_main([*command, *flags]) == 2
        assert capsys.readouterr().err.startswith("error: ")
        with pytest.raises(InvalidArgumentError, match=message):
            split_plan(*(flags[1], None) if flags[0] == "--splits" else (None, flags[1]))
    assert list(tmp_path.iterdir()) == []


def test_an_exported_folder_is_not_split_again_by_publish(exported_folder, hub_server):
    with pytest.raises(InvalidArgumentError, match=r"--splits/--test-games cannot re-split"):
        publish(exported_folder, REPO_ID, split_plan=split_plan(SPLITS))
