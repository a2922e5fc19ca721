"""Outputs get their final name only when whole: the one write-then-rename helper."""

from __future__ import annotations

import os

import pytest

from atari_interleaved.storage.atomic import Staged, write_atomically
from atari_interleaved.storage.lock import remove_stale_temporaries


def test_a_file_is_written_under_its_temporary_name_then_renamed(tmp_path):
    target = tmp_path / "config.json"
    with Staged(target) as staged:
        assert staged.temporary == tmp_path / f".tmp-config.json-{os.getpid()}"
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


def test_a_leftover_of_this_pid_is_replaced_and_a_live_writer_is_not_cleaned(tmp_path):
    target = tmp_path / "episode_000_rand0.2"
    leftover = tmp_path / f".tmp-episode_000_rand0.2-{os.getpid()}"
    leftover.mkdir()
    (leftover / "frame_00000.png").write_bytes(b"half")
    staged = Staged(target, folder=True, replace=False)
    assert staged.temporary == leftover
    assert list(leftover.iterdir()) == []
    assert remove_stale_temporaries(target) == []
    staged.discard()
    assert list(tmp_path.iterdir()) == []
