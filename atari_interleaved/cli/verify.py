"""``atari-interleaved verify``: check a dataset folder against its manifest."""

from __future__ import annotations

import argparse

from atari_interleaved.cli.options import input_location

__all__ = ["COMMAND", "HELP", "DESCRIPTION", "add_arguments", "run"]

COMMAND = "verify"
HELP = "check an exported (or downloaded) dataset folder against its manifest.json"

DESCRIPTION = """\
Check every file of a dataset folder written by 'atari-interleaved export' (or downloaded
from the Hub, e.g. with 'hf download <repo> --repo-type dataset --local-dir <folder>')
against the sha256 and sizes in its manifest.json. Reports missing, changed and extra files
(hidden entries such as .gitattributes and .cache/ are ignored). Exit status: 0 when the
folder matches, 1 when it does not, 2 when it has no valid manifest.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the verify arguments to ``parser``."""
    parser.add_argument(
        "folder",
        metavar="FOLDER",
        type=input_location,
        help="the dataset folder to check, or an object store URL (s3://BUCKET/PREFIX)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the ``verify`` command."""
    from atari_interleaved.publishing.manifest import verify

    report = verify(args.folder)
    print(report.summary())
    return 0 if report.ok else 1
