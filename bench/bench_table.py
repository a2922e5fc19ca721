"""Printing the benchmarks' tables: aligned columns, and ratios beside their goals."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Ratio", "print_columns", "print_summary"]


@dataclass(frozen=True)
class Ratio:
    """A line of a summary: a measured ratio and the goal it is held against.

    ``value`` None means not measured; ``missing`` then says why. The goal is a lower
    bound (rates) unless ``at_most`` (times, memory).
    """

    label: str
    value: float | None
    goal: float | None = None
    at_most: bool = False
    percent: bool = False
    missing: str = ""

    def show(self, number: float) -> str:
        return f"{number:.0%}" if self.percent else f"{number:.2f}x"

    def cells(self) -> tuple[str, str, str, str]:
        if self.value is None:
            return (self.label, self.missing, "", "")
        if self.goal is None:
            return (self.label, self.show(self.value), "", "")
        met = self.value <= self.goal if self.at_most else self.value >= self.goal
        bound = "<=" if self.at_most else ">="
        return (
            self.label,
            self.show(self.value),
            f"{bound} {self.show(self.goal)}",
            "yes" if met else "no",
        )


def print_columns(header: tuple[str, ...], lines: list[tuple[str, ...]]) -> None:
    """Print ``lines`` under ``header`` in left-aligned columns."""
    everything = [header, *lines]
    widths = [max(len(line[i]) for line in everything) for i in range(len(header))]
    for number, line in enumerate(everything):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )
        if number == 0:
            print("  ".join("-" * width for width in widths))


def print_summary(title: str, ratios: list[Ratio]) -> None:
    """Print the summary table of ``ratios`` with their goals."""
    print(f"\n{title}")
    print_columns(("ratio", "measured", "goal", "met"), [ratio.cells() for ratio in ratios])
