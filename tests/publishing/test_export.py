"""The exported Hub folder: layout, offline loading with datasets and pandas, safe replacement.

Exports of a frame tree and of a direct folder (``sample --to-parquet``) of the same run.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import shutil
from pathlib import Path

import datasets
import pandas as pd
import pyarrow.parquet as pq
import pytest
from PIL import Image

import atari_interleaved.publishing.export as export_module
from atari_interleaved.cli.app import main as cli_main
from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError, OutputExistsError
from atari_interleaved.core.features import CONFIG_NAMES, features
from atari_interleaved.publishing.export import export
from atari_interleaved.publishing.manifest import verify
from tests.fixtures.export_utils import row_digests
from tests.fixtures.frame_trees import EPISODES, FRAMES, GAMES
from tests.fixtures.prerequisites import required_module
from tests.fixtures.tree_utils import tree_digest

DIRECT_SHARDS = [f"train-0000{i}-of-00004.parquet" for i in range(4)]

ROWS = {"interleaved": len(GAMES) * EPISODES, "simple": len(GAMES) * EPISODES * FRAMES}


def test_layout_is_what_push_to_hub_writes(exported_folder):
    assert sorted(tree_digest(exported_folder)) == [
        "README.md",
        "interleaved/train-00000-of-00001.parquet",
        "manifest.json",
        "previews/contact_sheet.png",
        "previews/episode.gif",
        "simple/train-00000-of-00001.parquet",
    ]
    assert verify(exported_folder).ok


@pytest.mark.parametrize("config", CONFIG_NAMES)
def test_load_dataset_offline_gives_images_and_the_converted_rows(
    exported_folder, converted, tmp_path, config
):
    dataset = datasets.load_dataset(str(exported_folder), config, cache_dir=str(tmp_path))
    train = dataset["train"]
    assert train.features == features(config)
    assert train.num_rows == ROWS[config]
    first = train[0]
    image = first["images"][0] if config == "interleaved" else first["image"]
    assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (160, 210)
    assert row_digests(train) == row_digests(converted[config])


@pytest.mark.parametrize("config", CONFIG_NAMES)
def test_streaming_gives_the_same_rows(exported_folder, converted, config):
    stream = datasets.load_dataset(str(exported_folder), config, split="train", streaming=True)
    assert row_digests(stream) == row_digests(converted[config])


def test_pandas_reads_png_bytes_from_the_shards(exported_folder):
    df = pd.read_parquet(exported_folder / "interleaved")
    assert len(df) == ROWS["interleaved"]
    episode = df.iloc[0]
    for entry in episode["inputs"]:
        if entry["type"] == "image_gen":
            frame = Image.open(io.BytesIO(episode["images"][entry["image_index"]]))
            assert frame.mode == "P" and frame.convert("RGB").size == (160, 210)
    simple = pd.read_parquet(exported_folder / "simple")
    assert isinstance(simple["image"][0], bytes) and len(simple) == ROWS["simple"]


def test_export_is_byte_identical_when_repeated(frame_tree, exported_folder, tmp_path):
    again = tmp_path / "atari_interleaved_hub"
    export(frame_tree, again, repo_id="test-user/atari_interleaved")
    assert tree_digest(again) == tree_digest(exported_folder)


def test_small_shards_split_whole_episodes_and_still_load(frame_tree, tmp_path):
    folder = tmp_path / "hub"
    assert cli_main(["export", "--input-dir", str(frame_tree), "--output-dir", str(folder),
                     "--max-shard-bytes", "10kB", "--no-progress"]) == 0  # fmt: skip
    shards = sorted(path.name for path in (folder / "interleaved").iterdir())
    assert 1 < len(shards) <= ROWS["interleaved"]
    assert shards[-1] == f"train-{len(shards) - 1:05d}-of-{len(shards):05d}.parquet"
    dataset = datasets.load_dataset(str(folder), "interleaved", cache_dir=str(tmp_path / "c"))
    assert dataset["train"]["episode"] == [f"episode_00{i}_rand0.2" for i in range(2)] * 2


def test_refuses_an_existing_folder_unless_overwrite(frame_tree, export_copy):
    before = tree_digest(export_copy)
    with pytest.raises(OutputExistsError, match="--overwrite"):
        export(frame_tree, export_copy)
    assert tree_digest(export_copy) == before
    export(frame_tree, export_copy, overwrite=True, repo_id="someone/else")
    assert "someone/else" in (export_copy / "README.md").read_text()
    assert verify(export_copy).ok


@pytest.mark.parametrize("added", ["notes.txt", "simple/my_split.parquet", ".git/config"])
def test_overwrite_refuses_to_delete_files_a_user_added(frame_tree, export_copy, added):
    (export_copy / added).parent.mkdir(exist_ok=True)
    (export_copy / added).write_text("mine")
    before = tree_digest(export_copy)
    with pytest.raises(
        OutputExistsError, match=rf"holds 1 files the earlier export did not write \({added}\)"
    ):
        export(frame_tree, export_copy, overwrite=True)
    assert tree_digest(export_copy) == before
    (export_copy / added).unlink()
    export(frame_tree, export_copy, overwrite=True)
    assert verify(export_copy).ok


def test_never_replaces_a_folder_that_is_not_an_export(frame_tree, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(OutputExistsError, match="not a folder written by"):
        export(frame_tree, folder, overwrite=True)
    assert (folder / "notes.txt").read_text() == "keep me"


def test_refuses_an_output_inside_the_input(frame_tree):
    with pytest.raises(InvalidArgumentError, match="overlaps"):
        export(frame_tree, frame_tree / "hub")


def test_interrupted_export_leaves_nothing_and_keeps_the_old_folder(
    frame_tree, export_copy, monkeypatch
):
    before = tree_digest(export_copy)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(export_module, "write_manifest", interrupt)
    with pytest.raises(KeyboardInterrupt):
        export(frame_tree, export_copy, overwrite=True)
    assert tree_digest(export_copy) == before
    assert sorted(path.name for path in export_copy.parent.iterdir()) == [export_copy.name]


def test_skips_bad_episodes_when_asked(tree_copy, tmp_path):
    bad = tree_copy / "atari_pong" / "episode_001_rand0.2"
    (bad / "frame_000003.png").write_bytes(b"not a png")
    with pytest.raises(InvalidInputError, match="frame_000003.png"):
        export(tree_copy, tmp_path / "hub")
    assert not (tmp_path / "hub").exists()
    report = export(tree_copy, tmp_path / "hub", on_bad_episodes="skip")
    assert report.splits["interleaved"]["train"].num_examples == ROWS["interleaved"] - 1
    assert "3 episodes" in (tmp_path / "hub" / "README.md").read_text()


def test_a_direct_folder_exports_its_shards_as_they_are(direct_folder, direct_export):
    assert sorted(tree_digest(direct_export)) == sorted(
        ["README.md", "manifest.json", "previews/contact_sheet.png", "previews/episode.gif"]
        + [f"{config}/{name}" for config in CONFIG_NAMES for name in DIRECT_SHARDS]
    )
    for config in CONFIG_NAMES:
        for name in DIRECT_SHARDS:
            assert os.path.samefile(direct_export / config / name, direct_folder / config / name)
    assert verify(direct_export).ok
    sampling = json.loads((direct_export / "manifest.json").read_text())["generation"]["sampling"]
    assert sampling["to_parquet"] and sampling["episodes_per_game"] == dict.fromkeys(GAMES, 2)


@pytest.mark.parametrize("config", CONFIG_NAMES)
def test_a_direct_folder_exports_the_rows_of_its_frame_tree(
    direct_export, exported_folder, tmp_path, config
):
    direct = datasets.load_dataset(str(direct_export), config, cache_dir=str(tmp_path / "a"))
    tree = datasets.load_dataset(str(exported_folder), config, cache_dir=str(tmp_path / "b"))
    assert direct["train"].features == tree["train"].features == features(config)
    assert row_digests(direct["train"]) == row_digests(tree["train"])
    assert direct["train"].num_rows == ROWS[config]


def test_pictures_of_a_direct_folder_are_those_of_its_frame_tree(direct_export, exported_folder):
    for name in ("previews/contact_sheet.png", "previews/episode.gif"):
        assert (direct_export / name).read_bytes() == (exported_folder / name).read_bytes()


def test_direct_shards_are_copied_across_file_systems(
    direct_folder, direct_export, tmp_path, monkeypatch
):
    def cross_device(source, target):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(export_module.os, "link", cross_device)
    folder = tmp_path / "atari_interleaved_hub"
    export(direct_folder, folder, repo_id="test-user/atari_interleaved")
    assert tree_digest(folder) == tree_digest(direct_export)
    shard = f"simple/{DIRECT_SHARDS[0]}"
    assert not os.path.samefile(folder / shard, direct_folder / shard)


@pytest.fixture
def direct_copy(direct_folder, tmp_path):
    return Path(shutil.copytree(direct_folder, tmp_path / "sampled_parquet"))


def test_an_unfinished_direct_folder_is_refused_with_the_command_to_finish_it(
    direct_copy, tmp_path
):
    (direct_copy / "simple" / DIRECT_SHARDS[1]).unlink()
    with pytest.raises(InvalidInputError) as caught:
        export(direct_copy, tmp_path / "hub")
    message = str(caught.value)
    assert "unfinished 'sample --to-parquet' run: 1 of 4 shards are missing" in message
    assert f"(simple/{DIRECT_SHARDS[1]})" in message and "Rerun its sample command" in message
    command = message.splitlines()[-1].strip()
    assert command.startswith("atari-interleaved sample --envs alien,pong --max-episodes 2 ")
    assert command.endswith(" --to-parquet --output-dir sampled_parquet")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["sampled_parquet"]


def test_a_direct_folder_is_not_resharded_nor_mixed_with_other_shards(direct_copy, tmp_path):
    argv = ["export", "--input-dir", str(direct_copy), "--output-dir", str(tmp_path / "hub")]
    with pytest.raises(InvalidArgumentError, match="--max-shard-bytes cannot re-shard"):
        export(direct_copy, tmp_path / "hub", max_shard_bytes=10_000)
    assert cli_main([*argv, "--max-shard-bytes", "10kB"]) == 2
    shutil.copy(
        direct_copy / "simple" / DIRECT_SHARDS[0],
        direct_copy / "simple" / "train-00002-of-00003.parquet",
    )
    with pytest.raises(InvalidInputError, match="train-00002-of-00003.parquet' is not a shard"):
        export(direct_copy, tmp_path / "hub")
    assert not (tmp_path / "hub").exists()


def test_a_truncated_direct_shard_is_named_by_export_publish_and_preview(
    direct_copy, tmp_path, capsys, hub_server
):
    shard = direct_copy / "simple" / DIRECT_SHARDS[2]
    shard.write_bytes(shard.read_bytes()[:-100])
    argv = ["--input-dir", str(direct_copy)]
    commands = [
        ["export", *argv, "--output-dir", str(tmp_path / "hub")],
        ["publish", *argv, "--repo-id", "test-user/atari", "--no-progress"],
    ]
    for command in commands:
        assert cli_main(command) == 2
        err = capsys.readouterr().err
        assert (
            "1 of 4 shards are missing or incomplete (simple/train-00002-of-00004.parquet: "
            "not a readable parquet file" in err
        )
        assert "Rerun its sample command" in err and "Traceback" not in err
    assert not (tmp_path / "hub").exists()
    assert hub_server.server.repos == {}


def test_a_direct_shard_short_of_frames_is_refused_naming_it(direct_copy, tmp_path):
    shard = direct_copy / "simple" / DIRECT_SHARDS[3]
    frames = pq.read_metadata(shard).num_rows
    pq.write_table(pq.read_table(shard).slice(1), shard)  # whole parquet, one frame short
    message = (
        f"1 of 4 shards are missing or incomplete (simple/{DIRECT_SHARDS[3]}: "
        f"{frames - 1} rows, not {frames})"
    )
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        export(direct_copy, tmp_path / "hub")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["sampled_parquet"]


def test_a_truncated_exported_shard_is_named_by_verify_and_preview(export_copy, tmp_path, capsys):
    shard = export_copy / "interleaved" / "train-00000-of-00001.parquet"
    shard.write_bytes(shard.read_bytes()[:-100])
    assert cli_main(["verify", str(export_copy)]) == 1
    assert "changed: interleaved/train-00000-of-00001.parquet" in capsys.readouterr().out
    assert cli_main(["preview", str(export_copy), "--output-dir", str(tmp_path / "pics")]) == 2
    assert f"error: {shard}: not a readable parquet shard" in capsys.readouterr().err


def test_a_truncated_exported_shard_is_named_by_the_minari_export(export_copy, tmp_path, capsys):
    required_module("minari", "pip install -e '.[test]' installs minari")
    shard = export_copy / "interleaved" / "train-00000-of-00001.parquet"
    shard.write_bytes(shard.read_bytes()[:-100])
    output = tmp_path / "minari"
    argv = ["export", "--input-dir", str(export_copy), "--output-dir", str(output)]
    assert cli_main([*argv, "--format", "minari", "--no-progress"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {shard}: not a readable parquet shard")
    assert not output.exists() or not any(output.iterdir())  # no dataset half-written


def test_an_episode_json_of_wrong_types_is_named_by_export_or_skipped(tree_copy, tmp_path, capsys):
    path = tree_copy / "atari_alien" / "episode_000_rand0.2" / "episode.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "seed": "x", "actions": None}))
    argv = ["export", "--input-dir", str(tree_copy), "--output-dir", str(tmp_path / "hub")]
    assert cli_main([*argv, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"error: {path}: not a valid episode metadata file: field " in err
    assert "Traceback" not in err and not (tmp_path / "hub").exists()
    assert cli_main([*argv, "--no-progress", "--skip-bad-episodes"]) == 0
    assert verify(tmp_path / "hub").ok
    episodes = pd.read_parquet(tmp_path / "hub" / "interleaved")["episode"]
    assert len(episodes) == ROWS["interleaved"] - 1


def test_a_shard_plan_of_huge_episode_numbers_is_refused_before_planning(direct_copy, tmp_path):
    path = direct_copy / "sampling_config.json"
    config = json.loads(path.read_text())
    config["shards"][0][1] = [0, 10**12]  # would plan 5e11 shards
    path.write_text(json.dumps(config))
    with pytest.raises(InvalidInputError, match="its shard plan is not one 'sample --to-parquet'"):
        export(direct_copy, tmp_path / "hub")


@pytest.mark.parametrize(
    ("folder", "content", "problem"),
    [
        ("tree_copy", "", "not JSON: Expecting value: line 1 column 1 (char 0)"),
        ("tree_copy", '"settings"', "not a JSON object"),
        ("tree_copy", '{"format": "atari-interleaved/sampling/1", "settings": {"seed": -1}}',
         "settings: --seed must be >= 0, but got -1"),
        ("direct_copy", '{"format": "atari-interleaved/sampling-parquet/1", "settings": {}, '
         '"shards": [["alien", "0"]]}', "shards: ['alien', '0'] is not [game, [episode numbers]]"),
    ],
)  # fmt: skip
def test_a_corrupt_sampling_config_is_named_by_export(
    request, tmp_path, capsys, folder, content, problem
):
    source = request.getfixturevalue(folder)
    config = source / "sampling_config.json"
    config.write_text(content)
    argv = ["export", "--input-dir", str(source), "--output-dir", str(tmp_path / "hub")]
    assert cli_main([*argv, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"error: {config}: not a valid sampling config ({problem}); restore the file" in err
    assert "Traceback" not in err and not (tmp_path / "hub").exists()


def test_an_exported_folder_is_not_exported_again(exported_folder, tmp_path, capsys):
    argv = ["export", "--input-dir", str(exported_folder), "--output-dir", str(tmp_path / "hub")]
    assert cli_main([*argv, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"error: --input-dir {str(exported_folder)!r} is a folder written by " in err
    assert "give the frame tree or 'sample --to-parquet' folder" in err
    assert not (tmp_path / "hub").exists()
