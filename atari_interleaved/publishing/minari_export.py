"""Exporting sampled data as Minari datasets: one per game, frames lossless and compact.

``export --format minari`` writes, for each game, the Minari dataset
``atari_interleaved/<game>-v0`` under the output folder, which is then a Minari root::

    MINARI_DATASETS_PATH=<output-dir> python -c 'import minari;
    minari.load_dataset("atari_interleaved/alien-v0")'

An episode of N recorded frames is a Minari episode of N observations and N-1 steps: the
observations are the frames as RGB ``uint8`` (210, 160, 3) arrays (Minari's
``jpeg_encoding=False``: no JPEG), the actions the recorded action indices (the last
frame's action, never executed, has no step), the rewards those of each step, and
``terminations[t]`` / ``truncations[t]`` whether frame t+1 ended the game or was truncated,
as recorded. Step infos, one per observation as Minari keeps them: ``lives`` (ALE's count at
each frame) and ``applied_actions`` (the action indices the emulator ran on each of the
``frameskip`` emulator frames that led to the frame; ``-1`` for frame 0, which no step led
to). Each episode's metadata holds its seed, folder name, randomness, ``start_actions``
(no-op starts), end reason and return.

The datasets are written with Minari's own API (``create_dataset_from_buffers``, then
``update_dataset_from_buffer`` an episode at a time) in its ``arrow`` format, each episode's
Arrow IPC file then rewritten with the format's own zstd buffer compression, which pyarrow,
and so ``minari.load_dataset``, reads back without options: Atari frames, mostly flat
colour, take a few times the size of their PNG files instead of 175 times
(``bench/bench_export_formats.py`` measures it). ``recover_environment()`` gives
``ALE/<Game>-v5`` with the recorded ALE settings; the dataset metadata names the policy, the
settings, this project's version and the game's reference scores (``ref_min_score`` random,
``ref_max_score`` human). The output folder is written and replaced as
:mod:`~atari_interleaved.publishing.format_output` says.

The input is a frame tree, a ``sample --to-parquet`` folder or an exported folder, read by
:mod:`~atari_interleaved.publishing.recorded_episodes` (which replays lives the parquet
configs do not hold, and refuses episodes written before ``applied_actions`` were recorded).
"""

from __future__ import annotations

import os
import shlex
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from atari_interleaved.core.games import env_id
from atari_interleaved.core.optional import import_optional
from atari_interleaved.core.reference_scores import REFERENCE_CITATION, REFERENCE_SCORES
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.core.versions import library_versions
from atari_interleaved.publishing.format_output import format_output
from atari_interleaved.publishing.recorded_episodes import RecordedEpisode, RecordedSource
from atari_interleaved.storage.atomic import Staged
from atari_interleaved.storage.png_decode import decode_png

__all__ = [
    "MINARI_NAMESPACE",
    "MinariReport",
    "minari_dataset_id",
    "import_minari",
    "export_minari",
]

MINARI_NAMESPACE = "atari_interleaved"
"""The Minari namespace of the datasets: ids are ``atari_interleaved/<game>-v0``."""

_FRAME_SHAPE = (210, 160, 3)
_UNSET_WARNINGS = r"`(author|author_email|code_permalink)` is set to None"
"""Minari's warnings for metadata this project does not have (who ran the export)."""


def minari_dataset_id(game: str) -> str:
    """Return the Minari id of a game's dataset: ``atari_interleaved/alien-v0``."""
    return f"{MINARI_NAMESPACE}/{game}-v0"


def import_minari() -> ModuleType:
    """Return the ``minari`` module.

    Raises:
        DependencyNotInstalledError: if it is not installed, with the command that installs it.

    """
    return import_optional("minari", "--format minari", "minari")


@dataclass
class MinariReport:
    """What a Minari export wrote: episodes and frames of each dataset, by id."""

    output_dir: Path
    episodes: dict[str, int] = field(default_factory=dict)
    frames: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        """Return the human summary printed at the end of the export."""
        lines = [
            f"Exported {sum(self.episodes.values())} episodes ({sum(self.frames.values())} "
            f"frames) as {len(self.episodes)} Minari datasets to {self.output_dir}/ in "
            f"{self.seconds:.1f} s:"
        ]
        lines += [f"  {name} ({count} episodes)" for name, count in self.episodes.items()]
        first = next(iter(self.episodes), minari_dataset_id("<game>"))
        lines += [
            "Load one with:",
            f"  MINARI_DATASETS_PATH={shlex.quote(str(self.output_dir))} python3 -c "
            f"\"import minari; print(minari.load_dataset('{first}'))\"",
        ]
        return "\n".join(lines)


def _env_spec(game: str, settings: EpisodeSettings) -> Any:
    """Return the gymnasium spec of ``ALE/<Game>-v5`` with the recorded ALE settings."""
    import ale_py
    import gymnasium

    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no banner on gym.make
    gymnasium.register_envs(ale_py)
    spec = gymnasium.spec(env_id(game))
    ale = settings.ale
    kwargs = {
        **spec.kwargs,
        "frameskip": ale.frameskip,
        "repeat_action_probability": ale.repeat_action_probability,
        "full_action_space": ale.full_action_space,
        "max_num_frames_per_episode": ale.max_num_frames_per_episode,
    }
    return replace(spec, kwargs=kwargs)


def _buffer(episode_id: int, episode: RecordedEpisode, frameskip: int) -> Any:
    """Return the Minari ``EpisodeBuffer`` of a recorded episode (frames decoded to RGB)."""
    count = len(episode.frames)
    observations = np.empty((count, *_FRAME_SHAPE), dtype=np.uint8)
    for index, data in enumerate(episode.frames):
        decode_png(data, rgb=True, out=observations[index])
    applied = np.full((count, frameskip), -1, dtype=np.int64)
    for index, step in enumerate(episode.applied_actions[:-1]):
        applied[index + 1] = step
    from minari.data_collector import EpisodeBuffer

    return EpisodeBuffer(
        id=episode_id,
        seed=episode.seed,
        observations=observations,
        actions=np.asarray(episode.actions[:-1], dtype=np.int64),
        rewards=list(episode.rewards[:-1]),
        terminations=list(episode.terminated[1:]),
        truncations=list(episode.truncated[1:]),
        infos={"lives": list(episode.lives), "applied_actions": applied},
    )


def _dataset_metadata(
    game: str, sampling: dict[str, Any], settings: EpisodeSettings
) -> dict[str, Any]:
    """Return the metadata this project adds to a game's dataset (under ``atari_interleaved``)."""
    versions = library_versions(("atari-interleaved",))
    random, human = REFERENCE_SCORES.get(game, (None, None))
    return {
        "atari_interleaved": {
            "version": versions.get("atari-interleaved", "unknown"),
            "environment": f"atari_{game}",
            "policy": settings.policy,
            "planner": sampling.get("planner", ""),
            "settings": settings.to_dict(),
            "sample_command": sampling.get("sample_command"),
            "sampling_versions": sampling.get("sampling_versions", []),
            "reference_scores": {"random": random, "human": human, "source": REFERENCE_CITATION},
            "frames": "RGB uint8 (210, 160, 3) arrays in zstd-compressed Arrow IPC files "
            "(lossless, no JPEG)",
            "infos": "lives: ALE's lives at each frame; applied_actions: the actions run on "
            "each emulator frame of the step that led to the frame (-1 for frame 0)",
        }
    }


@contextmanager
def _minari_root(root: Path) -> Iterator[None]:
    """Point Minari at ``root`` (it finds datasets through ``MINARI_DATASETS_PATH`` only)."""
    before = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(root)
    try:
        yield
    finally:
        if before is None:
            del os.environ["MINARI_DATASETS_PATH"]
        else:
            os.environ["MINARI_DATASETS_PATH"] = before


def _compress_episode(folder: Path) -> None:
    """Rewrite the Arrow IPC files of an episode with zstd buffer compression (lossless)."""
    import pyarrow as pa

    options = pa.ipc.IpcWriteOptions(compression="zstd")
    for path in sorted(folder.glob("*.arrow")):
        with Staged(path) as staged, pa.ipc.open_file(path) as reader:
            with pa.ipc.new_file(staged.temporary, reader.schema, options=options) as writer:
                for index in range(reader.num_record_batches):
                    writer.write_batch(reader.get_batch(index))


def _write_dataset(
    minari: ModuleType,
    game: str,
    episodes: Iterator[RecordedEpisode],
    sampling: dict[str, Any],
    settings: EpisodeSettings,
) -> tuple[int, int]:
    """Write the dataset of ``game`` under the current Minari root; return episodes, frames."""
    frameskip = settings.ale.frameskip
    random, human = REFERENCE_SCORES.get(game, (None, None))
    spec = _env_spec(game, settings)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_UNSET_WARNINGS)
        dataset = minari.create_dataset_from_buffers(
            dataset_id=minari_dataset_id(game),
            buffer=[],  # then one episode at a time: one episode's frames in memory
            env=spec,
            eval_env=spec,
            algorithm_name=f"atari-interleaved {settings.policy}",
            ref_min_score=random,
            ref_max_score=human,
            description=(
                f"Atari {game} played by atari-interleaved's {settings.policy!r} policy "
                f"(randomness {', '.join(str(level) for level in settings.levels)}); frames "
                "lossless"
            ),
            data_format="arrow",
            requirements=[
                f"{package}=={version}"
                for package, version in library_versions(("ale-py", "gymnasium")).items()
            ],
            jpeg_encoding=False,
        )
    written: list[RecordedEpisode] = []
    for episode_id, episode in enumerate(episodes):
        dataset.update_dataset_from_buffer([_buffer(episode_id, episode, frameskip)])
        _compress_episode(dataset.storage.data_path / str(episode_id))
        written.append(replace(episode, frames=[], lives=[]))  # the metadata only
    dataset.storage.update_metadata(_dataset_metadata(game, sampling, settings))
    dataset.storage.update_episode_metadata(
        [
            {
                "episode": episode.name,
                "environment": f"atari_{game}",
                "randomness": episode.randomness,
                "start_actions": episode.start_actions,
                "end_reason": episode.end_reason,
                "episode_return": episode.episode_return,
            }
            for episode in written
        ],
        range(len(written)),
    )  # also records the dataset's size, compressed
    return len(written), sum(len(episode.actions) for episode in written)


def export_minari(
    input_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
) -> MinariReport:
    """Write one Minari dataset per game of ``input_dir`` into the folder ``output_dir``.

    Args:
        input_dir: a frame tree, a ``sample --to-parquet`` folder or an exported folder.
        output_dir: the Minari root to write (created; see
            :func:`~atari_interleaved.publishing.format_output.format_output`).
        overwrite: replace an earlier Minari export in ``output_dir``.

    Raises:
        DependencyNotInstalledError: without ``minari``.
        InvalidArgumentError: for an output that cannot be written or overlaps the input.
        OutputExistsError: if ``output_dir`` exists and may not be replaced.
        InvalidInputError: for an input this project did not write, one without settings, an
            unknown game or episodes without applied actions.
        OutputWriteError: if writing failed (a full disk).

    """
    minari = import_minari()
    started = time.perf_counter()
    output = Path(output_dir)
    source = RecordedSource(input_dir)
    sampling, settings = source.sampling, source.settings
    report = MinariReport(output)
    with format_output(source.path, output, "minari", overwrite=overwrite) as staging:
        with _minari_root(staging.resolve()):  # Minari mixes up relative paths
            from minari.namespace import create_namespace

            create_namespace(
                MINARI_NAMESPACE,
                description="Atari gameplay sampled by atari-interleaved, frames lossless",
            )
            for game in source.games:
                episodes, frames = _write_dataset(
                    minari, game, source.episodes(game), sampling, settings
                )
                report.episodes[minari_dataset_id(game)] = episodes
                report.frames[minari_dataset_id(game)] = frames
    report.seconds = time.perf_counter() - started
    return report
