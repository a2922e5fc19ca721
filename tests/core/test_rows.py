from __future__ import annotations

from dataclasses import replace

import pytest

from atari_interleaved.core.episode import Episode
from atari_interleaved.core.rows import (
    environment_text,
    episode_rows,
    interleaved_inputs,
    interleaved_row,
    row_key,
    simple_rows,
)
from atari_interleaved.dataset.reader import read_episode, scan_tree
from tests.fixtures.frame_trees import FRAMES

ALIEN_ACTIONS = ["NOOP", "FIRE", "UP", "RIGHT", "LEFT", "DOWN", "UPRIGHT", "UPLEFT", "DOWNRIGHT"]


def hand_made(num_frames: int = 3, **changes) -> Episode:
    episode = Episode(
        game="alien",
        episode_index=0,
        randomness=0.2,
        frames=[f"png{i}".encode() for i in range(num_frames)],
        actions=[8, 0, 4, 1, 2][:num_frames],
        action_meanings=ALIEN_ACTIONS,
    )
    return replace(episode, **changes)


def test_interleaved_inputs_follow_pipeline_md():
    assert interleaved_inputs(hand_made()) == [
        {"type": "text", "has_loss": 0, "text": "Atari Alien Environment (randomness=0.2)",
         "image_index": -1},
        {"type": "text", "has_loss": 1,
         "text": "Episode episode_000_rand0.2. Starting game with 3 frames.", "image_index": -1},
        {"type": "image_gen", "has_loss": 1, "text": None, "image_index": 0},
        {"type": "text", "has_loss": 0, "text": "downright", "image_index": -1},
        {"type": "image_gen", "has_loss": 1, "text": None, "image_index": 1},
        {"type": "text", "has_loss": 0, "text": "noop", "image_index": -1},
        {"type": "image_gen", "has_loss": 1, "text": None, "image_index": 2},
    ]  # fmt: skip


def test_one_frame_episode_has_no_action_text():
    inputs = interleaved_inputs(hand_made(1))
    assert [entry["type"] for entry in inputs] == ["text", "text", "image_gen"]
    assert inputs[1]["text"] == "Episode episode_000_rand0.2. Starting game with 1 frames."


@pytest.mark.parametrize(
    ("game", "randomness", "text"),
    [
        ("alien", 0.2, "Atari Alien Environment (randomness=0.2)"),
        ("montezuma_revenge", 1, "Atari Montezuma Revenge Environment (randomness=1.0)"),
        ("pong", 0.25, "Atari Pong Environment (randomness=0.25)"),
    ],
)
def test_environment_text(game, randomness, text):
    assert environment_text(game, randomness) == text


def test_interleaved_row_columns_without_metadata():
    episode = hand_made()
    row = interleaved_row(episode)
    assert list(row)[:7] == [
        "inputs", "images", "images_front", "environment", "episode", "num_frames", "randomness",
    ]  # fmt: skip
    assert row["images"] == episode.frames
    assert row["images_front"] == episode.frames[0]
    assert (row["environment"], row["episode"]) == ("atari_alien", "episode_000_rand0.2")
    assert (row["num_frames"], row["randomness"]) == (3, 0.2)
    assert row["actions"] == [8, 0, 4]
    for column in ["env_id", "seed", "rewards", "episode_return", "terminated", "truncated",
                   "applied_actions", "start_actions"]:  # fmt: skip
        assert row[column] is None, column


def test_simple_rows_without_metadata():
    rows = list(simple_rows(hand_made()))
    assert [row["action"] for row in rows] == ["DOWNRIGHT", "NOOP", "LEFT"]
    assert [row["action_raw"] for row in rows] == ["8: DOWNRIGHT", "0: NOOP", "4: LEFT"]
    assert [row["frame_number"] for row in rows] == [0, 1, 2]
    assert [row["image"] for row in rows] == [b"png0", b"png1", b"png2"]
    assert [(row["is_first"], row["is_last"]) for row in rows] == [
        (True, False), (False, False), (False, True),
    ]  # fmt: skip
    assert list(rows[0])[:6] == [
        "environment", "episode", "frame_number", "action", "action_raw", "image",
    ]  # fmt: skip
    assert all(row["reward"] is None and row["seed"] is None for row in rows)


def test_rows_of_a_sampled_episode_carry_its_metadata(frame_tree):
    episode = read_episode(scan_tree(frame_tree).episodes[0])
    metadata = episode.metadata
    row = interleaved_row(episode)
    assert row["env_id"] == "ALE/Alien-v5"
    assert row["seed"] == metadata.seed
    assert row["rewards"] == metadata.rewards
    assert row["episode_return"] == metadata.episode_return == sum(metadata.rewards)
    assert (row["terminated"], row["truncated"]) == (
        metadata.terminated[-1],
        metadata.truncated[-1],
    )
    assert row["end_reason"] == metadata.end_reason
    actions = [entry["text"] for entry in row["inputs"] if entry["type"] == "text"][2:]
    assert actions == [metadata.action_set[a].lower() for a in metadata.actions[:-1]]
    frames = list(simple_rows(episode))
    assert len(frames) == FRAMES
    assert [frame["reward"] for frame in frames] == metadata.rewards
    assert {frame["seed"] for frame in frames} == {metadata.seed}
    assert [frame["action_index"] for frame in frames] == metadata.actions
    # Each frame's applied actions are the frameskip (4) actions run after it; none before 0.
    assert row["applied_actions"] == metadata.applied_actions
    assert [len(step) for step in row["applied_actions"]] == [4] * (FRAMES - 1) + [0]
    assert [frame["applied_actions"] for frame in frames] == metadata.applied_actions
    assert row["start_actions"] == [] and {tuple(f["start_actions"]) for f in frames} == {()}
    older = replace(episode, metadata=replace(metadata, applied_actions=[], start_actions=[]))
    assert interleaved_row(older)["applied_actions"] is None
    assert interleaved_row(older)["start_actions"] is None
    assert {frame["applied_actions"] for frame in simple_rows(older)} == {None}


def test_keys_are_unique(frame_tree):
    episodes = [read_episode(source) for source in scan_tree(frame_tree).episodes]
    for config in ["interleaved", "simple"]:
        keys = [row_key(row) for episode in episodes for row in episode_rows(episode, config)]
        assert len(keys) == len(set(keys))
    assert row_key(next(simple_rows(episodes[0]))) == "atari_alien/episode_000_rand0.2/000000"
    assert row_key(interleaved_row(episodes[0])) == "atari_alien/episode_000_rand0.2"
