"""Running one Atari episode on ALE with the semantics of the ``ALE/<Game>-v5`` environments.

:class:`GameEmulator` loads a game's ROM once and plays many episodes on it. Every episode
starts from the same state (the one ``reset_game`` gives after loading) and all its
randomness - exploration, sticky actions, the policy's own - comes from the episode seed,
so an episode does not depend on what the emulator played before. This replaces
``env.reset(seed=...)``, which reloads the ROM (about 90 ms, more than a 60-frame episode).

A step does what ``AtariEnv.step`` does in ale-py: the action is applied on ``frameskip``
emulator frames, each time kept as the previous action with probability
``repeat_action_probability`` (sticky actions), and the rewards are summed. With sticky
actions off, the frames are identical to gymnasium's ``ALE/<Game>-v5`` for the same actions.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence

import numpy as np

from atari_interleaved.core.episode import Episode, EpisodeMetadata
from atari_interleaved.core.errors import PolicyError
from atari_interleaved.core.games import env_id
from atari_interleaved.core.layout import episode_dir_name
from atari_interleaved.core.settings import EpisodeSettings, episode_fields
from atari_interleaved.core.versions import library_versions
from atari_interleaved.generate.branches import BranchRecorder
from atari_interleaved.generate.frame_encoder import PaletteFrameEncoder
from atari_interleaved.generate.policy import PolicyContext, load_policy_factory, planner_of
from atari_interleaved.generate.policy_call import PolicyCall
from atari_interleaved.generate.seeding import (
    ExplorationDraws,
    episode_seed,
    episode_streams,
    sticky_keeps,
)

__all__ = ["SAMPLING_PACKAGES", "GameEmulator", "rom_md5", "sampling_versions"]


SAMPLING_PACKAGES = ("atari-interleaved", "ale-py", "gymnasium", "numpy", "pillow")
"""The libraries that decide what an episode contains."""


@functools.cache
def sampling_versions() -> dict[str, str]:
    """Return the installed versions of :data:`SAMPLING_PACKAGES` (read once per process)."""
    return library_versions(SAMPLING_PACKAGES)


@functools.cache
def rom_md5(game: str) -> str:
    """MD5 checksum of the game's ROM file, as ALE identifies ROMs by it."""
    from ale_py import roms

    return hashlib.md5(roms.get_rom_path(game).read_bytes()).hexdigest()


class GameEmulator:
    """One game's ROM loaded in ALE, playing episodes under fixed settings."""

    def __init__(self, game: str, settings: EpisodeSettings) -> None:
        import ale_py
        from ale_py import roms

        self.game = game
        self.settings = settings
        ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
        ale = ale_py.ALEInterface()
        # Sticky actions are applied here, from the episode seed; ALE's own are off.
        ale.setFloat("repeat_action_probability", 0.0)
        ale.setInt("frame_skip", 1)
        ale.setInt("random_seed", 0)
        ale.setInt("max_num_frames_per_episode", settings.ale.max_num_frames_per_episode)
        ale.loadROM(roms.get_rom_path(game))
        if settings.ale.full_action_space:
            self.action_set = list(ale.getLegalActionSet())
        else:
            self.action_set = list(ale.getMinimalActionSet())
        self.action_meanings = [action.name for action in self.action_set]
        ale.reset_game()
        # The screen is not part of ALE's state: keep the first one beside the state.
        self._start_state = ale.cloneState()
        self._start_screen = ale.getScreen()
        self._start_screen_rgb = ale.getScreenRGB()
        self._ale = ale
        self._screen = np.empty_like(self._start_screen)
        self._encoder = PaletteFrameEncoder(settings.png_compress_level)
        self._policy_factory = load_policy_factory(settings.policy)

    def _start_rgb(self) -> np.ndarray:
        return self._start_screen_rgb.copy()

    def run_episode(
        self,
        episode_index: int,
        randomness: float | None = None,
        on_frame: Callable[[], None] | None = None,
    ) -> Episode:
        """Play episode ``episode_index`` and return its encoded frames and metadata.

        ``randomness`` is the episode's level, one of ``settings.levels`` (None: the only one).
        ``on_frame`` is called as each frame is recorded (progress of long episodes).

        Raises:
            PolicyError: if the base policy fails or returns something that is not an
                action index of the game (naming the policy, the game and the episode).

        """
        levels = self.settings.levels
        if randomness is None and len(levels) > 1:
            raise ValueError(f"the run has several randomness levels {levels}: name one")
        settings = self.settings.at_level(levels[0] if randomness is None else randomness)
        ale, screen, encoder = self._ale, self._screen, self._encoder
        frameskip = settings.ale.frameskip
        stickiness = settings.ale.repeat_action_probability
        level = settings.randomness if len(levels) > 1 else None
        seed = episode_seed(settings.seed, self.game, episode_index, level=level)
        streams = episode_streams(seed)
        limit = settings.frame_cap
        num_actions = len(self.action_set)
        draws = ExplorationDraws(streams.exploration, limit, num_actions)
        name = episode_dir_name(episode_index, settings.randomness)
        policy = PolicyCall(
            self._policy_factory,
            lambda view: PolicyContext(
                self.game, list(self.action_meanings), streams.policy, view, settings.search_budget
            ),
            ale,
            self.action_set,
            frameskip,
            functools.partial(self._policy_error, name),
        )
        wants_observation = policy.needs_observation

        ale.restoreState(self._start_state)
        start_actions = self._noop_start(streams.start)
        branches = BranchRecorder(ale, self.action_set, settings, encoder)
        frames: list[bytes] = []
        actions: list[int] = []
        applied_actions: list[list[int]] = []
        rewards: list[float] = []
        terminated: list[bool] = []
        truncated: list[bool] = []
        lives: list[int] = []
        previous = 0  # NOOP: ALE's previous action at reset, first in every action set
        applied = 0
        end_reason = "frame_cap"
        for frame in range(limit):
            if frame == 0 and not start_actions:
                frames.append(encoder.encode(self._start_screen, self._start_rgb))
            else:
                ale.getScreen(screen)
                frames.append(encoder.encode(screen, ale.getScreenRGB))
            if on_frame is not None:
                on_frame()
            lives.append(ale.lives())
            is_terminal = ale.game_over(with_truncation=False)
            is_truncated = not is_terminal and ale.game_truncated()
            terminated.append(is_terminal)
            truncated.append(is_truncated)
            uniform, random_action = draws.next()
            last = is_terminal or is_truncated or frame == limit - 1
            if uniform < settings.randomness:
                action = random_action
            elif last:
                action = previous  # never played: the policy is not asked
            else:
                observation, first_screen = None, None
                if frame == 0 and not start_actions:  # ALE's screen is not the episode's
                    first_screen = self._start_screen_rgb
                if wants_observation:
                    observation = ale.getScreenRGB() if first_screen is None else self._start_rgb()
                action = policy(observation, previous, frame, first_screen)
            actions.append(action)
            if last:
                rewards.append(0.0)
                applied_actions.append([])
                if is_terminal or is_truncated:
                    end_reason = "game_over" if is_terminal else "truncated"
                break
            if branches.is_point(frame):
                branches.record(frame, applied, streams.sticky, limit - 1 - frame)
            reward = 0
            step: list[int] = []
            for keep in sticky_keeps(streams.sticky, frameskip, stickiness):
                if not keep:
                    applied = action
                reward += ale.act(self.action_set[applied])
                step.append(applied)
            applied_actions.append(step)
            rewards.append(float(reward))
            previous = action

        metadata = EpisodeMetadata(
            env_id=env_id(self.game),
            game=self.game,
            episode=name,
            episode_index=episode_index,
            seed=seed,
            **episode_fields(settings),
            planner=planner_of(settings.policy),
            action_set=list(self.action_meanings),
            num_frames=len(frames),
            actions=actions,
            applied_actions=applied_actions,
            start_actions=start_actions,
            rewards=rewards,
            terminated=terminated,
            truncated=truncated,
            lives=lives,
            episode_return=float(sum(rewards)),
            end_reason=end_reason,  # type: ignore[arg-type]
            png={"color_type": "palette", "compress_level": settings.png_compress_level},
            rom_md5=rom_md5(self.game),
            versions=sampling_versions(),
        )
        return Episode(
            game=self.game,
            episode_index=episode_index,
            randomness=settings.randomness,
            frames=frames,
            actions=actions,
            action_meanings=list(self.action_meanings),
            metadata=metadata,
            branches=branches.within(len(frames) - 1),
        )

    def replay_lives(
        self, start_actions: Sequence[int], applied_actions: Sequence[Sequence[int]]
    ) -> list[int]:
        """Return the lives at each frame of a recorded episode, replayed from its actions.

        ``start_actions`` and ``applied_actions`` are the episode's (indices into the action
        set, one per emulator frame); replayed from the start state with sticky actions off
        they give every recorded frame again, and so the lives ALE counted at each.
        """
        ale, actions = self._ale, self.action_set
        ale.restoreState(self._start_state)
        for action in start_actions:
            ale.act(actions[action])
        lives = [ale.lives()]
        for step in applied_actions[:-1]:
            for action in step:
                ale.act(actions[action])
            lives.append(ale.lives())
        return lives

    def _noop_start(self, start: np.random.Generator) -> list[int]:
        """Play the episode's no-op steps (``--noop-max``); return the actions run, per frame."""
        noop_max = self.settings.noop_max
        if noop_max == 0:
            return []
        frames = int(start.integers(noop_max + 1)) * self.settings.ale.frameskip
        ale, noop = self._ale, self.action_set[0]
        played = 0
        while played < frames and not ale.game_over():
            ale.act(noop)
            played += 1
        return [0] * played

    def _policy_error(self, episode: str, problem: str) -> PolicyError:
        return PolicyError(
            f"policy {self.settings.policy!r} {problem} in {self.game} (episode {episode}); "
            "the episodes completed before it are kept: fix the policy, then rerun the same "
            "command to resume"
        )
