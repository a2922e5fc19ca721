"""What the frame tree of ``tests/frame_tree_fixtures.py`` holds, and helpers to change copies."""

from __future__ import annotations

from pathlib import Path

from atari_interleaved.generate.sampler import sample
from atari_interleaved.generate.settings import EpisodeSettings

__all__ = [
    "GAMES",
    "EPISODES",
    "FRAMES",
    "SETTINGS",
    "ALIEN_EPISODE",
    "ORDER",
    "drop_metadata",
    "sample_tree",
]

GAMES = ("alien", "pong")
EPISODES = 2
FRAMES = 12
SETTINGS = EpisodeSettings(frames_per_env=FRAMES, policy="repeat")
"""The settings of the tree (the fast ``repeat`` policy: these tests are not about play)."""
ALIEN_EPISODE = Path("atari_alien") / "episode_000_rand0.2"
ORDER = [f"atari_{game}/episode_{index:03d}_rand0.2" for game in GAMES for index in range(EPISODES)]
"""The episodes of the tree in reading order."""


def drop_metadata(root: Path) -> Path:
    """Remove every ``episode.json`` and ``sampling_config.json`` (a tree from another tool)."""
    for path in [*root.rglob("episode.json"), *root.glob("sampling_config.json")]:
        path.unlink()
    return root


def sample_tree(root: Path, *, to_parquet: bool = False) -> Path:
    """Sample the test episodes (``GAMES`` x ``EPISODES`` x ``FRAMES``) into ``root``."""
    sample(
        root,
        envs=list(GAMES),
        max_episodes=EPISODES,
        parallel=1,
        settings=SETTINGS,
        to_parquet=to_parquet,
        progress=False,
    )
    return root
