"""Argument types and flags shared by the commands (``sample``, ``convert``, ``export``, ...)."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from typing import Any

from atari_interleaved.core.path_names import TEMPORARY_NAME_BYTES, long_name_problem
from atari_interleaved.core.settings import SETTINGS, EpisodeSettings, setting_value
from atari_interleaved.core.splits import split_plan
from atari_interleaved.storage.location import is_url
from atari_interleaved.storage.parquet_writer import DEFAULT_MAX_SHARD_BYTES

__all__ = [
    "integer",
    "number",
    "parse_size",
    "positive_int",
    "input_path",
    "output_path",
    "input_location",
    "output_location",
    "add_setting_arguments",
    "settings_from_args",
    "add_reading_options",
    "add_export_options",
    "reading_options",
    "export_options",
]


def parse_size(text: str) -> int:
    """Parse a size in bytes: ``524288000``, ``500MiB``, ``500MB``, ``2GB``."""
    from datasets.utils.py_utils import convert_file_size_to_int

    try:
        size = int(text) if text.strip().isdigit() else convert_file_size_to_int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 500MB, 1GiB or a number of bytes, got {text!r}"
        ) from None
    if size < 1:
        raise argparse.ArgumentTypeError(f"expected a positive size, got {text!r}")
    return size


def integer(text: str) -> int:
    """Parse an integer (its range is checked where the value is used, naming the flag)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def number(text: str) -> float:
    """Parse a number (its range is checked where the value is used, naming the flag)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def positive_int(text: str) -> int:
    """Parse a positive integer."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _not_a_url(text: str) -> None:
    if is_url(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is an object store URL, which this option does not take (sample "
            "--to-parquet --output-dir, export --input-dir/--output-dir, verify and publish "
            "--input-dir do); give a local path"
        )


def input_path(text: str) -> str:
    """Parse a path a command reads: each name in it must fit the file system."""
    _not_a_url(text)
    problem = long_name_problem(text, reserve=0)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def output_path(text: str) -> str:
    """Parse a path a command writes: each name must leave room for the temporary names."""
    _not_a_url(text)
    problem = long_name_problem(text, reserve=TEMPORARY_NAME_BYTES)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def input_location(text: str) -> str:
    """Parse what a command reads: a path (see :func:`input_path`) or an object store URL."""
    return text if is_url(text) else input_path(text)


def output_location(text: str) -> str:
    """Parse what a command writes: a path (see :func:`output_path`) or an object store URL."""
    return text if is_url(text) else output_path(text)


def add_setting_arguments(parser: argparse.ArgumentParser, defaults: EpisodeSettings) -> None:
    """Add a flag for each sampling setting of :data:`~atari_interleaved.core.settings.SETTINGS`.

    Every command parses a setting's flag the same way: with the setting's declared
    ``parse`` (``--randomness 0.0,0.25,1.0``), else an ``int`` or ``float`` setting is read
    as any number, whose range the setting's check refuses (naming the flag) when
    :func:`settings_from_args` builds the settings. The ALE settings are in a group of
    their own.

    Args:
        parser: the command's parser.
        defaults: the settings the flags default to.

    """
    ale = parser.add_argument_group("ALE settings (defaults of the ALE/<Game>-v5 environments)")
    for setting in SETTINGS:
        group = ale if setting.ale else parser
        default = setting_value(defaults, setting)
        if setting.kind is bool:
            if default:
                raise TypeError(f"{setting.flag}: a flag cannot turn off a setting true by default")
            group.add_argument(
                setting.flag, dest=setting.name, action="store_true", help=setting.help
            )
            continue
        group.add_argument(
            setting.flag,
            dest=setting.name,
            type=(
                {int: integer, float: number, str: str}[setting.kind]
                if setting.parse is None
                else _argument_type(setting.parse)
            ),
            default=default,
            metavar=setting.metavar,
            help=f"{setting.help} (default: %(default)s)",
        )


@functools.cache
def _argument_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """Return ``parse`` as an argparse type: its ValueError is the flag's error message.

    One function per ``parse``, so every command's flag has the same type.
    """

    def parsed(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parsed


def settings_from_args(args: argparse.Namespace) -> EpisodeSettings:
    """Build (and so check) the episode settings from flags of :func:`add_setting_arguments`.

    Raises:
        InvalidArgumentError: naming the flag of a value out of range.

    """
    return EpisodeSettings.from_values(vars(args))


def add_reading_options(parser: argparse.ArgumentParser, *, bad_episodes: bool = True) -> None:
    """Add ``--num-proc``, ``--no-progress`` and (if ``bad_episodes``) ``--skip-bad-episodes``."""
    parser.add_argument(
        "--num-proc",
        type=positive_int,
        default=1,
        metavar="N",
        help="processes reading and checking episodes; at most the CPUs and the episodes, "
        "as more would not help (default: %(default)s)",
    )
    parser.add_argument("--no-progress", action="store_true", help="do not show progress bars")
    if bad_episodes:
        parser.add_argument(
            "--skip-bad-episodes",
            action="store_true",
            help="leave out episode folders that fail a check, with a warning listing them, "
            "instead of stopping at the first",
        )


def add_export_options(parser: argparse.ArgumentParser, *, bad_episodes: bool = True) -> None:
    """Add ``--max-shard-bytes``, ``--num-proc``, ``--no-progress`` and ``--skip-bad-episodes``.

    ``--skip-bad-episodes`` only if ``bad_episodes`` (a command reading user trees).
    """
    parser.add_argument(
        "--max-shard-bytes",
        type=parse_size,
        default=DEFAULT_MAX_SHARD_BYTES,
        metavar="SIZE",
        help="size after which a parquet shard ends, e.g. 500MiB or 1GB; shards hold whole "
        "episodes and row groups stay about 100 MB for the Hub viewer; not for a folder of "
        "'sample --to-parquet', whose shards are kept as they are (default: 500MiB)",
    )
    parser.add_argument(
        "--splits",
        default=None,
        metavar="NAME=FRACTION,...",
        help="held-out splits, e.g. train=0.9,validation=0.05,test=0.05: whole episodes, "
        "assigned by a hash of the game and the episode's seed (default: all train)",
    )
    parser.add_argument(
        "--test-games",
        default=None,
        metavar="GAMES",
        help="comma-separated games held out whole in the test split, e.g. pong,breakout",
    )
    add_reading_options(parser, bad_episodes=bad_episodes)


def reading_options(args: argparse.Namespace) -> dict[str, Any]:
    """Return the keyword arguments the flags of :func:`add_reading_options` give.

    ``num_proc``, ``progress`` and, where the command has ``--skip-bad-episodes``,
    ``on_bad_episodes``.
    """
    options: dict[str, Any] = {"num_proc": args.num_proc, "progress": not args.no_progress}
    if hasattr(args, "skip_bad_episodes"):
        options["on_bad_episodes"] = "skip" if args.skip_bad_episodes else "error"
    return options


def export_options(args: argparse.Namespace) -> dict[str, Any]:
    """Return the keyword arguments the flags of :func:`add_export_options` give.

    Those of :func:`reading_options`, ``max_shard_bytes`` and ``split_plan``.

    Raises:
        InvalidArgumentError: naming the split flag whose value is wrong.

    """
    return {
        "max_shard_bytes": args.max_shard_bytes,
        "split_plan": split_plan(args.splits, args.test_games),
        **reading_options(args),
    }
