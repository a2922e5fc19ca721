"""Writing a config's episodes to the shards of their splits (:mod:`atari_interleaved.core.splits`).

:class:`SplitShardWriter` takes the tables of whole episodes, as convert writes them, and
sends each to a :class:`~atari_interleaved.storage.shard_writer.ShardWriter` of its split,
so ``<config>/`` ends up holding ``train-XXXXX-of-YYYYY.parquet``, ``validation-...`` and
so on, the names ``push_to_hub`` gives. A split no episode falls in gets no shard.
:func:`episode_tables` cuts a table of several episodes (a row group of a
``sample --to-parquet`` shard) into one table per episode.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from atari_interleaved.core.splits import SplitPlan
from atari_interleaved.storage.shard_writer import ShardRule, ShardWriter

__all__ = ["SplitShardWriter", "episode_tables"]


def episode_tables(table: pa.Table) -> Iterator[pa.Table]:
    """Yield the rows of each episode of ``table`` (consecutive rows of one episode)."""
    if not table.num_rows:  # an empty shard or row group
        return
    keys = pc.binary_join_element_wise(table["environment"], table["episode"], "/")
    changes = pc.not_equal(keys.slice(1), keys.slice(0, len(keys) - 1))
    starts = [0, *(index + 1 for index in pc.indices_nonzero(changes).to_pylist()), len(table)]
    for start, end in zip(starts[:-1], starts[1:], strict=True):
        if end > start:
            yield table.slice(start, end - start)


class SplitShardWriter:
    """Write episode tables to the shards of their splits in ``directory``.

    Args:
        directory: the config's folder (``<dataset>/simple``).
        schema: the schema of every table written.
        plan: which split each episode goes to.
        ends_shard: where a shard ends (``shard_writer.by_bytes(max_shard_bytes)``).
        options: the other arguments of ``ShardWriter`` (``binary_columns``, ...).

    """

    def __init__(
        self,
        directory: Path,
        schema: pa.Schema,
        plan: SplitPlan,
        ends_shard: ShardRule,
        **options: Any,
    ) -> None:
        self.directory = Path(directory)
        self.schema = schema
        self.plan = plan
        self._ends_shard = ends_shard
        self._options = options
        self._writers: dict[str, ShardWriter] = {}

    def write(self, table: pa.Table) -> None:
        """Add the rows of one episode to the shards of its split (none: nothing to add)."""
        if not table.num_rows:  # an episode without branch points, in the branches config
            return
        first = table.slice(0, 1).select(["environment", "seed", "episode"]).to_pylist()[0]
        split = self.plan.split_of(first["environment"], first["seed"], first["episode"])
        if split not in self._writers:
            self._writers[split] = ShardWriter(
                self.directory, self.schema, self._ends_shard, split=split, **self._options
            )
        self._writers[split].write(table)

    def close(self) -> list[Path]:
        """Finish every split's shards; return them, split by split."""
        return [path for writer in self._writers.values() for path in writer.close()]

    def abort(self) -> None:
        """Remove everything written."""
        for writer in self._writers.values():
            writer.abort()

    def __enter__(self) -> SplitShardWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            self.abort()
