"""A base policy plug-in that stops sampling at a chosen point, for interruption tests.

``--policy tests.blocking_policy:make_policy`` repeats the previous action, like ``repeat``.
With ``BLOCK_DIR`` and ``BLOCK_AFTER=N`` in the environment, the first N episodes (counted
across all worker processes with exclusive files ``BLOCK_DIR/start-<i>``) run; every later
one blocks in the factory, before anything of it is written, after creating
``BLOCK_DIR/blocked-<pid>``. Once every worker has such a file, exactly N episodes are
written and every worker is idle in a known place: the test can kill the run there.
Without ``BLOCK_DIR`` it never blocks, so a rerun with the same ``--policy`` (the same
settings) finishes the run.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

__all__ = ["make_policy"]


def _repeat(observation: Any, previous_action: int, *_: Any, **__: Any) -> int:
    return previous_action


_repeat.needs_observation = False  # type: ignore[attr-defined]


def _block_if_past_the_point() -> None:
    folder = os.environ.get("BLOCK_DIR")
    if not folder:
        return
    slot = 0
    while True:
        try:
            os.close(os.open(Path(folder) / f"start-{slot}", os.O_CREAT | os.O_EXCL))
            break
        except FileExistsError:
            slot += 1
    if slot >= int(os.environ["BLOCK_AFTER"]):
        (Path(folder) / f"blocked-{os.getpid()}").touch()
        while True:
            time.sleep(60)


def make_policy(*_: Any, **__: Any) -> Any:
    """Return the repeat policy, once this episode may run (see the module doc)."""
    _block_if_past_the_point()
    return _repeat
