"""Converting a frame tree to parquet (pipeline step 2), with pyarrow directly.

The engine, :func:`convert_tree`, writes any set of row outputs (:class:`RowOutput`) from
one reading of the tree: each episode is read and checked once (``num_proc`` worker
processes read them, in the tree's stable order), its rows of
:mod:`atari_interleaved.core.rows` (those the ``datasets`` builder yields too) are built
once per config, and every output of that config gets them: a single parquet file
(:func:`file_output`) or the shards of each split of a dataset repository
(:func:`shards_output`). ``build`` writes the seed's two files and the export's shards in
one pass. Files are written by :mod:`atari_interleaved.storage`: under temporary names
until complete, in row groups of about 100 MB, with memory bounded by a few episodes and
one row group.

:func:`convert` writes one file, what ``convert_to_training_data.py`` of PIPELINE.md
writes; :func:`write_config` the shards of a config
(``<output_dir>/<config>/train-00000-of-0000N.parquet``)::

    convert("sampled_frames_organized", "atari_training_data.parquet")
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from tqdm.auto import tqdm

from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError, OutputExistsError
from atari_interleaved.core.features import (
    ConfigName,
    arrow_schema,
    check_config_name,
    image_columns,
)
from atari_interleaved.core.rows import episode_rows
from atari_interleaved.core.splits import DEFAULT_PLAN, SplitPlan
from atari_interleaved.dataset.reader import (
    BadInput,
    EpisodeDir,
    FrameTree,
    OnBadEpisodes,
    read_episodes,
    scan_tree,
    warn_skipped,
)
from atari_interleaved.storage.lock import output_lock, remove_stale_temporaries
from atari_interleaved.storage.output_check import check_output, full_disk_errors
from atari_interleaved.storage.parquet_writer import (
    DEFAULT_MAX_SHARD_BYTES,
    DEFAULT_ROW_GROUP_BYTES,
    ParquetFileWriter,
    refuse_existing_shards,
    rows_to_table,
)
from atari_interleaved.storage.shard_writer import by_bytes
from atari_interleaved.storage.split_writer import SplitShardWriter
from atari_interleaved.storage.workers import die_with_parent, worker_count

__all__ = [
    "ConvertReport",
    "RowOutput",
    "RowWriter",
    "convert",
    "convert_tree",
    "file_output",
    "scan_input",
    "shards_output",
    "write_config",
]

RowWriter = ParquetFileWriter | SplitShardWriter
"""What an output writes with: ``write(table)`` per episode, ``close()`` giving its files."""
_Result = tuple[dict[ConfigName, pa.Table], int] | BadInput


@dataclass(frozen=True)
class RowOutput:
    """One output of a conversion: the rows of ``config_name``, written by ``open_writer``.

    ``open_writer(schema, image_columns)`` is called once the input is read to open the
    writer (a context manager that removes what it wrote on an error).
    """

    config_name: ConfigName
    open_writer: Callable[[pa.Schema, list[str]], RowWriter]


def file_output(
    path: Path, config_name: ConfigName, *, row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES
) -> RowOutput:
    """Return the output writing ``config_name``'s rows to the parquet file ``path``."""

    def open_writer(schema: pa.Schema, binary_columns: list[str]) -> ParquetFileWriter:
        return ParquetFileWriter(
            path, schema, binary_columns=binary_columns, row_group_bytes=row_group_bytes
        )

    return RowOutput(config_name, open_writer)


def shards_output(
    directory: Path,
    config_name: ConfigName,
    *,
    split_plan: SplitPlan = DEFAULT_PLAN,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
    row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES,
) -> RowOutput:
    """Return the output writing ``config_name``'s rows to the shards of their splits.

    The shards (``<split>-XXXXX-of-YYYYY.parquet`` in ``directory``) end before passing
    ``max_shard_bytes``; they replace the older shards of their split when complete.

    Raises:
        InvalidArgumentError: if ``max_shard_bytes`` is not a positive integer.

    """
    if not isinstance(max_shard_bytes, int) or max_shard_bytes < 1:
        raise InvalidArgumentError(
            f"max_shard_bytes must be a positive integer, but got {max_shard_bytes!r}"
        )

    def open_writer(schema: pa.Schema, binary_columns: list[str]) -> SplitShardWriter:
        return SplitShardWriter(
            directory,
            schema,
            split_plan,
            by_bytes(max_shard_bytes),
            binary_columns=binary_columns,
            row_group_bytes=row_group_bytes,
        )

    return RowOutput(config_name, open_writer)


@dataclass
class ConvertReport:
    """What a conversion wrote."""

    config_name: ConfigName
    outputs: list[Path] = field(default_factory=list)
    games: list[str] = field(default_factory=list)
    episodes: int = 0
    rows: int = 0
    frames: int = 0
    num_bytes: int = 0
    seconds: float = 0.0
    skipped: list[BadInput] = field(default_factory=list)

    def summary(self) -> str:
        """Return the human summary printed at the end of a conversion."""
        rate = self.frames / self.seconds if self.seconds > 0 else 0.0
        where = str(self.outputs[0]) if len(self.outputs) == 1 else f"{len(self.outputs)} files"
        lines = [
            f"Wrote {self.rows} {self.config_name} rows ({self.episodes} episodes, "
            f"{self.frames} frames, {self.num_bytes / 1e6:.1f} MB) of {len(self.games)} games "
            f"to {where} in {self.seconds:.1f} s ({rate:.0f} frames/s)."
        ]
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} bad episode folders (listed above).")
        return "\n".join(lines)


def _convert_episode(
    source: EpisodeDir, config_names: Sequence[ConfigName], on_bad: OnBadEpisodes
) -> _Result:
    """Return an episode's table in each config and its frame count, or (skipping) its problem."""
    skipped: list[BadInput] = []
    for episode in read_episodes([source], on_bad_episodes=on_bad, skipped=skipped):
        tables = {
            config: rows_to_table(episode_rows(episode, config), arrow_schema(config))
            for config in config_names
        }
        return tables, episode.num_frames
    return skipped[0]


def _init_worker(parent_pid: int) -> None:
    """End with the main process; leave Ctrl-C to it (it stops the workers, removes its output)."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _converted_episodes(
    sources: Sequence[EpisodeDir],
    config_names: Sequence[ConfigName],
    num_proc: int,
    on_bad: OnBadEpisodes,
) -> Iterator[Iterator[_Result]]:
    """Give the results of :func:`_convert_episode` for ``sources``, in order.

    With ``num_proc > 1`` the worker processes (forked here, before any output is opened;
    no more than the CPUs and the episodes) work at most two episodes ahead each, so memory
    stays bounded.
    """
    num_proc = worker_count(num_proc, len(sources), flag="--num-proc")
    if num_proc == 1:
        yield (_convert_episode(source, config_names, on_bad) for source in sources)
        return
    pool = ProcessPoolExecutor(
        num_proc,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_init_worker,
        initargs=(os.getpid(),),
    )
    remaining = iter(sources)
    window: deque[Future[_Result]] = deque(
        pool.submit(_convert_episode, source, config_names, on_bad)
        for source in itertools.islice(remaining, 2 * num_proc)
    )

    def results() -> Iterator[_Result]:
        while window:
            result = window.popleft().result()
            following = next(remaining, None)
            if following is not None:
                window.append(pool.submit(_convert_episode, following, config_names, on_bad))
            yield result

    try:
        yield results()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def scan_input(
    input_dir: str | os.PathLike[str], *, num_proc: int, on_bad_episodes: OnBadEpisodes
) -> FrameTree:
    """Check the options and list the input tree: the input is checked before the output.

    Raises:
        InvalidArgumentError: for a bad ``num_proc`` or ``on_bad_episodes``.
        InvalidInputError: for a missing or bad tree.

    """
    if not isinstance(num_proc, int) or num_proc < 1:
        raise InvalidArgumentError(f"num_proc must be a positive integer, but got {num_proc!r}")
    return scan_tree(input_dir, on_bad_episodes=on_bad_episodes)


def convert_tree(
    tree: FrameTree,
    outputs: Sequence[RowOutput],
    *,
    num_proc: int = 1,
    on_bad_episodes: OnBadEpisodes = "error",
    progress: bool = False,
) -> list[ConvertReport]:
    """Write the rows of ``tree`` to every output, reading each episode once.

    Args:
        tree: the input, from :func:`scan_input`.
        outputs: where the rows go; several may take the same config.
        num_proc: processes reading and checking episodes.
        on_bad_episodes: ``"error"`` or ``"skip"`` (see :func:`convert`).
        progress: show a progress bar.

    Returns:
        What each output wrote, in the order of ``outputs``.

    Raises:
        InvalidInputError: for a bad episode (with ``"error"``), or if none could be read.

    """
    started = time.perf_counter()
    configs = list(dict.fromkeys(output.config_name for output in outputs))
    reports = [ConvertReport(output.config_name) for output in outputs]
    skipped = list(tree.skipped)
    converted = 0
    with _converted_episodes(tree.episodes, configs, num_proc, on_bad_episodes) as results:
        with ExitStack() as stack:
            writers = [
                stack.enter_context(
                    output.open_writer(
                        arrow_schema(output.config_name), image_columns(output.config_name)
                    )
                )
                for output in outputs
            ]
            bar = tqdm(total=len(tree.episodes), unit="episode", disable=not progress)
            for source, result in zip(tree.episodes, results, strict=True):
                bar.update()
                if isinstance(result, BadInput):
                    skipped.append(result)
                    continue
                tables, frames = result
                converted += 1
                for writer, report in zip(writers, reports, strict=True):
                    table = tables[report.config_name]
                    writer.write(table)
                    report.episodes += 1
                    report.rows += table.num_rows
                    report.frames += frames
                    report.num_bytes += table.nbytes
                    if source.game not in report.games:
                        report.games.append(source.game)
            bar.close()
            if converted == 0:
                raise InvalidInputError(
                    f"no episode of {str(tree.data_dir)!r} could be converted: all "
                    f"{len(skipped)} episode folders are bad (listed above)"
                )
            written = [writer.close() for writer in writers]
    seconds = time.perf_counter() - started
    for report, files in zip(reports, written, strict=True):
        report.outputs = files if isinstance(files, list) else [files]
        report.seconds = seconds
        report.skipped = skipped
    warn_skipped(skipped)
    return reports


def convert(
    input_dir: str | os.PathLike[str],
    output_file: str | os.PathLike[str],
    config_name: ConfigName = "interleaved",
    *,
    overwrite: bool = False,
    num_proc: int = 1,
    on_bad_episodes: OnBadEpisodes = "error",
    row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES,
    progress: bool = False,
) -> ConvertReport:
    """Convert a frame tree to one parquet file of the ``interleaved`` or ``simple`` config.

    Args:
        input_dir: the frame tree (or one ``atari_<game>`` folder of it).
        output_file: the parquet file to write; written under a temporary name and renamed
            when complete.
        config_name: ``"interleaved"`` (one row per episode) or ``"simple"`` (one per frame).
        overwrite: replace an existing ``output_file`` instead of refusing.
        num_proc: processes reading and checking episodes.
        on_bad_episodes: ``"error"`` stops at the first bad episode folder; ``"skip"``
            leaves bad ones out and logs a warning listing them.
        row_group_bytes: table bytes of a parquet row group (the Hub viewer wants at most
            100-300 MB); memory use grows with it.
        progress: show a progress bar.

    Raises:
        InvalidArgumentError: for a bad option value.
        InvalidInputError: for a bad input tree (the message names the file); the input is
            checked before the output.
        OutputExistsError: if ``output_file`` exists and ``overwrite`` is False.
        OutputInUseError: if another run is writing ``output_file``.

    """
    config_name = check_config_name(config_name)
    output = Path(output_file)
    check_output(output, "--output-file", kind="file")
    tree = scan_input(input_dir, num_proc=num_proc, on_bad_episodes=on_bad_episodes)
    with output_lock(output), full_disk_errors(output, "--output-file"):
        if output.exists() and not overwrite:
            raise OutputExistsError(
                f"--output-file {str(output)!r} already exists; pass --overwrite to replace it "
                "or choose another file"
            )
        remove_stale_temporaries(output)
        (report,) = convert_tree(
            tree,
            [file_output(output, config_name, row_group_bytes=row_group_bytes)],
            num_proc=num_proc,
            on_bad_episodes=on_bad_episodes,
            progress=progress,
        )
    return report


def write_config(
    input_dir: Path,
    config_name: ConfigName,
    output_dir: Path,
    *,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
    num_proc: int = 1,
    on_bad_episodes: OnBadEpisodes = "error",
    overwrite: bool = False,
    row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES,
    progress: bool = False,
) -> list[Path]:
    """Write the parquet shards of a config: ``output_dir/<config>/train-XXXXX-of-YYYYY.parquet``.

    The shards are written in a temporary folder and moved into ``output_dir/<config>``
    when all are complete. Image columns are PNG bytes; a README.md whose ``dataset_info``
    lists :func:`~atari_interleaved.core.features.dataset_info_features_yaml` makes
    ``load_dataset(output_dir, config_name)`` type them as images.

    Args:
        input_dir: the frame tree (or one ``atari_<game>`` folder of it).
        config_name: ``"interleaved"`` or ``"simple"``.
        output_dir: the dataset folder; the shards go to its ``config_name`` sub-folder.
        max_shard_bytes: size after which a new shard starts (whole episodes per shard).
        num_proc: processes reading and checking episodes.
        on_bad_episodes: ``"error"`` or ``"skip"`` (see :func:`convert`).
        overwrite: replace the shards already in ``output_dir/<config>``.
        row_group_bytes: table bytes of a parquet row group (see :func:`convert`).
        progress: show a progress bar.

    Returns:
        The shard files, in order.

    Raises:
        OutputExistsError: if ``output_dir/<config>`` holds shards and ``overwrite`` is False.
        InvalidInputError: for a bad input tree.

    """
    config_name = check_config_name(config_name)
    output = shards_output(
        Path(output_dir) / config_name,
        config_name,
        max_shard_bytes=max_shard_bytes,
        row_group_bytes=row_group_bytes,
    )
    tree = scan_input(input_dir, num_proc=num_proc, on_bad_episodes=on_bad_episodes)
    if not overwrite:
        refuse_existing_shards(Path(output_dir) / config_name, "*")
    (report,) = convert_tree(
        tree, [output], num_proc=num_proc, on_bad_episodes=on_bad_episodes, progress=progress
    )
    return report.outputs
