"""Exporting sampled data to the folder a Hub dataset repository holds.

The folder has the layout ``push_to_hub(config_name=...)`` writes, plus pictures and a
manifest::

    <output-dir>/
    ├── README.md                                    # the card, with the YAML the Hub reads
    ├── interleaved/train-00000-of-0000N.parquet     # one row per episode
    ├── simple/train-00000-of-0000M.parquet          # one row per frame
    ├── branches/train-00000-of-0000K.parquet        # with --branch-every: one per branch step
    ├── previews/contact_sheet.png, previews/episode.gif
    └── manifest.json                                # sha256 of every file, how it was made

``load_dataset(<output-dir>, "interleaved")`` (or ``"simple"``) loads it offline with
``Image`` features; pandas reads PNG bytes from the same files. Everything is written in a
hidden temporary folder beside ``output_dir`` and renamed when complete. An existing folder
is only replaced when asked (``overwrite``) and only if it is empty or an earlier export
holding no file the export did not write (a file a user added is never deleted: the export
is refused, naming it). One export at a time writes a folder
(:mod:`atari_interleaved.storage.lock`), and a later one removes what a killed one left
beside it. The same tree and options give a byte-identical folder.

The input is a frame tree, converted to shards of at most ``max_shard_bytes``, or a direct
folder (written by ``sample --to-parquet``), whose shards already hold the same rows and
are taken as they are: hard-linked into the export when both are on the same file system,
else copied, never re-encoded (so ``max_shard_bytes`` cannot re-shard them and is refused).
With held-out splits (``split_plan``) their rows are copied into the shards of each split
instead, a row group at a time (PNG bytes as they are). A direct folder with missing
shards is an interrupted run, refused until it is finished.
Writing the shards is the only step that differs between the two: the card, pictures and
manifest are made from the exported shards alike.
"""

from __future__ import annotations

import errno
import functools
import os
import shlex
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError, OutputExistsError
from atari_interleaved.core.features import (
    BRANCHES_CONFIG,
    CONFIG_NAMES,
    ConfigName,
    arrow_schema,
    image_columns,
)
from atari_interleaved.core.layout import MANIFEST_NAME
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.core.splits import DEFAULT_PLAN, DEFAULT_SPLIT, SplitPlan
from atari_interleaved.core.versions import library_versions
from atari_interleaved.dataset.convert import (
    ConvertReport,
    RowOutput,
    convert_tree,
    scan_input,
    shards_output,
)
from atari_interleaved.dataset.reader import OnBadEpisodes, check_on_bad_episodes
from atari_interleaved.generate.parquet_store import read_shard_plan
from atari_interleaved.publishing.branch_preview import branch_summary
from atari_interleaved.publishing.card import (
    PLACEHOLDER_REPO_ID,
    CardInputs,
    SplitSize,
    check_template,
    read_template,
    render_card,
    split_sizes,
)
from atari_interleaved.publishing.manifest import read_manifest, write_manifest
from atari_interleaved.publishing.preview import preview_frames_from_parquet, write_previews
from atari_interleaved.publishing.provenance import Provenance, read_provenance
from atari_interleaved.publishing.stats import DatasetStats, stats_from_parquet
from atari_interleaved.storage.atomic import Staged
from atari_interleaved.storage.location import is_url, local_copy, remote_folder
from atari_interleaved.storage.lock import output_lock, remove_stale_temporaries
from atari_interleaved.storage.output_check import check_output
from atari_interleaved.storage.parquet_writer import DEFAULT_MAX_SHARD_BYTES, existing_shards
from atari_interleaved.storage.shard_check import (
    planned_shard_paths,
    shard_problem,
    unfinished_shards,
)
from atari_interleaved.storage.shard_writer import by_bytes
from atari_interleaved.storage.split_writer import SplitShardWriter, episode_tables

__all__ = [
    "CARD_NAME",
    "ExportReport",
    "export",
    "load_lines",
    "check_export_target",
    "direct_shards",
]

CARD_NAME = "README.md"

ExtraGeneration = Mapping[str, Any] | Callable[[], Mapping[str, Any]]
"""More provenance for the manifest, or a function giving it once the shards are written."""


@dataclass
class ExportReport:
    """What an export wrote."""

    output_dir: Path
    repo_id: str | None
    stats: DatasetStats
    splits: dict[ConfigName, dict[str, SplitSize]]
    files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    converted: list[ConvertReport] = field(default_factory=list)
    """What the ``tree_outputs`` of :func:`export` got, in their order."""

    def summary(self) -> str:
        """Return the human summary printed at the end of an export."""
        size = sum(
            split.download_size for sizes in self.splits.values() for split in sizes.values()
        )
        lines = [
            f"Exported {self.stats.episodes} episodes ({self.stats.frames} frames) of "
            f"{len(self.stats.games)} games to {self.output_dir}/ in {self.seconds:.1f} s: "
            f"{len(self.files)} files, {size / 1e6:.1f} MB."
        ]
        episodes, frames = self.splits["interleaved"], self.splits["simple"]
        if list(episodes) != [DEFAULT_SPLIT]:
            held = ", ".join(
                f"{split} ({size.num_examples} episodes, {frames[split].num_examples} frames)"
                for split, size in episodes.items()
            )
            lines.append(f"Splits: {held}.")
        loads = load_lines(str(self.output_dir), tuple(self.splits))
        lines += ["Load it with:", *(f"  {line}" for line in loads)]
        return "\n".join(lines)


def load_lines(source: str, configs: Sequence[ConfigName] = CONFIG_NAMES) -> list[str]:
    """Return the ``load_dataset`` line of each config for a folder or Hub repository."""
    return [f"load_dataset({source!r}, {config!r})" for config in configs]


def _is_inside(path: Path, other: Path) -> bool:
    return path == other or other in path.parents


def check_export_target(input_dir: Path, output_dir: Path, *, overwrite: bool) -> None:
    """Refuse an output folder that would lose data or cannot be written.

    Raises:
        InvalidArgumentError: if the output is a file or overlaps the input tree.
        OutputExistsError: if the output is a non-empty folder and ``overwrite`` is False,
            or it is not an earlier export, or holds files the export did not write (then
            it is never replaced).

    """
    source, target = input_dir.resolve(), output_dir.resolve()
    if _is_inside(target, source) or _is_inside(source, target):
        raise InvalidArgumentError(
            f"--output-dir {str(output_dir)!r} overlaps --input-dir {str(input_dir)!r}; "
            "export to a folder outside the frame tree"
        )
    if target.exists() and not target.is_dir():
        raise InvalidArgumentError(
            f"--output-dir {str(output_dir)!r} is a file; give a folder path (created if missing)"
        )
    if not target.is_dir() or not any(target.iterdir()):
        return
    if not overwrite:
        raise OutputExistsError(
            f"--output-dir {str(output_dir)!r} already exists and is not empty; pass "
            "--overwrite to replace an earlier export, or choose another folder"
        )
    try:
        written = set(read_manifest(target)["files"]) | {MANIFEST_NAME}
    except InvalidInputError:
        raise OutputExistsError(
            f"--output-dir {str(output_dir)!r} is not empty and is not a folder written by "
            f"'atari-interleaved export' (no valid {MANIFEST_NAME}), so it is not replaced "
            "even with --overwrite; delete it yourself or choose another folder"
        ) from None
    added = sorted(
        relative
        for path in target.rglob("*")
        if not path.is_dir() and (relative := path.relative_to(target).as_posix()) not in written
    )
    if added:
        raise OutputExistsError(
            f"--output-dir {str(output_dir)!r} holds {len(added)} files the earlier export "
            f"did not write ({', '.join(added[:3])}{', ...' if len(added) > 3 else ''}), "
            "which replacing it would delete; move them out of the folder, then rerun"
        )


def _export_command(
    input_dir: Path, output_dir: Path, repo_id: str | None, max_shard_bytes: int, plan: SplitPlan
) -> str:
    arguments = ["atari-interleaved", "export"]
    arguments += ["--input-dir", input_dir.resolve().name, "--output-dir", output_dir.name]
    if repo_id is not None:
        arguments += ["--repo-id", repo_id]
    if max_shard_bytes != DEFAULT_MAX_SHARD_BYTES:
        arguments += ["--max-shard-bytes", str(max_shard_bytes)]
    return shlex.join(arguments + plan.flags())


_NO_HARD_LINK = {errno.EXDEV, errno.EPERM, errno.EACCES, errno.EMLINK, errno.EOPNOTSUPP}
"""Errors of ``os.link`` after which a shard is copied instead (other file system, ...)."""


def direct_shards(
    input_dir: Path, provenance: Provenance, max_shard_bytes: int
) -> dict[ConfigName, list[Path]]:
    """Return the shards of a direct folder, per config, once checked complete.

    Raises:
        InvalidArgumentError: if ``max_shard_bytes`` is not the default.
        InvalidInputError: if shards of the plan are missing or not whole (an interrupted
            run) or files that are not in the plan are there.

    """
    shards = _planned_direct_shards(input_dir, provenance, max_shard_bytes)
    if BRANCHES_CONFIG in provenance.configs:
        names = [path.name for path in shards["simple"]]
        shards[BRANCHES_CONFIG] = [input_dir / BRANCHES_CONFIG / name for name in names]
        for path in shards[BRANCHES_CONFIG]:
            problem = shard_problem(path, arrow_schema(BRANCHES_CONFIG))
            if problem is not None:
                raise InvalidInputError(
                    f"{str(input_dir)!r} is an unfinished 'sample --to-parquet' run: "
                    f"{path.relative_to(input_dir).as_posix()} is {problem}. Rerun its sample "
                    f"command from the folder that holds it to finish it, then export "
                    f"again:\n  {provenance.sample_command()}"
                )
    return shards


def _planned_direct_shards(
    input_dir: Path, provenance: Provenance, max_shard_bytes: int
) -> dict[ConfigName, list[Path]]:
    """Return the shards of the two configs of a direct folder (see :func:`direct_shards`)."""
    if max_shard_bytes != DEFAULT_MAX_SHARD_BYTES:
        raise InvalidArgumentError(
            f"--max-shard-bytes cannot re-shard {str(input_dir)!r}: the shards of a "
            "'sample --to-parquet' folder are exported as they are (their size is set by "
            "--episodes-per-shard when sampling); leave --max-shard-bytes out"
        )
    plan = read_shard_plan(input_dir)
    unfinished = unfinished_shards(input_dir, [len(chunk.indices) for chunk in plan])
    if unfinished:
        first, problem = unfinished[0]
        raise InvalidInputError(
            f"{str(input_dir)!r} is an unfinished 'sample --to-parquet' run: {len(unfinished)} "
            f"of {len(plan)} shards are missing or incomplete "
            f"({first.relative_to(input_dir).as_posix()}"
            f"{'' if problem == 'missing' else f': {problem}'}"
            f"{', ...' if len(unfinished) > 1 else ''}). Rerun its sample command from the "
            f"folder that holds it to finish it, then export again:\n"
            f"  {provenance.sample_command()}"
        )
    shards = {
        config: [
            planned_shard_paths(input_dir, index, len(plan))[config] for index in range(len(plan))
        ]
        for config in CONFIG_NAMES
    }
    for config, planned in shards.items():
        extra = sorted(set(existing_shards(input_dir / config)) - set(planned))
        if extra:
            raise InvalidInputError(
                f"{str(extra[0])!r} is not a shard of the run recorded in "
                f"{str(input_dir)!r}'s sampling config (added by hand?); remove it"
            )
    return shards


def _link_shards(shards: dict[ConfigName, list[Path]], staging: Path) -> None:
    """Hard-link (or, across file systems, copy) ``shards`` into ``staging/<config>/``."""
    for config, paths in shards.items():
        (staging / config).mkdir()
        for path in paths:
            target = staging / config / path.name
            try:
                os.link(path, target)
            except OSError as error:
                if error.errno not in _NO_HARD_LINK:
                    raise
                shutil.copyfile(path, target)


def _split_shards(shards: dict[ConfigName, list[Path]], plan: SplitPlan, staging: Path) -> None:
    """Write the rows of a direct folder's ``shards`` to the shards of their splits.

    The rows are copied a row group at a time (PNG bytes as they are, never re-encoded).
    """
    for config, paths in shards.items():
        schema, ends = arrow_schema(config), by_bytes(DEFAULT_MAX_SHARD_BYTES)
        options = {"binary_columns": image_columns(config)}
        with SplitShardWriter(staging / config, schema, plan, ends, **options) as writer:
            for path in paths:
                file = pq.ParquetFile(path)
                for group in range(file.num_row_groups):
                    for table in episode_tables(file.read_row_group(group)):
                        writer.write(table)
            writer.close()


def _convert_tree(
    input_dir: Path,
    staging: Path,
    tree_outputs: Sequence[RowOutput],
    *,
    max_shard_bytes: int,
    num_proc: int,
    on_bad_episodes: OnBadEpisodes,
    progress: bool,
    split_plan: SplitPlan,
    configs: Sequence[ConfigName],
) -> list[ConvertReport]:
    """Convert the frame tree ``input_dir`` to the shards of ``configs`` in ``staging``.

    ``tree_outputs`` are written in the same reading of the tree; their reports are returned.
    """
    shards = [
        shards_output(
            staging / config, config, split_plan=split_plan, max_shard_bytes=max_shard_bytes
        )
        for config in configs
    ]
    tree = scan_input(input_dir, num_proc=num_proc, on_bad_episodes=on_bad_episodes)
    reports = convert_tree(
        tree,
        [*shards, *tree_outputs],
        num_proc=num_proc,
        on_bad_episodes=on_bad_episodes,
        progress=progress,
    )
    return reports[len(shards) :]


def export(
    input_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    storage_options: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    **options: Any,
) -> ExportReport:
    """Export ``input_dir`` to ``output_dir``, either of them a local folder or a store URL.

    An object store prefix given as ``input_dir`` (``s3://bucket/run``) is downloaded into a
    temporary folder first; one given as ``output_dir`` gets the export, written locally,
    put file by file, ``manifest.json`` last (``verify`` then tells a whole upload). See
    :func:`export_folder` for the options; ``storage_options`` are the store's fsspec options.

    Raises:
        OutputExistsError: if ``output_dir`` is a prefix holding objects, unless
            ``overwrite`` and they are an earlier export.

    """
    if not is_url(output_dir):
        with local_copy(input_dir, "--input-dir", storage_options) as local:
            return export_folder(local, output_dir, overwrite=overwrite, **options)
    remote = remote_folder(os.fspath(output_dir), "--output-dir", storage_options)
    with remote.reaching("--output-dir"):
        remote.check_writable("--output-dir")
        existing = remote.list("**")
    if existing and not (overwrite and MANIFEST_NAME in existing):
        raise OutputExistsError(
            f"--output-dir {remote.url!r} already holds objects ({existing[0]}, ...); give "
            "another prefix, or --overwrite to replace an earlier export there"
        )
    with (
        local_copy(input_dir, "--input-dir", storage_options) as local,
        tempfile.TemporaryDirectory(prefix="atari-interleaved-export-") as work,
    ):
        report = export_folder(local, Path(work) / "export", **options)
        with remote.reaching("--output-dir"):
            remote.remove(existing)
            remote.upload_folder(report.output_dir, last=MANIFEST_NAME)
    report.output_dir = remote.url  # type: ignore[assignment]
    return report


def export_folder(
    input_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    repo_id: str | None = None,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
    num_proc: int = 1,
    on_bad_episodes: OnBadEpisodes = "error",
    overwrite: bool = False,
    card_template: str | os.PathLike[str] | None = None,
    extra_generation: ExtraGeneration | None = None,
    progress: bool = False,
    split_plan: SplitPlan = DEFAULT_PLAN,
    tree_outputs: Sequence[RowOutput] = (),
) -> ExportReport:
    """Export a frame tree or a direct folder to a Hub-ready dataset folder.

    Args:
        input_dir: the frame tree (the sample step's ``--output-dir``), or the folder of
            ``sample --to-parquet``, whose shards are exported as they are.
        output_dir: the folder to write; created, or replaced when ``overwrite``.
        repo_id: the Hub repository the card's loading examples name
            (``your-username/atari_interleaved`` if None).
        max_shard_bytes: size after which a parquet shard ends (whole episodes per shard);
            only the default for a direct folder, which is not re-sharded.
        num_proc: processes reading and checking episodes (of a frame tree).
        on_bad_episodes: ``"error"`` stops at a bad episode folder; ``"skip"`` leaves it
            out (a frame tree's; a direct folder has none).
        overwrite: replace ``output_dir`` if it is an earlier export.
        card_template: the card template; ``dataset_card.md`` of the repository if None.
        extra_generation: more provenance to record in the manifest, or a function giving
            it once the shards and ``tree_outputs`` are written (``build`` records its
            other outputs there).
        progress: show progress bars.
        split_plan: the splits episodes are assigned to (``--splits``, ``--test-games``;
            :func:`atari_interleaved.core.splits.split_plan`); all ``train`` by default.
        tree_outputs: more outputs of a frame tree's rows, written in the same reading of
            the tree as the shards (``build``'s two parquet files); their reports are in
            :attr:`ExportReport.converted`.

    Raises:
        InvalidArgumentError: for a bad option or output path, or ``tree_outputs`` with a
            direct folder.
        OutputExistsError: if ``output_dir`` exists and may not be replaced.
        InvalidInputError: for a bad input tree (the message names the file), or a
            direct folder with missing shards.
        OutputInUseError: if another run is writing ``output_dir``.

    """
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    started = time.perf_counter()
    check_output(output_dir, "--output-dir", kind="replaced folder")
    with output_lock(output_dir):
        remove_stale_temporaries(output_dir.resolve())
        check_on_bad_episodes(on_bad_episodes)
        template = check_template(
            read_template(None if card_template is None else Path(card_template))
        )
        check_export_target(input_dir, output_dir, overwrite=overwrite)
        provenance = read_provenance(input_dir, on_bad_episodes=on_bad_episodes)
        write_shards: Callable[[Path], list[ConvertReport] | None]
        if provenance.to_parquet:
            if tree_outputs:
                raise InvalidArgumentError(
                    f"{str(input_dir)!r} holds parquet shards, not a frame tree to convert"
                )
            shards = direct_shards(input_dir, provenance, max_shard_bytes)
            write_shards = (
                functools.partial(_link_shards, shards)
                if split_plan.is_default
                else functools.partial(_split_shards, shards, split_plan)
            )
        else:
            write_shards = functools.partial(
                _convert_tree,
                input_dir,
                tree_outputs=tree_outputs,
                max_shard_bytes=max_shard_bytes,
                num_proc=num_proc,
                on_bad_episodes=on_bad_episodes,
                progress=progress,
                split_plan=split_plan,
                configs=provenance.configs,
            )
        target = output_dir.resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        with Staged(target, folder=True) as staged:
            staging = staged.temporary
            converted = write_shards(staging) or []
            splits = {
                config: split_sizes(staging, config, split_plan) for config in provenance.configs
            }
            stats = stats_from_parquet(staging)
            previews = write_previews(preview_frames_from_parquet(staging), staging)
            branches = None
            if BRANCHES_CONFIG in provenance.configs:
                settings = EpisodeSettings.from_dict(provenance.settings or {})
                branches = branch_summary(staging, settings)
            command = _export_command(input_dir, target, repo_id, max_shard_bytes, split_plan)
            inputs = CardInputs(
                repo_id=repo_id or PLACEHOLDER_REPO_ID,
                stats=stats,
                provenance=provenance,
                splits=splits,
                previews=previews,
                commands=[command],
                tool_version=library_versions(("atari-interleaved",)).get("atari-interleaved", ""),
                split_plan=split_plan,
                branches=branches,
            )
            (staging / CARD_NAME).write_text(render_card(inputs, template), encoding="utf-8")
            extra = extra_generation() if callable(extra_generation) else extra_generation
            generation = {
                "sampling": provenance.to_dict(),
                "export": {
                    "command": command,
                    "repo_id": repo_id,
                    "max_shard_bytes": None if provenance.to_parquet else max_shard_bytes,
                    "on_bad_episodes": on_bad_episodes,
                    "splits": split_plan.to_dict(),
                    "configs": {
                        config: {split: vars(size) for split, size in sizes.items()}
                        for config, sizes in splits.items()
                    },
                },
                **(extra or {}),
            }
            write_manifest(staging, generation=generation)
    files = sorted(
        path.relative_to(output_dir).as_posix() for path in output_dir.rglob("*") if path.is_file()
    )
    return ExportReport(
        output_dir=output_dir,
        repo_id=repo_id,
        stats=stats,
        splits=splits,
        files=files,
        seconds=time.perf_counter() - started,
        converted=converted,
    )
