"""`sample --list-envs`: the games the sampler knows, one line each, and nothing else done."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from atari_interleaved.cli.app import main as cli_main


def test_list_envs_prints_every_game_and_its_environment_id(capsys):
    assert cli_main(["sample", "--list-envs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 104  # the ALE/<Game>-v5 games of ale-py 0.12.1
    assert lines[:2] == ["adventure\tALE/Adventure-v5", "air_raid\tALE/AirRaid-v5"]
    assert "montezuma_revenge\tALE/MontezumaRevenge-v5" in lines
    assert "pong\tALE/Pong-v5" in lines and lines[-1] == "zaxxon\tALE/Zaxxon-v5"
    assert all(line.split("\t")[1].startswith("ALE/") for line in lines)
    assert list(Path.cwd().iterdir()) == []


def test_a_reader_that_left_gets_no_traceback(tmp_path):
    # `atari-interleaved sample --list-envs | head -1`, made deterministic: the pipe's only
    # reader is closed before the command starts, so its first write finds no reader.
    reader, writer = os.pipe()
    os.close(reader)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "atari_interleaved.cli.app", "sample", "--list-envs"],
            stdout=writer, stderr=subprocess.PIPE, text=True, cwd=tmp_path, timeout=120,
        )  # fmt: skip
    finally:
        os.close(writer)
    assert result.stderr == ""
    assert result.returncode == 141
