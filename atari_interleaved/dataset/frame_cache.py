"""A local cache of a split's frames laid out for random access to windows.

Parquet keeps the PNG bytes of a frame inside row groups of about 100 MB, so reading a
random window from the shards would read (and decompress the pages of) a whole row group
per item. The first time a split is opened, its ``simple`` rows are copied, a row group at a
time, into a folder of the cache:

    <cache>/<key>/frames.bin       the PNG bytes of every frame, concatenated in frame order
    <cache>/<key>/<array>.npy      offsets (int64, frames + 1), actions, rewards,
                                   terminated, truncated, is_first (one value per frame),
                                   episode_starts (int64, episodes + 1)
    <cache>/<key>/index.json       written last: the environment and episode name of each
                                   episode, the counts of frames and episodes, the size of
                                   frames.bin and the sha256 of every .npy file

``<key>`` is a hash of the source files' paths, sizes and modification times and of the
split, so changed data gets a new cache. The folder is written under a temporary name of
its own (:class:`~atari_interleaved.storage.atomic.Staged`) and renamed when complete:
builders that run at once (ranks of a training job, threads, containers sharing a cache
volume) never write into one folder, and the first to finish wins. Opening a cache checks
it against its index (counts, sizes, checksums), so a cache damaged later (a truncated
file, a changed array, a folder left half-written by an older version) is never trusted:
the builder moves it aside and builds it again. The arrays are opened as
memory maps, so a process holds only the pages it reads; a window is then one ``os.pread``
of the contiguous bytes of its frames. Nothing here depends on the number of frames but the
files' sizes on disk (about the size of the parquet shards).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.storage.atomic import Staged, temporary_path

__all__ = [
    "CACHE_FORMAT",
    "FRAME_ARRAYS",
    "FrameCache",
    "default_cache_dir",
    "cache_key",
    "descriptor",
    "image_bytes",
    "frame_values",
]

CACHE_FORMAT = 1
FRAME_ARRAYS = {
    "actions": np.int64,
    "rewards": np.float32,
    "terminated": np.bool_,
    "truncated": np.bool_,
    "is_first": np.bool_,
}
"""The per-frame arrays of a cache and their types."""
_FRAMES_FILE = "frames.bin"
_INDEX_FILE = "index.json"
_INDEX_ARRAYS = ("offsets", "episode_starts")
"""The arrays that place frames and episodes (with :data:`FRAME_ARRAYS`, every .npy file)."""


class _DamagedCache(Exception):
    """A cache folder that does not match its index (the message says how)."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def default_cache_dir() -> Path:
    """Return ``$HF_HOME/atari_interleaved/frame_windows`` (``~/.cache/huggingface/...``)."""
    home = os.environ.get("HF_HOME") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "huggingface"
    )
    return Path(home) / "atari_interleaved" / "frame_windows"


def cache_key(identity: list[object]) -> str:
    """Return the cache folder name of data identified by ``identity`` (JSON data)."""
    text = json.dumps([CACHE_FORMAT, identity], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def image_bytes(column: pa.ChunkedArray) -> tuple[memoryview, np.ndarray]:
    """Return the PNG bytes of an ``image`` column, one after the other, and their offsets.

    The column is plain binary (this project's shards) or datasets' ``{bytes, path}``
    struct (``push_to_hub``). ``offsets`` has one more entry than frames and starts at 0.

    Raises:
        InvalidInputError: if a frame has no bytes.

    """
    array = column.combine_chunks()
    if pa.types.is_struct(array.type):
        array = pc.struct_field(array, "bytes")
    if array.null_count:
        raise InvalidInputError("a frame of the 'simple' rows has no image bytes")
    array = array.cast(pa.large_binary())
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)
    offsets = offsets[array.offset : array.offset + len(array) + 1]
    data = memoryview(array.buffers()[2])[offsets[0] : offsets[-1]]
    return data, offsets - offsets[0]


def frame_values(table: pa.Table) -> dict[str, np.ndarray]:
    """Return the per-frame arrays (:data:`FRAME_ARRAYS`) of ``simple`` rows.

    A missing reward (data without episode.json) is NaN, a missing flag False.
    """
    values = {
        "actions": table["action_index"],
        "rewards": pc.fill_null(table["reward"].cast(pa.float32()), float("nan")),
        "terminated": pc.fill_null(table["terminated"], False),
        "truncated": pc.fill_null(table["truncated"], False),
        "is_first": pc.fill_null(table["is_first"], False),
    }
    return {
        name: np.asarray(value.to_numpy(), dtype=FRAME_ARRAYS[name])
        for name, value in values.items()
    }


class _Writer:
    """Append ``simple`` tables to the files of a cache folder, checking episode order."""

    def __init__(self, folder: Path, description: str) -> None:
        self.folder = folder
        self.description = description
        self.frames = open(folder / _FRAMES_FILE, "wb")  # closed by finish (or the GC)
        self.arrays = {name: open(folder / f"{name}.bin", "wb") for name in FRAME_ARRAYS}
        self.offsets = [np.zeros(1, dtype=np.int64)]
        self.size = 0
        self.episodes: list[tuple[str, str]] = []
        self.starts = [0]
        self.seen: set[tuple[str, str]] = set()
        self.next_frame = 0

    def _check_order(self, table: pa.Table) -> None:
        environments = table["environment"].to_pylist()
        episodes = table["episode"].to_pylist()
        numbers = table["frame_number"].to_numpy()
        for row, key in enumerate(zip(environments, episodes, strict=True)):
            if not self.episodes or key != self.episodes[-1]:
                if key in self.seen:
                    raise InvalidInputError(
                        f"the frames of {key[0]}/{key[1]} are not consecutive rows in "
                        f"{self.description}; give data written by atari-interleaved"
                    )
                self.seen.add(key)
                if self.episodes:
                    self.starts.append(self.starts[-1] + self.next_frame)
                self.episodes.append(key)
                self.next_frame = 0
            if numbers[row] != self.next_frame:
                raise InvalidInputError(
                    f"{key[0]}/{key[1]} of {self.description} has frame {numbers[row]} where "
                    f"frame {self.next_frame} was expected (frames must be whole and in order)"
                )
            self.next_frame += 1

    def write(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        self._check_order(table)
        data, offsets = image_bytes(table["image"])
        self.frames.write(data)
        self.offsets.append(offsets[1:] + self.size)
        self.size += int(offsets[-1])
        for name, array in frame_values(table).items():
            self.arrays[name].write(array.tobytes())

    def finish(self) -> None:
        self.frames.close()
        for file in self.arrays.values():
            file.close()
        frames = self.starts[-1] + self.next_frame
        if not self.episodes:
            raise InvalidInputError(f"{self.description} holds no frames")
        for name, kind in FRAME_ARRAYS.items():
            raw = self.folder / f"{name}.bin"
            np.save(self.folder / f"{name}.npy", np.fromfile(raw, dtype=kind))
            raw.unlink()
        np.save(self.folder / "offsets.npy", np.concatenate(self.offsets))
        np.save(self.folder / "episode_starts.npy", np.array([*self.starts, frames], np.int64))
        index = {
            "format": CACHE_FORMAT,
            "frames": frames,
            "frames_bytes": self.size,
            "episodes": self.episodes,
            "sha256": {
                name: _sha256(self.folder / f"{name}.npy")
                for name in (*_INDEX_ARRAYS, *FRAME_ARRAYS)
            },
        }
        (self.folder / _INDEX_FILE).write_text(json.dumps(index), encoding="utf-8")


@dataclass
class FrameCache:
    """An opened cache folder: frames and per-frame arrays of one split.

    The arrays are memory maps; :meth:`read` opens ``frames.bin`` on first use in each
    process (so DataLoader workers, forked or spawned, each have their own descriptor).
    """

    folder: Path
    offsets: np.ndarray
    arrays: dict[str, np.ndarray]
    episode_starts: np.ndarray
    episodes: list[tuple[str, str]]

    @classmethod
    def build(cls, tables: Iterable[pa.Table], folder: Path, description: str) -> FrameCache:
        """Write ``tables`` (``simple`` rows in order) to ``folder`` unless valid, then open it.

        A damaged cache in ``folder`` is moved aside and built again.

        Raises:
            InvalidInputError: if the rows are not whole episodes in frame order, or none.

        """
        folder = Path(folder)
        if os.path.lexists(folder):
            try:
                return cls._checked(folder)
            except _DamagedCache:
                _move_aside(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        with Staged(folder, folder=True, replace=False) as staged:
            writer = _Writer(staged.temporary, description)
            for table in tables:
                writer.write(table)
            writer.finish()
            try:
                staged.commit()
            except OSError:  # another builder finished the same cache first: use its copy
                if not (folder / _INDEX_FILE).is_file():
                    raise
        return cls.open(folder)

    @classmethod
    def open(cls, folder: Path) -> FrameCache:
        """Open a complete cache folder (memory-mapping its arrays), checked against its index.

        Raises:
            InvalidInputError: naming the folder and what is wrong, if it is not a whole
                cache (delete it: it is built again on the next use).

        """
        try:
            return cls._checked(Path(folder))
        except _DamagedCache as error:
            raise InvalidInputError(
                f"the frame cache {str(folder)!r} is damaged ({error}); delete that folder, "
                "and it is built again from the data on the next use"
            ) from None

    @classmethod
    def _checked(cls, folder: Path) -> FrameCache:
        """Open ``folder`` if its files match its index (counts, sizes, sha256 of the arrays).

        Raises:
            _DamagedCache: saying what does not match.

        """
        try:
            index = json.loads((folder / _INDEX_FILE).read_text(encoding="utf-8"))
            frames, episodes = int(index["frames"]), [tuple(pair) for pair in index["episodes"]]
            frames_bytes, digests = int(index["frames_bytes"]), dict(index["sha256"])
            if index["format"] != CACHE_FORMAT:
                raise _DamagedCache(f"format {index['format']!r}, not {CACHE_FORMAT}")
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise _DamagedCache(f"no readable {_INDEX_FILE}: {error}") from None
        arrays: dict[str, np.ndarray] = {}
        lengths = {"offsets": frames + 1, "episode_starts": len(episodes) + 1}
        for name in (*_INDEX_ARRAYS, *FRAME_ARRAYS):
            path = folder / f"{name}.npy"
            try:
                if _sha256(path) != digests.get(name):
                    raise _DamagedCache(f"{path.name} is not the file its index records")
                arrays[name] = np.load(path, mmap_mode="r")
            except (OSError, ValueError) as error:
                raise _DamagedCache(f"{path.name} cannot be read: {error}") from None
            if arrays[name].shape != (lengths.get(name, frames),):
                raise _DamagedCache(f"{path.name} has shape {arrays[name].shape}")
        try:
            size = (folder / _FRAMES_FILE).stat().st_size
        except OSError as error:
            raise _DamagedCache(f"{_FRAMES_FILE} cannot be read: {error}") from None
        if size != frames_bytes or int(arrays["offsets"][-1]) != frames_bytes:
            raise _DamagedCache(f"{_FRAMES_FILE} holds {size} bytes, not {frames_bytes}")
        return cls(
            folder=folder,
            offsets=arrays.pop("offsets"),
            episode_starts=arrays.pop("episode_starts"),
            arrays=arrays,
            episodes=episodes,
        )

    def read(self, first: int, end: int) -> tuple[bytes, np.ndarray]:
        """Return the PNG bytes of frames ``first..end-1`` and their offsets in those bytes."""
        fd = descriptor(self.folder / _FRAMES_FILE)
        offsets = np.asarray(self.offsets[first : end + 1])
        data = os.pread(fd, int(offsets[-1] - offsets[0]), int(offsets[0]))
        return data, offsets - offsets[0]


def _move_aside(folder: Path) -> None:
    """Rename a damaged cache folder to a temporary name of its own, then delete it."""
    aside = temporary_path(folder, "old-")
    try:
        os.rename(folder, aside)
    except FileNotFoundError:  # another builder moved it first
        return
    if aside.is_dir() and not aside.is_symlink():
        shutil.rmtree(aside)
    else:
        aside.unlink()


_descriptors: dict[tuple[int, Path], int] = {}
"""Open descriptors of cache files by (process, path): a forked worker opens its own."""


def descriptor(path: Path) -> int:
    """Return this process's read-only descriptor of the cache file ``path`` (opened once)."""
    fd = _descriptors.get((os.getpid(), path))
    if fd is None:
        fd = os.open(path, os.O_RDONLY)
        _descriptors[(os.getpid(), path)] = fd
    return fd
