"""The settings of a sampling run, each declared once, and checked before any work starts.

Each field of :class:`EpisodeSettings` and :class:`AleSettings` is a setting, and its
declaration (:class:`Setting`: flag, help text, check, card label, its ``episode.json``
field, when the recorded command names it) sits on the field itself. Everything else
derives from :data:`SETTINGS`: the flags of ``sample`` and ``build``, the setting fields of
``episode.json``, the card's settings tables and the recorded ``sample`` command. Adding a
setting means adding a field here and the code that uses its value.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from atari_interleaved.core.errors import InvalidArgumentError

__all__ = [
    "AleSettings",
    "EpisodeSettings",
    "Setting",
    "SETTINGS",
    "ALE_MAX_INT",
    "DEFAULT_SEED",
    "DEFAULT_POLICY",
    "DEFAULT_SEARCH_BUDGET",
    "MAX_SEARCH_BUDGET",
    "DEFAULT_COMPRESS_LEVEL",
    "setting_value",
    "episode_fields",
    "command_arguments",
]

DEFAULT_SEED = 0
"""Base seed of ``--seed``."""
DEFAULT_POLICY = "search"
"""Base policy of ``--policy``."""
DEFAULT_SEARCH_BUDGET = 400.0
"""Emulator frames simulated per recorded frame by default (``--search-budget``)."""
MAX_SEARCH_BUDGET = 50_000.0
"""The largest ``--search-budget``: 125 times the default. A decision of ``--policy search``
simulates at most six times the budget (its share of three recorded frames, twice over):
300,000 emulator frames at this bound, about 30 s at the planner's 10,000 or so simulated
frames/s per core (``bench/bench_policy.py``)."""
DEFAULT_COMPRESS_LEVEL = 6
"""zlib level of the PNG frames (``--png-compress-level``)."""

ALE_MAX_INT = 2**31 - 1
"""The largest value ALE's integer settings take (a C ``int``)."""
MAX_EPISODE_EMULATOR_FRAMES = 10_000_000
"""The most emulator frames an episode may run (46 hours of play at 60 frames/s, 92 times
v5's length limit): the action applied on each one is recorded (``applied_actions``), so
an episode's memory and ``episode.json`` grow with them."""

_DECLARATION = "setting"
"""The key of a field's :class:`Setting` in its ``dataclasses.field`` metadata."""

Check = Callable[[Any, "AleSettings"], "str | None"]
"""A setting's check: given its value and the ALE settings, what it must be, or None if fine."""


@dataclass(frozen=True)
class Setting:
    """The declaration of one sampling setting: everything but the code that uses its value.

    Attributes:
        name: the field of :class:`EpisodeSettings` (or, if ``ale``, of :class:`AleSettings`).
        flag: its command-line flag in ``sample`` and ``build``.
        help: the flag's help text (without the default, which the flag adds).
        card_label: the row label of the dataset card's settings (or ALE) table.
        metavar: the flag's value name in ``--help``.
        check: what a wrong value must be instead (see :data:`Check`); None: any value.
        recorded_when: whether the recorded ``sample`` command names the flag for given
            settings; None: always.
        card_value: the card's text of a value.
        episode_field: the field of ``episode.json`` holding it (declared "": its name);
            None if it has none.
        parse: how the flag's text becomes the value, raising ValueError with what the text
            must be; None: by ``kind``.
        command_value: the flag's text of a value in the recorded command; None: by ``kind``.
        kind: the field's type (``int``, ``float``, ``bool`` or ``str``, or a union for a
            setting declaring ``parse`` and ``command_value``).
        default: the field's default.
        ale: a field of :class:`AleSettings`.

    """

    flag: str
    help: str
    card_label: str
    metavar: str | None = None
    check: Check | None = None
    recorded_when: Callable[[EpisodeSettings], bool] | None = None
    card_value: Callable[[Any], str] = str
    episode_field: str | None = ""
    parse: Callable[[str], Any] | None = None
    command_value: Callable[[Any], str] | None = None
    name: str = ""
    kind: type = object
    default: Any = None
    ale: bool = False


def _setting(default: Any, **declaration: Any) -> Any:
    """Declare a settings field with its default and its :class:`Setting` declaration."""
    return field(default=default, metadata={_DECLARATION: Setting(**declaration)})


def _positive(value: Any, ale: AleSettings) -> str | None:
    return None if value >= 1 else "a positive integer"


def _probability(value: Any, ale: AleSettings) -> str | None:
    return None if 0.0 <= value <= 1.0 and not math.isnan(value) else "in [0, 1]"


Levels = tuple[float, ...]
"""Several randomness levels of one run, in increasing order (a single level is a float)."""


def _levels_of(value: float | Levels) -> Levels:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _randomness_check(value: float | Levels, ale: AleSettings) -> str | None:
    levels = _levels_of(value)
    if not levels:
        return "at least one level"
    if any(_probability(level, ale) for level in levels):
        return "in [0, 1]" if len(levels) == 1 else "levels in [0, 1]"
    if len(set(levels)) != len(levels):
        return "distinct levels, each given once"
    return None


def _parse_randomness(text: str) -> float | Levels:
    """Read ``0.2`` as a level, ``0.0,0.25,1.0`` as several.

    >>> _parse_randomness("0.2"), _parse_randomness("1,0.25")
    (0.2, (1.0, 0.25))

    Raises:
        ValueError: for an empty item or one that is not a number.

    """
    items = text.split(",")
    levels = []
    for item in items:
        try:
            levels.append(float(item))
        except ValueError:
            problem = " (an empty item)" if not item.strip() else ""
            raise ValueError(
                f"expected a number or comma-separated numbers (0.0,0.25,1.0), got {text!r}"
                f"{problem}"
            ) from None
    return levels[0] if len(levels) == 1 else tuple(levels)


def _randomness_text(value: float | Levels) -> str:
    """Return the flag's text of ``value``: ``0.2`` or ``0.0,0.25,1.0``."""
    return ",".join(repr(float(level)) for level in _levels_of(value))


def _check_declared(values: EpisodeSettings | AleSettings, ale: AleSettings) -> None:
    """Run the checks of the settings fields of ``values``.

    Raises:
        InvalidArgumentError: naming the flag of the first wrong value and what it must be.

    """
    for item in fields(values):
        setting = item.metadata.get(_DECLARATION)
        if setting is None or setting.check is None:
            continue
        value = getattr(values, item.name)
        requirement = setting.check(value, ale)
        if requirement is not None:
            shown = value if setting.command_value is None else setting.command_value(value)
            raise InvalidArgumentError(f"{setting.flag} must be {requirement}, but got {shown}")


@dataclass(frozen=True)
class AleSettings:
    """ALE settings, with the defaults of the ``ALE/<Game>-v5`` environments."""

    frameskip: int = _setting(
        4,
        flag="--frameskip",
        help="emulator frames per step; the action is repeated on each",
        card_label="Frameskip (emulator frames per step)",
        check=_positive,
    )
    repeat_action_probability: float = _setting(
        0.25,
        flag="--repeat-action-probability",
        metavar="P",
        help="sticky actions: probability of keeping the previous action on each emulator frame",
        card_label="Sticky actions (`repeat_action_probability`)",
        check=_probability,
    )
    full_action_space: bool = _setting(
        False,
        flag="--full-action-space",
        help="use all 18 actions instead of the game's minimal action set",
        card_label="Action set",
        recorded_when=lambda settings: settings.ale.full_action_space,
        card_value=lambda full: {True: "full (18 actions)", False: "minimal (per game)"}.get(
            full, "unknown"
        ),
    )
    max_num_frames_per_episode: int = _setting(
        108_000,
        flag="--max-num-frames-per-episode",
        metavar="N",
        help="ALE's episode length limit in emulator frames (truncation)",
        card_label="Episode length limit (emulator frames)",
        check=lambda value, ale: (
            None if 1 <= value <= ALE_MAX_INT else f"an integer in 1..{ALE_MAX_INT}"
        ),
    )

    def __post_init__(self) -> None:
        _check_declared(self, self)
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
    episodes of one settings (saved in ``sampling_config.json``). Each field's help text
    says what it holds.
    """

    frame_cap: int = _setting(
        60,
        flag="--frames-per-env",
        metavar="N",
        help="record at most N frames per episode; an episode also ends at game over or truncation",
        card_label="Frames per episode at most (`--frames-per-env`)",
        check=_positive,
    )
    randomness: float | Levels = _setting(
        0.2,
        flag="--randomness",
        metavar="R",
        help="in [0, 1]: at each step, with probability R the action is drawn uniformly from "
        "the game's action set, otherwise the base policy acts (0.0: the base policy alone, "
        "deterministic given the seed, all-NOOP episodes with repeat; 1.0: fully random play); "
        "a comma-separated list (0.0,0.25,1.0) samples --max-episodes episodes per game at "
        "each level, in folders of their own",
        card_label="Randomness (`--randomness`)",
        check=_randomness_check,
        parse=_parse_randomness,
        command_value=_randomness_text,
        card_value=lambda value: ", ".join(str(level) for level in _levels_of(value)),
    )
    seed: int = _setting(
        DEFAULT_SEED,
        flag="--seed",
        help="base seed; each episode's seed derives from it, the game and the episode number",
        card_label="Base seed (`--seed`)",
        check=lambda value, ale: None if value >= 0 else ">= 0",
        episode_field="base_seed",
    )
    policy: str = _setting(
        DEFAULT_POLICY,
        flag="--policy",
        metavar="SPEC",
        help="base policy: 'search' (plan with the emulator's saved states: play that scores, "
        "about 25 recorded frames/s per core), 'repeat' (repeat the previous action: fast random "
        "data, about 1,400 frames/s per core) or an importable factory 'module.path:make_policy' "
        "(see docs/sampling.md)",
        card_label="Base policy (`--policy`)",
        card_value=lambda policy: f"`{policy}`",
    )
    search_budget: float = _setting(
        DEFAULT_SEARCH_BUDGET,
        flag="--search-budget",
        metavar="F",
        help="emulator frames the base policy may simulate per recorded frame, averaged over "
        f"the episode, at most {MAX_SEARCH_BUDGET:,.0f} (for --policy search and planning "
        "plug-ins)",
        card_label="Search budget (`--search-budget`)",
        check=lambda value, ale: (
            None
            if 0.0 < value <= MAX_SEARCH_BUDGET
            else "a positive number of emulator frames per recorded frame, at most "
            f"{MAX_SEARCH_BUDGET:,.0f}"
        ),
        recorded_when=lambda settings: settings.policy != "repeat",
    )
    noop_max: int = _setting(
        0,
        flag="--noop-max",
        metavar="N",
        help="start each episode after 0..N NOOP steps drawn from its seed, as in DQN-style "
        "evaluation, so episodes of a deterministic policy differ (0 is the v5 behaviour)",
        card_label="No-op starts at most (`--noop-max`)",
        check=lambda value, ale: (
            None
            if 0 <= value <= ale.max_steps
            else f"an integer in 0..{ale.max_steps} (the steps before ALE's episode length limit)"
        ),
        recorded_when=lambda settings: settings.noop_max != 0,
    )
    png_compress_level: int = _setting(
        DEFAULT_COMPRESS_LEVEL,
        flag="--png-compress-level",
        metavar="L",
        help="zlib level 0-9 of the palette PNG frames: 6 is half the size of 1, which "
        "encodes a third faster",
        card_label="PNG zlib level (`--png-compress-level`)",
        check=lambda value, ale: None if 0 <= value <= 9 else "in 0..9",
        episode_field=None,  # episode.json records it in "png" (with the colour type)
    )
    branch_every: int = _setting(
        0,
        flag="--branch-every",
        metavar="K",
        help="counterfactual branches: at every K-th recorded frame, also record what each "
        "action of the game's action set, held for --branch-steps frames from the same "
        "emulator state, would have shown (the episode itself does not change; 0: off)",
        card_label="Branch points every (`--branch-every`, recorded frames)",
        check=lambda value, ale: None if value >= 0 else "0 (off) or a positive integer",
        recorded_when=lambda settings: settings.branch_every != 0,
        card_value=lambda every: str(every) if every else "off",
        episode_field=None,  # branches.json beside the episode, not episode.json
    )
    branch_steps: int = _setting(
        1,
        flag="--branch-steps",
        metavar="H",
        help="recorded frames each branch holds its action for (a branch stops where its game "
        "ends and at the episode's last frame)",
        card_label="Branch length (`--branch-steps`, recorded frames)",
        check=_positive,
        recorded_when=lambda settings: settings.branch_every != 0,
        episode_field=None,
    )
    ale: AleSettings = AleSettings()

    def __post_init__(self) -> None:
        # A number of frames given as an int is recorded as the float it is.
        object.__setattr__(self, "search_budget", float(self.search_budget))
        if isinstance(self.randomness, (tuple, list)):
            object.__setattr__(self, "randomness", tuple(self.randomness))
        _check_declared(self, self.ale)
        if self.branch_every == 0 and self.branch_steps != 1:
            raise InvalidArgumentError(
                f"--branch-steps {self.branch_steps} needs --branch-every: give --branch-every "
                "K to record branches at every K-th frame, or leave --branch-steps out"
            )
        if self.branch_every and self.branch_steps >= self.frame_cap:
            raise InvalidArgumentError(
                f"--branch-steps {self.branch_steps} goes past the end of every episode: "
                f"--frames-per-env {self.frame_cap} lets a branch from frame 0 hold at most "
                f"{self.frame_cap - 1} steps; give --branch-steps below {self.frame_cap}"
            )
        # One level is a float, as before lists; several are a set, kept in increasing order.
        # Adding 0.0 turns -0.0 into 0.0: one level, one way to record it.
        levels = sorted(level + 0.0 for level in _levels_of(self.randomness))
        object.__setattr__(self, "randomness", levels[0] if len(levels) == 1 else tuple(levels))
        ale = self.ale
        longest = min(self.frame_cap * ale.frameskip, ale.max_num_frames_per_episode)
        if max(longest, ale.frameskip) > MAX_EPISODE_EMULATOR_FRAMES:
            raise InvalidArgumentError(
                f"--frames-per-env {self.frame_cap}, --frameskip {ale.frameskip} and "
                f"--max-num-frames-per-episode {ale.max_num_frames_per_episode} let an episode "
                f"run {max(longest, ale.frameskip):,} emulator frames, and the action of each "
                f"is recorded: at most {MAX_EPISODE_EMULATOR_FRAMES:,}; lower --frameskip (the "
                "v5 default is 4) or --max-num-frames-per-episode"
            )

    @property
    def levels(self) -> Levels:
        """The randomness levels of the run, in increasing order (one for a single value)."""
        return _levels_of(self.randomness)

    def at_level(self, randomness: float) -> EpisodeSettings:
        """Return the settings of the run's episodes at one of its levels."""
        if randomness not in self.levels:
            raise ValueError(f"randomness {randomness} is not a level of {self.levels}")
        return replace(self, randomness=randomness)

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as plain JSON-able data (``ale`` nested)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EpisodeSettings:
        """Rebuild settings from :meth:`to_dict` output.

        Raises:
            InvalidArgumentError: for a value its check refuses.
            TypeError: for a key that is not a setting.

        """
        values = dict(data)
        values["ale"] = AleSettings(**values.get("ale", {}))
        return cls(**values)

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> EpisodeSettings:
        """Build settings from a flat mapping by setting name (parsed flags: ``vars(args)``).

        Keys that are not a setting's name are ignored; a missing setting has its default.
        """
        chosen = {item.name: values[item.name] for item in SETTINGS if item.name in values}
        ale = {
            item.name: chosen.pop(item.name)
            for item in SETTINGS
            if item.ale and item.name in chosen
        }
        return cls(**chosen, ale=AleSettings(**ale))


def _declared(settings_class: type, *, ale: bool) -> tuple[Setting, ...]:
    hints = typing.get_type_hints(settings_class)
    return tuple(
        replace(
            item.metadata[_DECLARATION],
            name=item.name,
            kind=hints[item.name],
            default=item.default,
            ale=ale,
            episode_field=(
                item.name
                if item.metadata[_DECLARATION].episode_field == ""
                else item.metadata[_DECLARATION].episode_field
            ),
        )
        for item in fields(settings_class)
        if _DECLARATION in item.metadata
    )


SETTINGS: tuple[Setting, ...] = _declared(EpisodeSettings, ale=False) + _declared(
    AleSettings, ale=True
)
"""Every sampling setting, in the order of the recorded command and of the card's tables."""


def setting_value(settings: EpisodeSettings, setting: Setting) -> Any:
    """Return the value of ``setting`` in ``settings``."""
    return getattr(settings.ale if setting.ale else settings, setting.name)


def episode_fields(settings: EpisodeSettings) -> dict[str, Any]:
    """Return the setting fields of an episode's ``episode.json``, by field name.

    ``settings`` are an episode's (:meth:`EpisodeSettings.at_level`): one randomness level.
    """
    if len(settings.levels) != 1:
        raise ValueError("episode_fields takes the settings of one level (at_level)")
    return {
        item.episode_field: setting_value(settings, item)
        for item in SETTINGS
        if item.episode_field is not None
    }


def command_arguments(settings: EpisodeSettings) -> list[str]:
    """Return the ``sample`` arguments that give ``settings``.

    The flags of settings recorded always come first, in :data:`SETTINGS` order, then the
    ones named only when ``recorded_when`` says so (a default a reader need not see).
    """
    always = [item for item in SETTINGS if item.recorded_when is None]
    sometimes = [item for item in SETTINGS if item.recorded_when is not None]
    arguments: list[str] = []
    for item in always + [item for item in sometimes if item.recorded_when(settings)]:
        value = setting_value(settings, item)
        if item.command_value is not None:
            arguments += [item.flag, item.command_value(value)]
        elif item.kind is bool:
            arguments += [item.flag] if value else []
        elif item.kind is float:
            arguments += [item.flag, repr(float(value))]
        else:
            arguments += [item.flag, str(value)]
    return arguments
