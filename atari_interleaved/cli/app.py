"""The ``atari-interleaved`` command: one console script with a subcommand per pipeline step.

Each subcommand lives in its own module, which defines ``COMMAND`` (its name), ``HELP`` (one
line), ``DESCRIPTION``, ``add_arguments(parser)`` and ``run(args) -> int``; the modules are
listed in ``SUBCOMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from collections.abc import Callable

import atari_interleaved
from atari_interleaved.core.errors import AtariInterleavedError
from atari_interleaved.core.path_names import name_too_long_message
from atari_interleaved.core.redaction import redacted_output

__all__ = ["SUBCOMMAND_MODULES", "main", "run_command", "build_parser", "script_main"]

SUBCOMMAND_MODULES = (
    "atari_interleaved.cli.sample",
    "atari_interleaved.cli.convert",
    "atari_interleaved.cli.export",
    "atari_interleaved.cli.publish",
    "atari_interleaved.cli.verify",
    "atari_interleaved.cli.preview",
    "atari_interleaved.cli.build",
)

Command = Callable[[argparse.Namespace], int]


def run_command(command: Command, args: argparse.Namespace) -> int:
    """Run a subcommand, turning user errors and Ctrl-C into a message and an exit status.

    Every line it prints, on stdout or stderr, goes through the one redaction of tokens and
    passwords (:func:`~atari_interleaved.core.redaction.redacted_output`).
    """
    with redacted_output():
        return _run(command, args)


def _run(command: Command, args: argparse.Namespace) -> int:
    try:
        return command(args)
    except AtariInterleavedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # What read the output went away (``... | head``): end quietly, as other tools do, with
        # stdout pointed at /dev/null so that its flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE: a shell's status for a command whose reader left
    except OSError as error:
        if error.errno != errno.ENAMETOOLONG:
            raise
        print(f"error: {name_too_long_message(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ninterrupted: no incomplete output was left under a final name; rerun the "
            "same command to finish (sampling resumes from the complete episodes)",
            file=sys.stderr,
        )
        return 130


def _add_subcommand(commands: argparse._SubParsersAction, module_name: str) -> None:
    module = importlib.import_module(module_name)
    parser = commands.add_parser(
        module.COMMAND,
        help=module.HELP,
        description=module.DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.add_arguments(parser)
    parser.set_defaults(run=module.run)


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of ``atari-interleaved`` with all its subcommands."""
    parser = argparse.ArgumentParser(
        prog="atari-interleaved",
        description="Atari gameplay to interleaved image-text training data.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {atari_interleaved.__version__}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        _add_subcommand(commands, module_name)
    return parser


def script_main(module_name: str, prog: str, argv: list[str] | None = None) -> int:
    """Run one subcommand as a stand-alone script (``python3 generate/<prog> ...``)."""
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(
        prog=prog,
        description=module.DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.add_arguments(parser)
    return run_command(module.run, parser.parse_args(argv))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``atari-interleaved`` console script."""
    args = build_parser().parse_args(argv)
    return run_command(args.run, args)


if __name__ == "__main__":
    sys.exit(main())
