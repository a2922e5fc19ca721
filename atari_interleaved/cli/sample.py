"""``atari-interleaved sample``: sample Atari games into episode frame folders (PIPELINE.md step 1).

``python3 generate/sample_all_envs.py`` (PIPELINE.md's script) runs this command too.
"""

from __future__ import annotations

import argparse
import os

from atari_interleaved.cli.options import (
    add_setting_arguments,
    integer,
    output_location,
    positive_int,
    settings_from_args,
)
from atari_interleaved.core.settings import EpisodeSettings

__all__ = [
    "COMMAND",
    "HELP",
    "DESCRIPTION",
    "DEFAULT_OUTPUT_DIR",
    "add_arguments",
    "run",
]

COMMAND = "sample"
HELP = "sample Atari games into episode frame folders (pipeline step 1)"

DEFAULT_OUTPUT_DIR = "sampled_frames_organized"

DESCRIPTION = """\
Sample Atari games (ALE/<Game>-v5, ROMs bundled with ale-py) into episode frame folders:
<output-dir>/atari_<game>/episode_<NNN>_rand<r>/frame_<NNNNNN>.png with action_<NNNNNN>.txt
("<index>: <MEANING>", e.g. "8: DOWNRIGHT") and episode.json (seed, rewards, settings).

Frame 0 is the screen after reset. The action file of frame i holds the action taken at
frame i, which produced frame i+1; the last frame's action is never executed: the policy
is not asked for it, and it repeats the previous action (or is random, at --randomness).
Same flags and seed give byte-identical folders, whatever --parallel. An interrupted run
resumes when rerun with the same command: complete episodes are kept.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the sampling flags to ``parser``."""
    parser.add_argument(
        "--max-episodes",
        type=positive_int,
        default=3,
        metavar="M",
        help="episodes per game (default: %(default)s)",
    )
    parser.add_argument(
        "--parallel",
        type=positive_int,
        default=os.cpu_count() or 1,
        metavar="P",
        help="worker processes over (game, episode) tasks; at most the CPUs (but for a Ray "
        "cluster) and the tasks, as more would not help (default: the number of CPUs, "
        "%(default)s)",
    )
    parser.add_argument(
        "--output-dir",
        type=output_location,
        default=DEFAULT_OUTPUT_DIR,
        metavar="DIR",
        help="root of the frame tree; with --to-parquet also an object store URL, "
        "s3://BUCKET/PREFIX, gs://... or az://... (needs the s3, gcs or azure extra; "
        "credentials from the environment) (default: %(default)s)",
    )
    parser.add_argument(
        "--envs",
        default=None,
        metavar="GAMES",
        help="comma-separated games to sample: alien,pong (also Alien, ALE/Alien-v5); "
        "default: every ALE/<Game>-v5 game ale-py registers",
    )
    add_setting_arguments(parser, EpisodeSettings())
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="delete the episodes of a tree sampled with other settings and start again",
    )
    parser.add_argument(
        "--backend",
        choices=["local", "ray"],
        default="local",
        help="where the workers run: 'local' processes, or 'ray' tasks on a local Ray instance "
        "or the cluster of --ray-address; on a cluster, --output-dir is an object store URL "
        "(with --to-parquet) or a folder every node mounts (NFS) (needs pip install "
        '"atari-interleaved[ray]") (default: %(default)s)',
    )
    parser.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDRESS",
        help="with --backend ray, the Ray cluster to run on (auto, HOST:6379 or "
        "ray://HOST:10001), with atari-interleaved installed on every node; --parallel tasks "
        "run at once, so set it to the cluster's CPUs (default: start a local Ray instance "
        "with --parallel CPUs)",
    )
    parser.add_argument(
        "--to-parquet",
        action="store_true",
        help="skip the frame folders: stream episodes straight into the parquet shards of "
        "both configs, <output-dir>/interleaved/ and <output-dir>/simple/ (same rows as "
        "convert; resumes per shard)",
    )
    parser.add_argument(
        "--episodes-per-shard",
        type=integer,
        default=None,
        metavar="K",
        help="with --to-parquet, episodes of one game per shard; a shard is one worker's task "
        "(default: at most 100k frames a shard, and at least 32 shards a run when it has "
        "that many episodes, whatever --parallel)",
    )
    parser.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    parser.add_argument("--list-envs", action="store_true", help="print the known games and exit")


def run(args: argparse.Namespace) -> int:
    """Run the ``sample`` command."""
    from atari_interleaved.core.games import all_games, env_id
    from atari_interleaved.generate.sampler import sample

    if args.list_envs:
        for game in all_games():
            print(f"{game}\t{env_id(game)}")
        return 0
    settings = settings_from_args(args)
    envs = args.envs.split(",") if args.envs is not None else None
    report = sample(
        args.output_dir,
        envs=envs,
        max_episodes=args.max_episodes,
        parallel=args.parallel,
        settings=settings,
        overwrite=args.overwrite,
        progress=not args.no_progress,
        backend=args.backend,
        ray_address=args.ray_address,
        to_parquet=args.to_parquet,
        episodes_per_shard=args.episodes_per_shard,
    )
    print(report.summary())
    return 0
