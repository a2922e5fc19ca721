"""A base policy's view of the emulator: plan on copies of the state, never change the episode.

:class:`EmulatorView` is what a policy gets in its ``PolicyContext``
(:mod:`atari_interleaved.generate.policy`). It can save and restore ALE's state, step it
(each action held for ``frameskip`` emulator frames, without sticky actions: a simulation
is deterministic), and read the RAM, the lives, whether the game ended and the screen.

The view is open only while the sampler calls the policy
(:mod:`atari_interleaved.generate.policy_call`), which saves the real state before the call
and puts it back after it, whatever the policy did. Outside a call (in the policy's factory,
or from a handle a policy kept) every method raises :class:`EmulatorViewClosedError`, so no
policy can read a state that depends on what the process played before. The view has no
method that opens, closes or restores it: that is the sampler's :class:`ViewGate`, which no
policy is given. The view never hands out the ``ALEInterface`` itself.

ALE's screen buffer is not part of its state: after :meth:`EmulatorView.restore_state` the
screen is still the last one emulated. At the episode's first frame (no no-op start) that
is the episode's first screen, as if just emulated, whatever the process played before; a
policy that wants the screen of a simulated state reads it right after stepping.

:class:`Emulator` is the protocol the built-in planner is written against: the view, or any
object with the same methods (the planner's tests use a small deterministic one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

__all__ = ["Emulator", "EmulatorView", "EmulatorViewClosedError", "ViewGate"]


class EmulatorViewClosedError(RuntimeError):
    """The emulator view was used outside the policy's call."""


class ViewGate:
    """The sampler's side of one episode's view: whether it is open, and the screen it shows.

    Only the sampler holds it; the view reads it at every call.
    """

    def __init__(self) -> None:
        self.is_open = False
        self.first_screen: np.ndarray | None = None
        """The episode's first screen while nothing has been emulated since it (frame 0)."""


class Emulator(Protocol):
    """What a planner may do with the emulator (see :class:`EmulatorView`)."""

    frameskip: int
    num_actions: int

    def clone_state(self) -> Any:
        """Return a copy of the current state."""
        ...

    def restore_state(self, state: Any) -> None:
        """Make ``state`` the current state."""
        ...

    def step(self, action: int) -> float:
        """Hold action ``action`` for ``frameskip`` frames; return the summed reward."""
        ...

    def ram(self) -> np.ndarray:
        """Return the console's 128 RAM bytes."""
        ...

    def lives(self) -> int:
        """Return the lives left."""
        ...

    def terminated(self) -> bool:
        """Return whether the game ended (ALE's episode length limit not included)."""
        ...

    def truncated(self) -> bool:
        """Return whether the game reached ALE's episode length limit (not an end of play)."""
        ...

    def frame_number(self) -> int:
        """Return the emulator frames played since the episode's reset."""
        ...


class EmulatorView:
    """Save, restore and step copies of one ALE state while the policy is called.

    Args:
        ale: the ``ale_py.ALEInterface`` playing the episode (its own sticky actions off).
        action_set: the ALE actions of the episode's action set, by index.
        frameskip: emulator frames each :meth:`step` holds its action for.
        gate: the sampler's side of the view (open during a policy call only).

    """

    def __init__(self, ale: Any, action_set: Sequence[Any], frameskip: int, gate: ViewGate) -> None:
        self._ale = ale
        self._actions = list(action_set)
        self._gate = gate
        self.frameskip = frameskip
        self.num_actions = len(self._actions)

    def clone_state(self) -> Any:
        """Return a copy of the current state (an ``ale_py.ALEState``)."""
        return self._checked().cloneState()

    def restore_state(self, state: Any) -> None:
        """Make ``state`` (from :meth:`clone_state`) the current state."""
        self._checked().restoreState(state)

    def step(self, action: int) -> float:
        """Apply action ``action`` (an index) on ``frameskip`` frames; return the summed reward."""
        ale, chosen = self._checked(), self._actions[action]
        self._gate.first_screen = None  # the screen is now the one emulated here
        reward = 0
        for _ in range(self.frameskip):
            reward += ale.act(chosen)
        return float(reward)

    def ram(self) -> np.ndarray:
        """Return the 128 bytes of the console's RAM (a new ``uint8`` array)."""
        return self._checked().getRAM()

    def lives(self) -> int:
        """Return the lives left."""
        return int(self._checked().lives())

    def terminated(self) -> bool:
        """Return whether the game ended (ALE's episode length limit not included)."""
        return bool(self._checked().game_over(with_truncation=False))

    def truncated(self) -> bool:
        """Return whether the game reached ALE's episode length limit (not an end of play)."""
        ale = self._checked()
        return bool(ale.game_truncated() and not ale.game_over(with_truncation=False))

    def game_over(self) -> bool:
        """Return whether the game ended or reached ALE's episode length limit."""
        return bool(self._checked().game_over())

    def frame_number(self) -> int:
        """Return the emulator frames played since the episode's reset."""
        return int(self._checked().getEpisodeFrameNumber())

    def screen_rgb(self) -> np.ndarray:
        """Return the last emulated screen, ``uint8`` of shape (210, 160, 3) (a new array).

        At the episode's first frame, before any :meth:`step`, it is the episode's first
        screen.
        """
        ale, first = self._checked(), self._gate.first_screen
        return ale.getScreenRGB() if first is None else first.copy()

    def _checked(self) -> Any:
        if not self._gate.is_open:
            raise EmulatorViewClosedError(
                "the emulator view was used outside the policy's call (in its factory, or "
                "kept for later); use context.emulator only while the policy is deciding"
            )
        return self._ale
