"""A disk that fills while ``export`` or ``convert`` writes: one error line, nothing left."""

from __future__ import annotations

import pytest

from atari_interleaved.cli.app import main as cli_main
from tests.fixtures.mounts import fill_disk

OUTPUTS = {"export": ("--output-dir", "hub"), "convert": ("--output-file", "rows.parquet")}


@pytest.mark.parametrize("command", list(OUTPUTS))
def test_a_full_disk_is_one_error_line_and_leaves_nothing(frame_tree, small_disk, capsys, command):
    fill_disk(small_disk, leave=16 * 1024)  # room for the first frames only
    before = sorted(path.name for path in small_disk.iterdir())
    flag, name = OUTPUTS[command]
    output = small_disk / name
    argv = [command, "--input-dir", str(frame_tree), flag, str(output), "--no-progress"]
    assert cli_main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: writing {flag} {str(output)!r} failed: ")
    assert "No space left on device" in lines[0] and "rerun the same command" in lines[0]
    assert sorted(path.name for path in small_disk.iterdir()) == before  # no temporary, no lock
