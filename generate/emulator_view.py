"""A base policy's view of the emulator: plan on copies of the state, never change the episode.

:class:`EmulatorView` is what a policy gets in its ``PolicyContext``
(:mod:`atari_interleaved.generate.policy`). It can save and restore ALE's state, step it
(each action held for ``frameskip`` emulator frames, without sticky actions: a simulation
is deterministic), and read the RAM, the lives, whether the game ended and the screen.

The view is open only while the sampler calls the policy: the sampler saves the real state
before the call and puts it back after it returns, whatever the policy did. Outside a call
(in the policy's factory, or from a handle a policy kept) every method raises
:class:`EmulatorViewClosedError`, so nothing a policy does can reach the recorded episode,
and no policy can read a state that depends on what the process played before. The view
never hands out the ``ALEInterface`` itself.

ALE's screen buffer is not part of its state: after :meth:`EmulatorView.restore_state` the
screen is still the last one emulated. The sampler reads the recorded frame before it calls
the policy; a policy that wants the screen of a simulated state reads it right after stepping.

:class:`Emulator` is the protocol the built-in planner is written against: the view, or any
object with the same methods (the planner's tests use a small deterministic one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

__all__ = ["Emulator", "EmulatorView", "EmulatorViewClosedError"]


class EmulatorViewClosedError(RuntimeError):
    """The emulator view was used outside the policy's call."""


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

    """

    def __init__(self, ale: Any, action_set: Sequence[Any], frameskip: int) -> None:
        self._ale = ale
        self._actions = list(action_set)
        self.frameskip = frameskip
        self.num_actions = len(self._actions)
        self._real_state: Any = None
        self._open = False

    def clone_state(self) -> Any:
        """Return a copy of the current state (an ``ale_py.ALEState``)."""
        return self._checked().cloneState()

    def restore_state(self, state: Any) -> None:
        """Make ``state`` (from :meth:`clone_state`) the current state."""
        self._changing().restoreState(state)

    def step(self, action: int) -> float:
        """Apply action ``action`` (an index) on ``frameskip`` frames; return the summed reward."""
        ale, chosen = self._changing(), self._actions[action]
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
        """Return the last emulated screen, ``uint8`` of shape (210, 160, 3)."""
        return self._checked().getScreenRGB()

    def _checked(self) -> Any:
        if not self._open:
            raise EmulatorViewClosedError(
                "the emulator view was used outside the policy's call (in its factory, or "
                "kept for later); use context.emulator only while the policy is deciding"
            )
        return self._ale

    def _changing(self) -> Any:
        """Return ALE for a call that changes its state, the real state saved first."""
        ale = self._checked()
        if self._real_state is None:
            self._real_state = ale.cloneState()
        return ale

    def open(self) -> None:
        """Let the policy use the view (the sampler, before each call)."""
        self._open = True

    def give_back(self) -> None:
        """Put the real state back and close the view (the sampler, after every call)."""
        self._open = False
        if self._real_state is not None:
            self._ale.restoreState(self._real_state)
            self._real_state = None
