"""Exporting sampled data as a LeRobot v3 dataset, with lerobot's own writer.

``export --format lerobot --output-dir DIR [--repo-id ns/name]`` writes one LeRobot dataset
(``codebase_version`` v3.0) of every episode of the input, one LeRobot episode per recorded
episode, through ``LeRobotDataset.create`` / ``add_frame`` / ``save_episode`` /
``finalize``, so that ``LeRobotDataset(repo_id, root=DIR)`` loads it (and its
``push_to_hub`` can publish it). A row per recorded frame:

* ``observation.image``: the frame, an ``image`` feature (210, 160, 3), stored as PNG by
  lerobot (lossless; not its ``video`` features, which are lossy AV1);
* ``action``: the recorded action index (``int64``) into the game's action set; the
  feature's ``action_names`` maps each game to its actions' names, by index;
* ``next.reward``: the reward that action earned; ``next.done``: true on the episode's last
  row (the recording ends there; the last frame's action was never executed, its reward 0);
* ``terminated`` / ``truncated``: as recorded, true on the frame that ended the game or was
  truncated by ALE's length limit (so on the last row, when the episode ended that way);
* ``lives``: ALE's lives at the frame (replayed on ALE for parquet inputs, which do not hold
  them); ``applied_actions``: the actions the emulator ran on each of the ``frameskip``
  emulator frames after the frame (sticky actions included; -1 on the last row, after which
  nothing ran).

The task of every frame names the game (``Play the Atari 2600 game Breakout``); ``fps`` is
60 / frameskip, the recorded frames' rate (a frameskip that does not divide 60 is refused:
LeRobot's fps is a whole number). The dataset card (``README.md``, lerobot's own template)
names this project, the policy, its settings and the recorded ``sample`` command. The folder
is written and replaced as :mod:`~atari_interleaved.publishing.format_output` says.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import shlex
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from atari_interleaved.core.errors import DependencyNotInstalledError, InvalidInputError
from atari_interleaved.core.games import display_name
from atari_interleaved.core.optional import import_optional, install_hint
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.core.versions import library_versions
from atari_interleaved.publishing.card import PLACEHOLDER_REPO_ID
from atari_interleaved.publishing.format_output import format_output
from atari_interleaved.publishing.publish import check_repo_id
from atari_interleaved.publishing.recorded_episodes import RecordedEpisode, RecordedSource
from atari_interleaved.storage.png_decode import decode_png

__all__ = ["LeRobotReport", "import_lerobot", "export_lerobot", "lerobot_fps"]

_FRAME_SHAPE = (210, 160, 3)
_EMULATOR_FPS = 60
"""The Atari 2600's frame rate: a recorded frame every ``frameskip`` of them."""


def import_lerobot() -> ModuleType:
    """Return lerobot's ``lerobot.datasets.lerobot_dataset`` module.

    Raises:
        DependencyNotInstalledError: if lerobot is not installed, or does not import (its
            torchvision missing or built for another torch), with the command that installs it.

    """
    import_optional("lerobot", "--format lerobot", "lerobot")
    try:
        return importlib.import_module("lerobot.datasets.lerobot_dataset")
    except ImportError as error:
        raise DependencyNotInstalledError(
            f"--format lerobot: lerobot is installed but does not import ({error}); install "
            f"it in a virtual environment of its own with: {install_hint('lerobot')}"
        ) from error


def lerobot_fps(settings: EpisodeSettings) -> int:
    """Return the frame rate of the recorded frames, 60 / frameskip.

    Raises:
        InvalidInputError: if frameskip does not divide 60 (LeRobot's fps is an integer).

    """
    frameskip = settings.ale.frameskip
    if _EMULATOR_FPS % frameskip:
        raise InvalidInputError(
            f"the input was sampled with frameskip {frameskip}, so its frames are "
            f"{_EMULATOR_FPS}/{frameskip} per second, which LeRobot (whole frames per second "
            "only) cannot record; --format lerobot takes frameskips that divide 60"
        )
    return _EMULATOR_FPS // frameskip


@dataclass
class LeRobotReport:
    """What a LeRobot export wrote."""

    output_dir: Path
    repo_id: str
    episodes: int = 0
    frames: int = 0
    fps: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """Return the human summary printed at the end of the export."""
        return "\n".join(
            [
                f"Exported {self.episodes} episodes ({self.frames} frames, {self.fps} fps) as the "
                f"LeRobot v3 dataset {self.repo_id} to {self.output_dir}/ in {self.seconds:.1f} s.",
                "Load it with:",
                '  python3 -c "from lerobot.datasets.lerobot_dataset import LeRobotDataset; '
                f"print(LeRobotDataset('{self.repo_id}', "
                f'root={shlex.quote(str(self.output_dir))!r}))"',
            ]
        )


def _features(action_names: dict[str, list[str]], frameskip: int) -> dict[str, dict[str, Any]]:
    """Return the LeRobot features of the dataset."""
    one = (1,)
    return {
        "observation.image": {
            "dtype": "image",
            "shape": _FRAME_SHAPE,
            "names": ["height", "width", "channels"],
        },
        "action": {
            "dtype": "int64",
            "shape": one,
            "names": ["action_index"],
            "action_names": action_names,
        },
        "next.reward": {"dtype": "float32", "shape": one, "names": None},
        "next.done": {"dtype": "bool", "shape": one, "names": None},
        "terminated": {"dtype": "bool", "shape": one, "names": None},
        "truncated": {"dtype": "bool", "shape": one, "names": None},
        "lives": {"dtype": "int64", "shape": one, "names": None},
        "applied_actions": {
            "dtype": "int64",
            "shape": (frameskip,),
            "names": [f"emulator_frame_{index}" for index in range(frameskip)],
        },
    }


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Hide the progress bars of lerobot's ``datasets`` calls, and a warning of its statistics.

    (lerobot takes the boolean features as 0 and 1 for their histograms, and says so.)
    """
    from lerobot.utils.utils import SuppressProgressBars

    with SuppressProgressBars(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Converting input from bool", RuntimeWarning)
        yield


def _task(game: str) -> str:
    return f"Play the Atari 2600 game {display_name(game)}"


def _add_episode(dataset: Any, episode: RecordedEpisode, frameskip: int) -> None:
    """Add the frames of ``episode`` to ``dataset`` and save it as one LeRobot episode.

    Raises:
        OSError: if lerobot could not write a frame's PNG (it prints why and goes on).

    """
    count = len(episode.frames)
    task = _task(episode.game)
    frame = np.empty(_FRAME_SHAPE, dtype=np.uint8)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for index in range(count):
            decode_png(episode.frames[index], rgb=True, out=frame)
            last = index == count - 1
            applied = [-1] * frameskip if last else episode.applied_actions[index]
            dataset.add_frame(
                {
                    "observation.image": frame,
                    "action": np.array([episode.actions[index]], dtype=np.int64),
                    "next.reward": np.array([episode.rewards[index]], dtype=np.float32),
                    "next.done": np.array([last]),
                    "terminated": np.array([episode.terminated[index]]),
                    "truncated": np.array([episode.truncated[index]]),
                    "lives": np.array([episode.lives[index]], dtype=np.int64),
                    "applied_actions": np.asarray(applied, dtype=np.int64),
                    "task": task,
                }
            )
    if printed.getvalue():
        raise OSError(printed.getvalue().splitlines()[0])
    dataset.save_episode()


def _card(dataset: Any, sampling: dict[str, Any], games: list[str]) -> Any:
    """Return the dataset card, lerobot's own, naming this project, the policy and settings."""
    from lerobot.datasets.utils import create_lerobot_dataset_card

    settings = sampling["settings"]
    version = library_versions(("atari-interleaved",)).get("atari-interleaved", "unknown")
    description = (
        f"Atari 2600 gameplay ({', '.join(display_name(game) for game in games)}) sampled "
        f"with ALE by atari-interleaved {version}, exported with `atari-interleaved export "
        "--format lerobot`. One LeRobot episode per recorded episode; frames are lossless "
        "`image` features.\n\n"
        f"- **Policy:** `{settings['policy']}` {sampling.get('planner') or ''}\n"
        f"- **Settings:** `{settings}`\n"
        f"- **Sample command:** `{sampling.get('sample_command') or 'not recorded'}`\n"
    )
    return create_lerobot_dataset_card(
        tags=["atari", "ale", "atari-interleaved", *games],
        dataset_info=dataset.meta.info,
        license="other",
        repo_id=dataset.repo_id,
        dataset_description=description,
        url="https://github.com/Farama-Foundation/Arcade-Learning-Environment",
    )


def export_lerobot(
    input_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    repo_id: str | None = None,
    overwrite: bool = False,
) -> LeRobotReport:
    """Write the episodes of ``input_dir`` as the LeRobot v3 dataset ``repo_id`` in ``output_dir``.

    Args:
        input_dir: a frame tree, a ``sample --to-parquet`` folder or an exported folder.
        output_dir: the dataset's root folder (see
            :func:`~atari_interleaved.publishing.format_output.format_output`).
        repo_id: the dataset's ``repo_id`` (``namespace/name``); a placeholder by default.
        overwrite: replace an earlier LeRobot export in ``output_dir``.

    Raises:
        DependencyNotInstalledError: without a working ``lerobot``.
        InvalidArgumentError: for a bad ``repo_id``, or an output that cannot be written or
            overlaps the input.
        OutputExistsError: if ``output_dir`` exists and may not be replaced.
        InvalidInputError: for an input this project did not write, one without settings, an
            unknown game, episodes without applied actions, or a frameskip LeRobot cannot
            record.
        OutputWriteError: if writing failed (a full disk).

    """
    repo_id = check_repo_id(repo_id or PLACEHOLDER_REPO_ID)
    lerobot = import_lerobot()
    started = time.perf_counter()
    source = RecordedSource(input_dir)
    settings = source.settings
    fps = lerobot_fps(settings)
    frameskip = settings.ale.frameskip
    report = LeRobotReport(Path(output_dir), repo_id, fps=fps)
    features = _features({game: source.action_names(game) for game in source.games}, frameskip)
    with format_output(source.path, Path(output_dir), "lerobot", overwrite=overwrite) as staging:
        staging.rmdir()  # LeRobotDataset.create makes its root itself
        dataset = lerobot.LeRobotDataset.create(
            repo_id, fps, features, root=staging, use_videos=False
        )
        with _quiet():
            for game in source.games:
                for episode in source.episodes(game):
                    _add_episode(dataset, episode, frameskip)
                    report.episodes += 1
                    report.frames += len(episode.frames)
            dataset.finalize()
        _card(dataset, source.sampling, source.games).save(staging / "README.md")
    report.seconds = time.perf_counter() - started
    return report
