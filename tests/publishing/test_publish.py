"""Publishing to the fake Hub of tests/hub_server.py, and loading back in a fresh process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import datasets
import pyarrow.parquet as pq
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

import atari_interleaved
from atari_interleaved.cli.app import main as cli_main
from atari_interleaved.core.errors import (
    AtariInterleavedError,
    InvalidArgumentError,
    InvalidInputError,
)
from atari_interleaved.core.features import CONFIG_NAMES
from atari_interleaved.publishing.manifest import read_manifest
from atari_interleaved.publishing.publish import publish
from tests.fixtures.export_utils import REPO_ID, card_yaml, row_digests
from tests.fixtures.frame_trees import EPISODES, GAMES
from tests.fixtures.paths import REPO

# huggingface_hub's legacy LFS upload passes a file object as `data=` to httpx (not our code).
pytestmark = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning"
)

_LOAD_SCRIPT = textwrap.dedent(
    """\
    import json, sys
    import datasets
    from tests.fixtures.export_utils import row_digests

    rows = {
        config: row_digests(datasets.load_dataset(sys.argv[1], config, split="train"))
        for config in ("interleaved", "simple")
    }
    stream = datasets.load_dataset(sys.argv[1], "simple", split="train", streaming=True)
    rows["simple_streamed"] = row_digests(stream)
    print(json.dumps(rows))
    """
)


def load_in_fresh_process(hub_server, home: Path) -> dict[str, list]:
    """Load both configs of REPO_ID in a new Python process whose HF caches start empty."""
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_SCRIPT, REPO_ID],
        cwd=REPO,
        env=hub_server.subprocess_env(home=home),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def local_rows(folder: Path) -> dict[str, list]:
    """The rows of an exported folder, read with pyarrow, images as digests."""
    rows = {}
    for config in CONFIG_NAMES:
        shards = sorted((folder / config).glob("train-*.parquet"))
        rows[config] = row_digests(row for s in shards for row in pq.read_table(s).to_pylist())
    return rows


def remote_files() -> list[str]:
    return sorted(HfApi().list_repo_files(REPO_ID, repo_type="dataset"))


def test_publish_then_load_in_a_fresh_process_then_replace_with_changed_data(
    hub_server, exported_folder, tree_copy, tmp_path
):
    report = publish(exported_folder, REPO_ID)
    assert report.repo_id == REPO_ID and not report.notes
    assert remote_files() == sorted([".gitattributes", *report.files])
    assert report.files == sorted([*read_manifest(exported_folder)["files"], "manifest.json"])
    expected = local_rows(exported_folder)
    loaded = load_in_fresh_process(hub_server, tmp_path / "home-1")
    assert loaded["interleaved"] == expected["interleaved"]
    assert loaded["simple"] == loaded["simple_streamed"] == expected["simple"]

    # Changed data, published from the frame tree with smaller shards, by the command line.
    shutil.rmtree(tree_copy / "atari_pong" / "episode_001_rand0.2")
    argv = ["publish", "--input-dir", str(tree_copy), "--repo-id", REPO_ID]
    assert cli_main([*argv, "--max-shard-bytes", "10kB", "--no-progress"]) == 0
    shards = [path for path in remote_files() if path.startswith("interleaved/")]
    assert len(shards) > 1 and not any(path.endswith("-of-00001.parquet") for path in shards)
    loaded = load_in_fresh_process(hub_server, tmp_path / "home-2")
    assert len(loaded["interleaved"]) == len(GAMES) * EPISODES - 1
    assert [row["episode"] for row in loaded["interleaved"]][-1] == "episode_000_rand0.2"
    assert not hub_server.server.errors


def test_rerun_of_the_same_publish_succeeds_and_keeps_other_files(hub_server, exported_folder):
    publish(exported_folder, REPO_ID)
    HfApi().upload_file(
        path_or_fileobj=b"mine", path_in_repo="NOTES.txt", repo_id=REPO_ID, repo_type="dataset"
    )
    commits = len(HfApi().list_repo_commits(REPO_ID, repo_type="dataset"))
    publish(exported_folder, REPO_ID, commit_message="Again")  # nothing changed: no commit
    assert len(HfApi().list_repo_commits(REPO_ID, repo_type="dataset")) == commits
    assert "NOTES.txt" in remote_files()


def test_an_interrupted_publish_resumes_without_sending_files_again(
    hub_server, exported_folder, monkeypatch
):
    import huggingface_hub._commit_api as commit_api

    def fail(**kwargs):
        response = SimpleNamespace(headers={}, request=None, status_code=502)
        raise HfHubHTTPError("502 Bad Gateway (simulated)", response=response)

    with monkeypatch.context() as patch:
        patch.setattr(commit_api, "_send_commit", fail)
        with pytest.raises(AtariInterleavedError, match="rerun the same command to resume"):
            publish(exported_folder, REPO_ID)
    assert remote_files() == [".gitattributes"]  # the files were sent, not committed
    sent = len(lfs_uploads(hub_server))
    assert sent == 4  # the parquet shards and the pictures go through LFS
    publish(exported_folder, REPO_ID)
    assert len(lfs_uploads(hub_server)) == sent
    assert "interleaved/train-00000-of-00001.parquet" in remote_files()


def lfs_uploads(hub_server) -> list[str]:
    return [
        path
        for method, path, _ in hub_server.server.requests
        if method == "PUT" and "/_lfs/" in path
    ]


def test_a_changed_folder_is_refused_before_any_upload(hub_server, export_copy):
    (export_copy / "simple" / "train-00000-of-00001.parquet").write_bytes(b"PAR1")
    with pytest.raises(InvalidInputError, match="changed: simple/train-00000-of-00001.parquet"):
        publish(export_copy, REPO_ID)
    assert hub_server.server.requests == []  # not even a whoami
    assert not HfApi().repo_exists(REPO_ID, repo_type="dataset")


def test_publishing_under_another_name_notes_the_card_examples(hub_server, exported_folder):
    report = publish(exported_folder, "test-user/other_name", private=True)
    assert report.notes and "--repo-id test-user/other_name" in report.notes[0]
    assert HfApi().repo_info("test-user/other_name", repo_type="dataset").private


def test_without_a_token_the_error_says_how_to_get_one(
    hub_server, exported_folder, monkeypatch, capsys
):
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(InvalidArgumentError, match="HF_TOKEN.*hf auth login"):
        publish(exported_folder, REPO_ID)
    assert cli_main(["publish", "--input-dir", str(exported_folder), "--repo-id", REPO_ID]) == 2
    assert "error: " in capsys.readouterr().err
    assert hub_server.server.requests == []


def test_a_bad_repo_id_is_refused_first(hub_server, exported_folder):
    with pytest.raises(InvalidArgumentError, match="--repo-id 'a/b/c' is not valid"):
        publish(exported_folder, "a/b/c")
    assert hub_server.server.requests == []


def load_in_this_process(repo_id: str, cache: Path) -> dict[str, list]:
    """Load both configs of ``repo_id`` from the fake Hub, images as digests."""
    return {
        config: row_digests(
            datasets.load_dataset(repo_id, config, split="train", cache_dir=str(cache))
        )
        for config in CONFIG_NAMES
    }


def test_a_direct_folder_is_exported_then_published(
    hub_server, direct_folder, direct_export, tmp_path
):
    report = publish(direct_folder, REPO_ID)
    assert remote_files() == sorted([".gitattributes", *report.files])
    assert "simple/train-00003-of-00004.parquet" in report.files
    assert load_in_this_process(REPO_ID, tmp_path / "cache") == local_rows(direct_export)
    card = Path(HfApi().hf_hub_download(REPO_ID, "README.md", repo_type="dataset")).read_text()
    assert card_yaml(card) == card_yaml((direct_export / "README.md").read_text())
    assert " --to-parquet --output-dir sampled_parquet\n" in card
    assert not hub_server.server.errors


def test_the_builders_dataset_dict_can_be_pushed_with_push_to_hub(hub_server, frame_tree, tmp_path):
    pushed = {}
    for config in CONFIG_NAMES:
        dataset = atari_interleaved.load_frames(frame_tree, config, cache_dir=tmp_path / "built")
        # Both ways: the DatasetDict (its splits), and its train split alone.
        (dataset if config == "interleaved" else dataset["train"]).push_to_hub(
            "test-user/pushed", config_name=config
        )
        pushed[config] = row_digests(dataset["train"])
    assert {
        "interleaved/train-00000-of-00001.parquet",
        "simple/train-00000-of-00001.parquet",
    } <= set(HfApi().list_repo_files("test-user/pushed", repo_type="dataset"))
    card = HfApi().hf_hub_download("test-user/pushed", "README.md", repo_type="dataset")
    header = card_yaml(Path(card).read_text())
    assert [config["config_name"] for config in header["configs"]] == list(CONFIG_NAMES)
    assert load_in_this_process("test-user/pushed", tmp_path / "cache") == pushed
    assert not hub_server.server.errors
