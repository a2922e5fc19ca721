"""A base policy's view of the emulator: plan on copies of the state, never change the episode.

:class:`EmulatorView` is what a policy gets in its ``PolicyContext``
(:mod:`atari_interleaved.generate.policy`). It can save and restore ALE's state, step it
(each action held for ``frameskip`` emulator frames, without sticky actions: a simulation
is deterministic), and read the RAM, the lives, game over and the screen. The sampler
saves the real state the first time a policy steps or restores, and puts it back after the
policy returns, so whatever a policy did, the recorded episode goes on from where it was.

ALE's screen buffer is not part of its state: after :meth:`EmulatorView.restore_state` the
screen is still the last one emulated. The sampler reads the recorded frame before it calls
the policy; a policy that wants the screen of a simulated state reads it right after stepping.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["EmulatorView"]


class EmulatorView:
    """Save, restore and step copies of one ALE state, then give the real state back.

    Args:
        ale: the ``ale_py.ALEInterface`` playing the episode (its own sticky actions off).
        action_set: the ALE actions of the episode's action set, by index.
        frameskip: emulator frames each :meth:`step` holds its action for.

    """

    def __init__(self, ale: Any, action_set: Sequence[Any], frameskip: int) -> None:
        self._ale = ale
        self._actions = list(action_set)
        self.frameskip = frameskip
        self._real_state: Any = None

    @property
    def num_actions(self) -> int:
        """The size of the action set."""
        return len(self._actions)

    def clone_state(self) -> Any:
        """Return a copy of the current state (an ``ale_py.ALEState``)."""
        return self._ale.cloneState()

    def restore_state(self, state: Any) -> None:
        """Make ``state`` (from :meth:`clone_state`) the current state."""
        self._keep_real_state()
        self._ale.restoreState(state)

    def step(self, action: int) -> float:
        """Apply action ``action`` (an index) on ``frameskip`` frames; return the summed reward."""
        self._keep_real_state()
        ale, chosen = self._ale, self._actions[action]
        reward = 0
        for _ in range(self.frameskip):
            reward += ale.act(chosen)
        return float(reward)

    def ram(self) -> np.ndarray:
        """Return the 128 bytes of the console's RAM (a new ``uint8`` array)."""
        return self._ale.getRAM()

    def lives(self) -> int:
        """Return the lives left."""
        return int(self._ale.lives())

    def game_over(self) -> bool:
        """Return whether the game is over (ALE's episode length limit included)."""
        return bool(self._ale.game_over())

    def frame_number(self) -> int:
        """Return the emulator frames played since the episode's reset."""
        return int(self._ale.getEpisodeFrameNumber())

    def screen_rgb(self) -> np.ndarray:
        """Return the last emulated screen, ``uint8`` of shape (210, 160, 3)."""
        return self._ale.getScreenRGB()

    def _keep_real_state(self) -> None:
        if self._real_state is None:
            self._real_state = self._ale.cloneState()

    def give_back(self) -> bool:
        """Put the real state back if a policy changed it; return whether it had to.

        The sampler calls this after every call of the policy.
        """
        if self._real_state is None:
            return False
        self._ale.restoreState(self._real_state)
        self._real_state = None
        return True

    def raw_interface(self) -> Any:
        """Return the ``ALEInterface`` for a planner's inner loop, marking the state as in use.

        A planner that calls ALE directly (to save Python overhead) must take it from here
        on each decision, so that the real state is put back after it returns.
        """
        self._keep_real_state()
        return self._ale

    @property
    def ale_actions(self) -> list[Any]:
        """The ALE actions of the action set, by index (for :meth:`raw_interface` users)."""
        return list(self._actions)
