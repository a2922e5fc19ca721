"""Running sampling tasks as Ray tasks, on a local Ray instance or on a Ray cluster.

Each chunk of episodes (see ``tasks.py``) runs as a Ray task on one CPU. Workers write their
episodes straight to the sink, so on a cluster the output folder must be on a filesystem
every node can read and write (NFS, a cluster file system) and ``atari-interleaved`` must be
installed on every node. Ray reuses its worker processes, so a worker keeps the emulators of
the games it played (the cache in ``tasks.py``) from one chunk to the next.

A task is a Ray generator that yields the summary of each episode as soon as it is written,
so the progress bar moves one episode at a time as with the local backend.
Episodes are the same bytes whichever backend samples them: an episode's content depends on
the settings, its game and its number only.

A failing task stops the run with its error and is not retried: its written episodes are
complete, and a rerun of the same command samples the rest.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any

from atari_interleaved.core.errors import InvalidArgumentError
from atari_interleaved.core.optional import import_optional
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate.chunks import Chunk
from atari_interleaved.generate.worker_loop import EpisodeSink, EpisodeSummary, Report, sample_chunk

__all__ = ["CONNECT_TIMEOUT_SECONDS", "check_address", "import_ray", "run_ray"]

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


def _sample_task(
    chunk: Chunk, settings: EpisodeSettings, sink: EpisodeSink
) -> Iterator[EpisodeSummary]:
    """Sample a chunk in a Ray worker, yielding each episode's summary once it is written."""
    yield from sample_chunk(chunk, settings, sink)


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
    on_episode: Callable[[Report], None],
    address: str | None = None,
) -> None:
    """Sample ``chunks`` as Ray tasks, ``parallel`` at a time, calling ``on_episode`` per episode.

    Args:
        chunks: the work, run in this order as workers free up.
        settings: what decides the content of an episode.
        sink: where workers write episodes (a frame tree or parquet shards); it is sent to
            the workers, so it must be picklable and its folder reachable from every node.
        parallel: tasks running at once; a local Ray instance gets this many CPUs.
        on_episode: called in this process for every episode written.
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
        _run(ray, chunks, settings, sink, parallel, on_episode)
    finally:
        if owned:
            ray.shutdown()


def _run(
    ray: ModuleType,
    chunks: Sequence[Chunk],
    settings: EpisodeSettings,
    sink: EpisodeSink,
    parallel: int,
    on_episode: Callable[[Report], None],
) -> None:
    task = ray.remote(num_cpus=1, max_retries=0, num_returns="streaming")(_sample_task)
    waiting = list(reversed(chunks))
    running: list[Any] = []
    try:
        while waiting or running:
            while waiting and len(running) < parallel:
                running.append(task.remote(waiting.pop(), settings, sink))
            ready, _ = ray.wait(running, num_returns=1, timeout=_POLL_SECONDS)
            for generator in ready:
                try:
                    reference = next(generator)
                except StopIteration:
                    running.remove(generator)
                else:
                    on_episode(ray.get(reference))
    except BaseException:
        for generator in running:
            ray.cancel(generator)
        raise
