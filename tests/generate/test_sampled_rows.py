"""Rows sampled straight to parquet, on the local backend and on Ray, against hand-written values.

With ``--policy repeat --randomness 0.0`` every action is NOOP, so all but the frames and the
episode seed of a 3-frame Pong episode is known in advance.
"""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate.sampler import sample
from tests.fixtures.prerequisites import required_module

NOOP_TEXT = {"type": "text", "has_loss": 0, "text": "noop", "image_index": -1}
EXPECTED_INTERLEAVED = {
    "inputs": [
        {"type": "text", "has_loss": 0, "text": "Atari Pong Environment (randomness=0.0)",
         "image_index": -1},
        {"type": "text", "has_loss": 1,
         "text": "Episode episode_000_rand0.0. Starting game with 3 frames.", "image_index": -1},
        {"type": "image_gen", "has_loss": 1, "text": None, "image_index": 0},
        NOOP_TEXT,
        {"type": "image_gen", "has_loss": 1, "text": None, "image_index": 1},
        NOOP_TEXT,
        {"type": "image_gen", "has_loss": 1, "text": None, "image_index": 2},
    ],
    "environment": "atari_pong", "episode": "episode_000_rand0.0", "num_frames": 3,
    "randomness": 0.0, "env_id": "ALE/Pong-v5", "actions": [0, 0, 0],
    "rewards": [0.0, 0.0, 0.0], "episode_return": 0.0, "terminated": False, "truncated": False,
    "end_reason": "frame_cap", "applied_actions": [[0, 0, 0, 0], [0, 0, 0, 0], []],
    "start_actions": [],
}  # fmt: skip
EXPECTED_SIMPLE = [
    {"environment": "atari_pong", "episode": "episode_000_rand0.0", "frame_number": frame,
     "action": "NOOP", "action_raw": "0: NOOP", "action_index": 0, "is_first": frame == 0,
     "is_last": frame == 2, "reward": 0.0, "terminated": False, "truncated": False,
     "env_id": "ALE/Pong-v5", "applied_actions": applied, "start_actions": []}
    for frame, applied in [(0, [0, 0, 0, 0]), (1, [0, 0, 0, 0]), (2, [])]
]  # fmt: skip


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_sampled_rows_hold_the_expected_values(tmp_path, backend):
    if backend == "ray":
        required_module("ray", "pip install -e '.[ray]'")
    settings = EpisodeSettings(policy="repeat", frame_cap=3, randomness=0.0)
    sample(
        tmp_path, envs=["pong"], max_episodes=1, parallel=1, settings=settings,
        to_parquet=True, backend=backend, progress=False,
    )  # fmt: skip
    [interleaved] = pq.read_table(next((tmp_path / "interleaved").glob("*.parquet"))).to_pylist()
    simple = pq.read_table(next((tmp_path / "simple").glob("*.parquet"))).to_pylist()
    images, seed = interleaved.pop("images"), interleaved.pop("seed")
    assert interleaved.pop("images_front") == images[0] and len(images) == 3
    assert interleaved == EXPECTED_INTERLEAVED
    for row, image in zip(simple, images, strict=True):
        assert row.pop("image") == image and row.pop("seed") == seed
    assert simple == EXPECTED_SIMPLE
