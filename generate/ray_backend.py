"""Running sampling tasks as Ray tasks, on a local Ray instance or on a Ray cluster.

Each chunk of episodes (see ``chunks.py``) runs as a Ray task on one CPU. Workers write their
episodes straight to the sink, so on a cluster the output is an object store prefix
(``--to-parquet --output-dir s3://...``) or a folder on a filesystem every node mounts (NFS),
and ``atari-interleaved`` must be installed on every node. Ray reuses its worker processes,
so a worker keeps the emulators of the games it played (the cache in ``worker_loop.py``) from
one chunk to the next.

A task is a Ray generator: it yields where it runs (:class:`TaskPlaced`, its node), the frames
of the episode under way every half second (sampled in a thread of the task) and each
episode's summary once written, so the progress bar moves per frame as with the local
backend. Episodes are the same bytes whichever backend samples them: an episode's content
depends on the settings, its game and its number only.

A task that raises stops the run with its error. A task lost with its worker or node (a node
removed, a machine gone) is run again elsewhere, up to :data:`ATTEMPTS` times in all: a
chunk's output is put whole, once complete, so a rerun writes the same bytes and nothing
twice; its episodes are counted once. Past that the run stops with one error, and a rerun of
the same command samples what is missing.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any

from atari_interleaved.core.errors import InvalidArgumentError, WorkerEndedError
from atari_interleaved.core.optional import import_optional
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate.chunks import Chunk
from atari_interleaved.generate.worker_loop import (
    EpisodeSink,
    EpisodeSummary,
    Report,
    TaskPlaced,
    sample_chunk,
)

__all__ = ["ATTEMPTS", "CONNECT_TIMEOUT_SECONDS", "check_address", "import_ray", "run_ray"]

ATTEMPTS = 3
"""Runs of a chunk whose task was lost with its worker or node, before the run stops."""

CONNECT_TIMEOUT_SECONDS = 10.0
"""How long :func:`check_address` waits for a cluster's head node to answer."""

_POLL_SECONDS = 0.2
_CHECK_FIX = "check the address and that the cluster is up (`ray status` on its head node)"


def import_ray() -> ModuleType:
    """Return the ``ray`` module.

    Raises:
        DependencyNotInstalledError: if Ray is not installed, with the command that installs it.

    """
    return import_optional("ray", "--backend ray", "ray")


def check_address(address: str | None) -> None:
    """Check that something answers at a Ray cluster address, within a bounded time.

    Ray itself retries a dead address for minutes; this opens one TCP connection to the
    head node (``HOST:PORT`` or ``ray://HOST:PORT``) first. ``None`` (a local instance) and
    ``auto`` (resolved by Ray from this machine's running cluster) are not checked.

    Raises:
        InvalidArgumentError: if the address is malformed or nothing answers there.

    """
    if address is None or address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidArgumentError(
            f"--ray-address {address!r} is not HOST:PORT, ray://HOST:PORT or auto "
            "(for example 10.0.0.1:6379)"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), CONNECT_TIMEOUT_SECONDS):
            pass
    except OSError as error:
        reason = "no answer" if isinstance(error, TimeoutError) else error.strerror or error
        raise InvalidArgumentError(
            f"--ray-address {address!r}: no Ray cluster answers there ({reason} within "
            f"{CONNECT_TIMEOUT_SECONDS:.0f} s); {_CHECK_FIX}"
        ) from None


_DONE = object()


class _Stopped(Exception):
    """Raised in a task's sampling thread once the task has ended (cancelled, failed)."""


def _sample_task(chunk: Chunk, settings: EpisodeSettings, sink: EpisodeSink) -> Iterator[Report]:
    """Sample a chunk in a Ray worker, yielding its node, then its reports as they come.

    The sampling runs in a thread, whose reports (frames under way, episodes written) this
    generator yields: a generator cannot yield from the emulator's per-frame callback. When
    the task ends early (cancelled with the run), the thread stops at its next report, and
    what it had not finished is removed by the sink.
    """
    import ray

    yield TaskPlaced(chunk, ray.get_runtime_context().get_node_id())
    reports: queue.Queue[Any] = queue.Queue()
    stop = threading.Event()

    def report(message: Report) -> None:
        if stop.is_set():
            raise _Stopped
        reports.put(message)

    def work() -> None:
        try:
            for summary in sample_chunk(chunk, settings, sink, report):
                report(summary)
        except BaseException as error:  # handed to the task, which raises it
            reports.put(error)
        else:
            reports.put(_DONE)

    threading.Thread(target=work, name="sample-chunk", daemon=True).start()
    try:
        while (message := reports.get()) is not _DONE:
            if isinstance(message, BaseException):
                raise message
            yield message
    finally:
        stop.set()


def _connect(ray: ModuleType, address: str | None, parallel: int) -> None:
    options: dict[str, Any] = {
        "include_dashboard": False,
        "logging_level": logging.ERROR,
        "configure_logging": True,
    }
    if address is None:
        # A new instance on this machine, even if a cluster was started here with `ray start`.
        ray.init(address="local", num_cpus=parallel, **options)
        return
    try:
        ray.init(address=address, **options)
    except ConnectionError as error:
        raise InvalidArgumentError(
            f"--ray-address {address!r}: could not connect to a Ray cluster ({error}); {_CHECK_FIX}"
        ) from error


def run_ray(
    chunks: Sequence[Chunk],
    settings: EpisodeSettings,
    sink: EpisodeSink,
    parallel: int,
    on_report: Callable[[Report], None],
    address: str | None = None,
) -> None:
    """Sample ``chunks`` as Ray tasks, ``parallel`` at a time, calling ``on_report`` as they go.

    Args:
        chunks: the work, run in this order as workers free up.
        settings: what decides the content of an episode.
        sink: where workers write episodes (a frame tree or parquet shards); it is sent to
            the workers, so it must be picklable and its folder reachable from every node.
        parallel: tasks running at once; a local Ray instance gets this many CPUs.
        on_report: called in this process with each task's node (:class:`TaskPlaced`), the
            frames of episodes under way and each episode written (once, whatever reruns).
        address: a running Ray cluster (``auto``, ``<host>:6379``, ``ray://<host>:10001``);
            None starts a local Ray instance for this run. When Ray is already initialised in
            this process, that connection is used and ``address`` is ignored.

    Raises:
        DependencyNotInstalledError: if Ray is not installed.
        InvalidArgumentError: if no Ray cluster answers at ``address``.

    """
    ray = import_ray()
    owned = not ray.is_initialized()
    if owned:
        _connect(ray, address, parallel)
    try:
        _run(ray, chunks, settings, sink, parallel, on_report)
    finally:
        if owned:
            ray.shutdown()


def _run(
    ray: ModuleType,
    chunks: Sequence[Chunk],
    settings: EpisodeSettings,
    sink: EpisodeSink,
    parallel: int,
    on_report: Callable[[Report], None],
) -> None:
    task = ray.remote(num_cpus=1, max_retries=0, num_returns="streaming")(_sample_task)
    waiting = list(reversed(chunks))
    running: dict[Any, Chunk] = {}
    attempts = dict.fromkeys(chunks, 0)
    counted: set[tuple[Chunk, int]] = set()  # episodes reported, by an earlier run of the task
    try:
        while waiting or running:
            while waiting and len(running) < parallel:
                chunk = waiting.pop()
                attempts[chunk] += 1
                running[task.remote(chunk, settings, sink)] = chunk
            ready, _ = ray.wait(list(running), num_returns=1, timeout=_POLL_SECONDS)
            for generator in ready:
                chunk = running[generator]
                try:
                    report = ray.get(next(generator))
                except StopIteration:
                    del running[generator]
                    continue
                except ray.exceptions.RayTaskError:
                    raise
                except ray.exceptions.RayError as error:
                    del running[generator]
                    _lost(chunk, attempts[chunk], error)
                    waiting.append(chunk)
                    continue
                if isinstance(report, EpisodeSummary):
                    if (chunk, report.index) in counted:
                        continue
                    counted.add((chunk, report.index))
                on_report(report)
    except BaseException:
        for generator in running:
            ray.cancel(generator)
        raise


def _lost(chunk: Chunk, attempt: int, error: Exception) -> None:
    """Log a task lost with its worker or node, or stop the run after :data:`ATTEMPTS`."""
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    if attempt >= ATTEMPTS:
        raise WorkerEndedError(
            f"the Ray task of {chunk.game} episodes {list(chunk.indices)} was lost {attempt} "
            f"times with its worker or node ({type(error).__name__}: {reason}); the shards "
            "completed are kept: check the cluster (`ray status`), then rerun the same command "
            "to resume"
        ) from None
    logging.getLogger(__name__).warning(
        "the Ray task of %s episodes %s was lost with its worker or node (%s); running it again",
        chunk.game,
        list(chunk.indices),
        type(error).__name__,
    )
