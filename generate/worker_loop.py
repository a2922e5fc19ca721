"""What a worker process runs on one task: sample a chunk's episodes into a sink, in order.

A worker keeps the emulators of the last few games it ran, so the chunks of one game it gets
one after another load the ROM once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from atari_interleaved.core.episode import Episode
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate.chunks import Chunk
from atari_interleaved.generate.emulator import GameEmulator

__all__ = [
    "EpisodeSink",
    "EpisodeSummary",
    "FramesSampled",
    "Report",
    "TaskPlaced",
    "sample_chunk",
]

_EMULATORS_PER_WORKER = 2


@dataclass(frozen=True)
class EpisodeSummary:
    """What a worker reports of an episode it wrote."""

    game: str
    index: int
    num_frames: int
    episode_return: float
    end_reason: str
    bytes_written: int
    randomness: float
    """The episode's level (episodes of several levels share their numbers)."""


@dataclass(frozen=True)
class FramesSampled:
    """Frames of an episode still being sampled, recorded since its last report."""

    game: str
    index: int
    count: int
    randomness: float


@dataclass(frozen=True)
class TaskPlaced:
    """A chunk's task started on a node of a Ray cluster (its node id)."""

    chunk: Chunk
    node: str


Report = EpisodeSummary | FramesSampled | TaskPlaced
"""What a worker sends while it samples: progress within an episode, or an episode done
(and on Ray, where a chunk's task runs)."""

FRAME_REPORT_SECONDS = 0.5
"""Frames are reported at most this often per worker (a planner records a few a second)."""


class _FrameCounter:
    """Count the frames of one episode, reporting them at most every FRAME_REPORT_SECONDS."""

    def __init__(
        self, game: str, index: int, randomness: float, report: Callable[[Report], None]
    ) -> None:
        self.game, self.index, self.randomness, self.report = game, index, randomness, report
        self.pending = 0
        self.last = time.monotonic()

    def __call__(self) -> None:
        self.pending += 1
        now = time.monotonic()
        if now - self.last >= FRAME_REPORT_SECONDS:
            self.report(FramesSampled(self.game, self.index, self.pending, self.randomness))
            self.pending, self.last = 0, now


class _EmulatorCache:
    """The few most recently used games' emulators of one worker process."""

    def __init__(self) -> None:
        self._emulators: OrderedDict[tuple[str, EpisodeSettings], GameEmulator] = OrderedDict()

    def get(self, game: str, settings: EpisodeSettings) -> GameEmulator:
        key = (game, settings)
        if key in self._emulators:
            self._emulators.move_to_end(key)
        else:
            self._emulators[key] = GameEmulator(game, settings)
            while len(self._emulators) > _EMULATORS_PER_WORKER:
                self._emulators.popitem(last=False)
        return self._emulators[key]


_CACHE = _EmulatorCache()


class EpisodeSink(Protocol):
    """Where workers put episodes: a frame tree (``FolderStore``) or parquet shards."""

    def chunk_writer(self, chunk: Chunk) -> AbstractContextManager[Callable[[Episode], int]]:
        """Open the output of ``chunk``; the function it gives writes an episode."""
        ...


def sample_chunk(
    chunk: Chunk,
    settings: EpisodeSettings,
    sink: EpisodeSink,
    report: Callable[[Report], None] | None = None,
) -> Iterator[EpisodeSummary]:
    """Sample the episodes of ``chunk`` into ``sink``, yielding each one's summary once written.

    Runs in a worker process; emulators are reused across the chunks a worker gets. The
    chunk's output is complete once the generator is exhausted. ``report`` is given
    :class:`FramesSampled` while an episode is sampled.
    """
    emulator = _CACHE.get(chunk.game, settings)
    with sink.chunk_writer(chunk) as write:
        for index in chunk.indices:
            counter = (
                None
                if report is None
                else _FrameCounter(chunk.game, index, chunk.randomness, report)
            )
            episode = emulator.run_episode(index, chunk.randomness, counter)
            written = write(episode)
            metadata = episode.metadata
            yield EpisodeSummary(
                game=chunk.game,
                index=index,
                num_frames=episode.num_frames,
                episode_return=metadata.episode_return if metadata else 0.0,
                end_reason=metadata.end_reason if metadata else "frame_cap",
                bytes_written=written,
                randomness=chunk.randomness,
            )
