"""One sampled episode in memory, and its metadata file (``episode.json``).

Steps are frame-aligned, as in RLDS: entry ``i`` of every per-step list belongs to frame ``i``.
``actions[i]`` is the action taken at frame ``i``, which produced frame ``i + 1``;
``rewards[i]`` is the reward that action earned. The last frame's action is never executed
(its reward is 0): the policy is not asked for it, and it repeats the previous action, or is
random with the episode's randomness.
``terminated[i]`` is true on a game-over frame and ``truncated[i]`` on a frame where ALE's
episode length limit cut the episode; both can only be true on the last frame.
``applied_actions[i]`` lists the action indices the emulator actually ran on each of the
``frameskip`` emulator frames after frame ``i`` (sticky actions can keep the previous one;
empty for the last frame), and ``start_actions`` those run before frame 0 (no-op starts):
replayed from ALE's reset state with sticky actions off, they reproduce every frame.
"""

from __future__ import annotations

import functools
import json
import math
import types
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.core.layout import NUM_ALE_ACTIONS, episode_dir_name

if TYPE_CHECKING:
    from atari_interleaved.core.branches import Branch

__all__ = [
    "METADATA_FORMAT",
    "EndReason",
    "EpisodeMetadata",
    "Episode",
    "PER_STEP_FIELDS",
    "MAX_METADATA_BYTES",
    "read_metadata",
    "metadata_from_dict",
    "metadata_to_json",
    "check_field",
]

METADATA_FORMAT = "atari-interleaved/episode/1"

EndReason = Literal["game_over", "truncated", "frame_cap"]

PER_STEP_FIELDS = ("actions", "rewards", "terminated", "truncated", "lives")
"""The fields of :class:`EpisodeMetadata` holding one entry per frame (``num_frames`` long)."""

MAX_METADATA_BYTES = 64 << 20
"""Largest ``episode.json`` read by default (a 108,000-frame episode takes about 6 MB)."""


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
    frame_cap: int
    """``--frames-per-env``: at most this many frames are recorded."""
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
    """The built-in planner's ``generate.search.ALGORITHM`` (name and version); "" for others."""
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
    branches: list[Branch] = field(default_factory=list)
    """The episode's counterfactual branches, by frame, then action; empty without
    ``--branch-every`` (see :mod:`atari_interleaved.core.branches`)."""

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


def read_metadata(path: Path, *, max_bytes: int = MAX_METADATA_BYTES) -> EpisodeMetadata:
    """Read an ``episode.json`` and check it against :class:`EpisodeMetadata`'s field types.

    Args:
        path: the file.
        max_bytes: the largest file read (a bigger one is refused unread).

    Raises:
        InvalidInputError: naming the file and the field, if the file is not JSON, is too
            large, misses a field, has an unknown one, or a field of the wrong type.

    """
    try:
        with open(path, "rb") as file:
            content = file.read(max_bytes + 1)
        if len(content) > max_bytes:
            raise ValueError(f"larger than {max_bytes} bytes")
        data = json.loads(content.decode("utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        raise InvalidInputError(f"{path}: not a valid episode metadata file ({error})") from None
    try:
        return metadata_from_dict(data)
    except ValueError as error:
        raise InvalidInputError(f"{path}: not a valid episode metadata file: {error}") from None


def metadata_from_dict(data: Any) -> EpisodeMetadata:
    """Return the metadata of parsed ``episode.json`` content, every field checked.

    The schema is :class:`EpisodeMetadata` itself: each field's type hint (``int``,
    ``float``, ``bool``, ``str``, a ``Literal``, ``list[...]``, ``dict[str, ...]``, ``Any``
    and unions of these) is checked, a ``bool`` is not an ``int``, a float must be finite
    and an int fit in 64 bits. The lists of :data:`PER_STEP_FIELDS` must have
    ``num_frames`` entries.

    Raises:
        ValueError: naming the field and what it must be.

    """
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {_shown(data)}")
    if data.get("format") != METADATA_FORMAT:
        raise ValueError(f"format {_shown(data.get('format'))}, expected {METADATA_FORMAT!r}")
    hints = _field_hints()
    unknown = sorted(set(data) - set(hints))
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}")
    values = {}
    for item in fields(EpisodeMetadata):
        if item.name not in data:
            if item.default is MISSING and item.default_factory is MISSING:
                raise ValueError(f"field {item.name!r} is missing")
            continue
        values[item.name] = _checked(data[item.name], hints[item.name], item.name)
    metadata = EpisodeMetadata(**values)
    if metadata.num_frames < 1:
        raise ValueError(f"field 'num_frames' must be at least 1, got {metadata.num_frames}")
    for name in PER_STEP_FIELDS:
        length = len(getattr(metadata, name))
        if length != metadata.num_frames:
            raise ValueError(f"{name} has {length} entries for {metadata.num_frames} frames")
    if len(metadata.action_set) > NUM_ALE_ACTIONS:
        raise ValueError(
            f"field 'action_set' has {len(metadata.action_set)} actions, ALE has at most "
            f"{NUM_ALE_ACTIONS}"
        )
    if metadata.applied_actions and len(metadata.applied_actions) != metadata.num_frames:
        raise ValueError(
            f"applied_actions has {len(metadata.applied_actions)} entries for "
            f"{metadata.num_frames} frames"
        )
    count = len(metadata.action_set)
    rows = [("actions", metadata.actions), ("start_actions", metadata.start_actions)]
    rows += [(f"applied_actions[{i}]", row) for i, row in enumerate(metadata.applied_actions)]
    for name, row in rows:
        if row and not (0 <= min(row) and max(row) < count):
            position, action = next((i, a) for i, a in enumerate(row) if not 0 <= a < count)
            raise ValueError(
                f"field '{name}[{position}]' is {action}, not an index of the {count} actions "
                "of action_set"
            )
    return metadata


@functools.cache
def _field_hints() -> dict[str, Any]:
    return typing.get_type_hints(EpisodeMetadata)


_INT64 = range(-(1 << 63), 1 << 63)
_NAMES = {int: "an integer", float: "a finite number", bool: "true or false", str: "a string"}


def _shown(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(hint: Any) -> str:
    """Say what a value of type ``hint`` is: ``"a list of integers"``."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if hint in _NAMES:
        return _NAMES[hint]
    if hint is Any:
        return "any JSON value"
    if hint is type(None):
        return "null"
    if origin is Literal:
        return "one of " + ", ".join(json.dumps(argument) for argument in arguments)
    if origin is list:
        return f"a list, each entry {_describe(arguments[0])}"
    if origin is dict:
        return f"an object, each value {_describe(arguments[1])}"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(argument) for argument in arguments)
    raise TypeError(f"EpisodeMetadata has a field type the reader does not check: {hint!r}")


@functools.cache
def _shape(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    return typing.get_origin(hint), typing.get_args(hint)


_SCALARS = (int, float, bool, str)


def _scalars(values: list[Any], hint: type) -> list[Any] | None:
    """Return a list of ``hint`` values checked at once (the common case), or None.

    None means some entry is wrong: the caller then checks each one to say which.
    """
    if hint is float:
        if not all(type(value) is float or type(value) is int for value in values):
            return None
        try:
            converted = [float(value) for value in values]
        except OverflowError:  # an integer beyond any float
            return None
        return converted if all(map(math.isfinite, converted)) else None
    if not all(type(value) is hint for value in values):
        return None
    if hint is int and values and (min(values) < _INT64.start or max(values) >= _INT64.stop):
        return None
    return list(values)


def check_field(value: Any, hint: Any, where: str) -> Any:
    """Return parsed JSON ``value`` checked against type ``hint``, as ``episode.json``'s fields.

    Raises:
        ValueError: naming ``where`` and what it must be.

    """
    return _checked(value, hint, where)


def _checked(value: Any, hint: Any, where: str) -> Any:
    """Return ``value`` if it has type ``hint`` (ints become floats for ``float``).

    Raises:
        ValueError: naming ``where`` (``"rewards[3]"``) and what it must be.

    """
    origin, arguments = _shape(hint)
    if hint is Any:
        return value
    if origin is list and isinstance(value, list) and arguments[0] in _SCALARS:
        checked = _scalars(value, arguments[0])
        if checked is not None:
            return checked
    if origin in (typing.Union, types.UnionType):
        for argument in arguments:
            try:
                return _checked(value, argument, where)
            except ValueError:
                continue
    elif origin is list and isinstance(value, list):
        return [_checked(item, arguments[0], f"{where}[{i}]") for i, item in enumerate(value)]
    elif origin is dict and isinstance(value, dict):
        return {key: _checked(item, arguments[1], f"{where}.{key}") for key, item in value.items()}
    elif origin is Literal:
        if any(type(value) is type(option) and value == option for option in arguments):
            return value
    elif hint is type(None):
        if value is None:
            return value
    elif hint is float:
        if (type(value) is float and math.isfinite(value)) or (
            type(value) is int and value in _INT64
        ):
            return float(value)
    elif hint is int:
        if type(value) is int and value in _INT64:
            return value
    elif hint in (bool, str):
        if type(value) is hint:
            return value
    else:
        _describe(hint)  # raises TypeError for a type this reader cannot check
    raise ValueError(f"field {where!r} must be {_describe(hint)}, got {_shown(value)}")
