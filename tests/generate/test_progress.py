"""Sampling progress is counted in frames, live within an episode, in a log as in a terminal."""

from __future__ import annotations

import io
import re

import pytest

from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate import progress, worker_loop
from atari_interleaved.generate.progress import SamplingProgress
from atari_interleaved.generate.sampler import sample
from atari_interleaved.generate.worker_loop import EpisodeSummary, FramesSampled

LINE = re.compile(r"^sampled (\d+) of at most (\d+) frames, (\d+)/(\d+) episodes, \d+ frames/s$")


def lines(text: str) -> list[tuple[int, ...]]:
    found = [LINE.match(line) for line in text.splitlines()]
    assert all(found), text
    return [tuple(int(value) for value in match.groups()) for match in found]


def test_frames_of_episodes_under_way_count_and_early_ends_lower_the_total():
    stream = io.StringIO()
    shown = SamplingProgress(2, 100, stream=stream, log_seconds=0)
    shown.add(FramesSampled("pong", 0, 30, 0.2))
    shown.add(FramesSampled("alien", 0, 10, 0.2))
    shown.add(FramesSampled("pong", 0, 20, 0.2))
    assert (shown.frames, shown.episodes_done, shown.total) == (60, 0, 200)
    shown.add(EpisodeSummary("pong", 0, 70, 0.0, "game_over", 1234, 0.2))  # 50 counted of 70
    assert (shown.frames, shown.episodes_done, shown.total) == (80, 1, 170)
    shown.add(EpisodeSummary("alien", 0, 100, 0.0, "frame_cap", 1234, 0.2))
    shown.close()
    assert lines(stream.getvalue()) == [
        (0, 200, 0, 2),
        (30, 200, 0, 2),
        (40, 200, 0, 2),
        (60, 200, 0, 2),
        (80, 170, 1, 2),
        (170, 170, 2, 2),
    ]


def test_a_log_gets_a_line_now_and_then_not_one_per_report():
    stream = io.StringIO()
    shown = SamplingProgress(1, 100, stream=stream, log_seconds=3600)
    for _ in range(50):
        shown.add(FramesSampled("pong", 0, 1, 0.2))
    shown.add(EpisodeSummary("pong", 0, 50, 0.0, "game_over", 1, 0.2))
    assert lines(stream.getvalue()) == [(50, 50, 1, 1)]  # the last one only
    assert SamplingProgress(1, 100, stream=io.StringIO(), enabled=False)._logging is False


def test_episodes_of_two_levels_with_one_number_are_counted_apart():
    # A mixed run samples episode 0 at each level, maybe at once: one ending must not drop
    # the frames of the other (the rate went negative).
    shown = SamplingProgress(2, 100, stream=io.StringIO(), log_seconds=0)
    shown.add(FramesSampled("pong", 0, 30, 0.0))
    shown.add(FramesSampled("pong", 0, 20, 1.0))
    shown.add(EpisodeSummary("pong", 0, 40, 0.0, "game_over", 1, 0.0))
    assert shown.frames == 60
    assert shown.frames_per_second() >= 0
    shown.add(EpisodeSummary("pong", 0, 25, 0.0, "game_over", 1, 1.0))
    assert shown.frames == 65
    shown.close()


@pytest.mark.parametrize("parallel", [1, 2])
def test_a_run_reports_frames_before_its_first_episode_ends(
    tmp_path, monkeypatch, capsys, parallel
):
    monkeypatch.setattr(worker_loop, "FRAME_REPORT_SECONDS", 0.0)
    monkeypatch.setattr(progress, "LOG_SECONDS", 0.0)
    settings = EpisodeSettings(frame_cap=40, policy="repeat")
    sample(tmp_path / "tree", envs=["pong"], max_episodes=2, parallel=parallel,
           settings=settings, progress=True)  # fmt: skip
    shown = lines(capsys.readouterr().err)
    during_first = [frames for frames, _, done, _ in shown if done == 0 and 0 < frames < 40]
    assert len(during_first) >= 10  # frame by frame, not once per episode
    assert shown[-1][:4] == (80, 80, 2, 2)
    assert [frames for frames, *_ in shown] == sorted(frames for frames, *_ in shown)
