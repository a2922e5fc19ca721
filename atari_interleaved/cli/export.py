"""``atari-interleaved export``: write the folder a Hub dataset repository holds."""

from __future__ import annotations

import argparse
import logging

from atari_interleaved.cli.options import (
    add_export_options,
    export_options,
    input_location,
    input_path,
    output_location,
)
from atari_interleaved.storage.parquet_writer import DEFAULT_MAX_SHARD_BYTES

__all__ = [
    "COMMAND",
    "HELP",
    "DESCRIPTION",
    "DEFAULT_OUTPUT_DIR",
    "DEFAULT_MINARI_DIR",
    "DEFAULT_LEROBOT_DIR",
    "FORMATS",
    "add_arguments",
    "run",
]

COMMAND = "export"
HELP = "export sampled data to a Hub-ready dataset folder (parquet of both configs, card)"
DEFAULT_OUTPUT_DIR = "atari_interleaved_hub"
DEFAULT_MINARI_DIR = "atari_interleaved_minari"
DEFAULT_LEROBOT_DIR = "atari_interleaved_lerobot"
FORMATS = ("hub", "minari", "lerobot")

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

--format minari writes one Minari dataset per game instead, atari_interleaved/<game>-v0 under
--output-dir (a Minari root: MINARI_DATASETS_PATH=<output-dir>), frames as lossless RGB
arrays (zstd-compressed Arrow files). --format lerobot writes a LeRobot v3 dataset (one
LeRobot episode per episode, frames as lossless PNG image features) that
LeRobotDataset(<--repo-id>, root=<output-dir>) loads. With either, the input may also be an
exported folder; they need the minari or lerobot extra (the error says how to install it),
and replace --output-dir only if it is an earlier export to the same format, with
--overwrite.
"""

_HUB_ONLY = {
    "card_template": ("--card-template", None),
    "splits": ("--splits", None),
    "test_games": ("--test-games", None),
    "skip_bad_episodes": ("--skip-bad-episodes", False),
    "num_proc": ("--num-proc", 1),
}
"""The options of --format hub alone, by destination: their flag and default."""

_OUTPUT_DIRS = {
    "hub": DEFAULT_OUTPUT_DIR,
    "minari": DEFAULT_MINARI_DIR,
    "lerobot": DEFAULT_LEROBOT_DIR,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the export flags to ``parser``."""
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="hub",
        help="'hub': the folder a Hub dataset repository holds; 'minari': one Minari dataset "
        "per game; 'lerobot': a LeRobot v3 dataset (frames lossless in both; they need the "
        "minari or lerobot extra) (default: %(default)s)",
    )
    parser.add_argument(
        "--input-dir",
        type=input_location,
        default="sampled_frames_organized",
        metavar="DIR",
        help="frame tree written by the sample step, or a folder of 'sample --to-parquet' "
        "(also its object store URL, s3://BUCKET/PREFIX; with --format minari or lerobot also an "
        "exported folder) (default: %(default)s)",
    )
    parser.add_argument(
        "--output-dir",
        type=output_location,
        default=None,
        metavar="DIR",
        help="dataset folder to write, or an object store URL (written locally, then put, "
        f"manifest.json last) (default: {DEFAULT_OUTPUT_DIR}, with --format minari "
        f"{DEFAULT_MINARI_DIR}, with --format lerobot {DEFAULT_LEROBOT_DIR})",
    )
    parser.add_argument(
        "--repo-id",
        default=None,
        metavar="NS/NAME",
        help="Hub repository the card's loading examples name, with --format lerobot the "
        "dataset's repo_id (default: a placeholder, your-username/atari_interleaved)",
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


def _run_format(args: argparse.Namespace) -> int:
    """Run ``export --format minari`` or ``--format lerobot``."""
    from atari_interleaved.core.errors import InvalidArgumentError
    from atari_interleaved.storage.location import is_url

    for name, (flag, default) in _HUB_ONLY.items():
        if getattr(args, name) != default:
            raise InvalidArgumentError(f"{flag} is an option of --format hub; leave it out")
    if args.max_shard_bytes != DEFAULT_MAX_SHARD_BYTES:
        raise InvalidArgumentError("--max-shard-bytes is an option of --format hub; leave it out")
    for flag, value in (("--input-dir", args.input_dir), ("--output-dir", args.output_dir)):
        if value is not None and is_url(value):
            raise InvalidArgumentError(
                f"{flag} {value!r}: --format {args.format} reads and writes local folders; "
                "export with --format hub to or from an object store"
            )
    output_dir = args.output_dir or _OUTPUT_DIRS[args.format]
    if args.format == "minari":
        from atari_interleaved.publishing.minari_export import export_minari, import_minari

        if args.repo_id is not None:
            raise InvalidArgumentError(
                "--repo-id is an option of --format hub or lerobot; leave it out"
            )
        import_minari()  # before anything is read: says how to install it
        report = export_minari(args.input_dir, output_dir, overwrite=args.overwrite)
    else:
        from atari_interleaved.publishing.lerobot_export import export_lerobot

        report = export_lerobot(
            args.input_dir, output_dir, repo_id=args.repo_id, overwrite=args.overwrite
        )
    print(report.summary())
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the ``export`` command."""
    if args.format != "hub":
        return _run_format(args)
    from atari_interleaved.publishing.export import export

    logging.basicConfig(format="%(levelname)s: %(message)s")  # the list of skipped episodes
    report = export(
        args.input_dir,
        args.output_dir or DEFAULT_OUTPUT_DIR,
        repo_id=args.repo_id,
        overwrite=args.overwrite,
        card_template=args.card_template,
        **export_options(args),
    )
    print(report.summary())
    return 0
