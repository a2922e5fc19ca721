"""Publishing a dataset folder to a Hugging Face Hub dataset repository.

The input is an exported folder (checked against its manifest first), or a frame tree or
a direct folder of ``sample --to-parquet`` (exported to a temporary folder first). The
repository is created if missing (``HfApi.create_repo(repo_type="dataset", exist_ok=True)``)
and the folder uploaded in one commit with ``HfApi.upload_folder``, which also deletes the
repository's earlier shards, previews, card and manifest, so a second publish of changed
data replaces the old files and never mixes old and new shards. Other files of the
repository are left alone.

Interrupted uploads resume when the command is rerun: huggingface_hub 2.x skips the files
the Hub already has (LFS objects already uploaded, or Xet chunks deduplicated when
``hf_xet`` is installed) and commits large folders in several batches. (huggingface_hub 1.x
needed ``upload_large_folder`` for that; 2.x folded it into ``upload_folder``.)

The token comes from ``token``, else ``HF_TOKEN``, else the stored login (``hf auth login``).
The builder's ``DatasetDict`` can also be pushed with ``push_to_hub(repo_id, config_name=...)``;
its image columns are then ``{bytes, path}`` structs, so pandas users get dicts instead of
PNG bytes: publishing the exported folder keeps the parquet files of PIPELINE.md.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi, constants, get_token
from huggingface_hub.errors import HfHubHTTPError, HFValidationError
from huggingface_hub.utils import (
    are_progress_bars_disabled,
    disable_progress_bars,
    enable_progress_bars,
    validate_repo_id,
)

from atari_interleaved.core.errors import (
    AtariInterleavedError,
    InvalidArgumentError,
    InvalidInputError,
)
from atari_interleaved.core.folder_kind import require_folder_kind
from atari_interleaved.core.layout import MANIFEST_NAME
from atari_interleaved.core.network import endpoint_origin, network_errors
from atari_interleaved.core.redaction import error_text, redact, remember_secret
from atari_interleaved.core.splits import DEFAULT_PLAN, SplitPlan
from atari_interleaved.dataset.reader import OnBadEpisodes
from atari_interleaved.publishing.export import export
from atari_interleaved.publishing.manifest import read_manifest, verify
from atari_interleaved.publishing.preview import PREVIEW_DIR
from atari_interleaved.storage.location import local_copy
from atari_interleaved.storage.parquet_writer import DEFAULT_MAX_SHARD_BYTES

__all__ = [
    "REPLACED_PATTERNS",
    "PublishReport",
    "resolve_token",
    "check_repo_id",
    "check_online",
    "publish",
    "upload_exported_folder",
]

REPLACED_PATTERNS = [
    "interleaved/*",
    "simple/*",
    f"{PREVIEW_DIR}/*",
    "README.md",
    MANIFEST_NAME,
]
"""Remote files a publish deletes unless it uploads them again: everything an export writes."""


@dataclass
class PublishReport:
    """What a publish did."""

    repo_id: str
    url: str
    commit_url: str
    files: list[str]
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Return the human summary printed at the end of a publish."""
        lines = [
            f"Published {len(self.files)} files to {self.url} ({self.commit_url}).",
            "Load it with:",
            *(
                f"  load_dataset({self.repo_id!r}, {config!r})"
                for config in ("interleaved", "simple")
            ),
        ]
        return "\n".join([*self.notes, *lines])


def resolve_token(token: str | None = None) -> str:
    """Return ``token``, else ``HF_TOKEN``, else the stored login's token.

    Raises:
        InvalidArgumentError: if there is none, saying how to get one.

    """
    found = token or get_token()
    remember_secret(found)
    if not found:
        raise InvalidArgumentError(
            "no Hugging Face token: set HF_TOKEN to a token with write access "
            "(https://huggingface.co/settings/tokens) or log in with 'hf auth login'"
        )
    return found


def check_repo_id(repo_id: str) -> str:
    """Return ``repo_id`` if it is a valid Hub repository id (``<namespace>/<name>``).

    Raises:
        InvalidArgumentError: naming the expected form.

    """
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise InvalidArgumentError(f"--repo-id {repo_id!r} is not valid: {error}") from None
    return repo_id


def check_online() -> None:
    """Refuse to publish in huggingface_hub's offline mode (``HF_HUB_OFFLINE``), before any work.

    Raises:
        InvalidArgumentError: naming the variable and the fix.

    """
    if constants.HF_HUB_OFFLINE:
        raise InvalidArgumentError(
            "publishing needs the Hub, but HF_HUB_OFFLINE is set (huggingface_hub's offline "
            "mode): rerun with HF_HUB_OFFLINE unset (or HF_HUB_OFFLINE=0)"
        )


@contextmanager
def _hub_progress_bars(enabled: bool) -> Iterator[None]:
    """Hide huggingface_hub's progress bars while uploading, unless ``enabled``."""
    if enabled or are_progress_bars_disabled():
        yield
        return
    disable_progress_bars()
    try:
        yield
    finally:
        enable_progress_bars()


def upload_exported_folder(
    folder: Path,
    repo_id: str,
    *,
    token: str,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    progress: bool = False,
) -> PublishReport:
    """Check ``folder`` against its manifest and upload exactly the files it lists.

    Raises:
        InvalidInputError: if the folder does not match its manifest.
        InvalidArgumentError: for an invalid ``repo_id``.
        AtariInterleavedError: if the Hub refuses a request or cannot be reached (the
            message names the endpoint and says why; token values are redacted).

    """
    check_online()
    report = verify(folder)
    if not report.ok:
        raise InvalidInputError(
            report.summary() + "\nExport the frame tree again, or restore the changed files."
        )
    manifest = read_manifest(folder)
    files = sorted([*manifest["files"], MANIFEST_NAME])
    notes = []
    exported_for = manifest["generation"].get("export", {}).get("repo_id")
    if exported_for != repo_id:
        notes.append(
            f"note: README.md's loading examples name {exported_for or 'a placeholder repo'!r}, "
            f"not {repo_id!r}; export with --repo-id {repo_id} to change them."
        )
    check_repo_id(repo_id)
    api = HfApi(token=token)
    try:
        url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        if revision is not None and not revision.startswith("refs/pr/"):
            # As datasets' push_to_hub does (a pull request's ref cannot be created).
            api.create_branch(url.repo_id, branch=revision, repo_type="dataset", exist_ok=True)
        with _hub_progress_bars(progress):
            commit = api.upload_folder(
                repo_id=url.repo_id,
                folder_path=folder,
                repo_type="dataset",
                revision=revision,
                commit_message=commit_message or "Upload dataset with atari-interleaved",
                allow_patterns=files,
                delete_patterns=REPLACED_PATTERNS,
            )
    except HfHubHTTPError as error:
        raise AtariInterleavedError(
            f"publishing to {repo_id!r} failed: the Hub at {api.endpoint} answered "
            f"{redact(str(error), [token])}. Check the token's write access; rerun the same "
            "command to resume (files already uploaded are not sent again)."
        ) from None
    except network_errors() as error:
        raise AtariInterleavedError(
            f"publishing to {repo_id!r} failed: cannot reach the Hub at {api.endpoint}"
            f"{endpoint_origin()} ({error_text(error, [token])}). "
            "Check the network, proxy settings and HF_ENDPOINT, then rerun the same command."
        ) from None
    return PublishReport(
        repo_id=url.repo_id,
        url=str(url),
        commit_url=commit.commit_url,
        files=files,
        notes=notes,
    )


def publish(
    input_path: str | os.PathLike[str],
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
    num_proc: int = 1,
    on_bad_episodes: OnBadEpisodes = "error",
    progress: bool = False,
    split_plan: SplitPlan = DEFAULT_PLAN,
    storage_options: Mapping[str, Any] | None = None,
) -> PublishReport:
    """Publish an exported folder or a frame tree to the Hub dataset repository ``repo_id``.

    Args:
        input_path: a folder written by ``export``, or a frame tree or direct folder
            (exported to a temporary folder under ``TMPDIR`` first).
        repo_id: ``<namespace>/<name>``.
        private: create the repository private (an existing one keeps its visibility).
        token: a Hub token; ``HF_TOKEN`` or the stored login if None.
        revision: the branch to commit to, created from the default branch if missing (the
            default branch if None).
        commit_message: the commit's title.
        max_shard_bytes: shard size when exporting a frame tree (a direct folder keeps
            its shards).
        num_proc: processes reading episodes when exporting a frame tree.
        on_bad_episodes: ``"error"`` or ``"skip"`` when exporting a frame tree.
        progress: show progress bars while exporting and uploading.
        split_plan: the held-out splits when exporting (an exported folder has its own).
        storage_options: the fsspec options of an object store URL given as ``input_path``
            (``s3://bucket/run``, downloaded into a temporary folder first).

    Raises:
        InvalidArgumentError: in offline mode (``HF_HUB_OFFLINE``), without a token or for an
            invalid ``repo_id``.
        InvalidInputError: for a bad input (tree or folder).
        AtariInterleavedError: if the Hub refuses a request or cannot be reached.

    """
    check_online()
    token = resolve_token(token)
    check_repo_id(repo_id)
    with local_copy(input_path, "--input-dir", storage_options) as source:
        kind = require_folder_kind(source, "--input-dir")
        options = {"token": token, "private": private, "revision": revision, "progress": progress}
        if kind == "exported":
            if not split_plan.is_default:
                raise InvalidArgumentError(
                    f"--splits/--test-games cannot re-split {str(source)!r}, which is already "
                    "exported; export the frame tree again with them, or leave them out"
                )
            return upload_exported_folder(source, repo_id, commit_message=commit_message, **options)
        with tempfile.TemporaryDirectory(prefix="atari-interleaved-publish-") as work:
            folder = Path(work) / repo_id.rsplit("/", 1)[-1]
            export(
                source,
                folder,
                repo_id=repo_id,
                max_shard_bytes=max_shard_bytes,
                num_proc=num_proc,
                on_bad_episodes=on_bad_episodes,
                progress=progress,
                split_plan=split_plan,
            )
            return upload_exported_folder(folder, repo_id, commit_message=commit_message, **options)
