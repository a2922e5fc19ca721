"""The flag tables of the docs, rendered from the argument parser of ``atari-interleaved``.

A page holds a command's table between two markers::

    <!-- flag-table: sample -->
    | flag | meaning | default |
    ...
    <!-- end flag-table -->

``python3 -m atari_interleaved.cli.flag_tables`` rewrites every such table of the pages it is
given (by default ``docs/*.md`` of the current folder) from the parser: each flag's name and
value, its help, and its default. A default given in words in the help (``(default: the number
of CPUs, %(default)s)``) is shown in those words, so that no table depends on the machine that
rendered it. ``--check`` writes nothing and lists the pages whose tables differ (exit status 1).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from atari_interleaved.cli.app import build_parser
from atari_interleaved.storage.atomic import write_atomically

__all__ = ["command_parsers", "flag_table", "render_page", "main"]

_TABLE = re.compile(
    r"(?P<start><!-- flag-table: (?P<command>[\w-]+) -->\n)(?P<body>.*?)"
    r"(?P<end><!-- end flag-table -->)",
    flags=re.S,
)
_DEFAULT_CLAUSE = re.compile(r"(?:\s*\(default: (?P<paren>.*)\)|;\s*default: (?P<semi>.*))$", re.S)
_VALUE = "%(default)s"


def command_parsers() -> dict[str, argparse.ArgumentParser]:
    """Return the parser of each subcommand of ``atari-interleaved``, by name."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(commands.choices)


def _invocation(action: argparse.Action) -> str:
    """``--max-episodes M``, ``--overwrite``, ``--format {hub,minari}``, ``SOURCE``."""
    if action.metavar is not None:
        value = str(action.metavar)
    elif action.choices is not None:
        value = "{" + ",".join(str(choice) for choice in action.choices) + "}"
    else:
        value = action.dest.upper()
    if not action.option_strings:
        return value
    names = ", ".join(action.option_strings)
    return names if action.nargs == 0 else f"{names} {value}"


def _meaning_and_default(action: argparse.Action) -> tuple[str, str]:
    """Split a flag's help into its meaning and its default, as the table shows them."""
    help_text = " ".join((action.help or "").split())
    match = _DEFAULT_CLAUSE.search(help_text)
    if match is None:
        if action.nargs == 0:
            default = "off"
        elif action.required:
            default = "required"
        elif action.default is None:
            default = "none"
        else:
            default = f"`{action.default}`"
        return help_text, default
    clause = match["paren"] if match["paren"] is not None else match["semi"]
    if clause.strip() == _VALUE:
        default = f"`{action.default}`"
    else:  # words, perhaps followed by the machine's value: the words alone
        default = clause.replace(f", {_VALUE}", "").replace(_VALUE, str(action.default))
    return help_text[: match.start()], default


def _cell(text: str) -> str:
    """Text as a table cell shows it: ``|`` and ``<`` (``<Game>`` is no HTML tag) escaped."""
    return text.replace("|", "\\|").replace("<", "&lt;")


def flag_table(parser: argparse.ArgumentParser) -> str:
    """Return the Markdown table of a command's arguments: flag, meaning, default."""
    rows = ["| flag | meaning | default |", "| --- | --- | --- |"]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
            continue
        meaning, default = _meaning_and_default(action)
        flag = _invocation(action).replace("|", "\\|")  # in a code span, < shows as it is
        rows.append(f"| `{flag}` | {_cell(meaning)} | {_cell(default)} |")
    return "\n".join(rows) + "\n"


def render_page(text: str, page: str = "the page") -> str:
    """Return ``text`` with every flag table between its markers rendered from the parser.

    Raises:
        ValueError: naming ``page`` and the command, if a table names no subcommand.

    """
    parsers = command_parsers()

    def rendered(match: re.Match[str]) -> str:
        command = match["command"]
        if command not in parsers:
            raise ValueError(
                f"{page}: flag table of {command!r}, which is no command of atari-interleaved "
                f"(its commands: {', '.join(parsers)})"
            )
        return match["start"] + flag_table(parsers[command]) + match["end"]

    return _TABLE.sub(rendered, text)


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite (or with ``--check``, compare) the flag tables of the given pages."""
    parser = argparse.ArgumentParser(
        prog="python3 -m atari_interleaved.cli.flag_tables",
        description="Render the flag tables of the docs from the argument parser.",
    )
    parser.add_argument(
        "pages", nargs="*", metavar="PAGE", help="Markdown pages (default: docs/*.md here)"
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; fail if a table is out of date"
    )
    args = parser.parse_args(argv)
    pages = [Path(page) for page in args.pages] or sorted(Path("docs").glob("*.md"))
    if not pages:
        print(
            "error: no docs/*.md here: run from the repository root, or name the pages",
            file=sys.stderr,
        )
        return 2
    stale = []
    for page in pages:
        try:
            text = page.read_text(encoding="utf-8")
            new = render_page(text, str(page))
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        if new != text:
            stale.append(page)
            if not args.check:
                write_atomically(page, new)
    for page in stale:
        print(f"{page}: {'out of date' if args.check else 'tables rewritten'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
