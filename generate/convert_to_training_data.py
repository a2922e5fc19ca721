"""Turn a frame tree into a parquet file of one config (PIPELINE.md step 2).

PIPELINE.md's script, kept where it runs: ``python3 generate/convert_to_training_data.py ...`` is
``atari-interleaved convert ...`` (:mod:`atari_interleaved.cli.convert`) under the script's name.
An entry point of the command line, it is the one module here that imports from above.
"""

from __future__ import annotations

import sys

from atari_interleaved.cli.app import script_main


def main(argv: list[str] | None = None) -> int:
    """Run ``atari-interleaved convert`` with ``argv`` (the script's arguments by default)."""
    return script_main("atari_interleaved.cli.convert", "convert_to_training_data.py", argv)


if __name__ == "__main__":
    sys.exit(main())
