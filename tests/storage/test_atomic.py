"""Outputs get their final name only when whole: the one write-then-rename helper."""

from __future__ import annotations

import os
import re
import threading

import pytest

from atari_interleaved.storage.atomic import Staged, write_atomically
from atari_interleaved.storage.lock import remove_stale_temporaries


def test_a_file_is_written_under_its_temporary_name_then_renamed(tmp_path):
    target = tmp_path / "config.json"
    with Staged(target) as staged:
        name = staged.temporary.name
        assert re.fullmatch(rf"\.tmp-config\.json-{os.getpid()}-[0-9a-f]{{8}}", name)
        assert staged.temporary.parent == tmp_path
        staged.temporary.write_text("new")
        assert not target.exists()
    assert target.read_text() == "new"
    assert [path.name for path in tmp_path.iterdir()] == ["config.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "config.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"), Staged(target) as staged:
        staged.temporary.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["config.json"]


def test_write_atomically_replaces_a_file_with_the_utf8_text(tmp_path):
    target = tmp_path / "card.md"
    target.write_text("old")
    assert write_atomically(target, "Ms. Pac-Man \u00e9\n") == target
    assert target.read_bytes() == b"Ms. Pac-Man \xc3\xa9\n"
    assert [path.name for path in tmp_path.iterdir()] == ["card.md"]


def test_a_folder_replaces_an_earlier_one_whole(tmp_path):
    target = tmp_path / "hub"
    target.mkdir()
    (target / "old.parquet").write_bytes(b"old")
    with Staged(target, folder=True) as staged:
        (staged.temporary / "new.parquet").write_bytes(b"new")
        assert sorted(path.name for path in target.iterdir()) == ["old.parquet"]
    assert sorted(path.name for path in target.iterdir()) == ["new.parquet"]
    assert [path.name for path in tmp_path.iterdir()] == ["hub"]


def test_a_folder_that_may_not_replace_refuses_a_full_final_folder(tmp_path):
    target = tmp_path / "cache"
    target.mkdir()
    (target / "episodes.json").write_text("finished by another process")
    with pytest.raises(OSError), Staged(target, folder=True, replace=False) as staged:
        (staged.temporary / "episodes.json").write_text("mine")
    assert (target / "episodes.json").read_text() == "finished by another process"
    assert [path.name for path in tmp_path.iterdir()] == ["cache"]


def test_writers_of_one_pid_never_share_or_delete_a_temporary(tmp_path):
    target = tmp_path / "episode_000_rand0.2"
    first = Staged(target, folder=True, replace=False)
    (first.temporary / "frame_00000.png").write_bytes(b"first writer's")
    second = Staged(target, folder=True, replace=False)
    assert second.temporary != first.temporary
    assert (first.temporary / "frame_00000.png").read_bytes() == b"first writer's"
    assert remove_stale_temporaries(target) == []  # both writers are alive
    second.discard()
    first.commit()
    assert [path.name for path in tmp_path.iterdir()] == [target.name]


def test_threads_staging_the_same_folder_each_commit_their_own_whole_copy(tmp_path):
    target = tmp_path / "cache"
    written = {}

    def build(name: str) -> None:
        with Staged(target, folder=True, replace=False) as staged:
            for index in range(50):
                (staged.temporary / f"{index}.txt").write_text(name)
            written[name] = sorted(path.name for path in staged.temporary.iterdir())
            try:
                staged.commit()
            except OSError:
                written[name] = "lost the race"

    threads = [threading.Thread(target=build, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    contents = {path.read_text() for path in target.iterdir()}
    assert len(list(target.iterdir())) == 50 and len(contents) == 1  # one writer's, whole
    assert [path.name for path in tmp_path.iterdir()] == ["cache"]
