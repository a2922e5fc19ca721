"""One sampled episode in memory, and its metadata file (``episode.json``).

Steps are frame-aligned, as in RLDS: entry ``i`` of every per-step list belongs to frame ``i``.
``actions[i]`` is the action taken at frame ``i``, which produced frame ``i + 1``;
``rewards[i]`` is the reward that action earned. The last frame's action is the one the
policy chose there; the episode stopped before executing it, so its reward is 0.
``terminated[i]`` is true on a game-over frame and ``truncated[i]`` on a frame where ALE's
episode length limit cut the episode; both can only be true on the last frame.
``applied_actions[i]`` lists the action indices the emulator actually ran on each of the
``frameskip`` emulator frames after frame ``i`` (sticky actions can keep the previous one;
empty for the last frame), and ``start_actions`` those run before frame 0 (no-op starts):
replayed from ALE's reset state with sticky actions off, they reproduce every frame.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from atari_interleaved.errors import InvalidInputError
from atari_interleaved.layout import episode_dir_name

__all__ = [
    "METADATA_FORMAT",
    "EndReason",
    "EpisodeMetadata",
    "Episode",
    "read_metadata",
    "metadata_to_json",
]

METADATA_FORMAT = "atari-interleaved/episode/1"

EndReason = Literal["game_over", "truncated", "frame_cap"]


@dataclass(frozen=True)
class EpisodeMetadata:
    """What a user needs to trust and regenerate an episode (the content of ``episode.json``)."""

    env_id: str
    game: str
    episode: str
    episode_index: int
    seed: int
    base_seed: int
    randomness: float
    policy: str
    frames_per_env: int
    frameskip: int
    repeat_action_probability: float
    full_action_space: bool
    max_num_frames_per_episode: int
    action_set: list[str]
    num_frames: int
    actions: list[int]
    rewards: list[float]
    terminated: list[bool]
    truncated: list[bool]
    lives: list[int]
    episode_return: float
    end_reason: EndReason
    png: dict[str, Any]
    rom_md5: str
    versions: dict[str, str]
    applied_actions: list[list[int]] = field(default_factory=list)
    """Per frame, the actions run on its ``frameskip`` emulator frames (empty in older files)."""
    start_actions: list[int] = field(default_factory=list)
    """The actions run on the emulator frames before frame 0."""
    search_budget: float = 0.0
    """``--search-budget`` (0.0 in files written before it existed)."""
    planner: str = ""
    """The built-in planner's algorithm and version (``iw1-ram/1``); "" for other policies."""
    noop_max: int = 0
    """``--noop-max``: at most this many NOOP steps before frame 0."""
    sticky_actions: str = (
        "applied per emulator frame with the ALE rule (keep the previous action with "
        "probability repeat_action_probability), drawn from the episode seed"
    )
    format: str = METADATA_FORMAT


@dataclass(frozen=True)
class Episode:
    """A complete episode: PNG frames, the action taken at each frame, and its metadata.

    ``metadata`` is None for frame folders made by other tools (no ``episode.json``).
    """

    game: str
    episode_index: int
    randomness: float
    frames: list[bytes]
    actions: list[int]
    action_meanings: list[str]
    metadata: EpisodeMetadata | None = None

    @property
    def name(self) -> str:
        """The episode's folder name, ``episode_<NNN>_rand<r>``."""
        return episode_dir_name(self.episode_index, self.randomness)

    @property
    def num_frames(self) -> int:
        """How many frames the episode has."""
        return len(self.frames)

    def action_line(self, frame: int) -> str:
        """Return the content of the action file of ``frame``: ``"8: DOWNRIGHT"``."""
        index = self.actions[frame]
        return f"{index}: {self.action_meanings[index]}"


def metadata_to_json(metadata: EpisodeMetadata) -> str:
    """Serialise metadata as the stable JSON of ``episode.json``, one field a line."""
    fields = sorted(asdict(metadata).items())
    lines = [f" {json.dumps(key)}: {json.dumps(value, sort_keys=True)}" for key, value in fields]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def read_metadata(path: Path) -> EpisodeMetadata:
    """Read an ``episode.json``.

    Raises:
        InvalidInputError: if the file is not valid JSON or misses fields.

    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != METADATA_FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {METADATA_FORMAT!r}")
        return EpisodeMetadata(**data)
    except (OSError, ValueError, TypeError, AttributeError) as error:
        raise InvalidInputError(f"{path}: not a valid episode metadata file ({error})") from error
