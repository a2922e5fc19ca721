"""A name longer than the file system allows is a clear error naming it, in every command."""

from __future__ import annotations

import argparse
import errno

import pytest

from atari_interleaved.cli.app import main as cli_main
from atari_interleaved.cli.app import run_command

LONG = "n" * 300


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["sample", "--envs", "pong", "--output-dir", f"out/{LONG}"], "--output-dir"),
        (["convert", "--input-dir", LONG], "--input-dir"),
        (["convert", "--input-dir", "{tree}", "--output-file", f"{LONG}.parquet"], "--output-file"),
        (["export", "--input-dir", f"{LONG}/x"], "--input-dir"),
        (["export", "--input-dir", "{tree}", "--output-dir", LONG], "--output-dir"),
        (["verify", LONG], "FOLDER"),
        (["preview", "{tree}", "--output-dir", LONG], "--output-dir"),
        (["build", "--hub-dir", LONG], "--hub-dir"),
    ],
)
def test_a_too_long_name_is_refused_naming_it(
    frame_tree, tmp_path, monkeypatch, capsys, args, flag
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        cli_main([arg.format(tree=frame_tree) for arg in args])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {flag}: the name 'nnnnnnnnnnnnnnnnnnnnnnnn...' is " in error
    assert "Traceback" not in error and "Errno" not in error
    assert list(tmp_path.iterdir()) == []


def test_a_too_long_name_made_later_is_a_clear_error(tmp_path, capsys):
    def command(args: argparse.Namespace) -> int:
        (tmp_path / LONG).mkdir()
        return 0

    assert run_command(command, argparse.Namespace()) == 2
    message = capsys.readouterr().err
    assert message.startswith(f"error: cannot use '{tmp_path / LONG}': a folder or file name")
    assert "longer than the file system allows" in message


def test_other_os_errors_are_not_hidden():
    def command(args: argparse.Namespace) -> int:
        raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(OSError, match="Input/output error"):
        run_command(command, argparse.Namespace())
