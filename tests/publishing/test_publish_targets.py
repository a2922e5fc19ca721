"""Where a publish goes: a Hub that does not answer, and a branch other than the default one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from huggingface_hub import HfApi

from atari_interleaved.publishing.manifest import read_manifest
from atari_interleaved.publishing.publish import publish
from tests.fixtures.export_utils import REPO_ID
from tests.fixtures.hub_fixtures import hub_env

pytestmark = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning"
)

SECRET = "hf_unreachableSecretToken0123456789"


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_hub_is_one_error_line_without_the_token(exported_folder, tmp_path):
    url = f"http://127.0.0.1:{closed_port()}"
    env = {**os.environ, **hub_env(url, tmp_path / "hf", token=SECRET)}
    command = "import sys; from atari_interleaved.cli.app import main; sys.exit(main())"
    run = subprocess.run(
        [sys.executable, "-c", command, "publish", "--input-dir", str(exported_folder),
         "--repo-id", REPO_ID],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr
    assert lines[0].startswith(
        f"error: publishing to '{REPO_ID}' failed: cannot reach the Hub at {url} (HF_ENDPOINT)"
    )
    assert "rerun the same command" in lines[0]
    assert SECRET not in run.stdout + run.stderr


def test_offline_mode_is_one_error_line_naming_the_variable(exported_folder, tmp_path):
    env = {**os.environ, **hub_env(f"http://127.0.0.1:{closed_port()}", tmp_path / "hf", SECRET)}
    command = "import sys; from atari_interleaved.cli.app import main; sys.exit(main())"
    run = subprocess.run(
        [sys.executable, "-c", command, "publish", "--input-dir", str(exported_folder),
         "--repo-id", REPO_ID],
        env={**env, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip().splitlines() == [
        "error: publishing needs the Hub, but HF_HUB_OFFLINE is set (huggingface_hub's offline "
        "mode): rerun with HF_HUB_OFFLINE unset (or HF_HUB_OFFLINE=0)"
    ]
    assert SECRET not in run.stdout + run.stderr


def test_a_publish_with_a_revision_commits_to_that_branch_only(hub_server, exported_folder):
    """The branch is created from main when missing (as datasets' push_to_hub does)."""
    api = HfApi()
    api.create_repo(REPO_ID, repo_type="dataset")
    before = sorted(api.list_repo_files(REPO_ID, repo_type="dataset"))
    for _ in range(2):  # a new branch, then the same one again
        report = publish(exported_folder, REPO_ID, revision="dev")
        files = sorted(api.list_repo_files(REPO_ID, repo_type="dataset", revision="dev"))
        assert files == sorted({*before, *report.files})
    assert set(report.files) == {*read_manifest(exported_folder)["files"], "manifest.json"}
    assert sorted(api.list_repo_files(REPO_ID, repo_type="dataset")) == before  # main unchanged
    branches = api.list_repo_refs(REPO_ID, repo_type="dataset").branches
    assert sorted(branch.name for branch in branches) == ["dev", "main"]
