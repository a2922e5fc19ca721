"""Writing arrow tables to parquet: temporary names, row groups sized by bytes, shard names.

A file is written under a hidden temporary name (``.tmp-<name>-<pid>``, see
:mod:`~atari_interleaved.storage.atomic`) beside its final place and renamed when complete,
so a file with the final name is always whole. Tables are
buffered until they hold ``row_group_bytes`` (about 100 MB, what datasets >= 4.1 and the Hub
viewer use) and then written as one row group: an episode row can hold thousands of frames,
so a fixed row count would give row groups from kilobytes to gigabytes. Memory stays
bounded by a row group and its encoding, whatever the size of the input.

PNG columns are stored uncompressed, without dictionary or statistics: PNG bytes do not
compress further, are all different, and min/max statistics of images help no reader.
Shards of a config are written by :mod:`atari_interleaved.storage.shard_writer`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from atari_interleaved.core.errors import OutputExistsError
from atari_interleaved.storage.atomic import Staged

__all__ = [
    "rows_to_table",
    "DEFAULT_ROW_GROUP_BYTES",
    "DEFAULT_MAX_SHARD_BYTES",
    "SHARD_PREFIX",
    "leaf_paths",
    "shard_name",
    "existing_shards",
    "refuse_existing_shards",
    "ParquetFileWriter",
]

DEFAULT_ROW_GROUP_BYTES = 100 * 2**20
DEFAULT_MAX_SHARD_BYTES = 500 * 2**20
SHARD_PREFIX = "train"
_OTHER_COLUMNS_CODEC = "zstd"


def leaf_paths(item: pa.Field) -> list[str]:
    """Return the parquet column paths of an arrow field (``images.list.element``)."""
    if pa.types.is_list(item.type):
        return [
            f"{item.name}.list.{path}"
            for path in leaf_paths(item.type.value_field.with_name("element"))
        ]
    if pa.types.is_struct(item.type):
        return [f"{item.name}.{path}" for child in item.type for path in leaf_paths(child)]
    return [item.name]


def shard_name(index: int, count: int, split: str = SHARD_PREFIX) -> str:
    """Return the name of shard ``index`` of ``count``: ``train-00000-of-00003.parquet``.

    The prefix is the split, as ``push_to_hub`` names shards (``validation-00000-of-00001``).
    """
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


def existing_shards(directory: Path, split: str = SHARD_PREFIX) -> list[Path]:
    """Return the shard files of ``split`` (``train-*-of-*.parquet``) in ``directory``.

    ``split="*"`` gives the shards of every split.
    """
    return sorted(directory.glob(f"{split}-[0-9]*-of-[0-9]*.parquet"))


def refuse_existing_shards(directory: Path, split: str = SHARD_PREFIX) -> None:
    """Raise if ``directory`` already holds shards of ``split``.

    Raises:
        OutputExistsError: naming a shard found.

    """
    shards = existing_shards(directory, split)
    if shards:
        raise OutputExistsError(
            f"{str(directory)!r} already holds parquet shards ({shards[0].name}, ...); "
            "choose another output folder or ask to overwrite them"
        )


class ParquetFileWriter:
    """Write tables to one parquet file, under a temporary name until :meth:`close`.

    Args:
        path: the final file.
        schema: the schema of every table written.
        binary_columns: top-level columns holding PNG bytes (stored as they are).
        row_group_bytes: buffered table bytes that make a row group.

    Use it as a context manager: leaving on an exception removes the temporary file.

    """

    def __init__(
        self,
        path: Path,
        schema: pa.Schema,
        *,
        binary_columns: Sequence[str] = (),
        row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES,
    ) -> None:
        self.path = Path(path)
        self.schema = schema
        self.row_group_bytes = row_group_bytes
        self.num_rows = 0
        self.num_bytes = 0
        self._buffer: list[pa.Table] = []
        self._buffered_bytes = 0
        self._staged = Staged(self.path)
        plain = [
            path for item in schema if item.name not in binary_columns for path in leaf_paths(item)
        ]
        binary = [
            path for item in schema if item.name in binary_columns for path in leaf_paths(item)
        ]
        self._writer = pq.ParquetWriter(
            self._staged.temporary,
            schema,
            compression={
                **dict.fromkeys(plain, _OTHER_COLUMNS_CODEC),
                **dict.fromkeys(binary, "none"),
            },
            use_dictionary=plain,
            write_statistics=plain,
        )

    def write(self, table: pa.Table) -> None:
        """Add the rows of ``table`` (its schema must be the writer's)."""
        self._buffer.append(table)
        self._buffered_bytes += table.nbytes
        self.num_rows += table.num_rows
        self.num_bytes += table.nbytes
        if self._buffered_bytes >= self.row_group_bytes:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            table = pa.concat_tables(self._buffer)
            self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
            self._buffer = []
            self._buffered_bytes = 0

    def close(self) -> Path:
        """Write the last row group, close the file and give it its final name."""
        self._flush()
        self._writer.close()
        return self._staged.commit()

    def abort(self) -> None:
        """Close and remove the temporary file (the final name is never touched)."""
        self._writer.close()
        self._staged.discard()

    def __enter__(self) -> ParquetFileWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            self.abort()


def rows_to_table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """Return rows (dicts with the schema's columns) as a table; faster than ``from_pylist``."""
    return pa.Table.from_pydict(
        {name: [row[name] for row in rows] for name in schema.names}, schema
    )
