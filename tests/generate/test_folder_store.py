from __future__ import annotations

import errno
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from atari_interleaved.core.episode import Episode, read_metadata
from atari_interleaved.core.errors import InvalidArgumentError, OutputExistsError
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate.emulator import GameEmulator
from atari_interleaved.generate.folder_store import FolderStore, episode_problem
from atari_interleaved.generate.sampler import SampleReport, sample
from tests.fixtures.frame_trees import ALIEN_EPISODE, EPISODES, GAMES
from tests.fixtures.frame_trees import SETTINGS as TREE_SETTINGS
from tests.fixtures.tree_utils import tree_digest

SETTINGS = EpisodeSettings(policy="repeat", frame_cap=12, randomness=0.5)


def sample_tree_report(root) -> SampleReport:
    """Rerun the sampling of ``tests/frame_trees.py``'s tree into ``root``."""
    return sample(
        root,
        envs=list(GAMES),
        max_episodes=EPISODES,
        settings=TREE_SETTINGS,
        progress=False,
    )


@pytest.fixture(scope="module")
def episode() -> Episode:
    return GameEmulator("alien", SETTINGS).run_episode(0)


def test_write_layout(tmp_path, episode):
    store = FolderStore(tmp_path / "frames")
    store.prepare(SETTINGS, overwrite=False)
    store.write(episode)
    folder = tmp_path / "frames" / "atari_alien" / "episode_000_rand0.5"
    names = sorted(path.name for path in folder.iterdir())
    assert names[:2] == ["action_000000.txt", "action_000001.txt"]
    assert "frame_000011.png" in names and "episode.json" in names
    assert len(names) == 2 * 12 + 1
    line = (folder / "action_000003.txt").read_text()
    assert line == f"{episode.actions[3]}: {episode.action_meanings[episode.actions[3]]}"
    assert (folder / "frame_000000.png").read_bytes() == episode.frames[0]
    assert read_metadata(folder / "episode.json") == episode.metadata
    assert store.is_complete("alien", 0, 0.5)
    config = json.loads((tmp_path / "frames" / "sampling_config.json").read_text())
    assert config["settings"]["frame_cap"] == 12


def test_failed_write_leaves_nothing(tmp_path, episode, monkeypatch):
    store = FolderStore(tmp_path)
    store.prepare(SETTINGS, overwrite=False)

    class DiskFullAtFrame5(list):
        """The episode's actions; reading the sixth fails as a full disk would, mid-episode."""

        def __getitem__(self, index):
            if index == 5:
                raise OSError(errno.ENOSPC, "No space left on device")
            return super().__getitem__(index)

    broken = Episode(**{**episode.__dict__, "actions": DiskFullAtFrame5(episode.actions)})
    with pytest.raises(OSError, match="No space left on device") as error:
        store.write(broken)
    assert error.value.errno == errno.ENOSPC
    assert list((tmp_path / "atari_alien").iterdir()) == []
    assert not store.is_complete("alien", 0, 0.5)


def test_prepare_removes_leftover_temporaries_and_keeps_episodes(tmp_path, episode):
    store = FolderStore(tmp_path)
    store.prepare(SETTINGS, overwrite=False)
    store.write(episode)
    leftover = tmp_path / "atari_alien" / ".tmp-episode_001_rand0.5-1234"
    leftover.mkdir()
    (leftover / "frame_000000.png").write_bytes(b"partial")
    store.prepare(SETTINGS, overwrite=False)
    assert not leftover.exists()
    assert store.is_complete("alien", 0, 0.5)


@pytest.mark.parametrize("config_left", [True, False])
def test_a_direct_folder_is_never_turned_into_a_frame_tree(direct_folder, tmp_path, config_left):
    folder = Path(shutil.copytree(direct_folder, tmp_path / "direct"))
    if not config_left:
        (folder / "sampling_config.json").unlink()
    before = tree_digest(folder)
    with pytest.raises(OutputExistsError, match=r"holds the parquet shards of 'sample --to-parq"):
        FolderStore(folder).prepare(SETTINGS, overwrite=True)
    assert tree_digest(folder) == before


def test_other_settings_are_refused_then_overwritten(tmp_path, episode):
    store = FolderStore(tmp_path)
    store.prepare(SETTINGS, overwrite=False)
    store.write(episode)
    (tmp_path / "notes.txt").write_text("mine")
    other = EpisodeSettings(policy="repeat", frame_cap=13, randomness=0.5)
    with pytest.raises(OutputExistsError, match="frame_cap: 12 in the folder, 13 now"):
        store.prepare(other, overwrite=False)
    assert store.is_complete("alien", 0, 0.5)
    store.prepare(other, overwrite=True)
    assert not (tmp_path / "atari_alien").exists()
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_game_folders_of_unknown_origin_are_refused(tmp_path):
    (tmp_path / "atari_alien" / "episode_000_rand0.2").mkdir(parents=True)
    with pytest.raises(OutputExistsError, match="no sampling_config.json"):
        FolderStore(tmp_path).prepare(SETTINGS, overwrite=False)


def test_output_path_that_is_a_file(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(InvalidArgumentError, match="is a file, not a folder"):
        FolderStore(target).prepare(SETTINGS, overwrite=False)
    with pytest.raises(InvalidArgumentError, match="is not writable"):
        FolderStore(target / "below").prepare(SETTINGS, overwrite=False)
    assert target.read_text() == "x"


def _truncate_frame(folder):
    frame = folder / "frame_000005.png"
    frame.write_bytes(frame.read_bytes()[:-20])


def _remove_action(folder):
    (folder / "action_000011.txt").unlink()


def _shorten_action(folder):
    action = folder / "action_000003.txt"
    action.write_text(action.read_text()[:-2])


def _break_metadata(folder):
    (folder / "episode.json").write_text('{"format": "atari-interleaved/episode/1", "num_')


def _add_frame(folder):
    (folder / "frame_000012.png").write_bytes((folder / "frame_000000.png").read_bytes())


def _empty(folder):
    for path in folder.iterdir():
        path.unlink()


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (_truncate_frame, "frame_000005.png is truncated"),
        (_remove_action, "action_000011.txt is missing"),
        (_shorten_action, "action_000003.txt does not hold"),
        (_break_metadata, "episode.json is missing or not valid"),
        (_add_frame, "frame_000012.png is beyond the 12 frames"),
        (_empty, "episode.json is missing or not valid"),
    ],
)
def test_an_incomplete_episode_under_its_final_name_is_sampled_again(
    frame_tree, tree_copy, damage, problem
):
    folder = tree_copy / ALIEN_EPISODE
    assert episode_problem(folder) is None
    damage(folder)
    assert problem in episode_problem(folder)
    report = sample_tree_report(tree_copy)
    assert report.redone == ["alien/0"] and report.episodes_written == 1
    assert tree_digest(tree_copy) == tree_digest(frame_tree)


def test_files_of_the_user_in_an_incomplete_episode_are_kept_aside(frame_tree, tree_copy):
    folder = tree_copy / ALIEN_EPISODE
    _remove_action(folder)
    (folder / "my_notes.txt").write_text("mine")
    report = sample_tree_report(tree_copy)
    kept = tree_copy / "atari_alien" / ".incomplete-episode_000_rand0.2"
    assert report.kept_aside == [kept]
    assert sorted(path.name for path in kept.iterdir()) == ["my_notes.txt"]
    assert "Kept " in report.summary() and "delete it once you have looked" in report.summary()
    assert tree_digest(tree_copy) == {
        **tree_digest(frame_tree),
        f"{kept.parent.name}/{kept.name}/my_notes.txt": tree_digest(kept)["my_notes.txt"],
    }


def test_prepare_removes_the_config_temporary_of_a_killed_run(tmp_path):
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    leftover = tmp_path / f".tmp-sampling_config.json-{int(ended.stdout)}"
    leftover.write_text('{"format": "atari-inter')
    FolderStore(tmp_path).prepare(SETTINGS, overwrite=False)
    assert [path.name for path in tmp_path.iterdir()] == ["sampling_config.json"]
