"""Round trips through the fake Hub (``tests/hub_server.py``) with huggingface_hub / datasets."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import huggingface_hub
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import HfApi, HfFileSystem, RepoFile, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError

from tests.fixtures.hub_fixtures import HubFixture
from tests.fixtures.hub_server import start_hub_server

# huggingface_hub's legacy LFS upload passes a file object as `data=` to httpx2 (not our code).
pytestmark = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning"
)

REPO_ID = "test-user/tiny"
PARQUET_V1 = "a/train-00000-of-00001.parquet"
PARQUET_V2 = "a/train-00000-of-00001-v2.parquet"
README = textwrap.dedent(
    """\
    ---
    configs:
    - config_name: a
      data_files:
      - split: train
        path: a/*.parquet
    ---
    # Tiny test dataset
    """
)
ROWS_V1 = [{"id": i, "text": f"row {i}"} for i in range(5)]
ROWS_V2 = [{"id": 100 + i, "text": f"new row {i}"} for i in range(3)]


def _write_dataset_folder(folder: Path, parquet_name: str, rows: list[dict[str, object]]) -> Path:
    """Write ``README.md`` and one parquet file with ``rows`` under ``folder``."""
    (folder / "a").mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(README)
    pq.write_table(pa.Table.from_pylist(rows), folder / parquet_name)
    return folder


def _publish_v1(tmp_path: Path) -> Path:
    """Create the dataset repo, upload README.md + the first parquet file; return the folder."""
    huggingface_hub.create_repo(REPO_ID, repo_type="dataset")
    folder = _write_dataset_folder(tmp_path / "v1", PARQUET_V1, ROWS_V1)
    huggingface_hub.upload_folder(repo_id=REPO_ID, repo_type="dataset", folder_path=folder)
    return folder


def test_create_upload_list_download(hub_server: HubFixture, tmp_path: Path) -> None:  # noqa: F811
    """create_repo + upload_folder (regular README, LFS parquet), list, download same bytes."""
    folder = _publish_v1(tmp_path)
    api = HfApi()

    assert api.whoami()["name"] == hub_server.user
    assert sorted(api.list_repo_files(REPO_ID, repo_type="dataset")) == [
        ".gitattributes",
        "README.md",
        PARQUET_V1,
    ]

    # The parquet file went through LFS batch + PUT + verify, the README as a regular file.
    methods_paths = [(method, path.split("?")[0]) for method, path, _ in hub_server.server.requests]
    assert ("POST", f"/datasets/{REPO_ID}.git/info/lfs/objects/batch") in methods_paths
    assert any(
        method == "PUT" and path.startswith("/_lfs/upload/") for method, path in methods_paths
    )
    infos = {
        info.path: info
        for info in api.get_paths_info(REPO_ID, ["README.md", PARQUET_V1], repo_type="dataset")
        if isinstance(info, RepoFile)
    }
    assert infos["README.md"].lfs is None
    parquet_lfs = infos[PARQUET_V1].lfs
    assert parquet_lfs is not None
    assert parquet_lfs.size == (folder / PARQUET_V1).stat().st_size

    for filename in ("README.md", PARQUET_V1):
        local = hf_hub_download(REPO_ID, filename, repo_type="dataset")
        assert Path(local).read_bytes() == (folder / filename).read_bytes()

    # Range requests through HfFileSystem (what streaming uses).
    data = (folder / PARQUET_V1).read_bytes()
    with HfFileSystem().open(f"datasets/{REPO_ID}/{PARQUET_V1}", "rb", block_size=7) as f:
        f.seek(3)
        assert f.read(20) == data[3:23]

    with pytest.raises(EntryNotFoundError):
        hf_hub_download(REPO_ID, "missing.txt", repo_type="dataset")
    with pytest.raises(RepositoryNotFoundError):
        api.repo_info("test-user/does-not-exist", repo_type="dataset")


def test_upload_with_delete_patterns_replaces_file(hub_server: HubFixture, tmp_path: Path) -> None:  # noqa: F811
    """A second upload_folder with delete_patterns removes the old parquet file; history is kept."""
    _publish_v1(tmp_path)
    api = HfApi()
    first_sha = api.dataset_info(REPO_ID).sha

    folder_v2 = _write_dataset_folder(tmp_path / "v2", PARQUET_V2, ROWS_V2)
    commit = api.upload_folder(
        repo_id=REPO_ID,
        repo_type="dataset",
        folder_path=folder_v2,
        delete_patterns=["a/*.parquet"],
        commit_message="Replace data",
    )
    assert commit.oid != first_sha and len(commit.oid) == 40
    assert api.dataset_info(REPO_ID).sha == commit.oid
    assert sorted(api.list_repo_files(REPO_ID, repo_type="dataset")) == [
        ".gitattributes",
        "README.md",
        PARQUET_V2,
    ]
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(REPO_ID, PARQUET_V1, repo_type="dataset")
    # The previous commit is still reachable by its sha.
    old = hf_hub_download(REPO_ID, PARQUET_V1, repo_type="dataset", revision=first_sha)
    assert pq.read_table(old).to_pylist() == ROWS_V1
    assert [c.title for c in api.list_repo_commits(REPO_ID, repo_type="dataset")][:1] == [
        "Replace data"
    ]

    # deletedFolder / deletedFile commit operations.
    api.delete_folder("a", REPO_ID, repo_type="dataset")
    api.delete_file("README.md", REPO_ID, repo_type="dataset")
    assert api.list_repo_files(REPO_ID, repo_type="dataset") == [".gitattributes"]


_LOAD_SCRIPT = textwrap.dedent(
    """\
    import json, sys
    import datasets

    repo_id = sys.argv[1]
    ds = datasets.load_dataset(repo_id, "a", split="train")
    streamed = datasets.load_dataset(repo_id, "a", split="train", streaming=True)
    print(json.dumps({"rows": ds.to_list(), "streamed": list(streamed)}))
    """
)


def test_load_dataset_in_fresh_subprocess(hub_server: HubFixture, tmp_path: Path) -> None:  # noqa: F811
    """A fresh process with the fixture's env and empty caches loads the rows (also streaming)."""
    _publish_v1(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_SCRIPT, REPO_ID],
        env=hub_server.subprocess_env(home=tmp_path / "child-home"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["rows"] == ROWS_V1
    assert loaded["streamed"] == ROWS_V1
    assert not hub_server.server.errors


def test_load_dataset_in_process(hub_server: HubFixture, tmp_path: Path) -> None:  # noqa: F811
    """The patched constants make ``datasets.load_dataset`` work inside this pytest process."""
    import datasets

    _publish_v1(tmp_path)
    assert datasets.load_dataset(REPO_ID, "a", split="train").to_list() == ROWS_V1
    assert str(datasets.config.HF_DATASETS_CACHE).startswith(str(hub_server.home))


def test_writes_require_a_token(hub_server: HubFixture) -> None:  # noqa: F811
    """Write endpoints answer 401 without an Authorization header."""
    with pytest.raises(HfHubHTTPError) as excinfo:
        HfApi(token=False).create_repo("test-user/anon", repo_type="dataset")
    assert excinfo.value.response.status_code == 401


def test_pagination_multipart_and_pull_requests(hub_server: HubFixture, tmp_path: Path) -> None:  # noqa: F811
    """A second server (explicit endpoint): tree pagination, multipart LFS, ``create_pr``."""
    with start_hub_server(tmp_path, tree_page_size=2, lfs_multipart_chunk_size=64) as hub:
        api = HfApi(endpoint=hub.url, token="hf_other_fake_token")
        repo = api.create_repo("org/multi", repo_type="dataset")
        assert repo.repo_id == "org/multi"
        assert (
            api.create_repo("org/multi", repo_type="dataset", exist_ok=True).repo_id == "org/multi"
        )
        blob = bytes(range(256)) * 3  # binary => LFS, 768 bytes => 12 parts of 64 bytes
        folder = tmp_path / "multi"
        (folder / "d").mkdir(parents=True)
        for i in range(3):
            (folder / "d" / f"f{i}.txt").write_text(f"file {i}\n")
        (folder / "blob.bin").write_bytes(blob)
        api.upload_folder(repo_id="org/multi", repo_type="dataset", folder_path=folder)
        assert any(path.startswith("/_lfs/complete/") for _, path, _ in hub.requests)
        files = sorted(api.list_repo_files("org/multi", repo_type="dataset"))
        assert files == [".gitattributes", "blob.bin", "d/f0.txt", "d/f1.txt", "d/f2.txt"]
        assert any("cursor=" in path for _, path, _ in hub.requests)
        local = hf_hub_download(
            "org/multi",
            "blob.bin",
            repo_type="dataset",
            endpoint=hub.url,
            cache_dir=tmp_path / "cache",
            token="hf_x",
        )
        assert Path(local).read_bytes() == blob

        pr = api.upload_file(
            path_or_fileobj=b"pr content\n",
            path_in_repo="pr.txt",
            repo_id="org/multi",
            repo_type="dataset",
            create_pr=True,
        )
        assert pr.pr_revision == "refs/pr/1"
        assert "pr.txt" in api.list_repo_files(
            "org/multi", repo_type="dataset", revision="refs/pr/1"
        )
        assert "pr.txt" not in api.list_repo_files("org/multi", repo_type="dataset")
        assert not hub.errors
