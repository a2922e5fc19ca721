"""Streaming sampled episodes straight into the parquet shards of both configs.

The direct mode of the sampler skips the frame folders (two small files a frame cost more
disk than the PNG and millions of inodes at scale) and writes the dataset's shards::

    <output-dir>/
    ├── sampling_config.json                        # settings, shard plan, ROMs, versions
    ├── interleaved/train-00000-of-0000N.parquet    # one row per episode
    ├── simple/train-00000-of-0000N.parquet         # one row per frame
    └── branches/train-00000-of-0000N.parquet       # with --branch-every: one per branch step

The rows are those ``convert`` writes from the frame folders of the same run. Shard ``i`` of
both configs holds one fixed chunk of episodes of one game at one randomness level: the plan
depends only on the games, the levels, ``max_episodes`` and ``episodes_per_shard``, never on
``--parallel`` or the backend, so the shards are byte-identical whatever runs them. The
shards are written by the one shard writer
(:class:`~atari_interleaved.storage.shard_writer.ShardWriter`, shard ``i`` of the plan under
its final name once complete); a rerun keeps the shards whose two files are
whole (:meth:`ParquetStore.shard_problem`) and samples the others again, replacing a
truncated or unreadable file under a final name. ``<output-dir>`` may be an object store
prefix (``s3://bucket/run``): the same files are put there as objects, whole (see
:class:`ParquetStore`), and the config is read from there by a rerun on any machine.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from atari_interleaved.core.episode import Episode
from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError, OutputExistsError
from atari_interleaved.core.features import (
    ALL_CONFIG_NAMES,
    BRANCHES_CONFIG,
    CONFIG_NAMES,
    ConfigName,
    arrow_schema,
    image_columns,
)
from atari_interleaved.core.games import env_id
from atari_interleaved.core.layout import (
    GAME_DIR_PREFIX,
    PARQUET_CONFIG_FORMAT,
    SAMPLING_CONFIG_NAME,
    TEMP_PREFIX,
)
from atari_interleaved.core.rows import episode_rows
from atari_interleaved.core.sampling_config import SamplingConfig, read_sampling_config
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate.chunks import Chunk
from atari_interleaved.generate.emulator import rom_md5, sampling_versions
from atari_interleaved.generate.folder_store import settings_differences
from atari_interleaved.generate.policy import planner_of
from atari_interleaved.storage.atomic import write_atomically
from atari_interleaved.storage.location import RemoteFolder
from atari_interleaved.storage.lock import remove_stale_temporaries
from atari_interleaved.storage.output_check import check_output
from atari_interleaved.storage.parquet_writer import (
    SHARD_PREFIX,
    existing_shards,
    rows_to_table,
    shard_name,
)
from atari_interleaved.storage.shard_check import (
    episode_shards_problem,
    shard_problem,
)
from atari_interleaved.storage.shard_writer import ShardWriter, by_episodes

__all__ = [
    "SHARD_FRAMES",
    "ParquetStore",
    "default_episodes_per_shard",
    "plan_shards",
    "read_shard_plan",
    "shard_plan",
]

SHARD_FRAMES = 100_000
"""Frames a shard holds at most by default: about 50 MB of PNG."""

MIN_SHARDS = 32
"""Shards a run is cut into at least by default (when it has that many episodes): a shard is
one worker's task, so there must be enough of them for every worker to stay busy to the end.
A constant, not ``--parallel``, so that the shards never depend on the machine."""


def default_episodes_per_shard(frame_cap: int, max_episodes: int, games: int) -> int:
    """Return how many episodes of one game (and level) make a shard by default.

    ``games`` counts the (game, randomness level) pairs of the run.

    >>> default_episodes_per_shard(60, 3, 104), default_episodes_per_shard(500, 4, 3)
    (3, 1)
    >>> default_episodes_per_shard(10_000, 100, 1)
    4
    """
    by_size = max(1, SHARD_FRAMES // frame_cap)
    by_count = math.ceil(max_episodes / math.ceil(MIN_SHARDS / games))
    return max(1, min(by_size, by_count))


def plan_shards(
    games: Sequence[str], levels: Sequence[float], max_episodes: int, episodes_per_shard: int
) -> list[Chunk]:
    """Return the episodes of every shard, in shard order (game, then level, then episode).

    >>> plan_shards(["alien", "pong"], [0.2], 3, 2)  # doctest: +NORMALIZE_WHITESPACE
    [Chunk(game='alien', indices=(0, 1), randomness=0.2),
     Chunk(game='alien', indices=(2,), randomness=0.2),
     Chunk(game='pong', indices=(0, 1), randomness=0.2),
     Chunk(game='pong', indices=(2,), randomness=0.2)]
    """
    if episodes_per_shard < 1:
        raise InvalidArgumentError(
            f"--episodes-per-shard must be a positive integer, but got {episodes_per_shard}"
        )
    return [
        Chunk(game, tuple(range(start, min(start + episodes_per_shard, max_episodes))), level)
        for game in games
        for level in levels
        for start in range(0, max_episodes, episodes_per_shard)
    ]


def read_shard_plan(root: str | os.PathLike[str]) -> list[Chunk]:
    """Return the shard plan of a direct folder: the episodes of each shard, in shard order.

    Raises:
        InvalidInputError: if the folder's ``sampling_config.json`` is missing, not valid, or
            holds no plan that ``sample --to-parquet`` makes.

    """
    path = Path(root) / SAMPLING_CONFIG_NAME
    config = read_sampling_config(root)
    if config is None or not config.is_direct:
        raise InvalidInputError(
            f"{path}: {'missing' if config is None else 'the config of a frame tree'}; "
            "give the folder of 'sample --to-parquet'"
        )
    return shard_plan(config, path)


def shard_plan(config: SamplingConfig, path: str | os.PathLike[str]) -> list[Chunk]:
    """Return the shard plan of the direct folder ``config`` (read from ``path``), checked.

    Raises:
        InvalidInputError: if it is not a plan that ``sample --to-parquet`` makes.

    """
    plan = [Chunk(game, indices, level) for game, indices, level in config.shards]
    games = list(dict.fromkeys(chunk.game for chunk in plan))
    levels = config.settings.levels
    max_episodes = max((i + 1 for chunk in plan for i in chunk.indices), default=0)
    per_shard = max((len(chunk.indices) for chunk in plan), default=0)
    planned = len(games) * len(levels) * -(-max_episodes // max(per_shard, 1))
    # The shard count a plan of these sizes has, checked before a plan is made from them.
    if (
        per_shard < 1
        or planned != len(plan)
        or plan_shards(games, levels, max_episodes, per_shard) != plan
    ):
        raise InvalidInputError(
            f"{os.fspath(path)}: its shard plan is not one 'sample --to-parquet' makes (edited by "
            "hand?); sample the folder again"
        )
    return plan


class ParquetStore:
    """The parquet shards of a direct-mode run under ``root``: a local folder or a store prefix.

    Into an object store (a :class:`~atari_interleaved.storage.location.RemoteFolder`) a
    shard is written by the same :class:`ShardWriter` into a local scratch folder, then put
    as one object per config, the ``interleaved`` file first: a shard is whole or absent, its
    bytes those a local folder gets, and a shard written twice (a task rerun after its node
    was lost) is put twice with the same bytes.
    """

    def __init__(
        self, root: str | os.PathLike[str] | RemoteFolder, shards: Sequence[Chunk]
    ) -> None:
        self.remote = root if isinstance(root, RemoteFolder) else None
        self.root = None if isinstance(root, RemoteFolder) else Path(root)
        """The local folder (None for a store prefix, :attr:`remote`)."""
        self.shards = tuple(shards)
        self._index = {chunk: index for index, chunk in enumerate(self.shards)}
        self._configs: tuple[ConfigName, ...] = CONFIG_NAMES  # and branches (see prepare)

    def _names(self, chunk: Chunk) -> dict[ConfigName, str]:
        index, count = self._index[chunk], len(self.shards)
        return {config: f"{config}/{shard_name(index, count)}" for config in self._configs}

    def shard_problem(self, chunk: Chunk) -> tuple[Path | str, str] | None:
        """Return a file of the shard of ``chunk`` that is missing or not whole, and why.

        See :func:`~atari_interleaved.storage.shard_check.episode_shards_problem`; with
        branches, the ``branches`` shard must be whole too (footer and columns).
        """
        if self.remote is None:
            paths: dict[ConfigName, Path | str] = {
                config: self.root / name for config, name in self._names(chunk).items()
            }
            filesystem = None
        else:
            paths = {config: self.remote.path(name) for config, name in self._names(chunk).items()}
            filesystem = self.remote.fs
        problem = episode_shards_problem(paths, len(chunk.indices), filesystem)
        if problem is None and BRANCHES_CONFIG in paths:
            path = paths[BRANCHES_CONFIG]
            found = shard_problem(path, arrow_schema(BRANCHES_CONFIG), filesystem=filesystem)
            problem = None if found is None else (path, found)
        return problem

    def pending(self) -> list[Chunk]:
        """Return the shards still to write.

        In a store, the prefix is listed once: only shards whose objects are all there have
        their footers read.
        """
        if self.remote is None:
            return [chunk for chunk in self.shards if self.shard_problem(chunk) is not None]
        present = set(self._existing_shards())
        return [
            chunk
            for chunk in self.shards
            if not present.issuperset(self._names(chunk).values())
            or self.shard_problem(chunk) is not None
        ]

    def prepare(self, settings: EpisodeSettings, *, overwrite: bool) -> None:
        """Make the root ready for this run: check, record the settings and shard plan.

        Raises:
            OutputExistsError: if the root holds a frame tree, or shards of other settings
                or another plan and ``overwrite`` is False.

        """
        if self.root is not None:
            check_output(self.root, "--output-dir", kind="folder")
        if settings.branch_every:
            self._configs = ALL_CONFIG_NAMES
        games = sorted({chunk.game for chunk in self.shards})
        wanted = SamplingConfig(
            PARQUET_CONFIG_FORMAT,
            settings,
            planner_of(settings.policy),
            shards=tuple((chunk.game, chunk.indices, chunk.randomness) for chunk in self.shards),
            env_ids={game: env_id(game) for game in games},
            rom_md5={game: rom_md5(game) for game in games},
            versions=sampling_versions(),
        )
        shown = self.remote.url if self.remote else str(self.root)
        try:
            recorded = self._recorded()
        except InvalidInputError:
            if self._frame_tree() or not overwrite:
                raise
            recorded = None
        if self._frame_tree() or (recorded is not None and not recorded.is_direct):
            raise OutputExistsError(
                f"{shown!r} holds a frame tree, not parquet shards of --to-parquet; "
                "choose another --output-dir"
            )
        changed = []
        if recorded is not None:
            changed = settings_differences(recorded.settings, settings)
            if recorded.shards != wanted.shards:
                changed.append(
                    "the games, --randomness levels, --max-episodes or --episodes-per-shard differ"
                )
        shards = self._existing_shards()
        if shards and (changed or recorded is None):
            if not overwrite:
                reason = "; ".join(changed) if changed else f"no {SAMPLING_CONFIG_NAME}"
                raise OutputExistsError(
                    f"{shown!r} holds parquet shards of another run ({reason}). "
                    "Sample into another --output-dir, rerun with the same settings to resume, "
                    "or pass --overwrite to delete its shards and start again."
                )
            self._remove(shards)
        if self.root is None:
            assert self.remote is not None
            self.remote.write(SAMPLING_CONFIG_NAME, wanted.to_json().encode("utf-8"))
            return
        self.root.mkdir(parents=True, exist_ok=True)
        for config in self._configs:
            folder = self.root / config
            folder.mkdir(exist_ok=True)
            for leftover in folder.glob(f"{TEMP_PREFIX}*"):
                leftover.unlink()
        config_path = self.root / SAMPLING_CONFIG_NAME
        remove_stale_temporaries(config_path)  # left by a run killed while writing it
        write_atomically(config_path, wanted.to_json())

    def _recorded(self) -> SamplingConfig | None:
        if self.root is not None:
            return read_sampling_config(self.root)
        assert self.remote is not None
        text = self.remote.read_bytes(SAMPLING_CONFIG_NAME)
        path = self.remote.url_of(SAMPLING_CONFIG_NAME)
        return None if text is None else SamplingConfig.from_json(text, path)

    def _frame_tree(self) -> bool:
        if self.root is None:
            assert self.remote is not None
            return any(name.startswith(GAME_DIR_PREFIX) for name in self.remote.list("*/*"))
        children = sorted(self.root.iterdir()) if self.root.is_dir() else []
        return any(path.name.startswith(GAME_DIR_PREFIX) for path in children)

    def _existing_shards(self) -> list[Path] | list[str]:
        if self.root is None:
            assert self.remote is not None
            return [
                name
                for config in ALL_CONFIG_NAMES
                for name in self.remote.list(f"{config}/{SHARD_PREFIX}-[0-9]*-of-[0-9]*.parquet")
            ]
        return [
            shard for config in ALL_CONFIG_NAMES for shard in existing_shards(self.root / config)
        ]

    def _remove(self, shards: list[Path] | list[str]) -> None:
        if self.remote is not None:
            self.remote.remove([str(name) for name in shards])
            return
        for shard in shards:
            Path(shard).unlink()

    @contextmanager
    def chunk_writer(self, chunk: Chunk) -> Iterator[Callable[[Episode], int]]:
        """Open the shard of ``chunk`` and give a function writing an episode into it.

        Both files get their final names (into a store: are put) when the block ends
        without error; on an error their temporary files are removed.
        """
        index, count = self._index[chunk], len(self.shards)
        with ExitStack() as stack:
            root = self.root
            if root is None:  # a store prefix: written here, then put
                root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=TEMP_PREFIX)))
            writers = {
                config: stack.enter_context(
                    ShardWriter(
                        root / config,
                        arrow_schema(config),
                        by_episodes(len(chunk.indices)),
                        numbering=(index, count),
                        binary_columns=image_columns(config),
                    )
                )
                for config in self._configs
            }

            def write(episode: Episode) -> int:
                written = 0
                for config, writer in writers.items():
                    table = rows_to_table(episode_rows(episode, config), writer.schema)
                    writer.write(table)
                    written += table.nbytes
                return written

            yield write
            for writer in writers.values():
                writer.close()
            if self.remote is not None:
                for name in self._names(chunk).values():  # interleaved first
                    self.remote.upload(name, root / name)
