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
  <output-dir>/previews/episode.gif         the first episode (at most its first 150 frames),
                                            played back in real time
<output-dir> is by default the folder holding SOURCE, so previews/ is written beside it; the
command prints where it wrote. Existing pictures are kept unless --overwrite.
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
        default=None,
        metavar="DIR",
        help="where the previews/ folder is written (default: the folder holding SOURCE)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the pictures if they exist"
    )


def run(args: argparse.Namespace) -> int:
    """Run the ``preview`` command."""
    from pathlib import Path

    from atari_interleaved.publishing.preview import default_output_dir, write_previews_of

    source = Path(args.source)
    output = default_output_dir(source) if args.output_dir is None else Path(args.output_dir)
    files = write_previews_of(source, output, overwrite=args.overwrite)
    print(f"Wrote {output / files.contact_sheet} and {output / files.animation}.")
    print(f"{Path(files.animation).name}: {files.animation_caption}.")
    return 0
