"""``atari-interleaved preview``: write the preview pictures of a frame tree or dataset folder."""

from __future__ import annotations

import argparse

from atari_interleaved.cli.options import input_path, output_path

__all__ = ["COMMAND", "HELP", "DESCRIPTION", "add_arguments", "run"]

COMMAND = "preview"
HELP = "write a contact sheet (one frame per game) and an animated episode (GIF)"

DESCRIPTION = """\
Write the pictures the dataset card shows, from a frame tree, a folder written by
'atari-interleaved export' or a folder of 'sample --to-parquet':
  <output-dir>/previews/contact_sheet.png   the middle frame of each game's first episode
  <output-dir>/previews/episode.gif         the first episode, played back in real time
Existing pictures are kept unless --overwrite.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the preview arguments to ``parser``."""
    parser.add_argument(
        "source",
        type=input_path,
        metavar="SOURCE",
        help="a frame tree, a folder written by export, or a folder of 'sample --to-parquet'",
    )
    parser.add_argument(
        "--output-dir",
        type=output_path,
        default=".",
        metavar="DIR",
        help="where the previews/ folder is written (default: the current folder)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the pictures if they exist"
    )


def run(args: argparse.Namespace) -> int:
    """Run the ``preview`` command."""
    from pathlib import Path

    from atari_interleaved.publishing.preview import write_previews_of

    files = write_previews_of(Path(args.source), Path(args.output_dir), overwrite=args.overwrite)
    output = Path(args.output_dir)
    print(f"Wrote {output / files.contact_sheet} and {output / files.animation}.")
    return 0
