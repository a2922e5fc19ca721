"""Every command checks its outputs before any work: one clear error, nothing written."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from atari_interleaved.cli.app import main as cli_main
from atari_interleaved.core.errors import InvalidArgumentError
from atari_interleaved.storage.output_check import check_output


@pytest.fixture
def read_only(tmp_path, monkeypatch):
    """A folder nothing can be created in (for root too, whom permissions do not stop)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:  # root ignores the mode: refuse creations there as the kernel would
        real_open = os.open

        def guarded(path, flags, *args, **kwargs):
            if flags & os.O_CREAT and Path(path).parent == folder:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", guarded)
    yield folder
    folder.chmod(0o755)


@pytest.mark.parametrize("kind", ["file", "folder", "replaced folder"])
def test_a_place_nothing_can_be_created_in_is_refused(read_only, kind):
    with pytest.raises(InvalidArgumentError, match=r"--out '.*' is not writable: nothing can"):
        check_output(read_only / "new" / "output", "--out", kind=kind)
    assert list(read_only.iterdir()) == []


def test_kinds_of_paths_are_checked(tmp_path):
    (tmp_path / "a_file").write_text("the user's")
    (tmp_path / "a_folder").mkdir()
    with pytest.raises(InvalidArgumentError, match="is a folder, not a file"):
        check_output(tmp_path / "a_folder", "--out", kind="file")
    with pytest.raises(InvalidArgumentError, match="is a file, not a folder"):
        check_output(tmp_path / "a_file", "--out", kind="replaced folder")
    with pytest.raises(InvalidArgumentError, match=r"'.*a_file' is a file, not a folder"):
        check_output(tmp_path / "a_file" / "below", "--out", kind="file")
    with pytest.raises(InvalidArgumentError, match="is a mount point"):
        check_output("/proc", "--out", kind="replaced folder")
    check_output(tmp_path / "a_folder", "--out", kind="folder")
    check_output(tmp_path / "new" / "deeper", "--out", kind="replaced folder")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a_file", "a_folder"]


def commands(tree: Path, out: Path) -> dict[str, list[str]]:
    return {
        "convert": ["convert", "--input-dir", str(tree), "--output-file", f"{out}.parquet"],
        "export": ["export", "--input-dir", str(tree), "--output-dir", str(out)],
        "preview": ["preview", str(tree), "--output-dir", str(out)],
        "build": ["build", "--envs", "pong", "--max-episodes", "1", "--frames-dir",
                  str(out / "frames"), "--hub-dir", str(out / "hub")],
    }  # fmt: skip


@pytest.mark.parametrize("command", ["convert", "export", "preview", "build"])
def test_every_command_refuses_an_unwritable_output_before_any_work(
    frame_tree, read_only, capsys, command, monkeypatch
):
    monkeypatch.chdir(read_only.parent)
    argv = commands(frame_tree, read_only / "out")[command]
    assert cli_main([*argv, "--no-progress"] if command != "preview" else argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --") and "is not writable: nothing can be created" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert list(read_only.iterdir()) == []


@pytest.mark.parametrize("command", ["export", "build"])
def test_a_mount_point_is_refused_as_a_folder_replaced_whole(frame_tree, tmp_path, capsys, command):
    argv = {
        "export": ["export", "--input-dir", str(frame_tree), "--output-dir", "/proc"],
        "build": ["build", "--envs", "pong", "--max-episodes", "1", "--frames-dir",
                  str(tmp_path / "frames"), "--hub-dir", "/proc"],
    }[command]  # fmt: skip
    assert cli_main([*argv, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "'/proc' is a mount point" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["convert", "export", "build"])
def test_a_lock_path_that_is_a_folder_is_one_clear_error(frame_tree, tmp_path, capsys, command):
    argv = commands(frame_tree, tmp_path / "out")[command]
    output = {"convert": "out.parquet", "export": "out", "build": "out/frames"}[command]
    lock = tmp_path / Path(output).parent / f".{Path(output).name}.lock"
    lock.mkdir(parents=True)
    assert cli_main([*argv, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"its lock file '{lock}' is not a file" in err and "Traceback" not in err
