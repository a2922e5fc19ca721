"""``atari-interleaved export``: write the folder a Hub dataset repository holds."""

from __future__ import annotations

import argparse
import logging

from atari_interleaved.cli.options import (
    add_export_options,
    export_options,
    input_path,
    output_path,
)

__all__ = ["COMMAND", "HELP", "DESCRIPTION", "DEFAULT_OUTPUT_DIR", "add_arguments", "run"]

COMMAND = "export"
HELP = "export sampled data to a Hub-ready dataset folder (parquet of both configs, card)"
DEFAULT_OUTPUT_DIR = "atari_interleaved_hub"

DESCRIPTION = """\
Export a frame tree, or a folder of 'sample --to-parquet', to the folder a Hugging Face
dataset repository holds:
  README.md                              the dataset card (YAML: configs, features, sizes)
  interleaved/train-XXXXX-of-YYYYY.parquet   one row per episode
  simple/train-XXXXX-of-YYYYY.parquet        one row per frame
  previews/contact_sheet.png, previews/episode.gif
  manifest.json                          sha256 of every file, generation parameters
load_dataset(<folder>, "interleaved") and "simple" then work offline with Image features,
and pandas reads PNG bytes from the same files. The folder is written under a temporary
name and renamed when complete; an existing non-empty folder is kept unless --overwrite
(which replaces only an earlier export). Publish it with 'atari-interleaved publish'.

--splits train=0.9,validation=0.05,test=0.05 and --test-games pong,breakout hold episodes
out, whole, by a hash of the game and the episode's seed: each split gets its own shards
(simple/validation-XXXXX-of-YYYYY.parquet) and data_files entry in the card, and
load_dataset(<folder>, "simple", split="validation") loads one. Empty splits are not written.

The shards of a 'sample --to-parquet' folder already hold these rows: they are taken as they
are (hard-linked when on the same file system, else copied), so --max-shard-bytes, which
would re-shard them, is refused (their size was set by --episodes-per-shard); --splits and
--test-games copy their rows into the shards of each split (PNG bytes as they are). A folder
with missing shards is an interrupted run: rerun its sample command to finish it first.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the export flags to ``parser``."""
    parser.add_argument(
        "--input-dir",
        type=input_path,
        default="sampled_frames_organized",
        metavar="DIR",
        help="frame tree written by the sample step, or a folder of 'sample --to-parquet' "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--output-dir",
        type=output_path,
        default=DEFAULT_OUTPUT_DIR,
        metavar="DIR",
        help="dataset folder to write (default: %(default)s)",
    )
    parser.add_argument(
        "--repo-id",
        default=None,
        metavar="NS/NAME",
        help="Hub repository the card's loading examples name (default: a placeholder, "
        "your-username/atari_interleaved)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace --output-dir if it is an earlier export"
    )
    parser.add_argument(
        "--card-template",
        type=input_path,
        default=None,
        metavar="FILE",
        help="dataset card template with ${name} placeholders (default: the project's "
        "dataset_card.md)",
    )
    add_export_options(parser)


def run(args: argparse.Namespace) -> int:
    """Run the ``export`` command."""
    from atari_interleaved.publishing.export import export

    logging.basicConfig(format="%(levelname)s: %(message)s")  # the list of skipped episodes
    report = export(
        args.input_dir,
        args.output_dir,
        repo_id=args.repo_id,
        overwrite=args.overwrite,
        card_template=args.card_template,
        **export_options(args),
    )
    print(report.summary())
    return 0
