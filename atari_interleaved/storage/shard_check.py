"""Checking and reading the parquet shards of a dataset folder, naming the damaged file.

A shard cut short (a copy interrupted, a disk filled) loses its footer, and pyarrow then
says ``ArrowInvalid: Parquet magic bytes not found`` without naming the file. Every shard
this package reads goes through :func:`open_shard` (or :func:`reading_shard`), so such a
file is named with the fix. :func:`shard_problem` is the one check of a shard written
before (footer, columns, rows): the sampler's direct mode uses it to resume, export and
the ``datasets`` builder to refuse an unfinished folder, both through
:func:`episode_shards_problem`, the check of the two configs' shards of the same episodes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.core.features import CONFIG_NAMES, ConfigName, arrow_schema
from atari_interleaved.storage.parquet_writer import shard_name

__all__ = [
    "DAMAGED_SHARD_HINT",
    "reading_shard",
    "open_shard",
    "shard_problem",
    "episode_shards_problem",
    "planned_shard_paths",
    "unfinished_shards",
]

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
    problem = _columns_problem(found, schema)
    if problem is not None:
        raise InvalidInputError(f"{os.fspath(path)}: {problem}; {hint}")
    return shard


def _columns_problem(found: pa.Schema, schema: pa.Schema | None) -> str | None:
    if schema is None or found.remove_metadata().equals(schema.remove_metadata()):
        return None
    return f"its columns are not those of this dataset (found {', '.join(found.names)})"


def shard_problem(
    path: Path | str,
    schema: pa.Schema | None = None,
    num_rows: int | None = None,
    filesystem: Any = None,
) -> str | None:
    """Return why ``path`` is not a whole shard (of ``schema``, with ``num_rows``), or None.

    Only the footer is read: ``"missing"``, ``"not a readable parquet file (...)"``, a
    columns problem, or ``"<n> rows, not <num_rows>"``. ``filesystem`` is the fsspec
    filesystem of an object store's ``path`` (None: a local file).
    """
    if not (Path(path).is_file() if filesystem is None else filesystem.isfile(str(path))):
        return "missing"
    try:
        with _opened(path, filesystem) as file:
            metadata = pq.read_metadata(file)
        found = metadata.schema.to_arrow_schema()
    except (OSError, pa.ArrowException) as error:
        return f"not a readable parquet file ({error})"
    problem = _columns_problem(found, schema)
    if problem is None and num_rows is not None and metadata.num_rows != num_rows:
        problem = f"{metadata.num_rows} rows, not {num_rows}"
    return problem


def _opened(path: Path | str, filesystem: Any) -> Any:
    return open(path, "rb") if filesystem is None else filesystem.open(str(path), "rb")


def episode_shards_problem(
    paths: Mapping[ConfigName, Path | str], episodes: int, filesystem: Any = None
) -> tuple[Path | str, str] | None:
    """Return a shard of the same episodes in both configs that is not whole, and why.

    The ``interleaved`` shard must hold a row per episode, the ``simple`` one a row per
    frame of those episodes (their ``num_frames``), both with the columns of their config.
    ``filesystem`` is that of an object store's paths (None: local files).
    """
    problem = shard_problem(paths["interleaved"], arrow_schema("interleaved"), episodes, filesystem)
    if problem is not None:
        return paths["interleaved"], problem
    try:
        with _opened(paths["interleaved"], filesystem) as file:
            frames = pq.read_table(file, columns=["num_frames"])[0].to_pylist()
    except (OSError, pa.ArrowException) as error:
        return paths["interleaved"], f"not a readable parquet file ({error})"
    problem = shard_problem(paths["simple"], arrow_schema("simple"), sum(frames), filesystem)
    return None if problem is None else (paths["simple"], problem)


def planned_shard_paths(root: Path, index: int, count: int) -> dict[ConfigName, Path]:
    """Return the files of shard ``index`` of ``count`` under ``root``, per config."""
    return {config: root / config / shard_name(index, count) for config in CONFIG_NAMES}


def unfinished_shards(root: Path, episodes: Sequence[int]) -> list[tuple[Path, str]]:
    """Return a file and its problem for each planned shard under ``root`` that is not whole.

    Shard ``i`` of the plan holds ``episodes[i]`` episodes, in both configs.
    """
    found = (
        episode_shards_problem(planned_shard_paths(root, index, len(episodes)), count)
        for index, count in enumerate(episodes)
    )
    return [problem for problem in found if problem is not None]
