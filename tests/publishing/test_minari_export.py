"""``export --format minari``: one Minari dataset per game, checked with the real ``minari``.

Every observation, action, reward, end and info of the loaded datasets is compared with the
source episodes (frames decoded by Pillow, not by this project), from a frame tree, its
``--to-parquet`` twin and its export.
"""

from __future__ import annotations

import io
import subprocess
import sys
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


def test_an_existing_dataset_is_replaced_only_with_overwrite(sources, exports, tmp_path, capsys):
    output = tmp_path / "minari"
    args = ["export", "--format", "minari", "--output-dir", str(output)]
    assert main([*args, "--input-dir", str(sources["direct"])]) == 0
    before = tree_digest(output)
    capsys.readouterr()
    assert main([*args, "--input-dir", str(sources["frame_tree"])]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: --output-dir") and error.count("\n") == 1
    assert "'atari_interleaved/alien-v0' (and 1 more); pass --overwrite" in error
    assert tree_digest(output) == before
    assert main([*args, "--input-dir", str(sources["frame_tree"]), "--overwrite"]) == 0
    digest = tree_digest(output)
    assert sorted(digest) == sorted(tree_digest(exports["frame_tree"]))
    assert not [path for path in output.iterdir() if path.name.startswith(".")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "parquet"], "argument --format: invalid choice: 'parquet'"),
        (["--format", "minari", "--splits", "train=1"], "error: --splits is an option of"),
        (["--format", "minari", "--output-dir", "{frames}/minari"], "is inside --input-dir"),
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
    assert 'pip install "atari-interleaved[minari]"' in result.stderr
    assert list(tmp_path.iterdir()) == []
    assert (REPO / "pyproject.toml").read_text().count('"minari>=') == 2  # extra and test
