"""Worker processes: how many are worth starting, and making them die with their parent.

Sampling and converting are CPU-bound, so a worker process beyond the CPUs this process may
run on, or beyond the tasks there are, only costs memory and start-up time:
:func:`worker_count` caps a requested count at both and says so.

A worker forked by a pool keeps running when its parent is killed (``kill -9``, a supervisor
signalling one process), and would go on writing into an output folder that a rerun is
using. :func:`die_with_parent`, called first in every worker, prevents it: on Linux the
kernel sends the worker SIGKILL when its parent ends (``prctl(PR_SET_PDEATHSIG)``); elsewhere
a daemon thread checks every half second that the parent is still the same process and
ends the worker when it is not.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading

__all__ = ["usable_cpus", "worker_count", "die_with_parent"]

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_WATCH_SECONDS = 0.5


def usable_cpus() -> int:
    """Return the CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def worker_count(requested: int, tasks: int, *, flag: str, cpu_bound: bool = True) -> int:
    """Return how many workers to start for ``tasks`` tasks when ``requested`` were asked for.

    The count is capped at the number of tasks and, for ``cpu_bound`` work on this machine,
    at :func:`usable_cpus`; when more were asked than there are CPUs, a warning naming
    ``flag`` says so.

    >>> worker_count(4, 2, flag="--parallel", cpu_bound=False)
    2
    >>> worker_count(1, 0, flag="--parallel")
    1
    """
    count = min(requested, max(1, tasks))
    if cpu_bound and requested > (cpus := usable_cpus()):
        count = min(count, cpus)
        logger.warning(
            "%s %d capped at %d processes (the CPUs this process may use: %d, the tasks to "
            "run: %d); more would not help",
            flag,
            requested,
            count,
            cpus,
            tasks,
        )
    return count


def _set_parent_death_signal() -> bool:
    """Ask Linux to SIGKILL this process when its parent ends; return whether it worked."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int) -> None:
    stopped = threading.Event()
    while not stopped.wait(_WATCH_SECONDS):
        if os.getppid() != parent_pid:
            os._exit(1)


def die_with_parent(parent_pid: int) -> None:
    """End this (worker) process as soon as process ``parent_pid``, its parent, ends.

    Call it first in a worker; ``parent_pid`` is ``os.getpid()`` of the parent, taken before
    the fork. If the parent already ended, the worker exits at once.
    """
    if not _set_parent_death_signal():
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    # The parent may have ended between the fork and the call above.
    if os.getppid() != parent_pid:
        os._exit(1)
