"""Branches end to end: sampling, resume, Ray, convert, export, ``datasets`` and the loaders.

Tiny runs of two real games. A run with ``--branch-every`` writes the same episodes (frame
folders and parquet shards, byte for byte) as the run without, whatever ``--parallel`` or
the backend, and adds its branches beside them: ``branches/`` in each episode folder, a
``branches`` config in direct mode and in the export.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from datasets import load_dataset
from PIL import Image

from atari_interleaved import FrameWindows, StreamingFrameWindows
from atari_interleaved.cli.app import main as cli_main
from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.dataset.convert import convert
from atari_interleaved.generate.sampler import sample
from atari_interleaved.publishing.export import export
from atari_interleaved.publishing.publish import publish
from tests.fixtures.blocking_policy import POLICY as BLOCKING_POLICY
from tests.fixtures.blocking_policy import (
    blocking_environment,
    environment,
    wait_until_blocked,
)
from tests.fixtures.docs import block
from tests.fixtures.export_utils import REPO_ID
from tests.fixtures.paths import SAMPLE_SCRIPT
from tests.fixtures.prerequisites import required_module
from tests.fixtures.tree_utils import tree_digest

pytestmark = pytest.mark.slow

GAMES = ["breakout", "pong"]
PLAIN = EpisodeSettings(policy="repeat", randomness=0.5, frame_cap=12, seed=4)
BRANCHED = EpisodeSettings.from_dict({**PLAIN.to_dict(), "branch_every": 4, "branch_steps": 2})
RUN = {"envs": GAMES, "max_episodes": 2, "progress": False}
ARGS = ["--envs", ",".join(GAMES), "--max-episodes", "2", "--frames-per-env", "12"]
ARGS += ["--randomness", "0.5", "--seed", "4", "--branch-every", "4", "--branch-steps", "2"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """Folder and direct runs, with and without branches, at --parallel 1 and 2."""
    root = tmp_path_factory.mktemp("branch_runs")
    sample(root / "plain", parallel=2, settings=PLAIN, **RUN)
    sample(root / "tree", parallel=2, settings=BRANCHED, **RUN)
    sample(root / "tree1", parallel=1, settings=BRANCHED, **RUN)
    sample(root / "plain_direct", parallel=1, settings=PLAIN, to_parquet=True, **RUN)
    for parallel in (1, 2):
        options = {"settings": BRANCHED, "to_parquet": True, **RUN}
        sample(root / f"direct{parallel}", parallel=parallel, **options)
    return root


def test_episodes_are_byte_identical_with_and_without_branches(runs):
    plain, tree = tree_digest(runs / "plain"), tree_digest(runs / "tree")
    assert tree == tree_digest(runs / "tree1")  # --parallel 1 and 2
    config = "sampling_config.json"
    added = {name: digest for name, digest in tree.items() if name not in plain}
    assert {name: tree[name] for name in plain if name != config} == {
        name: digest for name, digest in plain.items() if name != config
    }
    assert added and all(Path(name).parts[2] == "branches" for name in added)
    # 2 games x 2 episodes x points 0, 4, 8 of 12 frames x the action set x 2 steps.
    pngs = [name for name in added if name.endswith(".png")]
    assert len(pngs) == 2 * 3 * 2 * (4 + 6)  # Breakout has 4 actions, Pong 6
    direct = tree_digest(runs / "direct1")
    assert direct == tree_digest(runs / "direct2")
    plain_direct = tree_digest(runs / "plain_direct")
    for name, digest in plain_direct.items():
        if name != config:
            assert direct[name] == digest, name
    assert sorted(name for name in direct if name.startswith("branches/")) == [
        f"branches/train-0000{i}-of-00004.parquet" for i in range(4)
    ]


@pytest.fixture(scope="module")
def exports(runs, tmp_path_factory) -> Path:
    """The exports of the branched tree and direct run: ``from_tree``, ``from_direct``."""
    root = tmp_path_factory.mktemp("branch_exports")
    export(runs / "tree", root / "from_tree")
    export(runs / "direct2", root / "from_direct")
    return root


def test_the_branches_config_is_the_same_from_a_tree_and_a_direct_run(runs, exports, tmp_path):
    convert(runs / "tree", tmp_path / "branches.parquet", "branches")
    for config in ("interleaved", "simple", "branches"):
        from_tree = load_dataset(str(exports / "from_tree"), config, split="train")
        from_direct = load_dataset(str(exports / "from_direct"), config, split="train")
        assert from_tree.to_list() == from_direct.to_list(), config
    rows = load_dataset(str(exports / "from_tree"), "branches", split="train")
    assert rows.num_rows == 120 and rows.features["image"].mode == "RGB"
    assert pq.read_table(tmp_path / "branches.parquet").num_rows == 120
    simple = load_dataset(str(exports / "from_tree"), "simple", split="train")
    frames = {(r["episode"], r["environment"], r["frame_number"]): r for r in simple}
    taken = [row for row in rows if row["taken"] and row["step"] == 1]
    assert len(taken) == 12
    for row in taken:  # the taken action's first step is the episode's next frame
        here = frames[row["episode"], row["environment"], row["frame_number"]]
        after = frames[row["episode"], row["environment"], row["frame_number"] + 1]
        assert row["applied_actions"] == here["applied_actions"]
        assert np.array_equal(np.asarray(row["image"]), np.asarray(after["image"]))
    card = (exports / "from_tree" / "README.md").read_text()
    assert "120 rows at 12 branch points (`--branch-every 4 --branch-steps 2`)" in card
    assert "![A branch point of Breakout" in card
    picture = Image.open(exports / "from_tree" / "previews" / "branch_point.png")
    assert picture.width > 5 * 160  # the frame and Breakout's 4 actions
    # The loaders: a window ending at a branch point gets every action's next frames.
    for source in (exports / "from_tree", runs / "tree", runs / "direct1"):
        windows = FrameWindows(
            source, 3, preset="dqn", branches=True, branch_points_only=True,
            cache_dir=tmp_path / "cache",
        )  # fmt: skip
        assert len(windows) == 2 * 2 * 2  # points 4 and 8 of each episode
        plain = FrameWindows(source, 4, preset="dqn", cache_dir=tmp_path / "cache")
        by_start = {(i["environment"], i["episode"], i["start_frame"]): i for i in plain}
        for item in windows:
            assert item["branch_frames"].shape == (18, 2, 84, 84)
            actions = item["branch_actions"]
            count = 4 if item["environment"] == "atari_breakout" else 6
            assert list(actions[:count]) == list(range(count)) and (actions[count:] == -1).all()
            assert item["branch_mask"][:count].all() and not item["branch_mask"][count:].any()
            key = (item["environment"], item["episode"], item["start_frame"])
            following = by_start[key]
            action = following["actions"][-2]
            assert np.array_equal(item["branch_frames"][action, 0], following["frames"][-1])
        stream = StreamingFrameWindows(
            source, 3, preset="dqn", branches=True, branch_points_only=True, shuffle_buffer=0
        )
        for streamed, item in zip(stream, windows, strict=True):
            for name in item:
                nan = name.endswith("rewards")
                assert np.array_equal(np.asarray(streamed[name]), item[name], equal_nan=nan)


def test_windows_of_data_without_branches_are_refused_with_branches(runs, tmp_path):
    for source in (runs / "plain_direct", runs / "plain"):
        with pytest.raises(InvalidInputError, match="sampled without --branch-every"):
            FrameWindows(source, 3, branches=True, cache_dir=tmp_path)
        with pytest.raises(InvalidInputError, match="sampled without --branch-every"):
            StreamingFrameWindows(source, 3, branches=True)


def test_branches_into_a_folder_sampled_without_them_are_refused(runs, tmp_path, capsys):
    for folder, direct in (("plain", []), ("plain_direct", ["--to-parquet"])):
        before = tree_digest(runs / folder)
        argv = ["sample", *ARGS, *direct, "--output-dir", str(runs / folder), "--no-progress"]
        assert cli_main(argv) == 2
        err = capsys.readouterr().err
        assert "branch_every: 0 in the folder, 4 now" in err and "Traceback" not in err
        assert tree_digest(runs / folder) == before


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--branch-every", "0.5"], "argument --branch-every: expected an integer, got '0.5'"),
        (["--branch-every", "-1"], "--branch-every must be 0 (off) or a positive integer"),
        (["--branch-every", "2", "--branch-steps", "0"], "--branch-steps must be a positive"),
        (["--branch-every", "2", "--branch-steps", "12"], "--branch-steps 12 goes past the end"),
    ],
)
def test_bad_branch_flags_are_one_error_before_any_work(tmp_path, capsys, flags, message):
    argv = ["sample", "--envs", "pong", "--frames-per-env", "12", *flags]
    argv += ["--output-dir", str(tmp_path / "out"), "--no-progress"]
    if "0.5" in flags:  # argparse's own error, with the usage line
        with pytest.raises(SystemExit) as ended:
            cli_main(argv)
        code = ended.value.code
    else:
        code = cli_main(argv)
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_killed_run_with_branches_resumes_to_the_clean_tree(runs, tmp_path):
    command = [sys.executable, str(SAMPLE_SCRIPT), *ARGS, "--policy", BLOCKING_POLICY]
    command += ["--parallel", "2", "--no-progress", "--output-dir", "out"]
    block = tmp_path / "block"
    block.mkdir()
    with open(tmp_path / "log", "w") as log:
        run = subprocess.Popen(
            command, cwd=tmp_path, env=blocking_environment(block, 2), stdout=log,
            stderr=log, start_new_session=True,
        )  # fmt: skip
    try:
        wait_until_blocked(block, 2, run)
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
    finally:
        try:  # the workers are in the run's process group, even once it is dead
            os.killpg(run.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        run.wait()
    assert len(list((tmp_path / "out").glob("atari_*/episode_*/branches"))) == 2
    rerun = subprocess.run(command, cwd=tmp_path, env=environment(), capture_output=True,
                           text=True, timeout=300)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert "Kept 2 complete episodes" in rerun.stdout
    settings = EpisodeSettings.from_dict({**BRANCHED.to_dict(), "policy": BLOCKING_POLICY})
    sample(tmp_path / "clean", parallel=2, settings=settings, **RUN)
    assert tree_digest(tmp_path / "out") == tree_digest(tmp_path / "clean")


def test_ray_writes_the_same_branches_as_the_local_backend(runs, tmp_path):
    required_module("ray", 'pip install -e ".[ray]"')
    options = {"settings": BRANCHED, "to_parquet": True, **RUN}
    sample(tmp_path / "ray", parallel=2, backend="ray", **options)
    assert tree_digest(tmp_path / "ray") == tree_digest(runs / "direct2")


def test_the_counterfactual_scoring_loop_of_the_training_docs_runs(
    exports, tmp_path, monkeypatch, capsys
):
    code = block("docs/training.md#Counterfactual branches").code
    (tmp_path / "atari_interleaved_branches").symlink_to(exports / "from_tree")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    names: dict[str, object] = {}
    exec(compile(code, "docs/training.md", "exec"), names)
    assert len(names["errors"]) == len(names["windows"]) == 8
    assert all(error > 0 for error in names["errors"])  # copying the frame misses every action
    assert re.match(r"counterfactual error \d+\.\d\d; spread", capsys.readouterr().out)


@pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning")
def test_branches_of_a_hub_repository_are_read_remotely(exports, hub_server, tmp_path):
    publish(exports / "from_tree", REPO_ID)
    options = {"preset": "dqn", "branches": True, "branch_points_only": True}
    local = FrameWindows(exports / "from_tree", 3, cache_dir=tmp_path, **options)
    for windows in (
        FrameWindows(REPO_ID, 3, cache_dir=tmp_path / "hub", **options),
        list(StreamingFrameWindows(REPO_ID, 3, shuffle_buffer=0, **options)),
    ):
        assert len(windows) == len(local)
        for item, expected in zip(windows, local, strict=True):
            for name in expected:
                nan = name.endswith("rewards")
                assert np.array_equal(np.asarray(item[name]), expected[name], equal_nan=nan)
