"""A local cache of a split's frames laid out for random access to windows.

Parquet keeps the PNG bytes of a frame inside row groups of about 100 MB, so reading a
random window from the shards would read (and decompress the pages of) a whole row group
per item. The first time a split is opened, its ``simple`` rows are copied, a row group at a
time, into a folder of the cache:

    <cache>/<key>/frames.bin       the PNG bytes of every frame, concatenated in frame order
    <cache>/<key>/<array>.npy      offsets (int64, frames + 1), actions, rewards,
                                   terminated, truncated, is_first (one value per frame),
                                   episode_starts (int64, episodes + 1)
    <cache>/<key>/index.json       written last: the key, the environment and episode name
                                   of each episode, the counts of frames and episodes, the
                                   size of frames.bin and the digest of every file

``<key>`` is a hash of the source files' paths, sizes and modification times and of the
split, so changed data gets a new cache. The folder is written under a temporary name of
its own (:class:`~atari_interleaved.storage.atomic.Staged`) and renamed when complete:
builders that run at once (ranks of a training job, threads, containers sharing a cache
volume) never write into one folder, and the first to finish wins. A builder holds a lock on
its temporary folder while it writes (:func:`~atari_interleaved.storage.lock.
writing_temporary`), and the temporaries of killed builders are removed by the next build.
Opening a cache checks every file against its index (key, counts, sizes and the digest of
every byte, :mod:`~atari_interleaved.dataset.checked_file`), so a cache damaged later (a
truncated or zeroed file, changed bytes, another cache's files, a folder left half-written)
is never trusted: the builder moves it aside and builds it again, and reads go to the files
that were checked (:func:`~atari_interleaved.dataset.checked_file.descriptor`), never to
those of the damaged copy. The arrays are opened as memory maps, so a process holds only
the pages it reads; a window is then one ``os.pread`` of the contiguous bytes of its frames.
Nothing here depends on the number of frames but the files' sizes on disk (about the size
of the parquet shards).
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
from atari_interleaved.dataset.checked_file import FileStamp, descriptor, file_digest, new_digest
from atari_interleaved.storage.atomic import Staged, temporary_path
from atari_interleaved.storage.lock import remove_stale_temporaries, writing_temporary

__all__ = [
    "CACHE_FORMAT",
    "FRAME_ARRAYS",
    "FrameCache",
    "default_cache_dir",
    "cache_key",
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

    def __init__(self, folder: Path, key: str, description: str) -> None:
        self.folder = folder
        self.key = key
        self.description = description
        self.frames = open(folder / _FRAMES_FILE, "wb")  # closed by finish (or the GC)
        self.digest = new_digest()
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
        self.digest.update(data)
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
        digests = {
            f"{name}.npy": file_digest(self.folder / f"{name}.npy")
            for name in (*_INDEX_ARRAYS, *FRAME_ARRAYS)
        }
        index = {
            "format": CACHE_FORMAT,
            "key": self.key,
            "frames": frames,
            "frames_bytes": self.size,
            "episodes": self.episodes,
            "digests": {_FRAMES_FILE: self.digest.hexdigest(), **digests},
        }
        (self.folder / _INDEX_FILE).write_text(json.dumps(index), encoding="utf-8")


@dataclass
class FrameCache:
    """An opened cache folder: frames and per-frame arrays of one split.

    The arrays are memory maps; :meth:`read` opens ``frames.bin`` (the file that was
    checked, :attr:`frames`) on first use in each process (so DataLoader workers, forked or
    spawned, each have their own descriptor). :attr:`digest` is its digest.
    """

    folder: Path
    offsets: np.ndarray
    arrays: dict[str, np.ndarray]
    episode_starts: np.ndarray
    episodes: list[tuple[str, str]]
    frames: FileStamp
    digest: str

    @classmethod
    def build(cls, tables: Iterable[pa.Table], folder: Path, description: str) -> FrameCache:
        """Write ``tables`` (``simple`` rows in order) to ``folder`` unless valid, then open it.

        A damaged cache in ``folder`` is moved aside and built again.

        Raises:
            InvalidInputError: if the rows are not whole episodes in frame order, or none.

        """
        folder = Path(folder)
        remove_stale_temporaries(folder)
        if os.path.lexists(folder):
            try:
                return cls._checked(folder)
            except _DamagedCache:
                _move_aside(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        with (
            Staged(folder, folder=True, replace=False) as staged,
            writing_temporary(staged.temporary),
        ):
            writer = _Writer(staged.temporary, folder.name, description)
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
        """Open ``folder`` if its files match its index (key, counts, sizes, digests).

        Raises:
            _DamagedCache: saying what does not match.

        """
        try:
            index = json.loads((folder / _INDEX_FILE).read_text(encoding="utf-8"))
            frames, episodes = int(index["frames"]), [tuple(pair) for pair in index["episodes"]]
            frames_bytes, digests = int(index["frames_bytes"]), dict(index["digests"])
            if index["format"] != CACHE_FORMAT:
                raise _DamagedCache(f"format {index['format']!r}, not {CACHE_FORMAT}")
            if index["key"] != folder.name:
                raise _DamagedCache(f"it is the cache {index['key']!r}, another dataset's")
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise _DamagedCache(f"no readable {_INDEX_FILE}: {error}") from None
        arrays: dict[str, np.ndarray] = {}
        lengths = {"offsets": frames + 1, "episode_starts": len(episodes) + 1}
        for name in (*_INDEX_ARRAYS, *FRAME_ARRAYS):
            path = folder / f"{name}.npy"
            try:
                _check_digest(path, digests)
                arrays[name] = np.load(path, mmap_mode="r")
            except (OSError, ValueError) as error:
                raise _DamagedCache(f"{path.name} cannot be read: {error}") from None
            if arrays[name].shape != (lengths.get(name, frames),):
                raise _DamagedCache(f"{path.name} has shape {arrays[name].shape}")
        path = folder / _FRAMES_FILE
        try:
            stamp = FileStamp.of(path)
            if stamp.size != frames_bytes or int(arrays["offsets"][-1]) != frames_bytes:
                raise _DamagedCache(f"{_FRAMES_FILE} holds {stamp.size} bytes, not {frames_bytes}")
            _check_digest(path, digests)
        except OSError as error:
            raise _DamagedCache(f"{_FRAMES_FILE} cannot be read: {error}") from None
        return cls(
            folder=folder,
            offsets=arrays.pop("offsets"),
            episode_starts=arrays.pop("episode_starts"),
            arrays=arrays,
            episodes=episodes,
            frames=stamp,
            digest=digests[_FRAMES_FILE],
        )

    def read(self, first: int, end: int) -> tuple[bytes, np.ndarray]:
        """Return the PNG bytes of frames ``first..end-1`` and their offsets in those bytes."""
        fd = descriptor(self.frames)
        offsets = np.asarray(self.offsets[first : end + 1])
        data = os.pread(fd, int(offsets[-1] - offsets[0]), int(offsets[0]))
        return data, offsets - offsets[0]


def _check_digest(path: Path, digests: dict[str, str]) -> None:
    """Refuse ``path`` unless its bytes have the digest the index records for it.

    Raises:
        _DamagedCache: if they do not.
        OSError: if it cannot be read.

    """
    if file_digest(path) != digests.get(path.name):
        raise _DamagedCache(f"{path.name} is not the file its index records (changed bytes)")


def _move_aside(folder: Path) -> None:
    """Rename a damaged cache folder to a temporary name of its own, then delete it.

    A builder killed while deleting it leaves a temporary the next build removes.
    """
    aside = temporary_path(folder)
    try:
        os.rename(folder, aside)
    except FileNotFoundError:  # another builder moved it first
        return
    if aside.is_dir() and not aside.is_symlink():
        shutil.rmtree(aside)
    else:
        aside.unlink()
