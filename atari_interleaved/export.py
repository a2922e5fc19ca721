"""Exporting a frame tree to the folder a Hub dataset repository holds.

The folder has the layout ``push_to_hub(config_name=...)`` writes, plus pictures and a
manifest::

    <output-dir>/
    ├── README.md                                    # the card, with the YAML the Hub reads
    ├── interleaved/train-00000-of-0000N.parquet     # one row per episode
    ├── simple/train-00000-of-0000M.parquet          # one row per frame
    ├── previews/contact_sheet.png, previews/episode.gif
    └── manifest.json                                # sha256 of every file, how it was made

``load_dataset(<output-dir>, "interleaved")`` (or ``"simple"``) loads it offline with
``Image`` features; pandas reads PNG bytes from the same files. Everything is written in a
hidden temporary folder beside ``output_dir`` and renamed when complete. An existing folder
is only replaced when asked (``overwrite``) and only if it is empty or an earlier export.
The same tree and options give a byte-identical folder.
"""

from __future__ import annotations

import os
import shlex
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atari_interleaved.card import (
    PLACEHOLDER_REPO_ID,
    CardInputs,
    SplitSize,
    check_template,
    read_template,
    render_card,
    split_size,
)
from atari_interleaved.convert import write_config
from atari_interleaved.errors import InvalidArgumentError, InvalidInputError, OutputExistsError
from atari_interleaved.features import CONFIG_NAMES, ConfigName
from atari_interleaved.layout import TEMP_PREFIX
from atari_interleaved.manifest import (
    MANIFEST_NAME,
    library_versions,
    read_manifest,
    write_manifest,
)
from atari_interleaved.parquet_writer import DEFAULT_MAX_SHARD_BYTES
from atari_interleaved.preview import preview_frames_from_parquet, write_previews
from atari_interleaved.provenance import read_provenance
from atari_interleaved.reader import OnBadEpisodes, check_on_bad_episodes
from atari_interleaved.stats import DatasetStats, stats_from_parquet

__all__ = ["CARD_NAME", "ExportReport", "export", "load_lines", "check_export_target"]

CARD_NAME = "README.md"


@dataclass
class ExportReport:
    """What an export wrote."""

    output_dir: Path
    repo_id: str | None
    stats: DatasetStats
    splits: dict[ConfigName, SplitSize]
    files: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """Return the human summary printed at the end of an export."""
        size = sum(split.download_size for split in self.splits.values())
        lines = [
            f"Exported {self.stats.episodes} episodes ({self.stats.frames} frames) of "
            f"{len(self.stats.games)} games to {self.output_dir}/ in {self.seconds:.1f} s: "
            f"{len(self.files)} files, {size / 1e6:.1f} MB.",
            "Load it with:",
            *(f"  {line}" for line in load_lines(str(self.output_dir))),
        ]
        return "\n".join(lines)


def load_lines(source: str) -> list[str]:
    """Return the ``load_dataset`` line of each config for a folder or Hub repository."""
    return [f"load_dataset({source!r}, {config!r})" for config in CONFIG_NAMES]


def _is_inside(path: Path, other: Path) -> bool:
    return path == other or other in path.parents


def check_export_target(input_dir: Path, output_dir: Path, *, overwrite: bool) -> None:
    """Refuse an output folder that would lose data or cannot be written.

    Raises:
        InvalidArgumentError: if the output is a file or overlaps the input tree.
        OutputExistsError: if the output is a non-empty folder and ``overwrite`` is False,
            or it is not an earlier export (then it is never replaced).

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
        read_manifest(target)
    except InvalidInputError:
        raise OutputExistsError(
            f"--output-dir {str(output_dir)!r} is not empty and is not a folder written by "
            f"'atari-interleaved export' (no valid {MANIFEST_NAME}), so it is not replaced "
            "even with --overwrite; delete it yourself or choose another folder"
        ) from None


def _export_command(
    input_dir: Path, output_dir: Path, repo_id: str | None, max_shard_bytes: int
) -> str:
    arguments = ["atari-interleaved", "export"]
    arguments += ["--input-dir", input_dir.resolve().name, "--output-dir", output_dir.name]
    if repo_id is not None:
        arguments += ["--repo-id", repo_id]
    if max_shard_bytes != DEFAULT_MAX_SHARD_BYTES:
        arguments += ["--max-shard-bytes", str(max_shard_bytes)]
    return shlex.join(arguments)


def _swap_in(staging: Path, output_dir: Path) -> None:
    """Move the complete ``staging`` folder to ``output_dir``, replacing an earlier export."""
    if output_dir.exists():
        old = output_dir.with_name(f"{TEMP_PREFIX}{output_dir.name}-old-{os.getpid()}")
        os.rename(output_dir, old)
        os.rename(staging, output_dir)
        shutil.rmtree(old)
    else:
        os.rename(staging, output_dir)


def export(
    input_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    repo_id: str | None = None,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
    num_proc: int = 1,
    on_bad_episodes: OnBadEpisodes = "error",
    overwrite: bool = False,
    card_template: str | os.PathLike[str] | None = None,
    extra_generation: dict[str, Any] | None = None,
    progress: bool = False,
) -> ExportReport:
    """Export a frame tree to a Hub-ready dataset folder.

    Args:
        input_dir: the frame tree (the sample step's ``--output-dir``).
        output_dir: the folder to write; created, or replaced when ``overwrite``.
        repo_id: the Hub repository the card's loading examples name
            (``your-username/atari_interleaved`` if None).
        max_shard_bytes: size after which a parquet shard ends (whole episodes per shard).
        num_proc: processes reading and checking episodes.
        on_bad_episodes: ``"error"`` stops at a bad episode folder; ``"skip"`` leaves it out.
        overwrite: replace ``output_dir`` if it is an earlier export.
        card_template: the card template; ``dataset_card.md`` of the repository if None.
        extra_generation: more provenance to record in the manifest (``build`` records its
            other outputs there).
        progress: show progress bars.

    Raises:
        InvalidArgumentError: for a bad option or output path.
        OutputExistsError: if ``output_dir`` exists and may not be replaced.
        InvalidInputError: for a bad input tree (the message names the file).

    """
    started = time.perf_counter()
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    check_on_bad_episodes(on_bad_episodes)
    template = check_template(read_template(None if card_template is None else Path(card_template)))
    check_export_target(input_dir, output_dir, overwrite=overwrite)
    provenance = read_provenance(input_dir, on_bad_episodes=on_bad_episodes)
    target = output_dir.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f"{TEMP_PREFIX}{target.name}-{os.getpid()}")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        for config in CONFIG_NAMES:
            write_config(
                input_dir,
                config,
                staging,
                max_shard_bytes=max_shard_bytes,
                num_proc=num_proc,
                on_bad_episodes=on_bad_episodes,
                progress=progress,
            )
        splits = {config: split_size(staging, config) for config in CONFIG_NAMES}
        stats = stats_from_parquet(staging)
        previews = write_previews(preview_frames_from_parquet(staging), staging)
        command = _export_command(input_dir, target, repo_id, max_shard_bytes)
        inputs = CardInputs(
            repo_id=repo_id or PLACEHOLDER_REPO_ID,
            stats=stats,
            provenance=provenance,
            splits=splits,
            previews=previews,
            commands=[command],
            tool_version=library_versions(("atari-interleaved",)).get("atari-interleaved", ""),
        )
        (staging / CARD_NAME).write_text(render_card(inputs, template), encoding="utf-8")
        generation = {
            "sampling": provenance.to_dict(),
            "export": {
                "command": command,
                "repo_id": repo_id,
                "max_shard_bytes": max_shard_bytes,
                "on_bad_episodes": on_bad_episodes,
                "configs": {config: vars(split) for config, split in splits.items()},
            },
            **(extra_generation or {}),
        }
        write_manifest(staging, generation=generation)
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging)
        raise
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
    )
