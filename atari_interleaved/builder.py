"""The ``datasets`` builder of a frame tree: configs ``interleaved`` (default) and ``simple``.

datasets >= 4 no longer runs loading scripts, so the builder is used directly::

    import atari_interleaved
    dataset = atari_interleaved.load_frames("sampled_frames_organized", "interleaved")
    dataset["train"][0]["images"][0]        # a PIL image, RGB

which is ``AtariInterleaved(config_name=..., data_dir=...)``, then
``download_and_prepare()`` and ``as_dataset()``. On datasets < 4 the loading script
``atari_interleaved.py`` at the top of the repository wraps this builder:
``load_dataset("atari_interleaved.py", "interleaved", data_dir=..., trust_remote_code=True)``.

Rows are those of :mod:`atari_interleaved.rows` (the parquet files of ``convert`` hold the
same), in the tree's stable order, with unique keys (``atari_alien/episode_000_rand0.2``,
plus ``/000004`` for a frame of ``simple``). ``num_proc`` shards the episodes over
processes. The cache is keyed by the tree's episode folders (path, inode, modification
time), so a tree sampled again is read again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import datasets

from atari_interleaved.errors import InvalidArgumentError
from atari_interleaved.features import CONFIG_NAMES, ConfigName, check_config_name, features
from atari_interleaved.reader import (
    BadInput,
    EpisodeDir,
    FrameTree,
    OnBadEpisodes,
    check_on_bad_episodes,
    read_episodes,
    scan_tree,
    warn_skipped,
)
from atari_interleaved.rows import episode_rows, row_key

__all__ = ["AtariInterleavedConfig", "AtariInterleaved", "tree_fingerprint", "load_frames"]

DATASET_NAME = "atari_interleaved"
_VERSION = datasets.Version("1.0.0")

_DESCRIPTIONS = {
    "interleaved": "One row per episode: interleaved text and image_gen inputs, PNG frames.",
    "simple": "One row per frame: the frame, the action taken there, its reward.",
}
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
        data_dir = kwargs.get("data_dir")
        if data_dir is not None:
            fingerprint = tree_fingerprint(scan_tree(data_dir, on_bad_episodes="skip"))
            kwargs["hash"] = "-".join(filter(None, [kwargs.get("hash"), fingerprint]))
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
        if not self.config.data_dir:
            raise InvalidArgumentError(
                "data_dir is required: the folder of frames the sample step wrote, e.g. "
                "AtariInterleaved(config_name='interleaved', data_dir='sampled_frames_organized')"
            )
        tree = scan_tree(self.config.data_dir, on_bad_episodes=self.config.on_bad_episodes)
        warn_skipped(tree.skipped)
        return [
            datasets.SplitGenerator(
                name=datasets.Split.TRAIN, gen_kwargs={"sources": tree.episodes}
            )
        ]

    def _generate_examples(self, sources: list[EpisodeDir]) -> Iterator[tuple[str, dict]]:
        config_name: ConfigName = check_config_name(self.config.name)
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
    """Return the ``DatasetDict`` (one ``train`` split) of a config from a folder of frames.

    Args:
        data_dir: the frame tree (or one ``atari_<game>`` folder of it).
        config_name: ``"interleaved"`` (one row per episode) or ``"simple"`` (one per frame).
        cache_dir: the datasets cache (default: ``HF_DATASETS_CACHE``).
        num_proc: processes converting episodes (datasets shards the episodes).
        on_bad_episodes: ``"error"`` or ``"skip"`` bad episode folders (with a warning).
        streaming: return an ``IterableDatasetDict`` read from the folders, without cache.

    Example:
        >>> dataset = load_frames("sampled_frames_organized", "simple")  # doctest: +SKIP
        >>> dataset["train"][0]["action"]                                   # doctest: +SKIP
        'NOOP'

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
