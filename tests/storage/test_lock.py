"""One run at a time per output, and what a killed run left beside it is cleaned up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from atari_interleaved import FrameWindows, StreamingFrameWindows
from atari_interleaved.core.errors import InvalidArgumentError, OutputInUseError
from atari_interleaved.publishing.export import export
from atari_interleaved.storage.lock import lock_path, output_lock, remove_stale_temporaries

HOLDER = textwrap.dedent(
    """
    import sys
    from atari_interleaved.storage.lock import output_lock
    with output_lock(sys.argv[1]):
        print("held", flush=True)
        sys.stdin.read()
    """
)


@pytest.fixture
def holder():
    """Start a real process holding the lock of a path until its stdin closes."""
    started = []

    def hold(path: Path) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        started.append(process)
        assert process.stdout.readline() == "held\n"
        return process

    yield hold
    for process in started:
        process.kill()
        process.wait()


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "atari_interleaved.cli.app", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_second_holder_is_refused_naming_the_first(tmp_path, holder):
    output = tmp_path / "data.parquet"
    first = holder(output)
    with pytest.raises(OutputInUseError, match=rf"data.parquet' is in use .* process {first.pid} "):
        with output_lock(output):
            pass
    with pytest.raises(OutputInUseError, match="in use"):  # another spelling of the same path
        with output_lock(tmp_path / "." / "data.parquet"):
            pass
    first.stdin.close()
    first.wait(timeout=30)
    assert not lock_path(output).exists()
    with output_lock(output):
        with output_lock(output):  # nested holds in one process (build, then its steps)
            assert lock_path(output).exists()
    assert not lock_path(output).exists()


def test_the_lock_of_a_killed_process_does_not_block(tmp_path, holder):
    output = tmp_path / "frames"
    first = holder(output)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    assert str(first.pid) in lock_path(output).read_text()  # left behind, but not held
    with output_lock(output):
        assert str(os.getpid()) in lock_path(output).read_text()
    assert not lock_path(output).exists()


@pytest.mark.parametrize(
    "args",
    [
        ["sample", "--envs", "pong", "--max-episodes", "1", "--seed", "2", "--output-dir", "out"],
        ["convert", "--input-dir", "{tree}", "--output-file", "out/data.parquet"],
        ["export", "--input-dir", "{tree}", "--output-dir", "out/hub"],
    ],
)
def test_sample_convert_and_export_refuse_an_output_in_use(frame_tree, tmp_path, holder, args):
    output = tmp_path / args[-1]
    first = holder(output)
    result = cli(*(arg.format(tree=frame_tree) for arg in args), "--no-progress", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"error: '{args[-1]}' is in use by another run: process {first.pid} (" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(path.name for path in output.parent.iterdir()) == [f".{output.name}.lock"]


def test_readers_refuse_data_that_a_run_is_still_writing(
    tree_copy, direct_folder, holder, tmp_path
):
    writer = holder(tree_copy)
    for args in (
        ["export", "--input-dir", str(tree_copy), "--output-dir", "hub"],
        ["convert", "--input-dir", str(tree_copy / "atari_pong"), "--output-file", "x.parquet"],
        ["preview", str(tree_copy)],
    ):
        result = cli(*args, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert f"'{tree_copy}' is being written by another run: process {writer.pid} (" in (
            result.stderr
        )
        assert "Traceback" not in result.stderr
        assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
            [tree_copy.name, f".{tree_copy.name}.lock"]
        )
    with pytest.raises(OutputInUseError, match=rf"process {writer.pid} "):
        FrameWindows(tree_copy, 4, cache_dir=tmp_path / "cache")
    writer.stdin.close()
    writer.wait(timeout=30)
    assert len(FrameWindows(tree_copy, 4, cache_dir=tmp_path / "cache")) > 0
    shards = holder(direct_folder)
    with pytest.raises(OutputInUseError, match=rf"process {shards.pid} "):
        StreamingFrameWindows(direct_folder, 4)
    with pytest.raises(OutputInUseError, match=rf"process {shards.pid} "):
        export(direct_folder, tmp_path / "hub")
    shards.stdin.close()  # released: the shared folder is left as it was
    shards.wait(timeout=30)
    assert not lock_path(direct_folder).exists()
    with output_lock(tree_copy):  # this process's own output (build reads what it sampled)
        assert len(FrameWindows(tree_copy, 4, cache_dir=tmp_path / "cache")) > 0


def test_a_rerun_removes_the_temporaries_of_dead_runs_only(frame_tree, tmp_path):
    dead, alive = dead_pid(), os.getpid()
    stale = tmp_path / f".tmp-data.parquet-{dead}"
    stale.write_bytes(b"half a parquet file")
    running = tmp_path / f".tmp-data.parquet-{alive}"
    running.write_bytes(b"being written")
    unrelated = tmp_path / f".tmp-other.parquet-{dead}"
    unrelated.write_bytes(b"not ours")
    result = cli("convert", "--input-dir", str(frame_tree), "--output-file", "data.parquet",
                 "--no-progress", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["data.parquet", running.name, unrelated.name]
    )


@pytest.mark.parametrize("kind", ["link to a file", "dangling link", "folder"])
def test_a_lock_path_that_is_not_a_plain_file_is_refused_untouched(tmp_path, kind):
    output = tmp_path / "data.parquet"
    users = tmp_path / "notes.txt"
    users.write_text("the user's own file")
    path = lock_path(output)
    if kind == "folder":
        path.mkdir()
    else:
        path.symlink_to(users if kind == "link to a file" else tmp_path / "nowhere")
    with pytest.raises(InvalidArgumentError, match=rf"lock file '{path}' is .*move that away"):
        with output_lock(output):
            pass
    assert users.read_text() == "the user's own file"
    assert not (tmp_path / "nowhere").exists()
    assert path.is_dir() if kind == "folder" else path.is_symlink()


def test_temporaries_of_temporaries_of_a_killed_run_are_removed(tmp_path):
    dead = dead_pid()
    nested = tmp_path / f".tmp-.tmp-data.parquet-{dead}-0a1b2c3d-{dead}-4e5f6a7b"
    nested.write_bytes(b"what a killed build's convert left")
    live = tmp_path / f".tmp-.tmp-data.parquet-{dead}-0a1b2c3d-{os.getpid()}-4e5f6a7b"
    live.write_bytes(b"still being written")
    other = tmp_path / f".tmp-data.parquet-2-{dead}-0a1b2c3d"  # a temporary of data.parquet-2
    other.write_bytes(b"not ours")
    with output_lock(tmp_path / "data.parquet"):
        assert remove_stale_temporaries(tmp_path / "data.parquet") == [nested]
    assert sorted(tmp_path.iterdir()) == sorted([live, other])


def test_an_export_killed_while_swapping_gets_its_old_folder_back(tmp_path):
    output = tmp_path / "hub"
    old = tmp_path / f".tmp-hub-old-{dead_pid()}"
    old.mkdir()
    (old / "README.md").write_text("the earlier export")
    staging = tmp_path / f".tmp-hub-{dead_pid()}"
    staging.mkdir()
    with output_lock(output):
        removed = remove_stale_temporaries(output)
    assert removed == [staging]
    assert (output / "README.md").read_text() == "the earlier export"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["hub"]


def test_a_folder_in_a_parent_it_cannot_write_holds_its_lock_inside(tmp_path, monkeypatch):
    mount_point = tmp_path / "mnt"
    mount_point.mkdir()
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path)
    assert lock_path(mount_point) == mount_point / ".atari-interleaved.lock"
    with output_lock(mount_point):
        assert (mount_point / ".atari-interleaved.lock").is_file()
    assert list(tmp_path.rglob("*")) == [mount_point]
