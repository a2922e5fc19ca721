"""Where the frames of :class:`~atari_interleaved.dataset.windows.FrameWindows` come from.

A ``source`` is anything this project writes or publishes; a local folder's kind is what
:func:`~atari_interleaved.core.folder_kind.folder_kind` says:

- an export (``manifest.json``, local or a download of a Hub repository), a ``sample
  --to-parquet`` folder (``train`` only), or any folder of their ``simple/<split>-*.parquet``
  shards: read from those shards;
- a frame tree (``atari_<game>/episode_*``), read and checked by
  :mod:`atari_interleaved.dataset.reader`, all of it in ``train``;
- an object store prefix holding one of those folders (``s3://bucket/run``, any fsspec
  URL, with ``storage_options``): its shards read row group by row group through fsspec;
- a Hub dataset repository id (``user/atari_interleaved``), through ``huggingface_hub`` (its
  ``HF_ENDPOINT`` and token): downloaded into the Hugging Face cache for the map-style form,
  read row group by row group with ``HfFileSystem`` for the streaming form.

Each gives the ``simple`` rows of a split as arrow tables, in file order, one row group (or
one episode of a frame tree) at a time, so memory follows a row group, not the dataset.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError, OutputInUseError
from atari_interleaved.core.features import arrow_schema
from atari_interleaved.core.folder_kind import EXPECTED_FOLDERS, folder_kind
from atari_interleaved.core.network import endpoint_origin, network_errors
from atari_interleaved.core.redaction import error_text
from atari_interleaved.core.rows import simple_rows
from atari_interleaved.core.splits import DEFAULT_SPLIT, check_split_name
from atari_interleaved.dataset.frame_cache import image_bytes
from atari_interleaved.dataset.reader import EpisodeDir, read_episode, scan_tree
from atari_interleaved.storage.location import LOCK_NAME, is_url, local_path, remote_folder
from atari_interleaved.storage.lock import check_not_in_use
from atari_interleaved.storage.parquet_writer import existing_shards, rows_to_table
from atari_interleaved.storage.png_check import frame_header_problem
from atari_interleaved.storage.shard_check import reading_shard

__all__ = ["FRAME_COLUMNS", "FrameSource", "resolve_source"]

FRAME_COLUMNS = [
    "environment",
    "episode",
    "frame_number",
    "image",
    "action_index",
    "reward",
    "terminated",
    "truncated",
    "is_first",
]
"""The ``simple`` columns a window is made of."""

_CONFIG = "simple"
_SHARD_NAME = re.compile(r"^(?P<split>[A-Za-z0-9_]+)-\d+-of-\d+\.parquet$")


@dataclass(frozen=True)
class FrameSource:
    """The ``simple`` rows of one split of a source.

    Attributes:
        description: what the source is, for messages (``exported folder 'hub'``).
        split: the split.
        units: the pieces the rows come in, in order: parquet shards (local paths, or
            paths of ``filesystem`` when it is set), or episode folders of a tree.
        filesystem: the fsspec filesystem (``HfFileSystem``, an object store's) that opens
            remote shards; None for local files.

    """

    description: str
    split: str
    units: tuple[Any, ...]
    filesystem: Any = None

    def identity(self) -> list[Any]:
        """Return what identifies the data: the split, each file's path, size and mtime.

        A remote file's is its path, size and ETag (or modification time).
        """
        if self.filesystem is not None:
            found = [self.filesystem.info(unit) for unit in self.units]
            return [
                self.split,
                *(
                    [unit, info.get("size"), str(info.get("ETag") or info.get("mtime") or "")]
                    for unit, info in zip(self.units, found, strict=True)
                ),
            ]
        files: list[Path] = []
        for unit in self.units:
            files += sorted(unit.path.iterdir()) if isinstance(unit, EpisodeDir) else [unit]
        return [self.split, *(_file_identity(Path(file)) for file in files)]

    def tables(self, unit: Any) -> Iterator[pa.Table]:
        """Yield the rows of ``unit`` (a row group, or an episode, at a time)."""
        if isinstance(unit, EpisodeDir):
            episode = read_episode(unit)
            yield rows_to_table(list(simple_rows(episode)), arrow_schema(_CONFIG))
            return
        with self._reading(unit):
            opened = self.filesystem.open(unit, "rb") if self.filesystem else open(unit, "rb")
            with opened as stream:
                shard = pq.ParquetFile(stream)
                problem = _columns_problem(shard.schema_arrow)
                if problem is not None:
                    raise InvalidInputError(
                        f"{unit!s} of {self.description}: {problem}; give data written by "
                        "atari-interleaved"
                    )
                for group in range(shard.num_row_groups):
                    table = shard.read_row_group(group, columns=FRAME_COLUMNS)
                    _check_rows(table, f"{unit!s} of {self.description}")
                    yield table

    @contextmanager
    def _reading(self, unit: Any) -> Iterator[None]:
        """Turn the errors of reading a shard (damaged, or unreachable) into one naming it."""
        from huggingface_hub import constants
        from huggingface_hub.errors import HfHubHTTPError

        try:
            with reading_shard(unit, "write it again, or download it again"):
                yield
        except (HfHubHTTPError, *network_errors()) as error:
            raise InvalidInputError(
                f"{unit!s} of {self.description} cannot be read from the Hub at "
                f"{constants.ENDPOINT} ({error_text(error)}); check "
                "the network, proxy settings and HF_ENDPOINT, then try again"
            ) from None


def _columns_problem(found: pa.Schema) -> str | None:
    """Return how the ``simple`` columns of a shard differ from what windows are made of."""
    missing = sorted(set(FRAME_COLUMNS) - set(found.names))
    if missing:
        return f"it lacks the columns {missing} of the 'simple' config"
    for name in FRAME_COLUMNS:
        kind = found.field(name).type
        if not _COLUMN_KINDS[name](kind):
            expected = arrow_schema(_CONFIG).field(name).type
            return f"its column {name!r} holds {kind}, not {expected}"
    return None


def _is_image(kind: pa.DataType) -> bool:
    """Whether ``kind`` holds PNG bytes: binary, or datasets' ``{bytes, path}`` struct."""
    if pa.types.is_struct(kind):
        index = kind.get_field_index("bytes")
        return index >= 0 and _is_image(kind.field(index).type)
    return pa.types.is_binary(kind) or pa.types.is_large_binary(kind)


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


_COLUMN_KINDS = {
    "environment": _is_text,
    "episode": _is_text,
    "frame_number": pa.types.is_integer,
    "image": _is_image,
    "action_index": pa.types.is_integer,
    "reward": lambda kind: pa.types.is_floating(kind) or pa.types.is_integer(kind),
    "terminated": pa.types.is_boolean,
    "truncated": pa.types.is_boolean,
    "is_first": pa.types.is_boolean,
}
"""What each column a window is made of may hold."""
_REQUIRED = ("environment", "episode", "frame_number", "image", "action_index")
"""The columns that may not hold a null (a missing reward or flag has a meaning)."""


def _check_rows(table: pa.Table, where: str) -> None:
    """Refuse rows with a null where a value is needed, or an image that is not a frame.

    Each image is checked from its header only (:func:`frame_header_problem`), so a file
    that is not a PNG, or claims another size, is named here rather than when decoded.

    Raises:
        InvalidInputError: naming ``where``, the row and the problem.

    """
    for name in _REQUIRED:
        column = table[name]
        if column.null_count:
            row = pc.index(pc.is_null(column), True).as_py()
            raise InvalidInputError(
                f"{where}: row {row} has no {name} (null); give data written by atari-interleaved"
            )
    data, offsets = image_bytes(table["image"])
    for row in range(table.num_rows):
        problem = frame_header_problem(data[offsets[row] : offsets[row + 1]])
        if problem is not None:
            raise InvalidInputError(
                f"{where}: the image of row {row} ({table['environment'][row]}/"
                f"{table['episode'][row]} frame {table['frame_number'][row]}) is not an Atari "
                f"frame: {problem}"
            )


def _file_identity(path: Path) -> list[Any]:
    stat = path.stat()
    return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]


def _split_of(name: str) -> str | None:
    match = _SHARD_NAME.match(name)
    return match["split"] if match else None


def _unknown_split(split: str, description: str, available: set[str]) -> InvalidArgumentError:
    have = ", ".join(repr(name) for name in sorted(available)) or "none"
    return InvalidArgumentError(
        f"split={split!r} is not in {description}: its splits are {have}; pass one of them"
    )


_FOLDER_DESCRIPTIONS = {"exported": "exported folder", "direct": "'sample --to-parquet' folder"}


def _folder_source(path: Path, split: str) -> FrameSource:
    kind = folder_kind(path)
    if kind == "frame_tree":
        description = f"frame tree {str(path)!r}"
        if split != DEFAULT_SPLIT:
            raise _unknown_split(split, description, {DEFAULT_SPLIT})
        return FrameSource(description, split, tuple(scan_tree(path).episodes))
    # An export, a direct folder, or shards of one copied into a folder of their own.
    description = f"{_FOLDER_DESCRIPTIONS.get(kind, 'dataset folder')} {str(path)!r}"
    check_not_in_use(path, "source")  # shards a running sample or export still writes
    shards = existing_shards(path / _CONFIG, "*")
    if not shards:
        raise InvalidInputError(
            f"source {str(path)!r} holds nothing atari-interleaved wrote (no "
            f"{_CONFIG}/<split>-*.parquet shards); give {EXPECTED_FOLDERS}"
        )
    chosen = tuple(shard for shard in shards if _split_of(shard.name) == split)
    if not chosen:
        raise _unknown_split(split, description, {_split_of(s.name) or "" for s in shards})
    return FrameSource(description, split, chosen)


def _hub_error(repo_id: str, error: Exception) -> InvalidInputError:
    return InvalidInputError(
        f"source {repo_id!r} is not a local folder, and the Hub does not give a dataset "
        f"repository of that name ({type(error).__name__}: {str(error).splitlines()[0]})"
    )


def _hub_files(repo_id: str, revision: str | None) -> list[str]:
    """Return the files of a Hub dataset repository.

    Raises:
        InvalidInputError: if the Hub has no such repository, or cannot be reached (at once:
            the first request is one that huggingface_hub does not retry).

    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi()
    try:
        api.dataset_info(repo_id, revision=revision)
        return api.list_repo_files(repo_id, repo_type="dataset", revision=revision)
    except HfHubHTTPError as error:
        raise _hub_error(repo_id, error) from None
    except network_errors() as error:
        raise _unreachable_hub(repo_id, error_text(error)) from None


def _unreachable_hub(
    repo_id: str,
    reason: str,
    fix: str = "check the network, proxy settings and HF_ENDPOINT, then try again",
) -> InvalidInputError:
    """Return the error of a Hub repository that cannot be read: the Hub is not reached."""
    from huggingface_hub import constants

    return InvalidInputError(
        f"source {repo_id!r} cannot be read: the Hub at {constants.ENDPOINT}{endpoint_origin()} "
        f"cannot be reached ({reason}); {fix}"
    )


def _hub_splits(repo_id: str, revision: str | None, split: str) -> list[str]:
    """Return the repository's ``simple`` shards of ``split``.

    Raises:
        InvalidArgumentError: if it has none of ``split`` (the message lists its splits).
        InvalidInputError: if it has no ``simple`` shards or is not found.

    """
    files = [name for name in _hub_files(repo_id, revision) if name.startswith(f"{_CONFIG}/")]
    splits = {_split_of(name.split("/", 1)[1]) for name in files} - {None}
    if not splits:
        raise InvalidInputError(
            f"source {repo_id!r} holds nothing atari-interleaved wrote: the Hub repository "
            f"has no {_CONFIG}/<split>-*.parquet shards"
        )
    chosen = sorted(name for name in files if _split_of(name.split("/", 1)[1]) == split)
    if not chosen:
        raise _unknown_split(split, f"Hub dataset {repo_id!r}", splits)  # type: ignore[arg-type]
    return chosen


def _hub_source(repo_id: str, split: str, revision: str | None, stream: bool) -> FrameSource:
    """Return a Hub repository's rows of ``split``: remote shards, or a cached download.

    The download goes through ``snapshot_download`` (only the split's ``simple`` shards), so
    a second use, or one with ``HF_HUB_OFFLINE=1``, reads the Hugging Face cache.
    """
    from huggingface_hub import HfFileSystem, constants, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    description = f"Hub dataset {repo_id!r}"
    if stream:
        where = f"datasets/{repo_id}@{quote(revision or 'main', safe='')}"
        remote = tuple(f"{where}/{name}" for name in _hub_splits(repo_id, revision, split))
        return FrameSource(description, split, remote, HfFileSystem())
    try:
        folder = snapshot_download(
            repo_id,
            repo_type="dataset",
            revision=revision,
            allow_patterns=[f"{_CONFIG}/{split}-*.parquet"],
        )
    except LocalEntryNotFoundError as error:  # no answer from the Hub, and no copy cached
        uncached = f"and the Hugging Face cache holds no copy of its {split!r} shards"
        if constants.HF_HUB_OFFLINE:
            fix = "unset HF_HUB_OFFLINE to download them, then try again"
            raise _unreachable_hub(repo_id, f"HF_HUB_OFFLINE is set, {uncached}", fix) from None
        reason = error_text(error.__cause__ or error).splitlines()[0]
        raise _unreachable_hub(repo_id, f"{reason}, {uncached}") from None
    except HfHubHTTPError as error:
        raise _hub_error(repo_id, error) from None
    shards = tuple(existing_shards(Path(folder) / _CONFIG, split))
    if not shards:
        _hub_splits(repo_id, revision, split)  # raises, naming the splits there are
    return FrameSource(description, split, shards)


def _store_source(url: str, split: str, storage_options: Mapping[str, Any] | None) -> FrameSource:
    """Return the ``simple`` shards of ``split`` under an object store prefix, read remotely."""
    folder = remote_folder(url, "source", storage_options)
    description = f"object store prefix {folder.url!r}"
    with folder.reaching("source"):
        names = folder.list(f"{_CONFIG}/*")
        if folder.isfile(LOCK_NAME):  # shards a running sample still writes
            raise OutputInUseError(
                f"source {folder.url!r} is being written by another run (its {LOCK_NAME} "
                "object is there). Wait for it to finish, then rerun."
            )
    shards = [name for name in names if _split_of(posixpath.basename(name))]
    if not shards:
        raise InvalidInputError(
            f"source {folder.url!r} holds nothing atari-interleaved wrote (no "
            f"{_CONFIG}/<split>-*.parquet shards); give the URL of {EXPECTED_FOLDERS}"
        )
    chosen = tuple(
        folder.path(name) for name in shards if _split_of(posixpath.basename(name)) == split
    )
    if not chosen:
        found = {_split_of(posixpath.basename(name)) or "" for name in shards}
        raise _unknown_split(split, description, found)
    return FrameSource(description, split, chosen, folder.fs)


def resolve_source(
    source: str | os.PathLike[str],
    split: str,
    *,
    revision: str | None = None,
    stream: bool = False,
    storage_options: Mapping[str, Any] | None = None,
) -> FrameSource:
    """Return the rows of ``split`` of ``source`` (a folder or a Hub repository id).

    Args:
        source: an exported folder, a ``sample --to-parquet`` folder, a frame tree, or a
            Hub dataset repository id.
        split: the split to read.
        revision: the Hub branch, tag or commit (a Hub source only).
        stream: for a Hub source, read the shards remotely instead of downloading them.
        storage_options: the fsspec options of an object store URL (``s3://bucket/run``),
            whose shards are always read remotely.

    Raises:
        InvalidArgumentError: for an unknown split (the message lists the source's).
        InvalidInputError: for a source that holds nothing this project wrote.

    """
    check_split_name(split)
    if is_url(source):
        return _store_source(os.fspath(source), split, storage_options)
    path = Path(local_path(source))
    if path.is_dir():
        return _folder_source(path, split)
    if path.exists():
        raise InvalidInputError(
            f"source {str(source)!r} is a file; give an exported folder, a frame tree or a "
            "Hub dataset repository id"
        )
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    text = str(source)
    try:
        validate_repo_id(text)
    except HFValidationError:
        text = ""
    if text.count("/") != 1:
        raise InvalidInputError(
            f"source {str(source)!r} is not a folder, and not a Hub dataset repository id "
            "(<namespace>/<name>); give an exported folder, a frame tree or a repository id"
        )
    return _hub_source(text, split, revision, stream)
