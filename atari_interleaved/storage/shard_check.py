"""Reading the parquet shards of a dataset folder, with errors that name the damaged file.

A shard cut short (a copy interrupted, a disk filled) loses its footer, and pyarrow then
says ``ArrowInvalid: Parquet magic bytes not found`` without naming the file. Every shard
this package reads goes through :func:`open_shard` (or :func:`reading_shard`), so such a
file is named with the fix.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.parquet as pq

from atari_interleaved.core.errors import InvalidInputError

__all__ = ["DAMAGED_SHARD_HINT", "reading_shard", "open_shard"]

DAMAGED_SHARD_HINT = "write it again (export again, or rerun the sample command that wrote it)"


@contextmanager
def reading_shard(path: str | os.PathLike[str], hint: str = DAMAGED_SHARD_HINT) -> Iterator[None]:
    """Turn pyarrow's errors while reading ``path`` into an error naming it.

    Raises:
        InvalidInputError: ``"<path>: not a readable parquet shard (...)"`` and ``hint``.

    """
    try:
        yield
    except (pa.ArrowException, OSError) as error:
        raise InvalidInputError(
            f"{os.fspath(path)}: not a readable parquet shard, damaged or truncated "
            f"({error}); {hint}"
        ) from None


def open_shard(
    path: str | os.PathLike[str],
    schema: pa.Schema | None = None,
    *,
    hint: str = DAMAGED_SHARD_HINT,
) -> pq.ParquetFile:
    """Open a parquet shard, reading its footer, and check its columns against ``schema``.

    Raises:
        InvalidInputError: naming the file if it is not a readable parquet file or its
            columns differ from ``schema``.

    """
    with reading_shard(path, hint):
        shard = pq.ParquetFile(path)
        found = shard.schema_arrow
    if schema is not None and not found.remove_metadata().equals(schema.remove_metadata()):
        raise InvalidInputError(
            f"{os.fspath(path)}: its columns are not those of this dataset "
            f"(found {', '.join(found.names)}); {hint}"
        )
    return shard
