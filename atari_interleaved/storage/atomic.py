"""Writing a file or folder under a temporary name, then giving it its final name at once.

Every writer of this project goes through :class:`Staged`, so an output with its final name
is always whole: the file or folder is written as ``.tmp-<name>-<pid>-<token>`` beside its
final place (hidden, so readers skip it) and renamed when complete. ``<token>`` is random and
new for every writer, so two writers never share a temporary, whatever their pid (threads
of one process, or processes of two containers sharing a volume, both pid 1), and a writer
never deletes a temporary it did not make. On an error the temporary is removed and the
final name is left as it was. A killed run leaves only temporaries, which
:func:`~atari_interleaved.storage.lock.remove_stale_temporaries` recognises by that name and
removes once their process is dead. A folder replacing an earlier one is swapped in through
``.tmp-<name>-old-<pid>-<token>`` (moved back by that function if a run is killed mid-swap).

>>> import tempfile
>>> target = Path(tempfile.mkdtemp()) / "notes.txt"
>>> with Staged(target) as staged:
...     _ = staged.temporary.write_text("whole")
...     [path.name for path in target.parent.iterdir()] == [staged.temporary.name]
True
>>> target.read_text(), sorted(path.name for path in target.parent.iterdir())
('whole', ['notes.txt'])
>>> shutil.rmtree(target.parent)
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path

from atari_interleaved.core.layout import TEMP_PREFIX

__all__ = ["Staged", "temporary_path", "temporary_pids", "write_atomically"]

_TOKEN_HEX = 8
"""Hex digits of the random token of a temporary name."""


def temporary_path(path: Path, tag: str = "") -> Path:
    """Return a new temporary name for ``path``: ``.tmp-<name>-<tag><pid>-<token>``.

    Every call gives another name (``<token>`` is random). ``tag="old-"`` names an earlier
    output being replaced.
    """
    token = secrets.token_hex(_TOKEN_HEX // 2)
    return path.with_name(f"{TEMP_PREFIX}{path.name}-{tag}{os.getpid()}-{token}")


_LEVEL = rf"-(old-)?(\d+)(?:-[0-9a-f]{{{_TOKEN_HEX}}})?"
"""What one level of staging adds after the name: ``-[old-]<pid>-<token>``."""


def temporary_pids(name: str, final: str) -> tuple[list[int], bool] | None:
    """Return the writers' pids of a temporary of ``final``, and whether it is an ``old-`` one.

    A temporary of a temporary (a writer staging into a staged path, as ``build`` does) is
    one of ``final`` too, with one pid per level:
    ``.tmp-.tmp-<final>-<pid>-<token>-<pid>-<token>``. Names without a token (written by
    earlier versions) are recognised as well. Returns None if ``name`` is not a temporary
    of ``final``.

    >>> temporary_pids(".tmp-.tmp-hub-12-0a1b2c3d-12-4e5f6a7b", "hub")
    ([12, 12], False)
    >>> temporary_pids(".tmp-hub-2-12-0a1b2c3d", "hub") is None  # one of 'hub-2'
    True
    """
    prefix = re.escape(TEMP_PREFIX)
    match = re.fullmatch(rf"((?:{prefix})+){re.escape(final)}(.+)", name)
    if match is None:
        return None
    levels = len(match[1]) // len(TEMP_PREFIX)
    if re.fullmatch(rf"(?:{_LEVEL}){{{levels}}}", match[2]) is None:
        return None
    found = re.findall(_LEVEL, match[2])
    return [int(pid) for _, pid in found], levels == 1 and bool(found[0][0])


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


class Staged:
    """A file or folder written at :attr:`temporary` and moved to :attr:`final` when done.

    Args:
        final: the final path.
        folder: create :attr:`temporary` as an empty folder (else the writer creates the file).
        replace: let :meth:`commit` replace an existing ``final`` (a folder is swapped
            through ``.tmp-<name>-old-<pid>``); when False, a folder is renamed onto
            ``final`` only if that is missing or empty (``OSError`` otherwise).

    The temporary's name is new (:func:`temporary_path`); a folder is created with
    ``mkdir``, which never reuses an existing one. As a context manager it commits when the
    block ends without error, unless :meth:`commit` was called in it, and removes the
    temporary in every case.

    """

    def __init__(
        self, final: str | os.PathLike[str], *, folder: bool = False, replace: bool = True
    ) -> None:
        self.final = Path(final)
        self.temporary = temporary_path(self.final)
        self.replace = replace
        self._committed = False
        if folder:
            self.temporary.mkdir()

    def commit(self) -> Path:
        """Give the temporary its final name (at once) and return the final path."""
        self._committed = True
        if self.replace and self.temporary.is_dir() and self.final.is_dir():
            old = temporary_path(self.final, "old-")
            os.rename(self.final, old)
            os.rename(self.temporary, self.final)
            shutil.rmtree(old)
        elif self.replace:
            os.replace(self.temporary, self.final)
        else:
            os.rename(self.temporary, self.final)
        return self.final

    def discard(self) -> None:
        """Remove the temporary; the final name is never touched."""
        self._committed = True
        if os.path.lexists(self.temporary):
            _remove(self.temporary)

    def __enter__(self) -> Staged:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if kind is None and not self._committed:
                self.commit()
        finally:
            if os.path.lexists(self.temporary):
                _remove(self.temporary)


def write_atomically(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write ``data`` (text is UTF-8) to ``path`` through a temporary file; return ``path``."""
    with Staged(path) as staged:
        if isinstance(data, str):
            staged.temporary.write_text(data, encoding="utf-8")
        else:
            staged.temporary.write_bytes(data)
    return staged.final
