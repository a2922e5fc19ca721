"""The progress of a sampling run, counted in frames: a bar in a terminal, lines in a log.

With the search planner an episode of thousands of frames takes minutes, so a count of
episodes would sit at 0% for as long. Workers report the frames of the episodes they are
sampling (:class:`~atari_interleaved.generate.worker_loop.FramesSampled`, every half
second or so, on either backend), and this counts them beside the
episodes done. The total is the most frames the episodes can have (``--frames-per-env``
each) and comes down as episodes end early. In a terminal a tqdm bar shows frames, the
episodes done and the frames/s of the last seconds; when stderr is not a terminal (a log
file, a CI job), a line is written every ``log_seconds`` instead.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from tqdm.auto import tqdm

from atari_interleaved.generate.worker_loop import EpisodeSummary, FramesSampled, Report

__all__ = ["SamplingProgress"]

LOG_SECONDS = 30.0
"""Seconds between the progress lines written to a log (stderr not a terminal)."""
_RATE_WINDOW_SECONDS = 10.0
"""The frames/s figure is that of about the last this many seconds."""


class SamplingProgress:
    """Show how many frames and episodes a run has sampled, and how fast.

    Args:
        episodes: the episodes this run samples.
        frame_cap: the most frames an episode records.
        enabled: show anything at all (``--no-progress`` turns it off).
        stream: where to write (stderr by default).
        log_seconds: seconds between lines when ``stream`` is not a terminal
            (:data:`LOG_SECONDS` by default).

    """

    def __init__(
        self,
        episodes: int,
        frame_cap: int,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        log_seconds: float | None = None,
    ) -> None:
        self.episodes, self.frame_cap = episodes, frame_cap
        self.episodes_done = 0
        self.frames_done = 0  # of finished episodes
        self.total = episodes * frame_cap
        # Frames of the episodes under way, by game, level and number: a mixed run samples
        # the same numbers at each level, maybe at once.
        self._running: dict[tuple[str, float, int], int] = {}
        self._stream = sys.stderr if stream is None else stream
        self._log_seconds = LOG_SECONDS if log_seconds is None else log_seconds
        self._started = self._last_line = time.monotonic()
        self._samples: list[tuple[float, int]] = [(self._started, 0)]
        terminal = enabled and self._stream.isatty()
        self._logging = enabled and not terminal
        self._bar = tqdm(
            total=self.total,
            unit="frame",
            disable=not terminal,
            dynamic_ncols=True,
            file=self._stream,
            smoothing=0.1,
        )
        self._show()

    @property
    def frames(self) -> int:
        """Frames recorded so far, of finished episodes and of those being sampled."""
        return self.frames_done + sum(self._running.values())

    def frames_per_second(self) -> float:
        """Frames/s over about the last ``_RATE_WINDOW_SECONDS``."""
        now, frames = time.monotonic(), self.frames
        first_time, first_frames = self._samples[0]
        return (frames - first_frames) / max(now - first_time, 1e-9)

    def add(self, report: Report) -> None:
        """Count a worker's report: frames of an episode under way, or an episode written."""
        if isinstance(report, FramesSampled):
            key = (report.game, report.randomness, report.index)
            self._running[key] = self._running.get(key, 0) + report.count
        elif isinstance(report, EpisodeSummary):
            self._running.pop((report.game, report.randomness, report.index), None)
            self.frames_done += report.num_frames
            self.episodes_done += 1
            self.total -= self.frame_cap - report.num_frames  # it ended early
        self._show()

    def _show(self) -> None:
        now, frames = time.monotonic(), self.frames
        self._samples.append((now, frames))
        while len(self._samples) > 2 and now - self._samples[1][0] >= _RATE_WINDOW_SECONDS:
            self._samples.pop(0)
        rate = self.frames_per_second()
        if not self._bar.disable:
            self._bar.total = self.total
            self._bar.set_postfix_str(
                f"{self.episodes_done}/{self.episodes} episodes, {rate:.0f} frames/s",
                refresh=False,
            )
            self._bar.update(frames - self._bar.n)
        elif (
            self._logging
            and self.episodes
            and (now - self._last_line >= self._log_seconds or self._finished)
        ):
            self._last_line = now
            print(self.line(rate), file=self._stream, flush=True)

    @property
    def _finished(self) -> bool:
        return self.episodes_done == self.episodes

    def line(self, rate: float | None = None) -> str:
        """Return the progress as one line of text (what a log gets)."""
        rate = self.frames_per_second() if rate is None else rate
        return (
            f"sampled {self.frames:,} of at most {self.total:,} frames, "
            f"{self.episodes_done}/{self.episodes} episodes, {rate:.0f} frames/s"
        )

    def close(self) -> None:
        """End the bar."""
        self._bar.close()
