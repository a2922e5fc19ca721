"""Running sampling tasks in worker processes on this machine."""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from atari_interleaved.generate.settings import EpisodeSettings
from atari_interleaved.generate.tasks import Chunk, EpisodeSummary, sample_chunk

__all__ = ["run_local"]

_progress: Any = None


def _init_worker(progress: Any) -> None:
    global _progress
    _progress = progress


def _run_in_worker(chunk: Chunk, settings: EpisodeSettings, sink: Any) -> list[EpisodeSummary]:
    return sample_chunk(chunk, settings, sink.write, _progress.put)


def run_local(
    chunks: Sequence[Chunk],
    settings: EpisodeSettings,
    sink: Any,
    parallel: int,
    on_episode: Callable[[EpisodeSummary], None],
) -> None:
    """Sample ``chunks`` with ``parallel`` processes, calling ``on_episode`` as episodes finish.

    With one process the work runs here, without a pool. A worker that fails stops the run
    with its error; episodes already written stay, complete.
    """
    if parallel == 1:
        for chunk in chunks:
            sample_chunk(chunk, settings, sink.write, on_episode)
        return
    context = multiprocessing.get_context("fork")
    progress = context.Queue()
    with ProcessPoolExecutor(
        max_workers=parallel, mp_context=context, initializer=_init_worker, initargs=(progress,)
    ) as pool:
        pending: set[Future[list[EpisodeSummary]]] = {
            pool.submit(_run_in_worker, chunk, settings, sink) for chunk in chunks
        }
        try:
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(progress, on_episode)
                for future in done:
                    future.result()
            _drain(progress, on_episode)
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _drain(progress: Any, on_episode: Callable[[EpisodeSummary], None]) -> None:
    while True:
        try:
            on_episode(progress.get_nowait())
        except queue.Empty:
            return
