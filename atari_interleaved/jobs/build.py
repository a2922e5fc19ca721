"""The whole pipeline in one call: sample, convert both configs, export the Hub folder.

:func:`build` is what ``atari-interleaved build`` runs. It reads each frame file of the tree
once: the two parquet files of PIPELINE.md and the Hub folder's shards are written in the
same pass (:func:`atari_interleaved.dataset.convert.convert_tree`). It is safe to rerun:

- sampling resumes (complete episodes are kept; a tree of other settings is refused unless
  ``overwrite``), and a tree holding games or episodes this build did not ask for is refused
  (its data would end up in the outputs) unless ``overwrite``, which starts it again;
- the two parquet files and the Hub folder are replaced when they are this pipeline's own
  outputs: the Hub folder still matches its manifest, and each parquet file has the sha256
  that manifest records for it. Any other existing output is refused unless ``overwrite``
  (and a non-empty folder that is not an export is never replaced).

The parquet files are written under temporary names and renamed after the Hub folder is
complete, so the records of a finished build always describe the files beside it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from atari_interleaved.core.errors import InvalidArgumentError, InvalidInputError, OutputExistsError
from atari_interleaved.core.features import ConfigName
from atari_interleaved.core.games import resolve_games
from atari_interleaved.core.layout import (
    DEFAULT_FRAMES_DIR,
    DEFAULT_HUB_DIR,
    DEFAULT_INTERLEAVED_FILE,
    DEFAULT_SIMPLE_FILE,
)
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.core.splits import DEFAULT_PLAN, SplitPlan
from atari_interleaved.dataset.convert import ConvertReport, file_output
from atari_interleaved.dataset.reader import scan_tree
from atari_interleaved.generate.folder_store import FolderStore
from atari_interleaved.generate.sampler import SampleReport, sample
from atari_interleaved.publishing.export import (
    ExportReport,
    check_export_target,
    export,
    load_lines,
)
from atari_interleaved.publishing.manifest import file_entry, read_manifest, verify
from atari_interleaved.storage.atomic import Staged
from atari_interleaved.storage.lock import output_lock, remove_stale_temporaries
from atari_interleaved.storage.output_check import check_output
from atari_interleaved.storage.parquet_writer import DEFAULT_MAX_SHARD_BYTES

__all__ = [
    "DEFAULT_GAMES",
    "DEFAULT_MAX_EPISODES",
    "DEFAULT_FRAMES_PER_ENV",
    "BuildReport",
    "build",
]

DEFAULT_GAMES = ("alien", "breakout", "pong", "ms_pacman", "space_invaders")
DEFAULT_MAX_EPISODES = 3
DEFAULT_FRAMES_PER_ENV = 60


@dataclass
class BuildReport:
    """What a build wrote."""

    frames_dir: Path
    files: dict[ConfigName, Path]
    hub_dir: Path
    sampled: SampleReport
    converted: dict[ConfigName, ConvertReport]
    exported: ExportReport

    def summary(self) -> str:
        """Return where everything is and how to load it."""
        stats = self.exported.stats

        def size(path: Path) -> str:
            return f"{path.stat().st_size / 1e6:.1f} MB"

        lines = [
            self.sampled.summary(),
            "",
            "Wrote:",
            f"  frame tree   {self.frames_dir}/ ({len(stats.games)} games, {stats.episodes} "
            f"episodes, {stats.frames} frames)",
        ]
        for config, path in self.files.items():
            rows = self.converted[config].rows
            lines.append(f"  {config:<12} {path} ({rows} rows, {size(path)})")
        lines += [
            f"  Hub folder   {self.hub_dir}/ (README.md card, previews/, manifest.json, "
            "interleaved/ and simple/ parquet shards)",
            "",
            "Load it:",
            "  from datasets import load_dataset",
            *(f"  {line}" for line in load_lines(str(self.hub_dir))),
            f"  pandas.read_parquet({str(self.files['interleaved'])!r})",
            "Publish it:",
            f"  atari-interleaved publish --input-dir {self.hub_dir} "
            "--repo-id <your-username>/atari_interleaved",
        ]
        return "\n".join(lines)


def _recorded_outputs(hub_dir: Path) -> dict[str, dict]:
    """Return the parquet files recorded by the build that wrote ``hub_dir``.

    Raises:
        OutputExistsError: if ``hub_dir`` is not an export or was changed since.

    """
    fix = "pass --overwrite to replace it, or choose another --hub-dir"
    try:
        manifest = read_manifest(hub_dir)
    except InvalidInputError as error:
        raise OutputExistsError(
            f"{str(hub_dir)!r} exists and is not a dataset folder written by an earlier "
            f"build ({error}); {fix}"
        ) from None
    report = verify(hub_dir)
    if not report.ok:
        raise OutputExistsError(
            f"{str(hub_dir)!r} was changed since an earlier build wrote it:\n"
            f"{report.summary()}\n{fix[0].upper()}{fix[1:]}."
        )
    return manifest["generation"].get("build", {}).get("outputs", {})


def _check_outputs(files: dict[ConfigName, Path], hub_dir: Path, *, overwrite: bool) -> None:
    """Refuse to replace outputs that are not this pipeline's own (see the module doc)."""
    if overwrite:
        return
    hub_used = hub_dir.is_dir() and any(hub_dir.iterdir())
    recorded = _recorded_outputs(hub_dir) if hub_used else {}
    for path in files.values():
        if not path.exists():
            continue
        expected = recorded.get(path.name)
        if expected is None or vars(file_entry(path)) != expected:
            raise OutputExistsError(
                f"{str(path)!r} exists and is not the output of an earlier build (the "
                f"manifest of {str(hub_dir)!r} does not record it with this content); pass "
                "--overwrite to replace it, or choose another file"
            )


def _unrequested(frames_dir: Path, games: Sequence[str], max_episodes: int) -> list[str]:
    """Return the episode folders of ``frames_dir`` that this build does not ask for."""
    if not frames_dir.is_dir():
        return []
    try:
        tree = scan_tree(frames_dir, on_bad_episodes="skip")
    except InvalidInputError:
        return []
    return [
        f"{episode.path.parent.name}/{episode.name}"
        for episode in tree.episodes
        if episode.game not in games or episode.index >= max_episodes
    ]


def build(
    *,
    envs: Sequence[str] = DEFAULT_GAMES,
    max_episodes: int = DEFAULT_MAX_EPISODES,
    settings: EpisodeSettings | None = None,
    parallel: int = 1,
    frames_dir: str | os.PathLike[str] = DEFAULT_FRAMES_DIR,
    interleaved_file: str | os.PathLike[str] = DEFAULT_INTERLEAVED_FILE,
    simple_file: str | os.PathLike[str] = DEFAULT_SIMPLE_FILE,
    hub_dir: str | os.PathLike[str] = DEFAULT_HUB_DIR,
    repo_id: str | None = None,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
    num_proc: int = 1,
    overwrite: bool = False,
    progress: bool = True,
    split_plan: SplitPlan = DEFAULT_PLAN,
) -> BuildReport:
    """Sample games, convert the tree to the seed's two parquet files and export the Hub folder.

    Args:
        envs: games to sample.
        max_episodes: episodes per game.
        settings: sampling settings; ``EpisodeSettings(frame_cap=DEFAULT_FRAMES_PER_ENV)`` if None.
        parallel: sampling processes.
        frames_dir: the frame tree (sampled into, resumed).
        interleaved_file: the ``interleaved`` parquet file of PIPELINE.md.
        simple_file: the ``simple`` parquet file of PIPELINE.md.
        hub_dir: the Hub-ready dataset folder.
        repo_id: the Hub repository the card's examples name.
        max_shard_bytes: shard size of the Hub folder.
        num_proc: processes reading episodes while converting.
        overwrite: replace outputs that are not this pipeline's own, and start a tree of
            other settings (or holding other games or episodes) again.
        progress: show progress bars.
        split_plan: the held-out splits of the Hub folder (the two parquet files of
            PIPELINE.md hold every episode).

    Raises:
        OutputExistsError: if an output may not be replaced (the message says which).
        OutputInUseError: if another run is writing one of the outputs.

    """
    settings = settings or EpisodeSettings(frame_cap=DEFAULT_FRAMES_PER_ENV)
    games = resolve_games(envs)
    frames_dir, hub_dir = Path(frames_dir), Path(hub_dir)
    files: dict[ConfigName, Path] = {
        "interleaved": Path(interleaved_file),
        "simple": Path(simple_file),
    }
    if files["interleaved"].resolve() == files["simple"].resolve():
        raise InvalidArgumentError(
            f"--interleaved-file and --simple-file are the same file {str(interleaved_file)!r}; "
            "give two file names"
        )
    check_output(frames_dir, "--frames-dir", kind="folder")
    for config, path in files.items():
        check_output(path, f"--{config}-file", kind="file")
    check_output(hub_dir, "--hub-dir", kind="replaced folder")
    with ExitStack() as locks:
        for output in (frames_dir, *files.values(), hub_dir):
            locks.enter_context(output_lock(output))
        check_export_target(frames_dir, hub_dir, overwrite=True)
        _check_outputs(files, hub_dir, overwrite=overwrite)
        extra = _unrequested(frames_dir, games, max_episodes)
        if extra and not overwrite:
            raise OutputExistsError(
                f"{str(frames_dir)!r} holds episodes this build does not ask for ({extra[0]}, "
                f"{len(extra)} in all), which would end up in the outputs; pass --overwrite to "
                "sample the tree again, or choose another --frames-dir"
            )
        if extra:
            FolderStore(frames_dir).remove_episodes()
        sampled = sample(
            frames_dir,
            envs=games,
            max_episodes=max_episodes,
            parallel=parallel,
            settings=settings,
            overwrite=overwrite,
            progress=progress,
        )
        for path in files.values():
            remove_stale_temporaries(path)  # what a killed build left while writing it
        with ExitStack() as stack:
            staged = {
                config: stack.enter_context(Staged(path)).temporary
                for config, path in files.items()
            }
            exported = export(
                frames_dir,
                hub_dir,
                repo_id=repo_id,
                max_shard_bytes=max_shard_bytes,
                num_proc=num_proc,
                overwrite=True,
                extra_generation=lambda: {
                    "build": {
                        "outputs": {
                            files[config].name: vars(file_entry(path))
                            for config, path in staged.items()
                        }
                    }
                },
                progress=progress,
                split_plan=split_plan,
                tree_outputs=[file_output(path, config) for config, path in staged.items()],
            )
        converted = dict(zip(staged, exported.converted, strict=True))
        return BuildReport(
            frames_dir=frames_dir,
            files=files,
            hub_dir=hub_dir,
            sampled=sampled,
            converted=converted,
            exported=exported,
        )
