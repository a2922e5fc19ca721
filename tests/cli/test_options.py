"""The argument parsers of cli/options.py: values as users write them, and what bad ones get."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from atari_interleaved.cli.app import main as cli_main
from atari_interleaved.cli.options import (
    input_path,
    integer,
    number,
    output_path,
    parse_size,
    positive_int,
)


@pytest.mark.parametrize(
    ("text", "size"),
    [("524288000", 524_288_000), ("500MiB", 500 * 2**20), ("500MB", 500_000_000),
     ("2GB", 2_000_000_000), ("1KiB", 1024), (" 10kB ", 10_000)],
)  # fmt: skip
def test_sizes_in_bytes_or_with_a_unit(text, size):
    assert parse_size(text) == size


def test_numbers_as_written():
    assert integer("-3") == -3 and integer("007") == 7
    assert number("0.25") == 0.25 and number("1e-3") == 0.001
    assert positive_int("4") == 4
    assert input_path("sampled_frames_organized") == "sampled_frames_organized"
    assert output_path("out/data.parquet") == "out/data.parquet"


SIZE_EXPECTED = "expected a size such as 500MB, 1GiB or a number of bytes, got "


@pytest.mark.parametrize(
    ("parser", "text", "message"),
    [
        (parse_size, "lots", f"{SIZE_EXPECTED}'lots'"),
        (parse_size, "1.5", f"{SIZE_EXPECTED}'1.5'"),
        (parse_size, "0", "expected a positive size, got '0'"),
        (integer, "1.0", "expected an integer, got '1.0'"),
        (number, "half", "expected a number, got 'half'"),
        (positive_int, "0", "expected a positive integer, got '0'"),
        (positive_int, "-2", "expected a positive integer, got '-2'"),
        (positive_int, "two", "expected a positive integer, got 'two'"),
        (input_path, "n" * 300, "the name 'nnnnnnnnnnnnnnnnnnnnnnnn...' is "),
        (output_path, "n" * 250, "the name 'nnnnnnnnnnnnnnnnnnnnnnnn...' is "),
    ],
)
def test_a_bad_value_is_named(parser, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=f"^{re.escape(message)}"):
        parser(text)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sample", "--seed", "abc"], "argument --seed: expected an integer, got 'abc'"),
        (["sample", "--randomness", "lots"],
         "argument --randomness: expected a number or comma-separated numbers "
         "(0.0,0.25,1.0), got 'lots'"),
        (["sample", "--randomness", "0.2,"],
         "argument --randomness: expected a number or comma-separated numbers "
         "(0.0,0.25,1.0), got '0.2,' (an empty item)"),
        (["build", "--randomness", ",0.2"],
         "argument --randomness: expected a number or comma-separated numbers "
         "(0.0,0.25,1.0), got ',0.2' (an empty item)"),
        (["convert", "--num-proc", "0"],
         "argument --num-proc: expected a positive integer, got '0'"),
        (["export", "--max-shard-bytes", "lots"],
         f"argument --max-shard-bytes: {SIZE_EXPECTED}'lots'"),
        (["export", "--max-shard-bytes", "0"],
         "argument --max-shard-bytes: expected a positive size, got '0'"),
    ],
)  # fmt: skip
def test_the_command_line_refuses_a_bad_value_with_exit_2(capsys, args, message):
    with pytest.raises(SystemExit) as exited:
        cli_main([*args, "--no-progress"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert f"atari-interleaved {args[0]}: error: {message}\n" in error
    assert "Traceback" not in error
    assert list(Path.cwd().iterdir()) == []  # nothing written


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sample", "--randomness", "0.2,0.2"],
         "--randomness must be distinct levels, each given once, but got 0.2,0.2"),
        (["sample", "--randomness", "0.0,-0.0"],
         "--randomness must be distinct levels, each given once, but got 0.0,-0.0"),
        (["build", "--randomness", "0.0,0.25,1.5"],
         "--randomness must be levels in [0, 1], but got 0.0,0.25,1.5"),
    ],
)  # fmt: skip
def test_randomness_levels_given_twice_or_out_of_range_are_refused_before_any_work(
    capsys, args, message
):
    assert cli_main([*args, "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert error == f"error: {message}\n"
    assert list(Path.cwd().iterdir()) == []  # nothing written
