"""Recording counterfactual branches while an episode is sampled (``--branch-every``).

:class:`BranchRecorder` is called by the episode loop at each branch point, after the
action at that frame is chosen and before it is played: it saves the emulator's state, plays
every action of the action set from it (:mod:`atari_interleaved.core.branches` says what a
branch holds), and restores the state, so the episode goes on exactly as without branches.
Sticky actions are drawn from a copy of the episode's sticky stream, which the episode's own
draws never see.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from atari_interleaved.core.branches import Branch
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate.frame_encoder import PaletteFrameEncoder
from atari_interleaved.generate.seeding import sticky_keeps

__all__ = ["BranchRecorder"]


def _copy(generator: np.random.Generator) -> np.random.Generator:
    """Return a generator that draws what ``generator`` would, leaving it as it is."""
    copy = np.random.Generator(type(generator.bit_generator)())
    copy.bit_generator.state = generator.bit_generator.state
    return copy


class BranchRecorder:
    """The branches of one episode, recorded at its branch points.

    Args:
        ale: the episode's ``ALEInterface`` (its own sticky actions off).
        action_set: the ALE actions of the game's action set, by index.
        settings: the episode's settings (``branch_every``, ``branch_steps``, ALE's).
        encoder: the episode's PNG encoder.

    """

    def __init__(
        self,
        ale: Any,
        action_set: list[Any],
        settings: EpisodeSettings,
        encoder: PaletteFrameEncoder,
    ) -> None:
        self._ale, self._actions, self._encoder = ale, action_set, encoder
        self._every, self._steps = settings.branch_every, settings.branch_steps
        self._frameskip = settings.ale.frameskip
        self._stickiness = settings.ale.repeat_action_probability
        self._screen: np.ndarray | None = None
        self.branches: list[Branch] = []

    def is_point(self, frame: int) -> bool:
        """Whether ``frame`` is a branch point (the loop never asks for an episode's last)."""
        return self._every > 0 and frame % self._every == 0

    def record(self, frame: int, applied: int, sticky: np.random.Generator, left: int) -> None:
        """Record the branches of every action from the current state, then restore it.

        Args:
            frame: the recorded frame the state is at.
            applied: the action ALE ran last (what sticky actions keep).
            sticky: the episode's sticky stream, as the episode's next step will draw it.
            left: recorded frames the episode may still add (up to ``--frames-per-env``).

        """
        ale = self._ale
        state = ale.cloneState()
        if self._screen is None:
            self._screen = ale.getScreen()
        for action in range(len(self._actions)):
            ale.restoreState(state)
            self.branches.append(self._branch(frame, action, applied, _copy(sticky), left))
        ale.restoreState(state)

    def _branch(
        self, frame: int, action: int, applied: int, sticky: np.random.Generator, left: int
    ) -> Branch:
        ale, screen = self._ale, self._screen
        branch = Branch(frame, action, [], [], [], [], [], [])
        for _ in range(min(self._steps, left)):
            reward, step = 0, []
            for keep in sticky_keeps(sticky, self._frameskip, self._stickiness):
                if not keep:
                    applied = action
                reward += ale.act(self._actions[applied])
                step.append(applied)
            ale.getScreen(screen)
            branch.frames.append(self._encoder.encode(screen, ale.getScreenRGB))
            branch.rewards.append(float(reward))
            branch.lives.append(ale.lives())
            terminated = ale.game_over(with_truncation=False)
            truncated = not terminated and ale.game_truncated()
            branch.terminated.append(terminated)
            branch.truncated.append(truncated)
            branch.applied_actions.append(step)
            if terminated or truncated:
                break
        return branch

    def within(self, last_frame: int) -> list[Branch]:
        """Return the branches cut at the episode's last recorded frame ``last_frame``."""
        return [
            branch.cut(last_frame - branch.frame_number)
            for branch in self.branches
            if branch.frame_number < last_frame
        ]
