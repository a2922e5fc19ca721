"""``export --format lerobot``: a LeRobot v3 dataset, checked with the real ``lerobot``.

lerobot pins ``datasets<5`` and ``torch<2.11``, so it has a virtual environment of its own,
whose Python ``ATARI_INTERLEAVED_LEROBOT_PYTHON`` names (``.ci/run`` makes it)::

    python3 -m venv /tmp/lerobot && /tmp/lerobot/bin/pip install -e ".[lerobot]"
    export ATARI_INTERLEAVED_LEROBOT_PYTHON=/tmp/lerobot/bin/python

The export runs there, and lerobot's own ``LeRobotDataset`` reads the result back
(``tests/fixtures/lerobot_reader.py``); every frame (decoded by Pillow here, not by this
project), action, reward, end and episode boundary is compared with the recorded episodes,
and ``delta_timestamps`` windows with what they must hold. Locally the tests are skipped
when the variable is unset and lerobot does not import here; on CI they fail.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from atari_interleaved.core.episode import read_metadata
from atari_interleaved.core.settings import AleSettings, EpisodeSettings
from atari_interleaved.generate.sampler import sample
from tests.fixtures.docs import block
from tests.fixtures.mounts import tmpfs
from tests.fixtures.paths import REPO
from tests.fixtures.prerequisites import missing_prerequisite
from tests.fixtures.tree_utils import tree_digest

PYTHON_VARIABLE = "ATARI_INTERLEAVED_LEROBOT_PYTHON"
READER = REPO / "tests" / "fixtures" / "lerobot_reader.py"
REPO_ID = "tester/atari"
FRAMESKIP = 5
SETTINGS = EpisodeSettings(
    policy="repeat",
    frame_cap=120,
    randomness=1.0,
    seed=2,
    noop_max=3,
    ale=AleSettings(frameskip=FRAMESKIP, repeat_action_probability=0.25),
)
"""Breakout's episode ends by game over before the cap (113 frames), Alien's at the cap."""

# Run by the lerobot Python: each command line in-process, so lerobot is imported once.
RUN_COMMANDS = """
import contextlib, io, json, sys
from atari_interleaved.cli.app import main
results = []
for args in json.loads(sys.argv[1]):
    error = io.StringIO()
    with contextlib.redirect_stderr(error):
        status = main(args)
    results.append({"status": status, "stderr": error.getvalue()})
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def lerobot_python() -> str:
    python = os.environ.get(PYTHON_VARIABLE)
    if python:
        return python
    if importlib.util.find_spec("lerobot") is not None:
        return sys.executable
    missing_prerequisite(
        f"{PYTHON_VARIABLE} is not set and lerobot is not installed: point it at the python "
        "of a virtual environment made with "
        '`python3 -m venv DIR && DIR/bin/pip install -e ".[lerobot]"`'
    )


def run_commands(python: str, commands: list[list[str]]) -> list[dict]:
    result = subprocess.run(
        [python, "-c", RUN_COMMANDS, json.dumps(commands)],
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def exported(lerobot_python, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("lerobot")
    options = {"envs": ["alien", "breakout"], "max_episodes": 1, "settings": SETTINGS}
    sample(root / "frames", progress=False, **options)
    sample(root / "direct", to_parquet=True, progress=False, **options)
    commands = [
        ["export", "--format", "lerobot", "--input-dir", str(root / kind), "--output-dir",
         str(root / f"{kind}-lerobot"), "--repo-id", REPO_ID]
        for kind in ("frames", "direct")
    ]  # fmt: skip
    assert [result["status"] for result in run_commands(lerobot_python, commands)] == [0, 0]
    read = {kind: root / f"{kind}-read.npz" for kind in ("frames", "direct")}
    paths = [str(path) for kind in read for path in (root / f"{kind}-lerobot", read[kind])]
    subprocess.run(
        [lerobot_python, str(READER), REPO_ID, *paths], check=True, timeout=600, capture_output=True
    )
    return {"root": root, **read}


def load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as saved:
        return dict(saved)


def rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(path.read_bytes())).convert("RGB"))


def recorded_episodes(frames: Path) -> list[Path]:
    """The episode folders in the export's order: by game, then level, then number."""
    return sorted(
        frames.glob("atari_*/episode_*"),
        key=lambda folder: (folder.parent.name, float(folder.name.split("_rand")[1]), folder.name),
    )


@pytest.mark.parametrize("kind", ["frames", "direct"])
def test_every_frame_action_and_reward_is_the_recorded_one(exported, kind):
    read = load(exported[kind])
    folders = recorded_episodes(exported["root"] / "frames")
    assert int(read["fps"]) == 60 // FRAMESKIP
    assert len(read["episode_from"]) == len(folders) == 2
    ends = {}
    for index, folder in enumerate(folders):
        recorded = read_metadata(folder / "episode.json")
        count = recorded.num_frames
        start, stop = int(read["episode_from"][index]), int(read["episode_to"][index])
        assert stop - start == count
        rows = slice(start, stop)
        assert (read["episode_index"][rows] == index).all()
        assert read["frame_index"][rows].tolist() == list(range(count))
        assert np.allclose(read["timestamp"][rows], np.arange(count) / (60 / FRAMESKIP))
        for frame in range(count):
            image = rgb(folder / f"frame_{frame:06d}.png")
            assert np.array_equal(read["images"][start + frame], image), (folder, frame)
        assert read["action"][rows].tolist() == recorded.actions
        assert read["next.reward"][rows].tolist() == recorded.rewards
        assert read["next.done"][rows].tolist() == [False] * (count - 1) + [True]
        assert read["terminated"][rows].tolist() == recorded.terminated
        assert read["truncated"][rows].tolist() == recorded.truncated
        assert read["lives"][rows].tolist() == recorded.lives
        applied = recorded.applied_actions[:-1] + [[-1] * FRAMESKIP]
        assert read["applied_actions"][rows].tolist() == applied
        game = folder.parent.name.removeprefix("atari_").capitalize()
        assert set(read["tasks"][rows]) == {f"Play the Atari 2600 game {game}"}
        ends[folder.parent.name, recorded.randomness] = recorded.end_reason
    # The game over ends inside the export, on the episode's last row: a shift would fail.
    assert ends["atari_breakout", 1.0] == "game_over"
    features = json.loads(str(read["features"]))
    assert features["observation.image"]["dtype"] == "image"
    assert features["observation.image"]["shape"] == [210, 160, 3]
    assert features["action"]["action_names"]["breakout"] == ["NOOP", "FIRE", "RIGHT", "LEFT"]


def test_delta_timestamps_windows_stay_inside_their_episode(exported):
    read = load(exported["frames"])
    starts = read["episode_from"].tolist()
    stops = read["episode_to"].tolist()
    for row in range(len(read["images"])):
        episode = int(read["episode_index"][row])
        start, stop = starts[episode], stops[episode]
        wanted = [row - 2, row - 1, row]
        pads = [index < start for index in wanted]
        assert read["window_images_is_pad"][row].tolist() == pads
        for position, index in enumerate(wanted):  # lerobot repeats the first frame as padding
            assert np.array_equal(
                read["window_images"][row, position], read["images"][max(index, start)]
            )
        assert read["window_actions_is_pad"][row].tolist() == [False, row + 1 >= stop]
        following = read["action"][min(row + 1, stop - 1)]
        assert read["window_actions"][row].tolist() == [read["action"][row], following]


def test_the_card_and_metadata_name_this_project_the_policy_and_settings(exported):
    output = exported["root"] / "frames-lerobot"
    card = (output / "README.md").read_text()
    assert "atari-interleaved" in card and "`repeat`" in card
    assert "'frameskip': 5" in card and "--randomness 1.0" in card
    assert "This dataset was created using [LeRobot]" in card  # lerobot's own template
    info = json.loads((output / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["total_episodes"] == 2
    listed = json.loads((output / "atari_interleaved_export.json").read_text())
    assert listed["format"] == "lerobot"
    assert sorted(listed["files"]) == sorted(
        set(tree_digest(output)) - {"atari_interleaved_export.json"}
    )


def test_bad_input_or_a_full_disk_is_one_error_line_and_writes_nothing(
    lerobot_python, exported, tmp_path
):
    frames = str(exported["root"] / "frames")
    earlier = exported["root"] / "frames-lerobot"
    before = tree_digest(earlier)
    export = ["export", "--format", "lerobot", "--input-dir", frames, "--output-dir"]
    with tmpfs(tmp_path / "disk", "300k") as disk:
        commands = [
            [*export, str(earlier), "--repo-id", REPO_ID],
            [*export, str(tmp_path / "out"), "--repo-id", "tester/a b"],
            [*export, str(exported["root"] / "direct")],
            [*export, str(disk / "out")],
        ]
        results = run_commands(lerobot_python, commands)
        assert list(disk.iterdir()) == []
    messages = [
        "already holds an earlier --format lerobot export; pass --overwrite to replace it",
        "error: --repo-id 'tester/a b' is not valid",
        "holds a folder of 'sample --to-parquet', which --format lerobot never replaces",
        "No space left on device",
    ]
    for result, message in zip(results, messages, strict=True):
        assert result["status"] == 2
        assert result["stderr"].startswith("error: ") and result["stderr"].count("\n") == 1
        assert message in result["stderr"]
    assert tree_digest(earlier) == before
    assert not (tmp_path / "out").exists()


def test_overwrite_replaces_an_earlier_export_and_only_that(lerobot_python, exported, tmp_path):
    earlier = tmp_path / "earlier"
    shutil.copytree(exported["root"] / "frames-lerobot", earlier)
    replaced = tmp_path / "replaced"
    shutil.copytree(exported["root"] / "frames-lerobot", replaced)
    (earlier / "notes.txt").write_text("mine\n")  # a user's file the export did not write
    with (replaced / "README.md").open("a") as card:  # a listed file: replaced with the rest
        card.write("an earlier export's card\n")
    before = tree_digest(earlier)
    direct = str(exported["root"] / "direct")
    export = ["export", "--format", "lerobot", "--input-dir", direct, "--repo-id", REPO_ID]
    commands = [
        [*export, "--output-dir", str(earlier), "--overwrite"],
        [*export, "--output-dir", str(replaced), "--overwrite"],
    ]
    refused, done = run_commands(lerobot_python, commands)
    assert refused["status"] == 2 and refused["stderr"].count("\n") == 1
    assert "holds 1 files the earlier export did not write (notes.txt)" in refused["stderr"]
    assert tree_digest(earlier) == before
    assert done == {"status": 0, "stderr": ""}
    # LeRobot's statistics and parquet differ in bytes from run to run; the rest does not.
    written, expected = tree_digest(replaced), tree_digest(exported["root"] / "direct-lerobot")
    assert written.keys() == expected.keys()
    for name in ("README.md", "meta/info.json", "meta/tasks.parquet"):
        assert written[name] == expected[name], name
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]


def test_without_lerobot_the_error_says_how_to_install_it(tmp_path):
    code = (
        "import sys; sys.modules['lerobot'] = None\n"
        "from atari_interleaved.cli.app import main\n"
        "sys.exit(main(['export', '--format', 'lerobot', '--input-dir', 'missing']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: --format lerobot needs the lerobot package")
    assert result.stderr.count("\n") == 1
    assert result.stderr.endswith("install it with: pip install 'lerobot>=0.4.0'\n")
    assert list(tmp_path.iterdir()) == []


def test_the_docs_example_runs(lerobot_python, exported, tmp_path):
    code = block("docs/export.md#LeRobot").code
    (tmp_path / "atari_interleaved_lerobot").symlink_to(exported["root"] / "frames-lerobot")
    check = (
        "\nprint(fps, row['observation.image'].shape[0], item['observation.image_is_pad'].tolist())"
    )
    result = subprocess.run(
        [lerobot_python, "-c", code + check], cwd=tmp_path, capture_output=True, text=True,
        timeout=600, check=True,
    )  # fmt: skip
    assert result.stdout.splitlines()[-1] == "12 3 [True, True, False]"
