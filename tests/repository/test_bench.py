"""The benchmark scripts run in their quick mode and print every ratio the issues ask for.

Only what is printed is checked, never how fast anything was.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from atari_interleaved.core.optional import install_hint
from tests.fixtures.paths import REPO

RATIO = r"\d+\.\d\dx"
PERCENT = r"\d+%"
WORKERS = max(2, os.cpu_count() or 1)  # bench_sample.py's default --parallel


def run_quick(script: str, workdir: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), "--quick", "--workdir", str(workdir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def summary(output: str) -> str:
    assert "\nSummary: " in output, output
    return output.split("\nSummary: ", 1)[1]


def number(cell: str) -> float:
    """The number of a printed ratio, ``2.34x`` or ``95%``."""
    return float(cell[:-1]) / (100 if cell.endswith("%") else 1)


def goal_met(measured: str, goal: str) -> bool | None:
    """Whether the printed ``measured`` meets ``goal`` (``>= 2.00x``, ``<= 1.10x``, ``>= 95%``);
    None when the rounded figure equals the bound, where only the unrounded one can tell."""
    bound, limit = goal.split()
    value, limit_value = number(measured), number(limit)
    if value == limit_value:
        return None
    return value >= limit_value if bound == ">=" else value <= limit_value


def assert_ratio(text: str, label: str, value: str, goal: str | None = None) -> None:
    """Assert a summary line ``label`` with a measured ``value`` (and ``goal``) is printed, and
    that its "met" column says whether the measured figure meets the goal (whichever it is:
    the figures vary from machine to machine, the verdict must match them)."""
    pattern = rf"^{re.escape(label)}\s+({value})" + (
        rf"\s+{re.escape(goal)}\s+(yes|no)$" if goal else r"\s*$"
    )
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f"no line matching {pattern!r} in:\n{text}"
    if goal:
        met = goal_met(match[1], goal)
        assert met is None or match[2] == ("yes" if met else "no"), match[0]


@pytest.mark.parametrize(
    ("line", "goal", "verdict"),
    [("2.34x", ">= 2.00x", "yes"), ("1.99x", ">= 2.00x", "no"), ("1.20x", "<= 1.10x", "no"),
     ("1.05x", "<= 1.10x", "yes"), ("96%", ">= 95%", "yes"), ("80%", ">= 90%", "no")],
)  # fmt: skip
def test_a_summary_line_must_say_whether_its_goal_is_met(line, goal, verdict):
    assert_ratio(f"a ratio  {line}  {goal}  {verdict}\n", "a ratio", RATIO + "|" + PERCENT, goal)
    wrong = {"yes": "no", "no": "yes"}[verdict]
    with pytest.raises(AssertionError):
        assert_ratio(f"a ratio  {line}  {goal}  {wrong}\n", "a ratio", RATIO + "|" + PERCENT, goal)


@pytest.mark.slow
def test_bench_sample_prints_every_ratio(tmp_path):
    output = run_quick("bench_sample.py", tmp_path)
    assert list(tmp_path.iterdir()) == []  # its scratch folder is removed

    for measurement in ("bare loop", "folder mode, 1 worker", "direct-to-parquet, 1 worker"):
        assert re.search(rf"^(sampler, )?{measurement}.*\s\d+\s+\d+\.\d\d\s+\d+", output, re.M)
    assert "Per-stage profile of one sampler worker" in output
    for stage in ("rom load", "emulation", "encode", "rest", "write"):
        assert re.search(rf"^{stage}\s+\d+\s+\d+", output, re.MULTILINE), stage
    for setting in (
        "Pillow RGB, default level (6)",
        "Pillow palette, default level (6)",
        "sampler palette, level 6 (default)",
        "sampler palette, level 1",
    ):
        assert re.search(rf"^{re.escape(setting)}\s+\d+\s+{RATIO}\s+\d+", output, re.M), setting

    ratios = summary(output)
    assert_ratio(ratios, "folder mode, 1 worker / bare loop", RATIO, ">= 2.00x")
    assert_ratio(ratios, "direct-to-parquet, 1 worker / bare loop", RATIO, ">= 2.50x")
    assert_ratio(ratios, "direct-to-parquet / folder mode, 1 worker each", RATIO)
    assert_ratio(ratios, f"folder mode, {WORKERS} workers / 1 worker (speed-up)", RATIO)
    for mode in ("folder mode", "direct-to-parquet"):
        assert_ratio(ratios, f"parallel efficiency, {mode}, {WORKERS} workers", PERCENT, ">= 95%")
    ray_label = f"Ray backend (local instance) / local backend, {WORKERS} workers"
    if importlib.util.find_spec("ray") is None:
        assert f"ray is not installed ({install_hint('ray')})" in output
        assert_ratio(ratios, ray_label, "skipped: no ray")
    else:
        assert_ratio(ratios, ray_label, RATIO, ">= 0.85x")
        assert_ratio(ratios, "  the same, counting Ray's start-up", RATIO)


@pytest.mark.slow
def test_bench_convert_prints_every_ratio(tmp_path):
    output = run_quick("bench_convert.py", tmp_path)
    assert list(tmp_path.iterdir()) == []

    ratios = summary(output)
    for base in ("PNG files", "PNG + action files"):
        for num_proc in (1, 2):
            for config in ("interleaved", "simple"):
                label = f"convert {config}, num_proc={num_proc} / bare read+write, {base}"
                assert_ratio(ratios, label, RATIO, "<= 1.50x")
            label = f"export, num_proc={num_proc} / bare read+write, {base}"
            assert_ratio(ratios, label, RATIO)
    for job in ("convert interleaved", "convert simple", "export"):
        assert_ratio(ratios, f"{job}, num_proc=1 / bare write, bytes in memory", RATIO)
    for job in ("convert interleaved, row groups 100 MB", "convert simple, row groups 100 MB"):
        assert_ratio(ratios, f"peak memory, {job}: 4000 / 2000 frames", RATIO, "<= 1.10x")
    assert_ratio(ratios, "peak memory, export: 4000 / 2000 frames", RATIO, "<= 1.10x")


@pytest.mark.slow
def test_bench_load_prints_every_ratio(tmp_path):
    output = run_quick("bench_load.py", tmp_path)
    assert list(tmp_path.iterdir()) == []

    ratios = summary(output)
    base = 'datasets with_format("numpy")'
    assert_ratio(ratios, f"FrameWindows / {base}, 1 worker", RATIO, ">= 5.00x")
    assert_ratio(ratios, f"FrameWindows / {base}, 2 workers", RATIO)
    assert_ratio(ratios, f"FrameWindows / {base}, row by row, 1 worker", RATIO)
    assert_ratio(ratios, "FrameWindows / bare Pillow loop, 1 worker", RATIO, ">= 1.00x")
    assert_ratio(ratios, "FrameWindows / bare Pillow loop, 2 workers", RATIO)
    assert_ratio(ratios, "parallel efficiency, FrameWindows, 2 workers", PERCENT, ">= 90%")
    for name in (base, "bare Pillow loop"):
        assert_ratio(ratios, f"parallel efficiency, {name}, 2 workers", PERCENT)
    resized = "FrameWindows 64x64 area"
    assert_ratio(ratios, f"{resized} / FrameWindows (full resolution), 1 worker", RATIO, ">= 0.80x")
    assert_ratio(ratios, f"{resized} / FrameWindows (full resolution), 2 workers", RATIO)
    for name in ("FrameWindows", resized):
        assert re.search(
            rf"^peak memory, {name}: \d+ / \d+ frames\s+\d+\.\d\dx\s+<= 1.10x", ratios, re.M
        )


def test_bench_policy_prints_every_figure(tmp_path):
    output = run_quick("bench_policy.py", tmp_path)
    assert list(tmp_path.iterdir()) == []
    variants = ("repeat r=0.2", "random", "search r=0", "search r=0, budget/2",
                "search r=0, budget*2", "search r=0.2")  # fmt: skip
    game, medians = output.split("\nMedians over 1 games\n", 1)
    for variant in variants:
        searches = variant.startswith("search")
        cells = r"\s+-?\d+\.\d\s+-?\d+\.\d\d\s+(-|\d+\.\d\d)"
        tail = r"\s+\d+\s+\d+\.\d\s+\d+%$" if searches else r"\s+-\s+\d+\.\d\s+-$"
        assert re.search(rf"^{re.escape(variant)}{cells}{tail}", game, re.M), variant
        wins = r"\s+\d/1" if variant != "repeat r=0.2" else r"\s+-"
        assert re.search(rf"^{re.escape(variant)}{cells}{wins}", medians, re.M), variant
    ratios = summary(output)
    assert_ratio(ratios, "median human-normalised score", RATIO, ">= 2.50x")
    assert_ratio(ratios, "games where search beats repeat", PERCENT, ">= 96%")
    assert_ratio(ratios, "games below 0.5 human-normalised / 1", PERCENT, "<= 12%")
    assert_ratio(ratios, "median emulator frames per recorded frame / 400", RATIO, "<= 1.00x")
    published = output.split("\nMedian human-normalised score, 26 games", 1)[1]
    assert re.search(r"^Rollout IW\(1\), B-PROST, 0.5 s, risk-averse \(AAAI 2018\)\s+1.10$",
                     published, re.M)  # fmt: skip
    assert re.search(r"^measured here: search r=0, default budget\s+-?\d+\.\d\d$", published, re.M)
    assert_ratio(ratios, "median share of planner time inside ALE", PERCENT, ">= 75%")


@pytest.mark.slow
def test_bench_export_formats_prints_every_ratio(tmp_path):
    output = run_quick("bench_export_formats.py", tmp_path)
    assert list(tmp_path.iterdir()) == []

    ratios = summary(output)
    assert_ratio(ratios, "minari export / PNG frames", RATIO, "<= 10.00x")
    assert_ratio(ratios, "minari episodes (data/) / PNG frames", RATIO)
    assert_ratio(ratios, "Minari arrow, uncompressed / PNG frames", RATIO)
    lerobot = "lerobot export / PNG frames"
    if os.environ.get("ATARI_INTERLEAVED_LEROBOT_PYTHON") or importlib.util.find_spec("lerobot"):
        assert_ratio(ratios, lerobot, RATIO)
    else:
        assert_ratio(ratios, lerobot, "skipped: no lerobot")


@pytest.mark.slow
def test_bench_branches_prints_every_figure(tmp_path):
    output = run_quick("bench_branches.py", tmp_path)
    assert list(tmp_path.iterdir()) == []
    for game in ("breakout", "pong"):
        assert re.search(rf"^{game}\s+\d+\s+{PERCENT[:-1]}\.\d\d%\s+\d+\.\d\d%$", output, re.M)
    ratios = summary(output)
    for run in (
        "repeat, --branch-every 1",
        "planner, --branch-every 1",
        "repeat, --branch-every 10000",
    ):
        assert_ratio(ratios, f"sampling speed with / without branches, {run}", RATIO)


@pytest.mark.slow
def test_bench_guard_prints_every_ratio(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench_guard.py"), "--quick"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []
    ratios = summary(result.stdout)
    assert_ratio(ratios, "repeat, save forced / as shipped (time per frame)", RATIO)
    label = "search / search without the guard's save (time per frame)"
    assert_ratio(ratios, label, RATIO, "<= 1.02x")
    assert_ratio(ratios, "repeat / repeat without the guard's call (time per frame)", RATIO)
