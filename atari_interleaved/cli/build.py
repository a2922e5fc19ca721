"""``atari-interleaved build``: the whole pipeline in one command, on built-in defaults."""

from __future__ import annotations

import argparse
import os

from atari_interleaved.cli.options import (
    add_export_options,
    add_setting_arguments,
    export_options,
    output_path,
    positive_int,
    settings_from_args,
)
from atari_interleaved.core.layout import (
    DEFAULT_FRAMES_DIR,
    DEFAULT_HUB_DIR,
    DEFAULT_INTERLEAVED_FILE,
    DEFAULT_SIMPLE_FILE,
)
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.jobs.build import DEFAULT_FRAMES_PER_ENV, DEFAULT_GAMES, DEFAULT_MAX_EPISODES

__all__ = ["COMMAND", "HELP", "DESCRIPTION", "add_arguments", "run"]

COMMAND = "build"
HELP = "sample a few games, convert both configs to parquet and export the Hub folder"

DESCRIPTION = f"""\
The main job in one command: sample a handful of games into {DEFAULT_FRAMES_DIR}/,
convert them to {DEFAULT_INTERLEAVED_FILE} (interleaved) and {DEFAULT_SIMPLE_FILE}
(simple), export the Hub-ready folder {DEFAULT_HUB_DIR}/ (parquet shards of both configs,
README.md card, previews, manifest.json), and print how to load each.

Safe to rerun: sampling resumes, and the parquet files and the Hub folder are replaced when
they are the outputs of an earlier build (unchanged since, as the Hub folder's manifest
records). Anything else in the way is refused unless --overwrite. The sampling settings
take the flags of 'atari-interleaved sample' (the ALE ones default to the v5 settings); use
'sample' and 'export' for full control.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the build flags to ``parser``."""
    parser.add_argument(
        "--envs",
        default=",".join(DEFAULT_GAMES),
        metavar="GAMES",
        help="comma-separated games (default: %(default)s)",
    )
    parser.add_argument(
        "--max-episodes",
        type=positive_int,
        default=DEFAULT_MAX_EPISODES,
        metavar="M",
        help="episodes per game (default: %(default)s)",
    )
    add_setting_arguments(parser, EpisodeSettings(frame_cap=DEFAULT_FRAMES_PER_ENV))
    parser.add_argument(
        "--parallel",
        type=positive_int,
        default=os.cpu_count() or 1,
        metavar="P",
        help="sampling processes, at most the CPUs (default: the number of CPUs, %(default)s)",
    )
    paths = parser.add_argument_group("outputs")
    paths.add_argument(
        "--frames-dir",
        type=output_path,
        default=DEFAULT_FRAMES_DIR,
        metavar="DIR",
        help="frame tree (default: %(default)s)",
    )
    paths.add_argument(
        "--interleaved-file",
        type=output_path,
        default=DEFAULT_INTERLEAVED_FILE,
        metavar="FILE",
        help="interleaved parquet file (default: %(default)s)",
    )
    paths.add_argument(
        "--simple-file",
        type=output_path,
        default=DEFAULT_SIMPLE_FILE,
        metavar="FILE",
        help="simple parquet file (default: %(default)s)",
    )
    paths.add_argument("--hub-dir", default=DEFAULT_HUB_DIR, metavar="DIR", type=output_path,
                       help="Hub-ready dataset folder (default: %(default)s)")  # fmt: skip
    parser.add_argument(
        "--repo-id",
        default=None,
        metavar="NS/NAME",
        help="Hub repository the card's loading examples name (default: a placeholder)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace outputs that an earlier build did not write, and sample a tree of "
        "other settings again",
    )
    add_export_options(parser, bad_episodes=False)


def run(args: argparse.Namespace) -> int:
    """Run the ``build`` command."""
    from atari_interleaved.jobs.build import build

    options = export_options(args)  # the split flags are checked first
    report = build(
        envs=args.envs.split(","),
        max_episodes=args.max_episodes,
        settings=settings_from_args(args),
        parallel=args.parallel,
        frames_dir=args.frames_dir,
        interleaved_file=args.interleaved_file,
        simple_file=args.simple_file,
        hub_dir=args.hub_dir,
        repo_id=args.repo_id,
        overwrite=args.overwrite,
        **options,
    )
    print(report.summary())
    return 0
