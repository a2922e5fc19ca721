"""``atari-interleaved publish``: upload a dataset folder or a frame tree to the Hub."""

from __future__ import annotations

import argparse
import logging

from atari_interleaved.cli.options import add_export_options, export_options

__all__ = ["COMMAND", "HELP", "DESCRIPTION", "add_arguments", "run"]

COMMAND = "publish"
HELP = "upload an exported folder (or sampled data) to a Hugging Face Hub dataset repository"

DESCRIPTION = """\
Upload a dataset to the Hugging Face Hub, creating the dataset repository if needed.
--input-dir is a folder written by 'atari-interleaved export' (checked against its
manifest.json first), or a frame tree or a folder of 'sample --to-parquet' (exported to a
temporary folder first, as 'atari-interleaved export' does).

The upload is one commit that also deletes the repository's earlier shards, previews, card
and manifest, so publishing changed data replaces the old files; other files are kept.
An interrupted upload resumes when the same command is rerun. --max-shard-bytes,
--num-proc, --skip-bad-episodes, --splits and --test-games apply when --input-dir is a frame
tree or a folder of 'sample --to-parquet'.

The token comes from the HF_TOKEN environment variable or the stored login
('hf auth login'); it needs write access. Then:
  load_dataset("<repo-id>", "interleaved")   and   load_dataset("<repo-id>", "simple")
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the publish flags to ``parser``."""
    parser.add_argument(
        "--input-dir",
        required=True,
        metavar="DIR",
        help="a folder written by 'atari-interleaved export', a frame tree, or a folder of "
        "'sample --to-parquet'",
    )
    parser.add_argument(
        "--repo-id",
        required=True,
        metavar="NS/NAME",
        help="the dataset repository, e.g. your-username/atari_interleaved",
    )
    parser.add_argument(
        "--private", action="store_true", help="create the repository private (if it is new)"
    )
    parser.add_argument(
        "--revision",
        default=None,
        metavar="BRANCH",
        help="branch to commit to, created from main if missing (default: main)",
    )
    parser.add_argument(
        "--commit-message", default=None, metavar="TEXT", help="title of the commit"
    )
    add_export_options(parser)


def run(args: argparse.Namespace) -> int:
    """Run the ``publish`` command."""
    from atari_interleaved.publishing.publish import publish

    logging.basicConfig(format="%(levelname)s: %(message)s")  # the list of skipped episodes
    report = publish(
        args.input_dir,
        args.repo_id,
        private=args.private,
        revision=args.revision,
        commit_message=args.commit_message,
        **export_options(args),
    )
    print(report.summary())
    return 0
