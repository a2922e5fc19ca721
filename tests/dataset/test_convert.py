"""The convert step as users run it: PIPELINE.md's commands and snippets, unchanged."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import atari_interleaved.dataset.convert as convert_module
from atari_interleaved.cli.app import main as cli_main
from atari_interleaved.core.errors import InvalidInputError, OutputExistsError
from atari_interleaved.dataset.convert import (
    convert,
    convert_tree,
    file_output,
    scan_input,
    shards_output,
    write_config,
)
from atari_interleaved.generate.convert_to_training_data import main as script_main
from tests.fixtures.frame_trees import ALIEN_EPISODE, EPISODES, FRAMES, GAMES, ORDER, drop_metadata
from tests.fixtures.paths import CONVERT_SCRIPT, REPO

PIPELINE_MD = REPO / "PIPELINE.md"


def _edit_json(path: Path, **changes) -> None:
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def _action_without_metadata(root: Path, line: str) -> None:
    drop_metadata(root / ALIEN_EPISODE)
    (root / ALIEN_EPISODE / "action_000001.txt").write_text(line)


def pipeline_blocks() -> dict[str, str]:
    """Map the heading above each fenced code block of PIPELINE.md to the block's code."""
    if not PIPELINE_MD.exists():
        pytest.fail(f"{PIPELINE_MD} is missing: the seed's PIPELINE.md belongs at the repo root")
    text = PIPELINE_MD.read_text(encoding="utf-8")
    blocks = {}
    for match in re.finditer(r"^```\w*\n(.*?)^```", text, flags=re.M | re.S):
        heading = re.findall(r"^#+ (.+)$", text[: match.start()], flags=re.M)[-1]
        blocks[heading] = match.group(1)
    return blocks


def steps(block: str) -> dict[str, str]:
    """Split a bash block into its ``# N. step`` parts."""
    parts = re.split(r"^(# \d+\. .+)$", block, flags=re.M)
    return {title[2:]: body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def no_viewer_env() -> dict[str, str]:
    """The environment of a machine without an image viewer, so ``img.show()`` opens nothing.

    PATH holds only the interpreter's folder (``python3`` must resolve to it), so Pillow's
    ImageShow registers none of xdg-open, display, gm, eog or xv.
    """
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "python3").exists(), f"no python3 beside {sys.executable}"
    return {**os.environ, "PATH": str(bin_dir)}


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=no_viewer_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def workdir(frame_tree, tmp_path) -> Path:
    """A folder as PIPELINE.md assumes: the frame tree and the script side by side."""
    (tmp_path / "sampled_frames_organized").symlink_to(frame_tree)
    (tmp_path / "convert_to_training_data.py").symlink_to(CONVERT_SCRIPT)
    (tmp_path / "generate").symlink_to(CONVERT_SCRIPT.parent)
    return tmp_path


def test_pipeline_convert_commands_and_reading_snippet(workdir):
    blocks = pipeline_blocks()
    bash = shutil.which("bash")
    run([bash, "-e", "-c", blocks["2. Convert to Training Data Format"]], workdir)
    interleaved = pq.read_table(workdir / "atari_training_data.parquet")
    simple = pq.read_table(workdir / "atari_training_data_simple.parquet")
    assert interleaved.num_rows == len(ORDER)
    assert simple.num_rows == sum(interleaved["num_frames"].to_pylist()) == len(ORDER) * FRAMES
    assert sum(len(images) for images in interleaved["images"].to_pylist()) == simple.num_rows

    shows = run([sys.executable, "-c", "import PIL.ImageShow as s; print(s._viewers)"], workdir)
    assert "XDGViewer" not in shows.stdout and "DisplayViewer" not in shows.stdout
    output = run([sys.executable, "-c", blocks["Reading the Data"]], workdir).stdout
    lines = output.splitlines()
    assert lines[:5] == [
        "Episode: episode_000_rand0.2",
        "Randomness: 0.2",
        f"Number of frames: {FRAMES}",
        "  Text: Atari Alien Environment (randomness=0.2)",
        f"  Text: Episode episode_000_rand0.2. Starting game with {FRAMES} frames.",
    ]
    assert lines[5] == "  Image at index 0"
    assert re.fullmatch(r"  Text: [a-z]+", lines[6])
    assert lines[7] == "  Image at index 1"


def test_full_pipeline_example_convert_and_verify(workdir):
    pipeline = steps(pipeline_blocks()["Full Pipeline Example"])
    assert list(pipeline) == [
        "1. Sample from all Atari environments",  # every game: the sampler's slow test
        "2. Convert to training data",
        "3. Verify the output",
    ]
    bash = shutil.which("bash")
    run([bash, "-e", "-c", pipeline["2. Convert to training data"]], workdir)
    output = run([bash, "-e", "-c", pipeline["3. Verify the output"]], workdir).stdout
    assert f"Dataset shape: ({len(ORDER)}, 17)" in output
    assert "atari_alien" in output and "atari_pong" in output
    assert f"Total episodes: {len(ORDER)}" in output


def test_seed_command_as_written_and_as_subcommand(workdir):
    run(
        [sys.executable, "generate/convert_to_training_data.py",
         "--input-dir", "sampled_frames_organized",
         "--output-file", "atari_training_data.parquet", "--format", "interleaved"],
        workdir,
    )  # fmt: skip
    by_script = pq.read_table(workdir / "atari_training_data.parquet")
    assert cli_main(
        ["convert", "--input-dir", str(workdir / "sampled_frames_organized"),
         "--output-file", str(workdir / "sub.parquet"), "--format", "interleaved"]
    ) == 0  # fmt: skip
    assert pq.read_table(workdir / "sub.parquet").equals(by_script)
    names = by_script["environment"].to_pylist(), by_script["episode"].to_pylist()
    assert [f"{game}/{episode}" for game, episode in zip(*names, strict=True)] == ORDER


def test_simple_rows_match_interleaved_images(frame_tree, tmp_path):
    convert(frame_tree, tmp_path / "i.parquet", "interleaved")
    convert(frame_tree, tmp_path / "s.parquet", "simple")
    episodes = pq.read_table(tmp_path / "i.parquet").to_pylist()
    frames = pq.read_table(tmp_path / "s.parquet").to_pylist()
    expected = []
    for episode in episodes:
        actions = [e["text"] for e in episode["inputs"] if e["type"] == "text"][2:]
        for number, image in enumerate(episode["images"]):
            expected.append((episode["environment"], episode["episode"], number, image))
            if number < len(actions):
                assert actions[number] == frames[len(expected) - 1]["action"].lower()
    assert [
        (f["environment"], f["episode"], f["frame_number"], f["image"]) for f in frames
    ] == expected
    folder = frame_tree / ALIEN_EPISODE
    assert frames[3]["action_raw"] == (folder / "action_000003.txt").read_text().strip()
    assert frames[3]["image"] == (folder / "frame_000003.png").read_bytes()


@pytest.mark.parametrize("config", ["interleaved", "simple"])
def test_num_proc_and_game_folder_inputs(frame_tree, tmp_path, config):
    one = convert(frame_tree, tmp_path / "one.parquet", config)
    two = convert(frame_tree, tmp_path / "two.parquet", config, num_proc=2)
    assert pq.read_table(tmp_path / "two.parquet").equals(pq.read_table(tmp_path / "one.parquet"))
    assert (one.episodes, one.frames, one.games) == (len(ORDER), len(ORDER) * FRAMES, list(GAMES))
    assert two.rows == one.rows == (len(ORDER) if config == "interleaved" else len(ORDER) * FRAMES)
    convert(frame_tree / "atari_pong", tmp_path / "pong.parquet", config)
    pong = pq.read_table(tmp_path / "pong.parquet")
    assert set(pong["environment"].to_pylist()) == {"atari_pong"}
    assert pong.num_rows == one.rows // len(GAMES)


def test_tree_without_metadata_converts(tree_copy, tmp_path):
    drop_metadata(tree_copy)
    convert(tree_copy, tmp_path / "s.parquet", "simple")
    table = pq.read_table(tmp_path / "s.parquet")
    assert table.num_rows == len(ORDER) * FRAMES
    assert table["reward"].null_count == table["seed"].null_count == table.num_rows
    assert table["is_last"].to_pylist().count(True) == len(ORDER)


def test_existing_output_is_kept_unless_overwrite(frame_tree, tmp_path, capsys):
    output = tmp_path / "atari_training_data.parquet"
    output.write_bytes(b"mine")
    args = ["--input-dir", str(frame_tree), "--output-file", str(output), "--no-progress"]
    assert script_main(args) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert output.read_bytes() == b"mine"
    assert script_main([*args, "--overwrite"]) == 0
    assert pq.read_table(output).num_rows == len(ORDER)
    assert sorted(p.name for p in tmp_path.iterdir()) == [output.name]


def test_unknown_format_is_a_clear_error(frame_tree, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        script_main(["--input-dir", str(frame_tree), "--format", "pairs"])
    assert exit_info.value.code == 2
    assert (
        "invalid choice: 'pairs' (choose from 'interleaved', 'simple')" in capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("breaks", "named"),
    [
        (lambda root: (root / ALIEN_EPISODE / "action_000002.txt").unlink(), "frame_000002.png"),
        (lambda root: (root / ALIEN_EPISODE / "frame_000009.png").write_bytes(b"\x89PNG"),
         "frame_000009.png: not a valid PNG"),
        (lambda root: (root / "atari_alien" / "episode_1").mkdir(), "episode_1"),
        (lambda root: _edit_json(root / ALIEN_EPISODE / "episode.json", actions=None),
         "episode.json: not a valid episode metadata file: field 'actions' must be a list"),
        (lambda root: _edit_json(root / ALIEN_EPISODE / "episode.json", seed="x"),
         "episode.json: not a valid episode metadata file: field 'seed' must be an integer"),
        (lambda root: _action_without_metadata(root, "99999999999999999999: FOO"),
         "action_000001.txt: action line '99999999999999999999: FOO' gives action"),
        (lambda root: _action_without_metadata(root, "18: FOO"),
         "action_000001.txt: action line '18: FOO' gives action 18, but ALE has 18 actions"),
    ],
)  # fmt: skip
def test_bad_input_exits_non_zero_naming_the_file(
    tree_copy, tmp_path, capsys, caplog, breaks, named
):
    breaks(tree_copy)
    output = tmp_path / "out.parquet"
    args = ["--input-dir", str(tree_copy), "--output-file", str(output), "--no-progress"]
    assert script_main(args) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and named in error and "--skip-bad-episodes" in error
    assert not output.exists()
    assert script_main([*args, "--skip-bad-episodes"]) == 0
    assert "skipped 1 bad episode folder(s)" in caplog.text and named in caplog.text
    assert "Skipped 1 bad episode folders (listed above)" in capsys.readouterr().out
    assert pq.read_table(output).num_rows == len(ORDER) - ("episode_1" not in named)


def test_missing_input_exits_non_zero(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "atari_training_data.parquet").write_bytes(b"an earlier output")
    assert script_main(["--input-dir", "nothing", "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert "input folder 'nothing' does not exist" in error  # the input is checked first
    assert (tmp_path / "atari_training_data.parquet").read_bytes() == b"an earlier output"


def test_all_episodes_bad_is_an_error(tree_copy, tmp_path):
    for frame in tree_copy.rglob("frame_000000.png"):
        frame.write_bytes(b"")
    with pytest.raises(InvalidInputError, match="all 4 episode folders are bad"):
        convert(tree_copy, tmp_path / "out.parquet", on_bad_episodes="skip")
    assert list(tmp_path.glob("*.parquet")) == list(tmp_path.glob(".tmp-*")) == []


@pytest.mark.parametrize("num_proc", [1, 2])
def test_an_error_after_some_episodes_leaves_no_output(tree_copy, tmp_path, num_proc):
    last = tree_copy / "atari_pong" / f"episode_{EPISODES - 1:03d}_rand0.2"
    (last / "frame_000005.png").write_bytes(b"")
    with pytest.raises(InvalidInputError, match="frame_000005.png"):
        convert(tree_copy, tmp_path / "out.parquet", num_proc=num_proc)
    assert list(tmp_path.iterdir()) == [tree_copy]


def test_an_interrupted_convert_leaves_no_output_and_keeps_the_old_one(
    frame_tree, tmp_path, monkeypatch
):
    output = tmp_path / "out.parquet"
    convert(frame_tree, output, "simple")
    before = output.read_bytes()
    calls = []

    def interrupted(episode, config_name):
        calls.append(episode.name)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(episode, config_name)

    original = convert_module.episode_rows
    monkeypatch.setattr(convert_module, "episode_rows", interrupted)
    with pytest.raises(KeyboardInterrupt):
        convert(frame_tree, output, "simple", overwrite=True)
    assert output.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]


def test_write_config_shards(frame_tree, tmp_path):
    shards = write_config(frame_tree, "simple", tmp_path, max_shard_bytes=20_000)
    assert len(shards) > 1
    assert [p.name for p in shards] == [
        f"train-{i:05d}-of-{len(shards):05d}.parquet" for i in range(len(shards))
    ]
    table = pq.read_table(tmp_path / "simple")
    assert table.num_rows == len(ORDER) * FRAMES
    with pytest.raises(OutputExistsError):
        write_config(frame_tree, "simple", tmp_path)
    assert write_config(frame_tree, "simple", tmp_path, overwrite=True) == [
        tmp_path / "simple" / "train-00000-of-00001.parquet"
    ]
    assert pq.read_table(tmp_path / "simple").equals(table.combine_chunks())


def test_one_pass_writes_every_output_reading_each_file_once(frame_tree, tmp_path, file_reads):
    reads = file_reads
    tree = scan_input(frame_tree, num_proc=1, on_bad_episodes="error")
    names = ["a.parquet", "b.parquet", "c.parquet"]
    configs = ["interleaved", "simple", "interleaved"]
    reports = convert_tree(
        tree,
        [
            *(file_output(tmp_path / n, c) for n, c in zip(names, configs, strict=True)),
            shards_output(tmp_path / "hub" / "simple", "simple", max_shard_bytes=20_000),
        ],
    )
    # 4 episodes of 12 frames: a frame file and an action file each, every one read once.
    assert len(reads) == len(set(reads)) == len(ORDER) * FRAMES * 2
    assert [(r.config_name, r.rows) for r in reports] == [
        ("interleaved", 4),
        ("simple", 48),
        ("interleaved", 4),
        ("simple", 48),
    ]
    assert len(reports[3].outputs) > 1  # shards cut by bytes
    for name, config in zip(names, configs, strict=True):
        convert(frame_tree, tmp_path / f"alone-{name}", config)
        assert (tmp_path / name).read_bytes() == (tmp_path / f"alone-{name}").read_bytes()
    assert pq.read_table(tmp_path / "hub" / "simple").equals(pq.read_table(tmp_path / "b.parquet"))
