"""Running sampling tasks in worker processes on this machine."""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from atari_interleaved.core.errors import WorkerEndedError
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate.chunks import Chunk
from atari_interleaved.generate.worker_loop import EpisodeSink, EpisodeSummary, Report, sample_chunk
from atari_interleaved.storage.workers import die_with_parent

__all__ = ["run_local"]

_progress: Any = None
_FINAL_WAIT_SECONDS = 30.0


def _init_worker(progress: Any, parent_pid: int) -> None:
    global _progress
    die_with_parent(parent_pid)
    _progress = progress


def _run_in_worker(chunk: Chunk, settings: EpisodeSettings, sink: EpisodeSink) -> None:
    try:
        for summary in sample_chunk(chunk, settings, sink, _progress.put):
            _progress.put(summary)
    except KeyboardInterrupt:
        # Ctrl-C reaches every process of the run. Once the episode being written is removed
        # (by the sink, on the way here), the worker ends: the pool would otherwise hand it
        # the chunks already queued, and the run would go on after Ctrl-C.
        os._exit(130)


def run_local(
    chunks: Sequence[Chunk],
    settings: EpisodeSettings,
    sink: EpisodeSink,
    parallel: int,
    on_report: Callable[[Report], None],
) -> None:
    """Sample ``chunks`` with ``parallel`` processes, calling ``on_report`` as they progress.

    ``on_report`` gets the frames of episodes being sampled (``FramesSampled``) and each
    episode's summary once it is written.

    With one process the work runs here, without a pool. A worker that fails stops the run
    with its error; episodes already written stay, complete. Workers end with this process,
    even when it is killed.
    """
    if parallel == 1:
        for chunk in chunks:
            for summary in sample_chunk(chunk, settings, sink, on_report):
                on_report(summary)
        return
    context = multiprocessing.get_context("fork")
    progress = context.Queue()
    expected = sum(len(chunk.indices) for chunk in chunks)
    received = 0

    def receive(block: bool) -> None:
        nonlocal received
        while received < expected:
            try:
                report = (
                    progress.get(timeout=_FINAL_WAIT_SECONDS) if block else progress.get_nowait()
                )
            except queue.Empty:
                if block:
                    raise RuntimeError(
                        f"workers finished but reported {received} of {expected} episodes"
                    ) from None
                return
            received += isinstance(report, EpisodeSummary)
            on_report(report)

    with ProcessPoolExecutor(
        max_workers=parallel,
        mp_context=context,
        initializer=_init_worker,
        initargs=(progress, os.getpid()),
    ) as pool:
        pending: set[Future[None]] = {
            pool.submit(_run_in_worker, chunk, settings, sink) for chunk in chunks
        }
        try:
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                receive(block=False)
                for future in done:
                    try:
                        future.result()
                    except BrokenProcessPool:
                        raise WorkerEndedError(
                            "a worker process of the run ended abruptly (killed, by the system "
                            "when memory ran out or by the policy); the episodes completed "
                            "before it are kept: rerun the same command to resume, with a "
                            "smaller --parallel if memory ran out"
                        ) from None
            # A summary put just before its worker finished may not be readable yet.
            receive(block=True)
        except BaseException:
            for future in pending:
                future.cancel()
            raise
