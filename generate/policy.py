"""Base policies: what the agent does when it does not act at random.

At each step, with probability ``randomness`` the action is drawn uniformly from the game's
action set; otherwise the base policy acts. Two base policies are built in: ``search`` (the
default) plans with the emulator's saved states (:mod:`atari_interleaved.generate.search`);
``repeat`` repeats the previous action (NOOP at the start), so randomness 0.0 gives all-NOOP
episodes: fast random data.

Users plug in their own base policy (a trained agent, a scripted player, a planner) as an
importable factory, ``--policy my_package.agents:make_policy``::

    def make_policy(context: PolicyContext):
        model = load_my_agent(context.game)
        return lambda observation, previous_action: int(model.act(observation))

The factory is called once per episode with a :class:`PolicyContext`: the game, its action
meanings, the episode's own random generator, the frames the policy may simulate per
recorded frame, and an :class:`~atari_interleaved.generate.emulator_view.EmulatorView` to
plan with (save, restore and step copies of the state; read RAM, lives and the screen;
the recorded episode is never changed by it). The returned callable gets the current frame
as an RGB ``uint8`` array of shape (210, 160, 3) and the previous action index, and returns
an index into ``action_meanings``. A policy sets ``needs_observation = False`` when it never
looks at frames; the sampler then skips making them (None is passed).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from atari_interleaved.core.errors import InvalidArgumentError
from atari_interleaved.generate.emulator_view import EmulatorView

__all__ = [
    "BasePolicy",
    "PolicyContext",
    "PolicyFactory",
    "BUILTIN_POLICIES",
    "repeat_previous",
    "load_policy_factory",
    "needs_observation",
    "never_touches_the_emulator",
]

BUILTIN_POLICIES = ("repeat", "search")


def planner_of(policy: str) -> str:
    """Return the built-in planner's algorithm and version for ``policy`` ("" for others)."""
    from atari_interleaved.generate.search import ALGORITHM

    return ALGORITHM if policy == "search" else ""


class BasePolicy(Protocol):
    """A base policy: ``(observation, previous_action) -> action index``.

    ``needs_observation`` (True when absent) says whether it looks at the frame.
    """

    needs_observation: bool

    def __call__(self, observation: np.ndarray | None, previous_action: int) -> int:
        """Return the index of the action to take."""
        ...


@dataclass(frozen=True)
class PolicyContext:
    """What a policy factory gets, once per episode.

    Attributes:
        game: the game's ROM id (``"alien"``).
        action_meanings: the labels of the episode's action set (``"NOOP"``, ``"FIRE"``, ...).
        rng: the policy's own random generator, from the episode seed.
        emulator: the view to plan with; it never changes the recorded episode.
        search_budget: emulator frames the policy may simulate per recorded frame, averaged
            over the episode (``--search-budget``).

    """

    game: str
    action_meanings: list[str]
    rng: np.random.Generator
    emulator: EmulatorView
    search_budget: float


PolicyFactory = Callable[[PolicyContext], BasePolicy]


def _repeat(observation: np.ndarray | None, previous_action: int) -> int:
    return previous_action


_repeat.needs_observation = False  # type: ignore[attr-defined]


def repeat_previous(context: PolicyContext) -> BasePolicy:
    """Return the ``repeat`` base policy, which repeats the previous action."""
    return _repeat  # type: ignore[return-value]


def _search(context: PolicyContext) -> BasePolicy:
    from atari_interleaved.generate.search import make_search_policy

    return make_search_policy(context)


_BUILTIN: dict[str, PolicyFactory] = {"repeat": repeat_previous, "search": _search}


def _check_takes_context(factory: Callable[..., Any]) -> None:
    """Refuse a factory that cannot be called with one argument, the context.

    Raises:
        InvalidArgumentError: naming its signature and the form to write.

    """
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(None)
    except TypeError:
        raise InvalidArgumentError(
            f"policy factory {factory!r} takes {signature}; write it as "
            "'def make_policy(context)' (a PolicyContext with game, action_meanings, rng, "
            "emulator and search_budget)"
        ) from None


def load_policy_factory(spec: str) -> PolicyFactory:
    """Return the policy factory named by ``spec``: ``repeat``, ``search`` or ``module:attribute``.

    Raises:
        InvalidArgumentError: if the module or attribute cannot be imported, is not callable,
            or takes other arguments.

    """
    if spec in _BUILTIN:
        return _BUILTIN[spec]
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise InvalidArgumentError(
            f"--policy {spec!r} is neither one of {', '.join(BUILTIN_POLICIES)} nor "
            "'module.path:factory' (for example 'my_agents.atari:make_policy')"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise InvalidArgumentError(
            f"--policy {spec!r}: cannot import module {module_name!r} ({error}); "
            "make sure it is installed or on PYTHONPATH"
        ) from error
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise InvalidArgumentError(
            f"--policy {spec!r}: module {module_name!r} has no callable {attribute!r}"
        )
    _check_takes_context(factory)
    return factory


def needs_observation(policy: BasePolicy) -> bool:
    """Return whether a base policy looks at frames (True unless it says otherwise)."""
    return bool(getattr(policy, "needs_observation", True))


def never_touches_the_emulator(policy: BasePolicy) -> bool:
    """Return whether ``policy`` is the built-in ``repeat``, whose calls never use the emulator.

    The sampler saves the real state around the calls of every other policy.
    """
    return policy is _repeat
