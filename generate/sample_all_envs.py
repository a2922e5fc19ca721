"""Sample Atari games into episode frame folders (PIPELINE.md step 1).

PIPELINE.md's script, kept where it runs: ``python3 generate/sample_all_envs.py ...`` is
``atari-interleaved sample ...`` (:mod:`atari_interleaved.cli.sample`) under the script's name.
An entry point of the command line, it is the one module here that imports from above.
"""

from __future__ import annotations

import sys

from atari_interleaved.cli.app import script_main


def main(argv: list[str] | None = None) -> int:
    """Run ``atari-interleaved sample`` with ``argv`` (the script's arguments by default)."""
    return script_main("atari_interleaved.cli.sample", "sample_all_envs.py", argv)


if __name__ == "__main__":
    sys.exit(main())
