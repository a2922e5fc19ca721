from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from atari_interleaved.core.errors import DependencyNotInstalledError, InvalidArgumentError
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate.ray_backend import import_ray
from atari_interleaved.generate.sampler import sample
from tests.fixtures.blocking_policy import POLICY as BLOCKING_POLICY
from tests.fixtures.blocking_policy import (
    blocking_environment,
    environment,
    wait_until_blocked,
)
from tests.fixtures.paths import SAMPLE_SCRIPT
from tests.fixtures.prerequisites import missing_prerequisite
from tests.fixtures.tree_utils import tree_digest

INSTALL_HINT = "pip install -e '.[ray]'"

# The blocking policy lets the interruption test stop a run at a known point.
GAMES = ["alien", "pong"]
EPISODES = 3
SETTINGS = EpisodeSettings(policy=BLOCKING_POLICY, frame_cap=40, randomness=0.5, seed=7)
FLAGS = [
    "--policy",
    SETTINGS.policy,
    "--envs",
    ",".join(GAMES),
    "--max-episodes",
    str(EPISODES),
    "--frames-per-env",
    str(SETTINGS.frame_cap),
    "--randomness",
    str(SETTINGS.randomness),
    "--seed",
    str(SETTINGS.seed),
    "--parallel",
    "2",
    "--no-progress",
]


@pytest.fixture
def ray_installed() -> None:
    if importlib.util.find_spec("ray") is None:
        missing_prerequisite(f"ray is not installed ({INSTALL_HINT})")


def episode_dirs(root: Path) -> list[Path]:
    return sorted(root.glob("atari_*/episode_*"))


def _processes_of_session(session: int) -> list[int]:
    """Live (not zombie) processes of ``session``, read from /proc."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        state, _, _, sid = text[text.rindex(")") + 2 :].split()[:4]
        if int(sid) == session and state != "Z":
            pids.append(int(entry))
    return pids


def end_session(session: int) -> None:
    """Kill what is left of a session this test started and wait until it is gone.

    After its driver is killed, a local Ray instance's workers go on for a second or so and
    its agent processes stay; none of them must write while the rerun runs.
    """
    deadline = time.monotonic() + 30
    while (alive := _processes_of_session(session)) and time.monotonic() < deadline:
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    assert not alive, f"processes {alive} of the interrupted run did not stop"


@pytest.fixture(scope="module")
def clean_tree(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The tree a clean run of FLAGS gives, sampled by the local backend."""
    root = tmp_path_factory.mktemp("clean") / "frames"
    sample(root, envs=GAMES, max_episodes=EPISODES, parallel=2, settings=SETTINGS, progress=False)
    return tree_digest(root)


def test_missing_ray_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    hint = r"install it with: pip install 'ray>=2\.9'$"
    with pytest.raises(DependencyNotInstalledError, match=hint):
        import_ray()
    output = tmp_path / "frames"
    with pytest.raises(DependencyNotInstalledError, match=r"pip install"):
        sample(output, envs=["pong"], max_episodes=1, backend="ray", progress=False)
    assert not output.exists(), "the check must come before any work"


def test_ray_address_needs_the_ray_backend(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="--ray-address needs --backend ray"):
        sample(tmp_path / "frames", envs=["pong"], ray_address="auto", progress=False)


def test_unknown_backend_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="--backend must be one of local, ray"):
        sample(tmp_path / "frames", envs=["pong"], backend="dask", progress=False)  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.usefixtures("ray_installed")
def test_local_ray_instance_writes_the_same_tree_as_the_local_backend(tmp_path: Path) -> None:
    settings = EpisodeSettings(policy="repeat", frame_cap=40, randomness=0.5, seed=3)
    games = ["alien", "pong", "breakout"]
    options = {"envs": games, "max_episodes": 3, "parallel": 2, "settings": settings}
    sample(tmp_path / "local", progress=False, **options)
    report = sample(tmp_path / "ray", progress=False, backend="ray", **options)

    local_files, ray_files = tree_digest(tmp_path / "local"), tree_digest(tmp_path / "ray")
    assert len(ray_files) == 1 + 9 * (2 * 40 + 1)
    assert ray_files.keys() == local_files.keys()
    assert ray_files == local_files
    # Every episode reached the progress callback, once.
    episode_files = list((tmp_path / "ray").glob("atari_*/episode_*/*"))
    assert report.episodes_written == 9
    assert report.frames_written == sum(path.suffix == ".png" for path in episode_files)
    assert report.bytes_written == sum(path.stat().st_size for path in episode_files)
    assert report.end_reasons == {"frame_cap": 9}


@pytest.mark.slow
@pytest.mark.usefixtures("ray_installed")
@pytest.mark.parametrize("interruption", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_interrupted_ray_run_resumes_to_the_clean_tree(
    tmp_path: Path, clean_tree: dict[str, str], interruption: signal.Signals
) -> None:
    output = tmp_path / "frames"
    command = [sys.executable, str(SAMPLE_SCRIPT), *FLAGS, "--output-dir", str(output)]
    command += ["--backend", "ray"]
    # Its own session, so that everything the run started can be ended by its group id.
    block = tmp_path / "block"
    block.mkdir()
    # Two episodes are written, then both running tasks are held still: interrupted there.
    run = subprocess.Popen(
        command, env=blocking_environment(block, 2), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        wait_until_blocked(block, 2, run)
        assert len(episode_dirs(output)) == 2
        run.send_signal(interruption)
        status = run.wait(timeout=60)
    finally:
        end_session(run.pid)
        run.communicate()
    assert status == (130 if interruption == signal.SIGINT else -signal.SIGKILL)
    assert len(episode_dirs(output)) == 2

    rerun = subprocess.run(
        command, env=environment(), capture_output=True, text=True, timeout=300,
        start_new_session=True,
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert "Kept 2 complete episodes" in rerun.stdout
    assert tree_digest(output) == clean_tree


@pytest.mark.slow
@pytest.mark.usefixtures("ray_installed")
def test_local_ray_instance_writes_the_same_parquet_shards_as_the_local_backend(
    tmp_path: Path,
) -> None:
    settings = EpisodeSettings(policy="repeat", frame_cap=30, randomness=0.5, seed=5)
    options = {"envs": ["alien", "pong"], "max_episodes": 4, "parallel": 2, "settings": settings}
    sample(tmp_path / "local", progress=False, to_parquet=True, episodes_per_shard=2, **options)
    sample(
        tmp_path / "ray",
        progress=False,
        to_parquet=True,
        episodes_per_shard=2,
        backend="ray",
        **options,
    )
    local_files, ray_files = tree_digest(tmp_path / "local"), tree_digest(tmp_path / "ray")
    assert sum(name.endswith(".parquet") for name in ray_files) == 2 * 4  # 2 configs, 4 shards
    assert ray_files == local_files


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("127.0.0.1:1", "--ray-address '127.0.0.1:1': no Ray cluster answers there ("),
        ("ray://127.0.0.1:1", "--ray-address 'ray://127.0.0.1:1': no Ray cluster answers"),
        ("nowhere", "--ray-address 'nowhere' is not HOST:PORT, ray://HOST:PORT or auto"),
    ],
)
def test_an_unreachable_cluster_fails_at_once_before_writing(
    ray_installed, tmp_path, address, message
):
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(SAMPLE_SCRIPT), *FLAGS, "--backend", "ray", "--ray-address", address,
         "--output-dir", "out"],
        cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert time.monotonic() - started < 60  # Ray alone retries for minutes
    assert list(tmp_path.iterdir()) == []  # no sampling_config.json, no folder, no lock
