"""Writing a config's rows to parquet shards: ``<split>-NNNNN-of-NNNNN.parquet``.

:class:`ShardWriter` is the one shard writer: the sampler's direct mode and the export (and
``convert``'s shards) both write through it. It takes the tables of whole episodes and
starts a new shard when the caller's rule says so (:data:`ShardRule`):
:func:`by_bytes` (export: a shard ends before it would pass ``max_shard_bytes``) or
:func:`by_episodes` (direct mode: ``K`` episodes). A table is never split, so a shard
always holds whole episodes. Shards are numbered in one of two ways:

- ``numbering=None`` (export): the count is known when the last shard ends, so the shards
  are written in a hidden folder beside ``directory`` and moved into it by :meth:`close`,
  replacing the split's older shards there: ``directory`` holds the old shards or the new.
- ``numbering=(first, count)`` (direct mode, where a plan of ``count`` shards is made
  before sampling and each worker writes the shards of its chunk): shard ``first + i``
  gets its final name as soon as it is complete, so a rerun keeps it.

>>> import pyarrow as pa, tempfile
>>> rows = pa.table({"x": [1, 2, 3]})
>>> with tempfile.TemporaryDirectory() as folder:
...     with ShardWriter(Path(folder) / "simple", rows.schema, by_episodes(2)) as writer:
...         for _ in range(3):
...             writer.write(rows)
...         [path.name for path in writer.close()]
['train-00000-of-00002.parquet', 'train-00001-of-00002.parquet']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa

from atari_interleaved.storage.atomic import Staged
from atari_interleaved.storage.parquet_writer import (
    DEFAULT_ROW_GROUP_BYTES,
    SHARD_PREFIX,
    ParquetFileWriter,
    existing_shards,
    shard_name,
)

__all__ = ["ShardRule", "ShardWriter", "by_bytes", "by_episodes"]

ShardRule = Callable[[int, int, pa.Table], bool]
"""Whether ``table`` (one episode's rows) starts a new shard after the current one, given
the current shard's episodes and table bytes."""


def by_bytes(max_shard_bytes: int) -> ShardRule:
    """End a shard before its table bytes would pass ``max_shard_bytes``."""

    def ends(episodes: int, num_bytes: int, table: pa.Table) -> bool:
        return num_bytes + table.nbytes > max_shard_bytes

    return ends


def by_episodes(episodes_per_shard: int) -> ShardRule:
    """End a shard once it holds ``episodes_per_shard`` episodes (one table each)."""

    def ends(episodes: int, num_bytes: int, table: pa.Table) -> bool:
        return episodes >= episodes_per_shard

    return ends


class ShardWriter:
    """Write episode tables to the shards of one split of a config in ``directory``.

    Args:
        directory: the config's folder (``<dataset>/simple``).
        schema: the schema of every table written.
        ends_shard: where a shard ends (:func:`by_bytes`, :func:`by_episodes`).
        split: the split the shards hold, their name's prefix (``train``).
        numbering: ``(first, count)`` to write shards ``first, first + 1, ...`` of a
            planned ``count`` under their final names; None to number them at :meth:`close`.
        binary_columns: top-level columns holding PNG bytes.
        row_group_bytes: table bytes of a row group.

    Use it as a context manager: leaving on an exception removes what is not complete.

    """

    def __init__(
        self,
        directory: Path,
        schema: pa.Schema,
        ends_shard: ShardRule,
        *,
        split: str = SHARD_PREFIX,
        numbering: tuple[int, int] | None = None,
        binary_columns: Sequence[str] = (),
        row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES,
    ) -> None:
        self.directory = Path(directory)
        self.schema = schema
        self.split = split
        self._ends_shard = ends_shard
        self._numbering = numbering
        self._file_options = {"binary_columns": binary_columns, "row_group_bytes": row_group_bytes}
        staged = (
            self.directory
            if split == SHARD_PREFIX
            else self.directory.with_name(f"{self.directory.name}-{split}")
        )
        self._staging: Staged | None = None
        if numbering is None:
            staged.parent.mkdir(parents=True, exist_ok=True)
            self._staging = Staged(staged, folder=True)
        else:
            self.directory.mkdir(parents=True, exist_ok=True)
        self._done: list[Path] = []
        self._current: ParquetFileWriter | None = None
        self._episodes = 0

    def _shard_path(self, index: int) -> Path:
        if self._staging is not None:
            return self._staging.temporary / f"part-{index:05d}.parquet"
        assert self._numbering is not None
        first, count = self._numbering
        return self.directory / shard_name(first + index, count, self.split)

    def write(self, table: pa.Table) -> None:
        """Add the rows of one episode to the current shard, starting a new one if it ends."""
        current = self._current
        if current is not None and self._ends_shard(self._episodes, current.num_bytes, table):
            self._done.append(current.close())
            current = None
        if current is None:
            path = self._shard_path(len(self._done))
            current = self._current = ParquetFileWriter(path, self.schema, **self._file_options)
            self._episodes = 0
        current.write(table)
        self._episodes += 1

    def close(self) -> list[Path]:
        """Finish the last shard and give every shard its final name; return them in order."""
        if self._current is not None:
            self._done.append(self._current.close())
            self._current = None
        if self._staging is None:
            return list(self._done)
        for old in existing_shards(self.directory, self.split):
            old.unlink()
        self.directory.mkdir(parents=True, exist_ok=True)
        final = []
        for index, part in enumerate(self._done):
            final.append(self.directory / shard_name(index, len(self._done), self.split))
            os.replace(part, final[-1])
        self._staging.discard()
        return final

    def abort(self) -> None:
        """Remove what is not complete: the current shard, and every staged one."""
        if self._current is not None:
            self._current.abort()
            self._current = None
        if self._staging is not None:
            self._staging.discard()

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            self.abort()
