"""One run at a time on an object store prefix: a lock object written create-only.

A store has no ``flock``. The run writing ``s3://bucket/run`` first creates the object
``s3://bucket/run/.atari-interleaved.lock`` with the store's create-only condition
(``If-None-Match: *`` on S3): the store decides, so of two runs started at once exactly
one gets it, and the other is refused with a message naming the holder (its host, pid,
command and start time, recorded in the object). The object is deleted when the run ends,
however it fails, short of the process being killed. A lock left by a killed run is taken
over by a rerun on the same host once the recorded pid is dead; a lock recorded by another
host is reported with the command that removes it, as no host can tell whether a run on
another one is still alive.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from atari_interleaved.core.errors import OutputInUseError
from atari_interleaved.storage.location import LOCK_NAME, RemoteFolder
from atari_interleaved.storage.lock import pid_is_alive

__all__ = ["remote_lock"]


def _record() -> bytes:
    return json.dumps(
        {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        }
    ).encode("utf-8")


def _holder(data: bytes | None) -> dict | None:
    try:
        record = json.loads(data or b"")
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _stale(record: dict | None) -> bool:
    """Whether the holder is a dead process of this host."""
    return (
        record is not None
        and record.get("host") == socket.gethostname()
        and isinstance(record.get("pid"), int)
        and not pid_is_alive(record["pid"])
    )


@contextmanager
def remote_lock(folder: RemoteFolder, flag: str = "--output-dir") -> Iterator[None]:
    """Hold the lock object of ``folder`` while the block runs.

    Raises:
        OutputInUseError: if another run holds it, naming that run and the lock object.

    """
    with folder.reaching(flag):
        created = folder.create(LOCK_NAME, _record())
        if not created:
            record = _holder(folder.read_bytes(LOCK_NAME))
            if _stale(record):
                folder.remove([LOCK_NAME])
                created = folder.create(LOCK_NAME, _record())
    if not created:
        record = _holder(folder.read_bytes(LOCK_NAME))
        holder = (
            f"process {record.get('pid')} on {record.get('host')} ({record.get('command')}, "
            f"started {record.get('started')})"
            if record
            else "another run"
        )
        raise OutputInUseError(
            f"{folder.url!r} is in use by another run: {holder}. Wait for it to finish, or "
            f"stop it, then rerun; if that run is gone (killed on another machine), delete "
            f"{folder.url_of(LOCK_NAME)} and rerun."
        )
    try:
        yield
    finally:
        folder.remove([LOCK_NAME])
