"""Base policies: what the agent does when it does not act at random.

At each step, with probability ``randomness`` the action is drawn uniformly from the game's
action set; otherwise the base policy acts. The default base policy, ``repeat``, repeats the
previous action (NOOP at the start), so randomness 0.0 is deterministic and 1.0 fully random.

Users plug in their own base policy (a trained agent, a scripted player) as an importable
factory, ``--policy my_package.agents:make_policy``::

    def make_policy(game: str, action_meanings: list[str], rng: numpy.random.Generator):
        model = load_my_agent(game)
        return lambda observation, previous_action: int(model.act(observation))

The factory is called once per episode; the returned callable gets the current frame as an
RGB ``uint8`` array of shape (210, 160, 3) and the previous action index, and returns an
index into ``action_meanings``. A factory can set ``needs_observation = False`` on the
callable it returns when it never looks at frames; the sampler then skips making them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from atari_interleaved.errors import InvalidArgumentError

__all__ = [
    "BasePolicy",
    "PolicyFactory",
    "DEFAULT_POLICY",
    "repeat_previous",
    "load_policy_factory",
    "needs_observation",
]

DEFAULT_POLICY = "repeat"


class BasePolicy(Protocol):
    """A base policy: ``(observation, previous_action) -> action index``."""

    def __call__(self, observation: np.ndarray | None, previous_action: int) -> int:
        """Return the index of the action to take."""
        ...


PolicyFactory = Callable[[str, Sequence[str], np.random.Generator], BasePolicy]


def _repeat(observation: np.ndarray | None, previous_action: int) -> int:
    return previous_action


_repeat.needs_observation = False  # type: ignore[attr-defined]


def repeat_previous(
    game: str, action_meanings: Sequence[str], rng: np.random.Generator
) -> BasePolicy:
    """Return the default base policy, which repeats the previous action."""
    return _repeat


_BUILTIN: dict[str, PolicyFactory] = {DEFAULT_POLICY: repeat_previous}


def load_policy_factory(spec: str) -> PolicyFactory:
    """Return the policy factory named by ``spec``: ``repeat`` or ``module.path:attribute``.

    Raises:
        InvalidArgumentError: if the module or attribute cannot be imported or is not callable.

    """
    if spec in _BUILTIN:
        return _BUILTIN[spec]
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise InvalidArgumentError(
            f"--policy {spec!r} is neither 'repeat' nor 'module.path:factory' "
            "(for example 'my_agents.atari:make_policy')"
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
    return factory


def needs_observation(policy: BasePolicy) -> bool:
    """Return whether a base policy looks at frames (True unless it says otherwise)."""
    return bool(getattr(policy, "needs_observation", True))
