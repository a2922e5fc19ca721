"""Held-out splits: which split (``train``, ``validation``, ``test``, ...) each episode is in.

Episodes are assigned whole. ``--splits train=0.9,validation=0.05,test=0.05`` cuts [0, 1) into
intervals in the order given, and an episode goes to the split whose interval holds
``sha256("<environment>/<seed>")`` read as a fraction, so its split depends only on its game
and seed: adding games or episodes to a run never moves an episode to another split.
Episodes without a recorded seed (frame trees of other tools, without ``episode.json``) are
hashed by their folder name instead, ``"<environment>/<episode>"``. ``--test-games
pong,breakout`` puts every episode of those games in ``test``, whatever the fractions.

The default plan puts everything in ``train``, as a single-split dataset has it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from atari_interleaved.core.errors import InvalidArgumentError
from atari_interleaved.core.games import resolve_game
from atari_interleaved.core.layout import game_dir_name

__all__ = [
    "DEFAULT_SPLIT",
    "TEST_SPLIT",
    "SplitPlan",
    "DEFAULT_PLAN",
    "parse_splits",
    "parse_test_games",
    "episode_fraction",
    "check_split_name",
    "split_plan",
]

DEFAULT_SPLIT = "train"
TEST_SPLIT = "test"
_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_TOLERANCE = 1e-6


def check_split_name(split: object, argument: str = "split") -> str:
    """Return ``split`` if it is a split name (letters, digits and ``_``).

    A name is also part of shard file names and of the patterns that find them (on the Hub
    too), so ``*`` or ``/`` in one would mix splits.

    Raises:
        InvalidArgumentError: naming ``argument`` and the value.

    """
    if not isinstance(split, str) or not _NAME.match(split):
        raise InvalidArgumentError(
            f"{argument}={split!r} is not a split name: give one of letters, digits and _, "
            f"such as {DEFAULT_SPLIT!r}"
        )
    return split


def episode_fraction(environment: str, seed: int | None, episode: str) -> float:
    """Return the episode's position in [0, 1): a hash of its game and seed (or folder name)."""
    key = f"{environment}/{episode if seed is None else seed}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


@dataclass(frozen=True)
class SplitPlan:
    """How episodes are assigned to splits.

    Attributes:
        fractions: each split's share of the episodes, in order (they sum to 1).
        test_games: environments (``atari_pong``) whose episodes all go to ``test``.

    """

    fractions: tuple[tuple[str, float], ...] = ((DEFAULT_SPLIT, 1.0),)
    test_games: tuple[str, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        """The split names of the plan, in order (``test`` last if only games make it)."""
        names = [name for name, _ in self.fractions]
        if self.test_games and TEST_SPLIT not in names:
            names.append(TEST_SPLIT)
        return names

    @property
    def is_default(self) -> bool:
        """Whether every episode goes to ``train``."""
        return self == DEFAULT_PLAN

    def split_of(self, environment: str, seed: int | None, episode: str) -> str:
        """Return the split of an episode."""
        if environment in self.test_games:
            return TEST_SPLIT
        position = episode_fraction(environment, seed, episode)
        upper = 0.0
        for name, fraction in self.fractions:
            upper += fraction
            if position < upper:
                return name
        return next(name for name, fraction in reversed(self.fractions) if fraction > 0)

    def flags(self) -> list[str]:
        """Return the command-line flags that give this plan (none for the default)."""
        flags = []
        if self.fractions != DEFAULT_PLAN.fractions:
            flags += ["--splits", ",".join(f"{name}={share:g}" for name, share in self.fractions)]
        if self.test_games:
            games = ",".join(game.removeprefix("atari_") for game in self.test_games)
            flags += ["--test-games", games]
        return flags

    def to_dict(self) -> dict[str, object]:
        """Return the plan as JSON data (recorded in the manifest)."""
        return {"fractions": dict(self.fractions), "test_games": list(self.test_games)}


DEFAULT_PLAN = SplitPlan()


def parse_splits(text: str) -> tuple[tuple[str, float], ...]:
    """Parse ``train=0.9,validation=0.05,test=0.05`` (fractions summing to 1).

    Raises:
        InvalidArgumentError: naming ``--splits`` and what is wrong.

    """
    fractions: dict[str, float] = {}
    for part in text.split(","):
        name, equals, share = part.strip().partition("=")
        name = name.strip()
        try:
            value = float(share)
        except ValueError:
            value = -1.0
        if not equals or not _NAME.match(name) or not 0 <= value <= 1:
            raise InvalidArgumentError(
                f"--splits {text!r}: expected name=fraction pairs such as "
                f"train=0.9,validation=0.05,test=0.05 (names of letters, digits and _, "
                f"fractions in [0, 1]), got {part.strip()!r}"
            )
        if name in fractions:
            raise InvalidArgumentError(f"--splits {text!r} names the split {name!r} twice")
        if name == "all":
            raise InvalidArgumentError(
                f"--splits {text!r}: 'all' is not a split name (datasets reads it as every "
                "split); choose another"
            )
        fractions[name] = value
    total = sum(fractions.values())
    if abs(total - 1) > _TOLERANCE:
        raise InvalidArgumentError(f"--splits {text!r}: the fractions sum to {total:g}, not 1")
    return tuple(fractions.items())


def parse_test_games(text: str) -> tuple[str, ...]:
    """Parse ``pong,breakout`` into environment names (``atari_pong``), in order.

    Raises:
        InvalidArgumentError: for an unknown game, naming ``--test-games``.

    """
    games: list[str] = []
    for name in text.split(","):
        if name.strip():
            environment = game_dir_name(resolve_game(name, "--test-games"))
            if environment not in games:
                games.append(environment)
    return tuple(games)


def split_plan(splits: str | None = None, test_games: str | None = None) -> SplitPlan:
    """Return the plan of ``--splits`` and ``--test-games`` (None: their defaults).

    Raises:
        InvalidArgumentError: naming the flag whose value is wrong.

    """
    return SplitPlan(
        fractions=DEFAULT_PLAN.fractions if splits is None else parse_splits(splits),
        test_games=() if test_games is None else parse_test_games(test_games),
    )
