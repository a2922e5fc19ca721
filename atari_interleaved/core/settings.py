"""The settings of a sampling run, checked before any work starts."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from atari_interleaved.core.errors import InvalidArgumentError

__all__ = [
    "AleSettings",
    "EpisodeSettings",
    "ALE_MAX_INT",
    "DEFAULT_SEED",
    "DEFAULT_POLICY",
    "DEFAULT_SEARCH_BUDGET",
    "DEFAULT_COMPRESS_LEVEL",
]

DEFAULT_SEED = 0
"""Base seed of ``--seed``."""
DEFAULT_POLICY = "search"
"""Base policy of ``--policy``."""
DEFAULT_SEARCH_BUDGET = 1000.0
"""Emulator frames simulated per recorded frame by default (``--search-budget``)."""
DEFAULT_COMPRESS_LEVEL = 6
"""zlib level of the PNG frames (``--png-compress-level``)."""

ALE_MAX_INT = 2**31 - 1
"""The largest value ALE's integer settings take (a C ``int``)."""


@dataclass(frozen=True)
class AleSettings:
    """ALE settings, with the defaults of the ``ALE/<Game>-v5`` environments."""

    frameskip: int = 4
    """Emulator frames per step; the action is repeated on each."""
    repeat_action_probability: float = 0.25
    """Sticky actions: probability of keeping the previous action on each emulator frame."""
    full_action_space: bool = False
    """Use all 18 actions instead of the game's minimal action set."""
    max_num_frames_per_episode: int = 108_000
    """ALE's episode length limit in emulator frames (truncation)."""

    def __post_init__(self) -> None:
        if self.frameskip < 1:
            raise InvalidArgumentError(
                f"--frameskip must be a positive integer, but got {self.frameskip}"
            )
        if not 0.0 <= self.repeat_action_probability <= 1.0 or math.isnan(
            self.repeat_action_probability
        ):
            raise InvalidArgumentError(
                "--repeat-action-probability must be in [0, 1], "
                f"but got {self.repeat_action_probability}"
            )
        if not 1 <= self.max_num_frames_per_episode <= ALE_MAX_INT:
            raise InvalidArgumentError(
                f"--max-num-frames-per-episode must be an integer in 1..{ALE_MAX_INT}, "
                f"but got {self.max_num_frames_per_episode}"
            )
        if self.frameskip > self.max_num_frames_per_episode:
            raise InvalidArgumentError(
                f"--frameskip {self.frameskip} is more than the episode length limit "
                f"--max-num-frames-per-episode {self.max_num_frames_per_episode}: one step "
                "would end every episode; lower --frameskip (the v5 default is 4)"
            )

    @property
    def max_steps(self) -> int:
        """The most steps an episode can take before ALE's length limit truncates it."""
        return -(-self.max_num_frames_per_episode // self.frameskip)


@dataclass(frozen=True)
class EpisodeSettings:
    """Everything that decides the content of an episode besides its game and number.

    Two runs with equal settings write byte-identical episodes; a tree only ever holds
    episodes of one settings (saved in ``sampling_config.json``).
    """

    frames_per_env: int = 60
    """At most this many frames are recorded per episode."""
    randomness: float = 0.2
    """Probability of a uniformly random action at each step."""
    seed: int = DEFAULT_SEED
    """Base seed; each episode's seed derives from it, the game and the episode number."""
    policy: str = DEFAULT_POLICY
    """Base policy: ``repeat`` or an importable factory ``module.path:attribute``."""
    png_compress_level: int = DEFAULT_COMPRESS_LEVEL
    """zlib level of the PNG frames (0-9)."""
    search_budget: float = DEFAULT_SEARCH_BUDGET
    """Emulator frames the base policy may simulate per recorded frame, on average."""
    noop_max: int = 0
    """Each episode starts after 0..noop_max NOOP steps drawn from its seed."""
    ale: AleSettings = AleSettings()

    def __post_init__(self) -> None:
        if self.frames_per_env < 1:
            raise InvalidArgumentError(
                f"--frames-per-env must be a positive integer, but got {self.frames_per_env}"
            )
        if not 0.0 <= self.randomness <= 1.0 or math.isnan(self.randomness):
            raise InvalidArgumentError(f"--randomness must be in [0, 1], but got {self.randomness}")
        if self.seed < 0:
            raise InvalidArgumentError(f"--seed must be >= 0, but got {self.seed}")
        # A number of frames given as an int is recorded as the float it is.
        object.__setattr__(self, "search_budget", float(self.search_budget))
        if not 0.0 < self.search_budget < math.inf:
            raise InvalidArgumentError(
                "--search-budget must be a positive number of emulator frames per recorded "
                f"frame, but got {self.search_budget}"
            )
        if not 0 <= self.noop_max <= self.ale.max_steps:
            raise InvalidArgumentError(
                f"--noop-max must be an integer in 0..{self.ale.max_steps} (the steps before "
                f"ALE's episode length limit), but got {self.noop_max}"
            )
        if not 0 <= self.png_compress_level <= 9:
            raise InvalidArgumentError(
                f"--png-compress-level must be in 0..9, but got {self.png_compress_level}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as plain JSON-able data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EpisodeSettings:
        """Rebuild settings from :meth:`to_dict` output."""
        values = dict(data)
        values["ale"] = AleSettings(**values.get("ale", {}))
        return cls(**values)
