"""``export --format minari``: one Minari dataset per game, checked with the real ``minari``.

Every observation, action, reward, end and info of the loaded datasets is compared with the
source episodes (frames decoded by Pillow, not by this project), from a frame tree, its
``--to-parquet`` twin and its export, and on episodes that end inside the export (game over,
truncation). Bad inputs and outputs each end in one error line with nothing written.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from atari_interleaved.cli.app import main
from atari_interleaved.core.episode import read_metadata
from atari_interleaved.core.settings import AleSettings, EpisodeSettings
from atari_interleaved.generate.sampler import sample
from atari_interleaved.publishing.export import export
from tests.fixtures.docs import block
from tests.fixtures.mounts import tmpfs
from tests.fixtures.paths import REPO
from tests.fixtures.prerequisites import required_module
from tests.fixtures.tree_utils import tree_digest

GAMES = ["alien", "breakout"]
EPISODES = 2
SETTINGS = EpisodeSettings(
    policy="repeat",
    frame_cap=40,
    randomness=(0.0, 1.0),
    noop_max=3,
    seed=5,
    ale=AleSettings(frameskip=3, repeat_action_probability=0.1),
)


@pytest.fixture(scope="module")
def minari():
    return required_module("minari", "pip install -e '.[test]'")


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("minari-sources")
    options = {"envs": GAMES, "max_episodes": EPISODES, "settings": SETTINGS, "progress": False}
    sample(root / "frames", **options)
    sample(root / "direct", to_parquet=True, **options)
    export(root / "frames", root / "hub", progress=False)
    return {"frame_tree": root / "frames", "direct": root / "direct", "exported": root / "hub"}


@pytest.fixture(scope="module")
def exports(sources, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("minari-exports")
    for kind, source in sources.items():
        args = ["export", "--format", "minari", "--input-dir", str(source)]
        assert main([*args, "--output-dir", str(root / kind)]) == 0
    return {kind: root / kind for kind in sources}


def load(minari, monkeypatch, root: Path, game: str):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    return minari.load_dataset(f"atari_interleaved/{game}-v0")


def rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(path.read_bytes())).convert("RGB"))


@pytest.mark.parametrize("kind", ["frame_tree", "direct", "exported"])
def test_every_step_is_the_recorded_one(minari, monkeypatch, sources, exports, kind):
    for game in GAMES:
        dataset = load(minari, monkeypatch, exports[kind], game)
        folders = sorted(
            (sources["frame_tree"] / f"atari_{game}").iterdir(),
            key=lambda folder: (float(folder.name.split("_rand")[1]), folder.name),
        )
        assert dataset.total_episodes == len(folders) == EPISODES * len(SETTINGS.levels)
        described = list(dataset.storage.get_episode_metadata(range(len(folders))))
        for episode, folder, about in zip(
            dataset.iterate_episodes(), folders, described, strict=True
        ):
            recorded = read_metadata(folder / "episode.json")
            count = recorded.num_frames
            assert about["episode"] == folder.name and about["seed"] == recorded.seed
            assert about["randomness"] == recorded.randomness
            assert about["start_actions"] == recorded.start_actions
            assert episode.observations.shape == (count, 210, 160, 3)
            assert episode.observations.dtype == np.uint8
            for index in range(count):
                frame = rgb(folder / f"frame_{index:06d}.png")
                assert np.array_equal(episode.observations[index], frame), (folder, index)
            assert episode.actions.tolist() == recorded.actions[:-1]
            assert episode.rewards.tolist() == recorded.rewards[:-1]
            assert episode.terminations.tolist() == recorded.terminated[1:]
            assert episode.truncations.tolist() == recorded.truncated[1:]
            assert episode.infos["lives"].tolist() == recorded.lives
            applied = episode.infos["applied_actions"].tolist()
            assert applied == [[-1] * 3, *recorded.applied_actions[:-1]]


def test_the_environment_metadata_and_filters_are_minaris(minari, monkeypatch, exports):
    dataset = load(minari, monkeypatch, exports["frame_tree"], "breakout")
    env = dataset.recover_environment()
    assert env.spec.id == "ALE/Breakout-v5"
    assert env.spec.kwargs["frameskip"] == 3
    assert env.spec.kwargs["repeat_action_probability"] == 0.1
    assert env.action_space == dataset.action_space
    assert dataset.observation_space.shape == (210, 160, 3)
    observation, _ = env.reset(seed=0)
    assert dataset.observation_space.contains(observation)
    env.close()
    metadata = dataset.storage.metadata
    assert metadata["jpeg_encoding"] is False
    assert (metadata["ref_min_score"], metadata["ref_max_score"]) == (1.7, 30.5)
    ours = metadata["atari_interleaved"]
    assert ours["policy"] == "repeat" and ours["settings"]["randomness"] == [0.0, 1.0]
    assert ours["version"] and "--randomness 0.0,1.0" in ours["sample_command"]
    # Level 0.0 of repeat never acts; level 1.0 does: filter_episodes sees the steps.
    acting = dataset.filter_episodes(lambda episode: bool((episode.actions != 0).any()))
    levels = [item["randomness"] for item in dataset.storage.get_episode_metadata(range(4))]
    assert acting.episode_indices.tolist() == [i for i, r in enumerate(levels) if r == 1.0]


def test_the_docs_example_runs(minari, monkeypatch, exports, tmp_path):
    code = block("docs/export.md#Minari").code
    (tmp_path / "atari_interleaved_minari").symlink_to(exports["exported"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MINARI_DATASETS_PATH", "restored after the test")
    names: dict[str, object] = {}
    exec(compile(code, "docs/export.md", "exec"), names)
    assert names["episode"].observations.shape == (40, 210, 160, 3)
    assert names["env"].spec.id == "ALE/Alien-v5"
    names["env"].close()


def test_the_episodes_take_at_most_ten_times_their_png_frames(sources, exports):
    png = sum(path.stat().st_size for path in sources["frame_tree"].rglob("*.png"))
    # data/<episode>/: the episodes' files; beside them each dataset's metadata.json holds
    # Minari's observation space with its bounds written out (about 1 MB a game, whatever its
    # size), which bench/bench_export_formats.py counts on a few thousand frames.
    episodes = sum(
        path.stat().st_size
        for path in exports["frame_tree"].glob("atari_interleaved/*/data/*/*")
        if path.is_file()
    )
    assert 0 < episodes <= 10 * png  # stored raw, they took about 175 times


def test_an_earlier_export_is_replaced_only_with_overwrite(sources, exports, tmp_path, capsys):
    output = tmp_path / "minari"
    args = ["export", "--format", "minari", "--output-dir", str(output)]
    assert main([*args, "--input-dir", str(sources["direct"])]) == 0
    before = tree_digest(output)
    capsys.readouterr()
    assert main([*args, "--input-dir", str(sources["frame_tree"])]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: --output-dir") and error.count("\n") == 1
    assert "already holds an earlier --format minari export; pass --overwrite" in error
    assert tree_digest(output) == before
    assert main([*args, "--input-dir", str(sources["frame_tree"]), "--overwrite"]) == 0
    assert tree_digest(output) == tree_digest(exports["frame_tree"])
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]
    listed = json.loads((output / "atari_interleaved_export.json").read_text())["files"]
    assert sorted(listed) == sorted(set(tree_digest(output)) - {"atari_interleaved_export.json"})


@pytest.mark.parametrize(
    ("output", "overwrite", "message"),
    [
        ("frame_tree", True, "holds a frame tree (the output of 'sample'), which --format minari "
         "never replaces, even with --overwrite"),
        ("exported", True, "holds a folder written by 'atari-interleaved export' (manifest.json)"),
        ("foreign", True, "was not written by 'export --format minari' (no "
         "atari_interleaved_export.json of it), so it is never replaced, even with --overwrite"),
        ("added", False, "already holds an earlier --format minari export"),
        ("added", True, "holds 1 files the earlier export did not write (notes.txt)"),
    ],
)  # fmt: skip
def test_an_output_holding_other_files_is_never_written(
    sources, exports, tmp_path, capsys, output, overwrite, message
):
    if output in ("frame_tree", "exported"):
        target = sources[output]
    else:
        target = tmp_path / "out"
        if output == "added":
            shutil.copytree(exports["frame_tree"], target)
        else:
            target.mkdir()
        (target / "notes.txt").write_text("a user's file")
    before = tree_digest(target)
    args = ["export", "--format", "minari", "--input-dir", str(sources["direct"])]
    args += ["--output-dir", str(target), *(["--overwrite"] if overwrite else [])]
    assert main(args) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: --output-dir") and error.count("\n") == 1
    assert message in error
    assert tree_digest(target) == before


def _without_applied_actions(sources, tmp_path) -> Path:
    """A copy of the frame tree whose first episode was written before applied actions."""
    tree = tmp_path / "older"
    shutil.copytree(sources["frame_tree"], tree)
    path = sorted(tree.glob("atari_alien/episode_*"))[0] / "episode.json"
    recorded = json.loads(path.read_text())
    del recorded["applied_actions"], recorded["start_actions"]
    path.write_text(json.dumps(recorded))
    return path


def _unknown_game(sources, tmp_path) -> Path:
    tree = tmp_path / "renamed"
    shutil.copytree(sources["frame_tree"], tree)
    (tree / "atari_breakout").rename(tree / "atari_breakoutt")
    return tree / "atari_breakoutt"


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (_without_applied_actions, "episode.json has no applied_actions and start_actions "
         "(written by an older atari-interleaved), which the export records and cannot make up"),
        (_unknown_game, "holds the game 'atari_breakoutt', which names no Atari game of the "
         "installed ale-py; remove or rename that folder"),
    ],
)  # fmt: skip
def test_what_the_input_lacks_is_refused_not_invented(
    sources, tmp_path, capsys, make_input, message
):
    named = make_input(sources, tmp_path)
    tree = tmp_path / ("older" if (tmp_path / "older").exists() else "renamed")
    command = ["export", "--format", "minari", "--input-dir", str(tree)]
    assert main([*command, "--output-dir", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1
    assert message in error and str(named.name) in error
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([tree.name])


@pytest.mark.parametrize("read_only", [False, True])
def test_a_full_disk_or_read_only_place_is_one_error_naming_it(
    minari, sources, tmp_path, capsys, read_only
):
    with tmpfs(tmp_path / "disk", "1m", read_only=read_only) as disk:
        command = ["export", "--format", "minari", "--input-dir", str(sources["frame_tree"])]
        assert main([*command, "--output-dir", str(disk / "out")]) == 2
        error = capsys.readouterr().err
        assert error.startswith("error: --") and error.count("\n") == 1
        if read_only:
            assert "is not writable: nothing can be created in" in error
            assert "(Read-only file system)" in error
        else:
            assert "could not write --output-dir" in error
            assert "No space left on device" in error
        assert list(disk.iterdir()) == []


@pytest.fixture(scope="module")
def endings(tmp_path_factory) -> dict[str, Path]:
    """Breakout played at random until game over, and until ALE's length limit truncates it."""
    root = tmp_path_factory.mktemp("minari-endings")
    game_over = EpisodeSettings(
        policy="repeat", frame_cap=200, randomness=1.0, seed=3, ale=AleSettings(frameskip=5)
    )
    limited = AleSettings(frameskip=5, max_num_frames_per_episode=100)
    runs = {"game_over": game_over, "truncated": replace(game_over, frame_cap=60, ale=limited)}
    for name, settings in runs.items():
        sample(root / name, envs=["breakout"], max_episodes=1, settings=settings, progress=False)
        args = ["export", "--format", "minari", "--input-dir", str(root / name)]
        assert main([*args, "--output-dir", str(root / f"{name}-minari")]) == 0
    return {name: root / name for name in runs}


@pytest.mark.parametrize("end", ["game_over", "truncated"])
def test_an_episode_ending_inside_the_export_ends_on_its_last_step(
    minari, monkeypatch, endings, end
):
    folder = next((endings[end] / "atari_breakout").iterdir())
    recorded = read_metadata(folder / "episode.json")
    assert recorded.end_reason == end
    (episode,) = load(minari, monkeypatch, endings[end].with_name(f"{end}-minari"), "breakout")
    steps = recorded.num_frames - 1
    last = [False] * (steps - 1) + [True]
    assert episode.terminations.tolist() == (last if end == "game_over" else [False] * steps)
    assert episode.truncations.tolist() == (last if end == "truncated" else [False] * steps)
    assert episode.rewards.tolist() == recorded.rewards[:-1]
    assert episode.infos["lives"].tolist() == recorded.lives


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "parquet"], "argument --format: invalid choice: 'parquet'"),
        (["--format", "minari", "--splits", "train=1"], "error: --splits is an option of"),
        (["--format", "minari", "--repo-id", "a/b"], "error: --repo-id is an option of"),
        (["--format", "minari", "--output-dir", "{frames}/minari"], "overlaps --input-dir"),
    ],
)
def test_a_wrong_format_or_option_is_named(sources, tmp_path, capsys, args, message):
    frames = sources["frame_tree"]
    args = [arg.format(frames=frames) for arg in args]
    command = ["export", "--input-dir", str(frames), "--output-dir", "out", *args]
    try:
        status = main(command)
    except SystemExit as exited:
        status = exited.code
    assert status == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (frames / "minari").exists()


def test_without_minari_the_error_says_how_to_install_it(sources, tmp_path):
    code = (
        "import sys; sys.modules['minari'] = None\n"
        "from atari_interleaved.cli.app import main\n"
        f"sys.exit(main(['export', '--format', 'minari', '--input-dir', "
        f"{str(sources['frame_tree'])!r}, '--output-dir', 'out']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: --format minari needs the minari package")
    assert result.stderr.count("\n") == 1
    assert result.stderr.endswith("install it with: pip install 'minari>=0.5.4'\n")
    assert list(tmp_path.iterdir()) == []
    assert (REPO / "pyproject.toml").read_text().count('"minari>=0.5.4"') == 2  # extra and test
