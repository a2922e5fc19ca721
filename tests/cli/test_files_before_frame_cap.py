"""Trees and folders written before ``frames_per_env`` was named ``frame_cap`` still work.

Their ``episode.json`` and ``sampling_config.json`` files hold the key ``frames_per_env``;
they read, convert, export, verify, and resume when the same command is run again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq

from atari_interleaved.cli.app import main
from atari_interleaved.core.episode import metadata_to_json
from atari_interleaved.core.features import CONFIG_NAMES
from atari_interleaved.core.settings import AleSettings, EpisodeSettings
from atari_interleaved.dataset.convert import convert
from atari_interleaved.generate.emulator import GameEmulator
from tests.fixtures.frame_trees import EPISODES, FRAMES, GAMES

SAMPLE = [
    "sample", "--envs", ",".join(GAMES), "--max-episodes", str(EPISODES),
    "--frames-per-env", str(FRAMES), "--policy", "repeat", "--parallel", "1", "--no-progress",
]  # fmt: skip
"""The command that samples ``frame_tree`` (tests/fixtures/frame_trees.py)."""


def write_earlier_key(root: Path) -> list[Path]:
    """Rename the key frame_cap to frames_per_env in the folder's json files, as written before."""
    changed = []
    for path in [*root.rglob("episode.json"), root / "sampling_config.json"]:
        text = path.read_text(encoding="utf-8")
        assert text.count('"frame_cap": ') == 1, path
        path.write_text(text.replace('"frame_cap": ', '"frames_per_env": '), encoding="utf-8")
        changed.append(path)
    return changed


def test_an_episode_records_every_setting_in_episode_json():
    settings = EpisodeSettings(
        frame_cap=3, randomness=0.5, seed=3, policy="repeat", search_budget=50.0, noop_max=2,
        png_compress_level=1,
        ale=AleSettings(frameskip=2, repeat_action_probability=0.0, full_action_space=True,
                        max_num_frames_per_episode=500),
    )  # fmt: skip
    episode = GameEmulator("pong", settings).run_episode(0)
    recorded = json.loads(metadata_to_json(episode.metadata))
    expected = {
        "frame_cap": 3, "randomness": 0.5, "base_seed": 3, "policy": "repeat",
        "search_budget": 50.0, "noop_max": 2, "frameskip": 2, "repeat_action_probability": 0.0,
        "full_action_space": True, "max_num_frames_per_episode": 500,
        "png": {"color_type": "palette", "compress_level": 1},
    }  # fmt: skip
    assert {key: recorded[key] for key in expected} == expected
    assert "frames_per_env" not in recorded


def test_a_tree_with_the_earlier_key_converts_exports_verifies_and_resumes(
    tree_copy, converted, tmp_path, capsys
):
    changed = write_earlier_key(tree_copy)
    assert len(changed) == len(GAMES) * EPISODES + 1
    for config in CONFIG_NAMES:
        convert(tree_copy, tmp_path / f"{config}.parquet", config)
        assert pq.read_table(tmp_path / f"{config}.parquet").to_pylist() == converted[config]

    hub = tmp_path / "hub"
    assert main(["export", "--input-dir", str(tree_copy), "--output-dir", str(hub),
                 "--no-progress"]) == 0  # fmt: skip
    card = (hub / "README.md").read_text(encoding="utf-8")
    assert f"| Frames per episode at most (`--frames-per-env`) | {FRAMES} |" in card
    assert f"--frames-per-env {FRAMES} " in card
    assert main(["verify", str(hub)]) == 0

    episode_files = {path: path.read_bytes() for path in changed[:-1]}
    capsys.readouterr()
    assert main([*SAMPLE, "--output-dir", str(tree_copy)]) == 0
    out = capsys.readouterr().out
    assert f"Kept {len(GAMES) * EPISODES} complete episodes from an earlier run." in out
    assert {path: path.read_bytes() for path in episode_files} == episode_files
    config = json.loads((tree_copy / "sampling_config.json").read_text(encoding="utf-8"))
    assert config["settings"]["frame_cap"] == FRAMES and "frames_per_env" not in config["settings"]


def test_a_direct_folder_with_the_earlier_key_exports_and_resumes(direct_folder, tmp_path, capsys):
    folder = Path(shutil.copytree(direct_folder, tmp_path / "sampled_parquet"))
    config_path = folder / "sampling_config.json"
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(text.replace('"frame_cap": ', '"frames_per_env": '), encoding="utf-8")
    shards = {path: path.read_bytes() for path in sorted(folder.rglob("*.parquet"))}
    assert len(shards) == 2 * len(GAMES) * EPISODES

    assert main(["export", "--input-dir", str(folder), "--output-dir", str(tmp_path / "hub"),
                 "--no-progress"]) == 0  # fmt: skip
    card = (tmp_path / "hub" / "README.md").read_text(encoding="utf-8")
    assert f"--frames-per-env {FRAMES} " in card

    assert main([*SAMPLE, "--to-parquet", "--output-dir", str(folder)]) == 0
    assert {path: path.read_bytes() for path in shards} == shards
    config = json.loads(config_path.read_text(encoding="utf-8"))
    assert config["settings"]["frame_cap"] == FRAMES
