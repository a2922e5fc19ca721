"""Calling a base policy so that nothing it does can change the recorded episode.

The sampler builds an episode's base policy (built in or a plug-in,
:mod:`atari_interleaved.generate.policy`) and asks it for actions through one
:class:`PolicyCall`, which alone holds the episode's :class:`ViewGate`. Around every call it:

- saves ALE's real state before the call and restores it after, whatever the policy did,
  through its view or any other way (the built-in ``repeat``, which never touches the
  emulator, is called without it: saving and restoring cost about as much as a frame of
  ``repeat``);
- opens the episode's view for the call only: in the factory, or from a view kept from an
  earlier episode, every use of a view raises;
- checks the returned action and makes it a plain ``int`` within the same guard: an ``int``
  (its value, whatever its class overrides) or a NumPy integer, in the action set's range;
- turns anything the factory or the policy raises, ``SystemExit`` and other
  ``BaseException`` subclasses included, into one :class:`PolicyError` naming the policy, the
  game and the episode; Ctrl-C (``KeyboardInterrupt``) goes through to stop the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from atari_interleaved.core.errors import PolicyError
from atari_interleaved.generate.emulator_view import EmulatorView, ViewGate
from atari_interleaved.generate.policy import (
    PolicyContext,
    PolicyFactory,
    needs_observation,
    never_touches_the_emulator,
)

__all__ = ["PolicyCall", "action_index"]

_NUMPY_INTEGERS = frozenset(np.dtype(code).type for code in np.typecodes["AllInteger"])
_SHOWN_CHARACTERS = 200


def action_index(action: object, num_actions: int) -> int | None:
    """Return ``action`` as a plain ``int`` if it is an index of the action set, else None.

    Only the value an ``int`` (not a ``bool``) or a NumPy integer holds counts: no method of
    the returned object is called, so one whose ``int()`` or comparisons lie or raise is
    read as the number it holds.

    >>> action_index(3, 18), action_index(np.uint8(2), 18), action_index(18, 18)
    (3, 2, None)
    >>> action_index(True, 18), action_index(1.0, 18)
    (None, None)
    """
    kind = type(action)
    if issubclass(kind, int) and kind is not bool:
        value = int.__index__(action)  # type: ignore[arg-type]
    elif kind in _NUMPY_INTEGERS:
        value = int(action)  # type: ignore[call-overload]
    else:
        return None
    return value if 0 <= value < num_actions else None


def _shown(value: object) -> str:
    """Return ``repr(value)`` for a message, shortened; never raises (but on Ctrl-C)."""
    try:
        text = repr(value)
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: BLE001 - a plug-in's object: anything may come out
        return f"an object of type {type(value).__name__} whose repr() fails"
    if not isinstance(text, str):
        return f"an object of type {type(value).__name__}"
    return text if len(text) <= _SHOWN_CHARACTERS else text[:_SHOWN_CHARACTERS] + "..."


class PolicyCall:
    """One episode's base policy, built and called so that it cannot change the episode.

    Args:
        factory: the policy factory (``--policy``).
        context: makes the policy's context around the episode's view.
        ale: the ``ale_py.ALEInterface`` playing the episode.
        action_set: the ALE actions of the episode's action set, by index.
        frameskip: emulator frames each step of the view holds its action for.
        fail: returns the error naming the policy, the game and the episode, given what
            went wrong.

    Raises:
        PolicyError: if the factory, or the ``needs_observation`` of what it returns, raises.

    """

    def __init__(
        self,
        factory: PolicyFactory,
        context: Callable[[EmulatorView], PolicyContext],
        ale: Any,
        action_set: Sequence[Any],
        frameskip: int,
        fail: Callable[[str], PolicyError],
    ) -> None:
        self._ale, self._fail = ale, fail
        self._num_actions = len(action_set)
        self._gate = ViewGate()
        view = EmulatorView(ale, action_set, frameskip, self._gate)
        with self._failing("its factory raised {}"):
            self._policy = factory(context(view))
        with self._failing("its needs_observation raised {}"):
            self.needs_observation = needs_observation(self._policy)
        self._saves_state = not never_touches_the_emulator(self._policy)

    @contextmanager
    def _failing(self, problem: str) -> Iterator[None]:
        """Turn what the policy raises within the block into its error (``problem`` names it)."""
        try:
            yield
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - SystemExit of a plug-in included
            raise self._fail(problem.format(_shown(error))) from error

    def __call__(
        self,
        observation: np.ndarray | None,
        previous_action: int,
        frame: int,
        first_screen: np.ndarray | None = None,
    ) -> int:
        """Return the policy's action at ``frame``, the real emulator state put back after it.

        ``first_screen`` is the episode's first screen at frame 0 (no no-op start): what the
        view shows as the last emulated screen until the policy steps.

        Raises:
            PolicyError: if the policy raises, or returns anything but an action index.

        """
        ale, gate = self._ale, self._gate
        saved = ale.cloneState() if self._saves_state else None
        gate.is_open, gate.first_screen = True, first_screen
        try:
            action = self._policy(observation, previous_action)
            index = action_index(action, self._num_actions)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - SystemExit of a plug-in included
            raise self._fail(f"raised {_shown(error)} at frame {frame}") from error
        finally:
            gate.is_open, gate.first_screen = False, None
            if saved is not None:
                ale.restoreState(saved)
        if index is None:
            raise self._fail(
                f"returned {_shown(action)} at frame {frame}, not an action index "
                f"(an integer in 0..{self._num_actions - 1})"
            )
        return index
