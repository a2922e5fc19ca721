"""An :class:`~atari_interleaved.core.episode.Episode` as rows of the two configs (PIPELINE.md).

The ``interleaved`` row of an episode of 11 Alien frames starts::

    {"type": "text", "has_loss": 0, "text": "Atari Alien Environment (randomness=0.2)"}
    {"type": "text", "has_loss": 1,
     "text": "Episode episode_000_rand0.2. Starting game with 11 frames."}
    {"type": "image_gen", "has_loss": 1, "image_index": 0}
    {"type": "text", "has_loss": 0, "text": "downright"}
    {"type": "image_gen", "has_loss": 1, "image_index": 1}

Between frame ``i`` and frame ``i + 1`` comes the cleaned, lower-case action taken at frame
``i`` (which produced frame ``i + 1``); the last frame's action produced no frame and is not
in ``inputs`` (it is in ``actions`` and in the ``simple`` rows). Every entry has the four
keys: text entries have ``image_index == -1`` and image entries ``text`` None. The columns
are described in :mod:`atari_interleaved.core.features`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from atari_interleaved.core.episode import Episode
from atari_interleaved.core.features import TEXT_IMAGE_INDEX, ConfigName, check_config_name
from atari_interleaved.core.games import display_name
from atari_interleaved.core.layout import format_randomness, game_dir_name

__all__ = [
    "environment_name",
    "environment_text",
    "episode_text",
    "interleaved_inputs",
    "interleaved_row",
    "simple_rows",
    "branch_rows",
    "episode_rows",
    "row_key",
]

Row = dict[str, Any]


def _applied_actions(episode: Episode) -> list[list[int]] | None:
    """Return the episode's ``applied_actions``, None when its metadata lacks them."""
    metadata = episode.metadata
    if metadata is None or len(metadata.applied_actions) != episode.num_frames:
        return None
    return metadata.applied_actions


def _start_actions(episode: Episode) -> list[int] | None:
    """Return the episode's ``start_actions``, None when its metadata lacks them."""
    metadata = episode.metadata
    if metadata is None or _applied_actions(episode) is None:
        return None
    return metadata.start_actions


def environment_name(game: str) -> str:
    """Return the ``environment`` value of a game: its folder name, ``"atari_alien"``."""
    return game_dir_name(game)


def environment_text(game: str, randomness: float) -> str:
    """Return ``"Atari Alien Environment (randomness=0.2)"``."""
    return f"Atari {display_name(game)} Environment (randomness={format_randomness(randomness)})"


def episode_text(episode: Episode) -> str:
    """Return ``"Episode episode_000_rand0.2. Starting game with 11 frames."``."""
    return f"Episode {episode.name}. Starting game with {episode.num_frames} frames."


def _text(text: str, has_loss: int) -> Row:
    return {"type": "text", "has_loss": has_loss, "text": text, "image_index": TEXT_IMAGE_INDEX}


def interleaved_inputs(episode: Episode) -> list[Row]:
    """Return the ``inputs`` sequence of an episode (see the module doc)."""
    inputs = [
        _text(environment_text(episode.game, episode.randomness), 0),
        _text(episode_text(episode), 1),
    ]
    meanings = episode.action_meanings
    for frame in range(episode.num_frames):
        if frame:
            inputs.append(_text(meanings[episode.actions[frame - 1]].lower(), 0))
        inputs.append({"type": "image_gen", "has_loss": 1, "text": None, "image_index": frame})
    return inputs


def interleaved_row(episode: Episode) -> Row:
    """Return the ``interleaved`` row of an episode."""
    metadata = episode.metadata
    return {
        "inputs": interleaved_inputs(episode),
        "images": episode.frames,
        "images_front": episode.frames[0],
        "environment": environment_name(episode.game),
        "episode": episode.name,
        "num_frames": episode.num_frames,
        "randomness": episode.randomness,
        "env_id": metadata and metadata.env_id,
        "seed": metadata and metadata.seed,
        "actions": episode.actions,
        "rewards": metadata and metadata.rewards,
        "episode_return": metadata and metadata.episode_return,
        "terminated": metadata and metadata.terminated[-1],
        "truncated": metadata and metadata.truncated[-1],
        "end_reason": metadata and metadata.end_reason,
        "applied_actions": _applied_actions(episode),
        "start_actions": _start_actions(episode),
    }


def simple_rows(episode: Episode) -> Iterator[Row]:
    """Yield the ``simple`` rows of an episode, one per frame."""
    metadata = episode.metadata
    environment = environment_name(episode.game)
    last = episode.num_frames - 1
    applied, start = _applied_actions(episode), _start_actions(episode)
    for frame, image in enumerate(episode.frames):
        index = episode.actions[frame]
        meaning = episode.action_meanings[index]
        yield {
            "environment": environment,
            "episode": episode.name,
            "frame_number": frame,
            "action": meaning,
            "action_raw": f"{index}: {meaning}",
            "image": image,
            "action_index": index,
            "is_first": frame == 0,
            "is_last": frame == last,
            "reward": metadata and metadata.rewards[frame],
            "terminated": metadata and metadata.terminated[frame],
            "truncated": metadata and metadata.truncated[frame],
            "env_id": metadata and metadata.env_id,
            "seed": metadata and metadata.seed,
            "applied_actions": None if applied is None else applied[frame],
            "start_actions": start,
        }


def branch_rows(episode: Episode) -> Iterator[Row]:
    """Yield the ``branches`` rows of an episode, one per branch step (none without branches)."""
    metadata = episode.metadata
    environment = environment_name(episode.game)
    for branch in episode.branches:
        meaning = episode.action_meanings[branch.action]
        taken = episode.actions[branch.frame_number] == branch.action
        for step, image in enumerate(branch.frames):
            yield {
                "environment": environment,
                "episode": episode.name,
                "frame_number": branch.frame_number,
                "action": meaning,
                "action_raw": f"{branch.action}: {meaning}",
                "step": step + 1,
                "image": image,
                "action_index": branch.action,
                "taken": taken,
                "reward": branch.rewards[step],
                "lives": branch.lives[step],
                "terminated": branch.terminated[step],
                "truncated": branch.truncated[step],
                "applied_actions": branch.applied_actions[step],
                "env_id": metadata and metadata.env_id,
                "seed": metadata and metadata.seed,
            }


def episode_rows(episode: Episode, config_name: ConfigName) -> list[Row]:
    """Return the rows of an episode in a config: one, one per frame or one per branch step."""
    config_name = check_config_name(config_name)
    if config_name == "interleaved":
        return [interleaved_row(episode)]
    if config_name == "branches":
        return list(branch_rows(episode))
    return list(simple_rows(episode))


def row_key(row: Row) -> str:
    """Return a row's unique key: ``"atari_alien/episode_000_rand0.2"`` (+ ``"/000004"``)."""
    key = f"{row['environment']}/{row['episode']}"
    return key if "frame_number" not in row else f"{key}/{row['frame_number']:06d}"
