"""Sampling into an object store (moto's S3 API server on 127.0.0.1), and reading it back."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from pathlib import Path

import fsspec
import pytest

from atari_interleaved.cli.app import main as cli_main
from atari_interleaved.core.errors import (
    DependencyNotInstalledError,
    InvalidArgumentError,
    OutputExistsError,
    OutputInUseError,
)
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.dataset.windows import FrameWindows
from atari_interleaved.generate.sampler import sample
from atari_interleaved.publishing.export import export
from atari_interleaved.publishing.manifest import verify
from atari_interleaved.publishing.publish import publish
from atari_interleaved.storage.location import LOCK_NAME, RemoteFolder
from atari_interleaved.storage.remote_lock import remote_lock
from tests.fixtures.blocking_policy import POLICY as BLOCKING_POLICY
from tests.fixtures.blocking_policy import blocking_environment, wait_until_blocked
from tests.fixtures.docs import block
from tests.fixtures.paths import SAMPLE_SCRIPT
from tests.fixtures.s3_server import BUCKET, SECRET, S3Server, start_s3_server

GAMES = ["pong"]
EPISODES = 2
SETTINGS = EpisodeSettings(policy=BLOCKING_POLICY, frame_cap=20, seed=3)
FLAGS = [
    *("--envs", "pong", "--max-episodes", str(EPISODES), "--episodes-per-shard", "1"),
    *("--policy", BLOCKING_POLICY, "--frames-per-env", str(SETTINGS.frame_cap)),
    *("--seed", str(SETTINGS.seed), "--parallel", "1", "--no-progress", "--to-parquet"),
]


@pytest.fixture(scope="module")
def s3() -> S3Server:
    with start_s3_server() as server:
        yield server


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The files of the same run into a local folder."""
    root = tmp_path_factory.mktemp("local") / "direct"
    sample(root, envs=GAMES, max_episodes=EPISODES, settings=SETTINGS, progress=False,
           to_parquet=True, episodes_per_shard=1)  # fmt: skip
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*.*")}


def stored(s3: S3Server, prefix: str) -> dict[str, bytes]:
    fs = fsspec.filesystem("s3", **s3.options)
    fs.invalidate_cache()
    root = f"{BUCKET}/{prefix}"
    return {path[len(root) + 1 :]: fs.cat_file(path) for path in fs.find(root)}


def run_sample(*flags: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SAMPLE_SCRIPT), *FLAGS, *flags]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def test_a_run_into_s3_is_the_local_run_and_a_rerun_skips_it(
    s3: S3Server, local_run: dict[str, bytes]
) -> None:
    url = f"s3://{BUCKET}/direct"
    report = sample(url, envs=GAMES, max_episodes=EPISODES, settings=SETTINGS, progress=False,
                    to_parquet=True, episodes_per_shard=1, storage_options=s3.options)  # fmt: skip
    assert report.episodes_written == EPISODES and report.output_dir == url
    assert stored(s3, "direct") == local_run  # the lock object is gone, nothing else is there
    assert SECRET.encode() not in local_run["sampling_config.json"]
    again = sample(url, envs=GAMES, max_episodes=EPISODES, settings=SETTINGS, progress=False,
                   to_parquet=True, episodes_per_shard=1, storage_options=s3.options)  # fmt: skip
    assert (again.episodes_written, again.episodes_kept) == (0, EPISODES)
    other = EpisodeSettings(policy=BLOCKING_POLICY, frame_cap=25, seed=3)
    with pytest.raises(OutputExistsError, match="frame_cap|frames-per-env"):
        sample(url, envs=GAMES, max_episodes=EPISODES, settings=other, progress=False,
               to_parquet=True, episodes_per_shard=1, storage_options=s3.options)  # fmt: skip
    assert stored(s3, "direct") == local_run


def test_a_url_whose_library_is_missing_gets_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "gcsfs", None)
    with pytest.raises(DependencyNotInstalledError, match=r"install it with: pip install 'gcsfs>="):
        sample("gs://bucket/run", envs=GAMES, to_parquet=True, progress=False)


def test_a_killed_run_holds_the_prefix_then_a_rerun_finishes_it(
    s3: S3Server, local_run: dict[str, bytes], tmp_path: Path
) -> None:
    output = ["--output-dir", f"s3://{BUCKET}/killed"]
    block = tmp_path / "block"
    block.mkdir()
    first = subprocess.Popen(
        [sys.executable, str(SAMPLE_SCRIPT), *FLAGS, *output],
        env=s3.environment(**{k: v for k, v in blocking_environment(block, 1).items()
                              if k in ("BLOCK_DIR", "BLOCK_AFTER", "PYTHONPATH")}),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_until_blocked(block, 1, first)  # one shard put, the second episode held
        second = run_sample(*output, env=s3.environment(PYTHONPATH=str(SAMPLE_SCRIPT.parents[1])))
        assert second.returncode != 0
        assert "is in use by another run" in second.stderr and "pid" not in second.stdout
        first.send_signal(signal.SIGKILL)
        first.wait()
    finally:
        first.kill()
        first.communicate()
    kept = stored(s3, "killed")
    assert LOCK_NAME in kept and "simple/train-00001-of-00002.parquet" not in kept
    rerun = run_sample(*output, env=s3.environment(PYTHONPATH=str(SAMPLE_SCRIPT.parents[1])))
    assert rerun.returncode == 0, rerun.stderr
    assert "Kept 1 complete episodes" in rerun.stdout
    assert stored(s3, "killed") == local_run
    assert SECRET not in rerun.stdout + rerun.stderr + second.stderr


def test_two_runs_at_once_one_gets_the_prefix(s3: S3Server) -> None:
    folder = RemoteFolder(f"s3://{BUCKET}/shared", s3.options)
    with remote_lock(folder):
        with pytest.raises(OutputInUseError, match="in use by another run"):
            with remote_lock(folder):
                pass
    assert LOCK_NAME not in stored(s3, "shared")


@pytest.mark.parametrize("problem", ["missing bucket", "wrong endpoint", "bad credentials"])
def test_an_unreachable_store_is_one_clear_error_before_any_work(
    s3: S3Server, problem: str
) -> None:
    url, options = f"s3://{BUCKET}/never", dict(s3.options)
    if problem == "missing bucket":
        url = "s3://no-such-bucket/run"
    if problem == "wrong endpoint":
        closed = {"retries": {"max_attempts": 1}}
        options |= {"endpoint_url": "http://127.0.0.1:9", "config_kwargs": closed}
    with contextlib.ExitStack() as stack:
        server = s3
        if problem == "bad credentials":  # a server that checks keys, and knows none
            server = stack.enter_context(start_s3_server(auth=True))
            options["endpoint_url"] = server.endpoint
        with pytest.raises(InvalidArgumentError) as caught:
            sample(url, envs=GAMES, max_episodes=1, settings=SETTINGS, progress=False,
                   to_parquet=True, storage_options=options)  # fmt: skip
        message = str(caught.value)
        assert message.startswith(f"--output-dir {url!r} cannot be reached"), message
        assert SECRET not in message
        assert "never" not in server.state() and "no-such-bucket" not in server.state()


def test_frame_folders_and_secrets_in_the_url_are_refused(s3: S3Server) -> None:
    with pytest.raises(InvalidArgumentError, match="add --to-parquet"):
        sample(f"s3://{BUCKET}/tree", envs=GAMES, max_episodes=1, progress=False,
               storage_options=s3.options)  # fmt: skip
    with pytest.raises(InvalidArgumentError, match="holds credentials") as caught:
        sample(f"s3://KEY:{SECRET}@{BUCKET}/run", envs=GAMES, to_parquet=True, progress=False)
    assert SECRET not in str(caught.value)
    assert "tree" not in s3.state()


def test_export_verify_publish_and_windows_read_the_url(
    s3: S3Server, local_run: dict[str, bytes], hub_server, tmp_path: Path
) -> None:
    url = f"s3://{BUCKET}/downstream"
    fs = fsspec.filesystem("s3", **s3.options)
    for name, data in local_run.items():
        fs.pipe_file(f"{BUCKET}/downstream/{name}", data)
    exported = export(url, f"s3://{BUCKET}/exported", storage_options=s3.options)
    assert exported.output_dir == f"s3://{BUCKET}/exported"
    assert verify(f"s3://{BUCKET}/exported", storage_options=s3.options).ok
    shard = "simple/train-00000-of-00002.parquet"
    assert stored(s3, "exported")[shard] == local_run[shard]
    windows = FrameWindows(url, window=4, storage_options=s3.options, cache_dir=tmp_path / "c")
    assert windows.num_frames == 2 * SETTINGS.frame_cap and len(windows[0]["frames"]) == 4
    # docs/scale.md's loading example, as written, on this prefix (HF_HOME is the test's).
    code = block("docs/scale.md#The cloud case: a Ray cluster writing to an object store").code
    names: dict[str, object] = {"url": url, "storage_options": s3.options}
    exec(compile(code, "docs/scale.md", "exec"), names)
    assert names["frames"].num_rows == 2 * SETTINGS.frame_cap
    assert len(names["windows"]) == len(windows)
    publish(url, "test-user/from-s3", storage_options=s3.options)
    from huggingface_hub import HfApi

    files = HfApi().list_repo_files("test-user/from-s3", repo_type="dataset")
    assert {shard, "manifest.json", "interleaved/train-00001-of-00002.parquet"} <= set(files)


def test_the_command_line_refuses_urls_where_they_are_not_read(capsys, s3: S3Server) -> None:
    url = f"s3://{BUCKET}/cli"
    assert cli_main(["sample", "--output-dir", url, "--envs", "pong", "--no-progress"]) == 2
    assert cli_main(["export", "--format", "minari", "--input-dir", url]) == 2
    with pytest.raises(SystemExit):
        cli_main(["convert", "--input-dir", url])
    errors = capsys.readouterr().err
    assert "add --to-parquet" in errors and "--format minari reads and writes local" in errors
    assert "is an object store URL, which this option does not take" in errors
    assert "Traceback" not in errors and "cli" not in s3.state()
