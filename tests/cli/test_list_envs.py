"""`sample --list-envs`: the games the sampler knows, one line each, and nothing else done."""

from __future__ import annotations

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
