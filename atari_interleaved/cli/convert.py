"""``atari-interleaved convert``: turn a frame tree into a parquet file (PIPELINE.md step 2).

``python3 generate/convert_to_training_data.py`` (PIPELINE.md's script) runs this command too.
"""

from __future__ import annotations

import argparse
import logging

from atari_interleaved.cli.options import (
    add_reading_options,
    input_path,
    output_path,
    reading_options,
)

__all__ = ["COMMAND", "HELP", "DESCRIPTION", "DEFAULT_OUTPUT_FILE", "add_arguments", "run"]

COMMAND = "convert"
HELP = "convert episode frame folders to a parquet file (pipeline step 2)"

DEFAULT_INPUT_DIR = "sampled_frames_organized"
DEFAULT_OUTPUT_FILE = "atari_training_data.parquet"
FORMATS = ("interleaved", "simple")

DESCRIPTION = """\
Convert the episode folders of the sample step into one parquet file:
  --format interleaved  one row per episode: "inputs" interleaves text entries
                        ({"type": "text", "has_loss", "text"}) with image entries
                        ({"type": "image_gen", "has_loss": 1, "image_index": i}), "images"
                        holds the PNG bytes of the frames (text entries have
                        image_index -1, image entries a null text);
  --format simple       one row per frame: the frame's PNG bytes and the action taken there.
Both carry reward, terminated/truncated and the episode seed when episode.json is present.

Every file is checked (frames and action files pair up, PNGs are well formed, action lines
read "8: DOWNRIGHT"); an error names the file. The output is written under a temporary name
and renamed when complete; an existing output is kept unless --overwrite.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the conversion flags to ``parser``."""
    parser.add_argument(
        "--input-dir",
        type=input_path,
        default=DEFAULT_INPUT_DIR,
        metavar="DIR",
        help="frame tree written by the sample step, or one atari_<game> folder of it "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--output-file",
        type=output_path,
        default=DEFAULT_OUTPUT_FILE,
        metavar="FILE",
        help="parquet file to write (default: %(default)s)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="interleaved",
        help="interleaved: one row per episode; simple: one row per frame (default: %(default)s)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace --output-file if it exists"
    )
    add_reading_options(parser)


def run(args: argparse.Namespace) -> int:
    """Run the ``convert`` command."""
    from atari_interleaved.dataset.convert import convert

    logging.basicConfig(format="%(levelname)s: %(message)s")  # the list of skipped episodes
    report = convert(
        args.input_dir,
        args.output_file,
        args.format,
        overwrite=args.overwrite,
        **reading_options(args),
    )
    print(report.summary())
    return 0
