"""The ``datasets`` builder of this project's data: configs ``interleaved`` and ``simple``.

``data_dir`` is a frame tree, a folder of ``sample --to-parquet`` or an exported folder
(:mod:`atari_interleaved.core.folder_kind`); without one, what ``atari-interleaved build`` wrote in
the current folder (its Hub folder, else its frame tree). ``import atari_interleaved``
registers the builder with ``datasets`` (:mod:`atari_interleaved.dataset.registration`)::

    import atari_interleaved
    from datasets import load_dataset
    dataset = load_dataset("atari_interleaved", "interleaved", data_dir="sampled_frames_organized")
    dataset["train"][0]["images"][0]        # a PIL image, RGB

which is also ``atari_interleaved.load_frames("sampled_frames_organized", "interleaved")``:
``AtariInterleaved(config_name=..., data_dir=...)``, then ``download_and_prepare()`` and
``as_dataset()``. On datasets < 4 the loading script ``atari_interleaved.py`` at the top of
the repository wraps this builder too:
``load_dataset("./atari_interleaved.py", "interleaved", data_dir=..., trust_remote_code=True)``.

Rows are those of :mod:`atari_interleaved.core.rows` (the parquet files of ``convert`` hold the
same), in the tree's stable order, with unique keys (``atari_alien/episode_000_rand0.2``,
plus ``/000004`` for a frame of ``simple``); the rows of a parquet folder are those of its
shards, in order. ``num_proc`` shards the episodes (or the parquet shards) over processes.
The cache is keyed by the tree's episode folders (path, inode, modification time), or the
parquet shards (path, inode, modification time, size), so data written again is read again,
and by the major version of ``datasets``, so that 3.x and 5.x never share a cache.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets

from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError
from atari_interleaved.core.features import (
    CONFIG_NAMES,
    ConfigName,
    arrow_schema,
    check_config_name,
    features,
)
from atari_interleaved.core.folder_kind import EXPECTED_FOLDERS, folder_kind, require_folder_kind
from atari_interleaved.core.rows import episode_rows, row_key
from atari_interleaved.dataset.reader import (
    BadInput,
    EpisodeDir,
    FrameTree,
    OnBadEpisodes,
    check_on_bad_episodes,
    read_episodes,
    scan_tree,
    warn_skipped,
)
from atari_interleaved.dataset.registration import DATASET_NAME
from atari_interleaved.generate.parquet_store import read_shard_plan
from atari_interleaved.storage.parquet_writer import existing_shards
from atari_interleaved.storage.shard_check import open_shard, reading_shard, unfinished_shards

__all__ = [
    "AtariInterleavedConfig",
    "AtariInterleaved",
    "tree_fingerprint",
    "default_data_dir",
    "load_frames",
]

_VERSION = datasets.Version("1.0.0")

_DESCRIPTIONS = {
    "interleaved": "One row per episode: interleaved text and image_gen inputs, PNG frames.",
    "simple": "One row per frame: the frame, the action taken there, its reward.",
}
# Caches of datasets 3.x and 5.x differ (5.x writes `List` features 3.x cannot read).
_CACHE_TAG = f"datasets{datasets.__version__.split('.')[0]}"
# Rows kept in memory before datasets writes them: an episode row holds all its frames.
_WRITER_BATCH_SIZES = {"interleaved": 4, "simple": 1000}


@dataclass
class AtariInterleavedConfig(datasets.BuilderConfig):
    """A config of :class:`AtariInterleaved`.

    Attributes:
        on_bad_episodes: ``"error"`` raises on a bad episode folder (the message names the
            file); ``"skip"`` leaves bad episodes out and logs a warning listing them.

    """

    on_bad_episodes: OnBadEpisodes = "error"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_on_bad_episodes(self.on_bad_episodes)


def tree_fingerprint(tree: FrameTree) -> str:
    """Return a short hash of the episode folders of a tree (path, inode, modified time).

    Episode folders are written whole and renamed in place by the sampler, so a new or
    re-sampled episode changes its folder's entry.
    """
    digest = hashlib.sha256()
    for source in tree.episodes:
        stat = os.stat(source.path)
        digest.update(f"{source.path}\0{stat.st_ino}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _parquet_shards(root: str, config_name: ConfigName) -> list[str]:
    """Return the shards of a config in a direct or exported folder, checked complete.

    Raises:
        InvalidInputError: for an unfinished direct folder, or a config without shards.

    """
    if folder_kind(root) == "direct":
        plan = read_shard_plan(root)
        missing = unfinished_shards(Path(root), [len(chunk.indices) for chunk in plan])
        if missing:
            raise InvalidInputError(
                f"data_dir {root!r} is an unfinished 'sample --to-parquet' run ({len(missing)} "
                f"of {len(plan)} shards missing): rerun its sample command to finish it"
            )
    shards = existing_shards(Path(root) / config_name)
    if not shards:
        raise InvalidInputError(f"data_dir {root!r} has no {config_name}/train-*.parquet shards")
    return [os.fspath(shard) for shard in shards]


def _data_fingerprint(data_dir: str) -> str:
    """Return a short hash of what ``data_dir`` holds (see :func:`tree_fingerprint`)."""
    if require_folder_kind(data_dir) == "frame_tree":
        return tree_fingerprint(scan_tree(data_dir, on_bad_episodes="skip"))
    digest = hashlib.sha256()
    for config in CONFIG_NAMES:
        for shard in existing_shards(Path(data_dir) / config):
            stat = os.stat(shard)
            digest.update(f"{shard}\0{stat.st_ino}\0{stat.st_mtime_ns}\0{stat.st_size}\n".encode())
    return digest.hexdigest()[:16]


def default_data_dir() -> str | None:
    """Return what ``atari-interleaved build`` wrote in the current folder, or None.

    Its Hub folder if it holds an export, else its frame tree if it holds one.
    """
    from atari_interleaved.core.layout import DEFAULT_FRAMES_DIR, DEFAULT_HUB_DIR

    for name, kind in ((DEFAULT_HUB_DIR, "exported"), (DEFAULT_FRAMES_DIR, "frame_tree")):
        if folder_kind(name) == kind:
            return os.path.abspath(name)
    return None


class AtariInterleaved(datasets.GeneratorBasedBuilder):
    """Atari episodes from a frame tree (``data_dir``) as ``interleaved`` or ``simple`` rows."""

    VERSION = _VERSION
    BUILDER_CONFIG_CLASS = AtariInterleavedConfig
    BUILDER_CONFIGS = [
        AtariInterleavedConfig(name=name, version=_VERSION, description=_DESCRIPTIONS[name])
        for name in CONFIG_NAMES
    ]
    DEFAULT_CONFIG_NAME = "interleaved"
    DEFAULT_WRITER_BATCH_SIZE = _WRITER_BATCH_SIZES["interleaved"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # load_dataset lists the files of data_dir as data_files; the builder reads data_dir.
        kwargs.pop("data_files", None)
        data_dir = kwargs.get("data_dir") or default_data_dir()
        if data_dir is not None:
            data_dir = kwargs["data_dir"] = os.fspath(data_dir)
            fingerprint = _data_fingerprint(data_dir)
            parts = [kwargs.get("hash"), fingerprint, _CACHE_TAG]
            kwargs["hash"] = "-".join(filter(None, parts))
        kwargs.setdefault("dataset_name", DATASET_NAME)
        super().__init__(*args, **kwargs)
        if kwargs.get("writer_batch_size") is None:
            self._writer_batch_size = _WRITER_BATCH_SIZES[self.config.name]

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=self.config.description,
            features=features(check_config_name(self.config.name)),
        )

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        data_dir = self.config.data_dir
        if not data_dir:
            raise InvalidArgumentError(
                "data_dir is required: the current folder holds no output of "
                f"'atari-interleaved build'; pass data_dir=<{EXPECTED_FOLDERS}>, e.g. "
                "load_dataset('atari_interleaved', 'interleaved', "
                "data_dir='sampled_frames_organized')"
            )
        config_name: ConfigName = check_config_name(self.config.name)
        if require_folder_kind(data_dir) != "frame_tree":
            gen_kwargs: dict[str, Any] = {"shards": _parquet_shards(data_dir, config_name)}
        else:
            tree = scan_tree(data_dir, on_bad_episodes=self.config.on_bad_episodes)
            warn_skipped(tree.skipped)
            gen_kwargs = {"sources": tree.episodes}
        return [datasets.SplitGenerator(name=datasets.Split.TRAIN, gen_kwargs=gen_kwargs)]

    def _generate_examples(
        self, sources: Sequence[EpisodeDir] = (), shards: Sequence[str] = ()
    ) -> Iterator[tuple[str, dict]]:
        config_name: ConfigName = check_config_name(self.config.name)
        for shard in shards:
            parquet = open_shard(shard, arrow_schema(config_name))
            with reading_shard(shard):
                for batch in parquet.iter_batches(batch_size=self._writer_batch_size):
                    for row in batch.to_pylist():
                        yield row_key(row), row
        skipped: list[BadInput] = []
        for episode in read_episodes(
            sources, on_bad_episodes=self.config.on_bad_episodes, skipped=skipped
        ):
            for row in episode_rows(episode, config_name):
                yield row_key(row), row
        warn_skipped(skipped)


def load_frames(
    data_dir: str | os.PathLike[str],
    config_name: ConfigName = "interleaved",
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    num_proc: int | None = None,
    on_bad_episodes: OnBadEpisodes = "error",
    streaming: bool = False,
) -> datasets.DatasetDict | datasets.IterableDatasetDict:
    """Return the ``DatasetDict`` (one ``train`` split) of a config from a folder of this project.

    Args:
        data_dir: a frame tree (or one ``atari_<game>`` folder of it), a folder of
            ``sample --to-parquet`` or an exported folder.
        config_name: ``"interleaved"`` (one row per episode) or ``"simple"`` (one per frame).
        cache_dir: the datasets cache (default: ``HF_DATASETS_CACHE``).
        num_proc: processes converting episodes (datasets shards the episodes).
        on_bad_episodes: ``"error"`` or ``"skip"`` bad episode folders (with a warning).
        streaming: return an ``IterableDatasetDict`` read from the folders, without cache.

    Example::

        dataset = load_frames("sampled_frames_organized", "simple")
        dataset["train"][0]["action"]  # 'NOOP'

    """
    builder = AtariInterleaved(
        config_name=check_config_name(config_name),
        data_dir=os.fspath(data_dir),
        cache_dir=None if cache_dir is None else os.fspath(cache_dir),
        on_bad_episodes=on_bad_episodes,
    )
    if streaming:
        return builder.as_streaming_dataset()
    builder.download_and_prepare(num_proc=num_proc)
    return builder.as_dataset()
