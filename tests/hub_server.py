"""In-process fake of the Hugging Face Hub HTTP API, for offline tests.

The server speaks the subset of the Hub protocol that ``huggingface_hub`` 2.4 and ``datasets``
5.2 use to publish a repository and to load it back (with ``HF_HUB_DISABLE_XET=1``, i.e. the
legacy LFS upload path). ``{type}s`` is ``models``, ``datasets`` or ``spaces``; ``{prefix}`` is
``datasets/``, ``spaces/`` or empty:

* ``GET  /api/whoami-v2`` and ``GET /api/agent-harnesses`` (user-agent helper, served empty)
* ``POST /api/repos/create``, ``DELETE /api/repos/delete``
* ``GET  /api/{type}s/{ns}/{name}[/revision/{rev}]`` (``?blobs=true``)
* ``PUT  /api/{type}s/{ns}/{name}/settings``
* ``POST /api/validate-yaml``
* ``POST /api/{type}s/{ns}/{name}/preupload/{rev}``
* ``POST /{prefix}{ns}/{name}.git/info/lfs/objects/batch``
* ``PUT``/``POST`` on the upload / verify / multipart URLs returned by the batch endpoint
  (served under ``/_lfs/``)
* ``POST /api/{type}s/{ns}/{name}/commit/{rev}`` (NDJSON: ``header``, ``file``, ``lfsFile``,
  ``deletedFile``, ``deletedFolder``; ``?create_pr=1``)
* ``GET  /api/{type}s/{ns}/{name}/tree/{rev}[/{path}]`` (``recursive``, ``expand``, and
  ``limit``/``cursor`` pagination with a ``Link: <...>; rel="next"`` header)
* ``POST /api/{type}s/{ns}/{name}/paths-info/{rev}`` (form-encoded or JSON ``paths`` / ``expand``)
* ``GET  /api/{type}s/{ns}/{name}/refs``, ``GET .../commits/{rev}``,
  ``POST|DELETE .../branch/{branch}``, ``POST .../tag/{rev}``, ``DELETE .../tag/{tag}``
* ``GET``/``HEAD /{prefix}{ns}/{name}/resolve/{rev}/{path}`` with single ``Range`` requests,
  ``ETag``, ``X-Repo-Commit``, ``Content-Length``, ``Accept-Ranges`` and, for LFS files,
  ``X-Linked-Etag`` / ``X-Linked-Size``

Everything else answers 404 (e.g. the Parquet-conversion endpoints). Errors carry the
``X-Error-Code`` / ``X-Error-Message`` headers that ``huggingface_hub.utils.hf_raise_for_status``
maps to typed exceptions (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``).

Repository metadata lives in memory; file contents are stored content-addressed (by sha256) under
a temporary directory. Only the standard library is used.
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import hashlib
import json
import math
import os
import secrets
import tempfile
import threading
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

__all__ = ["DEFAULT_GITATTRIBUTES", "HubServer", "start_hub_server"]

#: Content of the ``.gitattributes`` committed when a repository is created (as the Hub does).
#: Its ``filter=lfs`` patterns decide which files the preupload endpoint sends through LFS.
DEFAULT_GITATTRIBUTES = """\
*.7z filter=lfs diff=lfs merge=lfs -text
*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.bz2 filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.lz4 filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.pickle filter=lfs diff=lfs merge=lfs -text
*.pkl filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pth filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
*.tar filter=lfs diff=lfs merge=lfs -text
*.tar.* filter=lfs diff=lfs merge=lfs -text
*.tgz filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
*.zst filter=lfs diff=lfs merge=lfs -text
"""

_REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
_WEB_PREFIXES = {"datasets": "dataset", "spaces": "space"}
_URL_PREFIXES = {"model": "", "dataset": "datasets/", "space": "spaces/"}
_LFS_CONTENT_TYPE = "application/vnd.git-lfs+json"
_COPY_CHUNK = 1024 * 1024
_HEX = frozenset("0123456789abcdef")


def _now_iso() -> str:
    """Return the current UTC time in the Hub's ``%Y-%m-%dT%H:%M:%S.%fZ`` (milliseconds) format."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _git_blob_oid(data: bytes) -> str:
    r"""Return the git object id (sha1 of ``blob <size>\0<data>``) of ``data``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _lfs_pointer(sha256: str, size: int) -> bytes:
    """Return the git-lfs pointer file that git stores in place of an LFS file."""
    return (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()
    )


def _is_true(value: str | None) -> bool:
    """Interpret a query-string / form boolean (``1``, ``true``, ``yes``, ...)."""
    return value is not None and value.strip().lower() in {"1", "true", "yes", "on"}


def _is_hex(value: str) -> bool:
    """Return whether ``value`` is a non-empty lowercase/uppercase hexadecimal string."""
    return bool(value) and set(value.lower()) <= _HEX


class HubError(Exception):
    """An error answered as JSON, with the Hub's ``X-Error-Code`` / ``X-Error-Message`` headers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Build an error from an HTTP ``status``, a ``message`` and a Hub error ``code``."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class FileEntry:
    """One file of a commit snapshot. Contents live in the object store under ``sha256``."""

    sha256: str
    size: int
    lfs: bool
    git_oid: str
    pointer_size: int | None = None

    @property
    def etag(self) -> str:
        """Name of the blob in the client cache (sha256 for LFS files, git oid otherwise)."""
        return self.sha256 if self.lfs else self.git_oid


@dataclass
class Commit:
    """A commit: a full snapshot of the repository files plus its metadata."""

    oid: str
    parents: list[str]
    title: str
    message: str
    date: str
    author: str
    files: dict[str, FileEntry]


@dataclass
class Repo:
    """A repository: its commits, branches (``refs/pr/N`` included) and tags."""

    repo_type: str
    repo_id: str
    private: bool
    created_at: str
    object_id: str
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    pr_count: int = 0

    @property
    def url_path(self) -> str:
        """Web path of the repo (``datasets/ns/name``, ``ns/name`` for models)."""
        return f"{_URL_PREFIXES[self.repo_type]}{self.repo_id}"


class ObjectStore:
    """Content-addressed (sha256) file store on disk."""

    def __init__(self, root: Path) -> None:
        """Store objects under ``root`` (created if missing)."""
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)

    def path(self, sha256: str) -> Path:
        """Return the path of the object ``sha256`` (which may not exist)."""
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        """Return whether the object ``sha256`` is stored."""
        return _is_hex(sha256) and len(sha256) == 64 and self.path(sha256).is_file()

    def size(self, sha256: str) -> int:
        """Return the size of a stored object."""
        return self.path(sha256).stat().st_size

    def open(self, sha256: str) -> BinaryIO:
        """Open a stored object for reading."""
        return self.path(sha256).open("rb")

    def read(self, sha256: str) -> bytes:
        """Return the content of a stored object."""
        return self.path(sha256).read_bytes()

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` and return its sha256."""
        sha256, _ = self.put_stream([data])
        return sha256

    def put_stream(
        self,
        chunks: Iterable[bytes],
        *,
        expected_sha256: str | None = None,
        expected_size: int | None = None,
    ) -> tuple[str, int]:
        """Store chunks, checking the optional expected hash and size; return ``(sha256, size)``."""
        hasher = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root / "tmp")
        try:
            with os.fdopen(fd, "wb") as tmp:
                for chunk in chunks:
                    hasher.update(chunk)
                    size += len(chunk)
                    tmp.write(chunk)
            sha256 = hasher.hexdigest()
            if expected_sha256 is not None and sha256 != expected_sha256.lower():
                raise HubError(
                    400, f"Uploaded content has sha256 {sha256}, expected {expected_sha256}"
                )
            if expected_size is not None and size != expected_size:
                raise HubError(400, f"Uploaded content has size {size}, expected {expected_size}")
            target = self.path(sha256)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, target)
            return sha256, size
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)


def _gitattributes_lfs_patterns(content: str) -> list[str]:
    """Return the patterns of a ``.gitattributes`` file that are tracked with ``filter=lfs``."""
    patterns = []
    for line in content.splitlines():
        parts = line.strip().split()
        if parts and not parts[0].startswith("#") and "filter=lfs" in parts[1:]:
            patterns.append(parts[0])
    return patterns


def _matches_gitattributes(path: str, patterns: list[str]) -> bool:
    """Return whether ``path`` matches a ``.gitattributes`` pattern (``fnmatch``)."""
    basename = path.rsplit("/", 1)[-1]
    for pattern in patterns:
        anchored = pattern.lstrip("/")
        if "/" in anchored:
            if fnmatch.fnmatchcase(path, anchored) or fnmatch.fnmatchcase(
                path, anchored.replace("**/", "")
            ):
                return True
        elif fnmatch.fnmatchcase(basename, anchored):
            return True
    return False


def _directories(files: Iterable[str]) -> set[str]:
    """Return every (non-root) directory containing one of ``files``."""
    dirs: set[str] = set()
    for path in files:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return dirs


def _parent(path: str) -> str:
    """Return the parent directory of a repo path (``""`` for the root)."""
    return path.rsplit("/", 1)[0] if "/" in path else ""


def _under(path: str, directory: str) -> bool:
    """Return whether ``path`` is inside ``directory`` (``""`` is the root)."""
    return not directory or path.startswith(directory + "/")


class HubServer:
    """A running fake Hub: ``url`` is the endpoint for ``HF_ENDPOINT``; ``stop()`` shuts it down.

    Attributes:
        url: Base URL (``http://127.0.0.1:<port>``), without trailing slash.
        user: Name returned by ``whoami``; namespace of ``create_repo`` calls without one.
        requests: Log of ``(method, path, status)`` for every request served.
        errors: Tracebacks of unexpected server-side exceptions (answered with HTTP 500).
        lfs_threshold: Files at least this big are sent through LFS whatever their name.
        lfs_multipart_chunk_size: If set, bigger LFS objects use the multipart upload protocol.
        tree_page_size / tree_expand_page_size: Tree listing page sizes (Hub: 1000 and 50).
        echo_proxy_error: If set, every request is answered with this HTTP status and a body
            echoing the request's ``Authorization`` header, as a misconfigured proxy does.

    """

    def __init__(
        self,
        storage_dir: str | os.PathLike[str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        user: str = "test-user",
        lfs_threshold: int = 10 * 1024 * 1024,
        lfs_multipart_chunk_size: int | None = None,
        tree_page_size: int = 1000,
        tree_expand_page_size: int = 50,
    ) -> None:
        """Bind the server (``port=0`` picks a free port); call ``start()`` to serve."""
        self.store = ObjectStore(Path(storage_dir) / "objects")
        self.user = user
        self.lfs_threshold = lfs_threshold
        self.lfs_multipart_chunk_size = lfs_multipart_chunk_size
        self.tree_page_size = tree_page_size
        self.tree_expand_page_size = tree_expand_page_size
        self.echo_proxy_error: int | None = None
        self.requests: list[tuple[str, str, int]] = []
        self.errors: list[str] = []
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lock = threading.RLock()
        self.upload_secret = secrets.token_hex(16)
        self._multipart_dir = Path(storage_dir) / "multipart"
        self._multipart_dir.mkdir(parents=True, exist_ok=True)
        self._commit_counter = 0
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.hub = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None
        bound_host, bound_port = self._httpd.server_address[:2]
        self.host = str(bound_host)
        self.port = int(bound_port)
        self.url = f"http://{self.host}:{self.port}"

    # --- lifecycle ---

    def start(self) -> HubServer:
        """Serve requests in a background daemon thread and return ``self``."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="hub-server",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket (idempotent)."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> HubServer:
        """Start the server when used as a context manager."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server at the end of the ``with`` block."""
        self.stop()

    # --- test helpers ---

    def get_repo(self, repo_id: str, repo_type: str = "dataset") -> Repo:
        """Return a repository (``KeyError`` if missing)."""
        with self.lock:
            return self.repos[(repo_type, repo_id)]

    def read_file(
        self, repo_id: str, path: str, *, repo_type: str = "dataset", revision: str = "main"
    ) -> bytes:
        """Return the content of ``path`` at ``revision`` (raises ``HubError`` if missing)."""
        with self.lock:
            repo = self._repo(repo_type, repo_id)
            entry = self._resolve_commit(repo, revision).files.get(path)
        if entry is None:
            raise HubError(404, f"{path} not found", code="EntryNotFound")
        return self.store.read(entry.sha256)

    def list_files(
        self, repo_id: str, *, repo_type: str = "dataset", revision: str = "main"
    ) -> list[str]:
        """Return the sorted file paths of a repository at ``revision``."""
        with self.lock:
            return sorted(self._resolve_commit(self._repo(repo_type, repo_id), revision).files)

    # --- repo model ---

    def _repo(self, repo_type: str, repo_id: str) -> Repo:
        """Return a repository or raise ``RepoNotFound``."""
        repo = self.repos.get((repo_type, repo_id))
        if repo is None:
            raise HubError(404, f"Repository {repo_type}s/{repo_id} not found", code="RepoNotFound")
        return repo

    def _resolve_commit(self, repo: Repo, revision: str) -> Commit:
        """Resolve a branch, tag, ``refs/pr/N`` or commit oid; else raise ``RevisionNotFound``."""
        oid = repo.branches.get(revision) or repo.tags.get(revision)
        if oid is None and revision.startswith("refs/heads/"):
            oid = repo.branches.get(revision[len("refs/heads/") :])
        if oid is None and revision.startswith("refs/tags/"):
            oid = repo.tags.get(revision[len("refs/tags/") :])
        if oid is None and _is_hex(revision) and len(revision) >= 7:
            matches = [c for c in repo.commits if c.startswith(revision.lower())]
            oid = matches[0] if len(matches) == 1 else None
        if oid is None:
            raise HubError(404, f"Invalid rev id: {revision}", code="RevisionNotFound")
        return repo.commits[oid]

    def _new_commit(
        self,
        repo: Repo,
        parent: Commit | None,
        files: dict[str, FileEntry],
        title: str,
        message: str,
    ) -> Commit:
        """Create (and register) a commit with a fresh 40-hex oid."""
        self._commit_counter += 1
        parent_oid = parent.oid if parent else ""
        seed = f"{repo.repo_id}\n{parent_oid}\n{time.time_ns()}\n{self._commit_counter}\n{title}"
        oid = hashlib.sha1(seed.encode()).hexdigest()
        commit = Commit(
            oid=oid,
            parents=[parent.oid] if parent else [],
            title=title,
            message=message,
            date=_now_iso(),
            author=self.user,
            files=files,
        )
        repo.commits[oid] = commit
        return commit

    def _regular_entry(self, data: bytes) -> FileEntry:
        """Store ``data`` as a regular (non-LFS) git file."""
        sha256 = self.store.put_bytes(data)
        return FileEntry(sha256=sha256, size=len(data), lfs=False, git_oid=_git_blob_oid(data))

    def _lfs_entry(self, sha256: str, size: int) -> FileEntry:
        """Describe an already-uploaded LFS object as a file entry."""
        pointer = _lfs_pointer(sha256, size)
        return FileEntry(
            sha256=sha256,
            size=size,
            lfs=True,
            git_oid=_git_blob_oid(pointer),
            pointer_size=len(pointer),
        )

    def create_repo(self, repo_type: str, repo_id: str, *, private: bool = False) -> Repo:
        """Create a repo whose first commit holds ``.gitattributes`` (409 if it exists)."""
        with self.lock:
            if (repo_type, repo_id) in self.repos:
                raise HubError(409, f"You already created this {repo_type} repo: {repo_id}")
            repo = Repo(
                repo_type=repo_type,
                repo_id=repo_id,
                private=private,
                created_at=_now_iso(),
                object_id=secrets.token_hex(12),
            )
            files = {".gitattributes": self._regular_entry(DEFAULT_GITATTRIBUTES.encode())}
            commit = self._new_commit(repo, None, files, "initial commit", "")
            repo.branches["main"] = commit.oid
            self.repos[(repo_type, repo_id)] = repo
            return repo

    def _lfs_patterns(self, commit: Commit) -> list[str]:
        """Return the ``filter=lfs`` patterns of the ``.gitattributes`` of ``commit``."""
        gitattributes = commit.files.get(".gitattributes")
        if gitattributes is None:
            return []
        content = self.store.read(gitattributes.sha256).decode("utf-8", "replace")
        return _gitattributes_lfs_patterns(content)

    def _upload_mode(self, patterns: list[str], path: str, size: int, sample: bytes) -> str:
        """Decide ``lfs``/``regular`` like the Hub: ``.gitattributes``, size, binary sample."""
        if size == 0:
            return "regular"
        if _matches_gitattributes(path, patterns) or size >= self.lfs_threshold or b"\0" in sample:
            return "lfs"
        return "regular"

    def _last_commit(self, repo: Repo, head: Commit, path: str, is_dir: bool) -> Commit:
        """Return the latest first-parent commit that changed ``path`` (or a file below it)."""

        def snapshot(commit: Commit) -> dict[str, FileEntry]:
            if not is_dir:
                entry = commit.files.get(path)
                return {path: entry} if entry is not None else {}
            return {p: e for p, e in commit.files.items() if _under(p, path)}

        current = head
        while current.parents:
            parent = repo.commits[current.parents[0]]
            if snapshot(current) != snapshot(parent):
                return current
            current = parent
        return current

    def _tree_entry(self, repo: Repo, commit: Commit, path: str, *, expand: bool) -> dict[str, Any]:
        """Return the ``tree`` / ``paths-info`` JSON of a file or directory of ``commit``."""
        entry = commit.files.get(path)
        out: dict[str, Any]
        if entry is not None:
            out = {"type": "file", "oid": entry.git_oid, "size": entry.size, "path": path}
            if entry.lfs:
                out["lfs"] = {
                    "oid": entry.sha256,
                    "size": entry.size,
                    "pointerSize": entry.pointer_size,
                }
        else:
            listing = "\n".join(
                f"{p} {e.git_oid}" for p, e in sorted(commit.files.items()) if _under(p, path)
            )
            tree_oid = hashlib.sha1(listing.encode()).hexdigest()
            out = {"type": "directory", "oid": tree_oid, "size": 0, "path": path}
        if expand:
            last = self._last_commit(repo, commit, path, is_dir=entry is None)
            out["lastCommit"] = {"id": last.oid, "title": last.title, "date": last.date}
        return out


# ======================================================================= request handler


class _Handler(BaseHTTPRequestHandler):
    """Routes one HTTP request to the fake Hub (one handler instance per connection)."""

    protocol_version = "HTTP/1.1"
    server_version = "FakeHub/1.0"
    timeout = 120

    # --- plumbing ---

    @property
    def hub(self) -> HubServer:
        """The ``HubServer`` this handler serves."""
        return self.server.hub  # type: ignore[attr-defined, no-any-return]

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stderr access log (requests are recorded in ``HubServer.requests``)."""

    def do_GET(self) -> None:
        """Handle a GET request."""
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        """Handle a HEAD request."""
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        """Handle a POST request."""
        self._dispatch("POST")

    def do_PUT(self) -> None:
        """Handle a PUT request."""
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        """Handle a DELETE request."""
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        """Parse the URL, route the request, and turn exceptions into Hub-style error responses."""
        self._method = method
        self._body_consumed = False
        self._headers_sent = False
        self._status = 0
        split = urlsplit(self.path)
        self._query = {k: v for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        segments = [unquote(s) for s in split.path.split("/")[1:]]
        if segments and segments[-1] == "":
            segments = segments[:-1]
        try:
            if self.hub.echo_proxy_error is not None:
                echoed = self.headers.get("Authorization")
                raise HubError(self.hub.echo_proxy_error, f"proxy error; Authorization: {echoed}")
            self._route(method, segments)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (e.g. closed a streamed file)
        except HubError as err:
            if self._headers_sent:
                self.hub.errors.append(f"{err.status} after the response started: {err.message}")
                self.close_connection = True
            else:
                self._send_error(err)
        except Exception:  # noqa: BLE001 - reported to the tests via `HubServer.errors`
            tb = traceback.format_exc()
            self.hub.errors.append(tb)
            if self._headers_sent:
                self.close_connection = True
            else:
                self._send_error(HubError(500, f"Internal error in fake Hub:\n{tb}"))
        finally:
            if not self._body_consumed:
                with contextlib.suppress(Exception):
                    for _ in self._iter_body():
                        pass
            self.hub.requests.append((method, self.path, self._status))

    def _q(self, name: str) -> str | None:
        """Return the last value of a query parameter."""
        values = self._query.get(name)
        return values[-1] if values else None

    def _base_url(self) -> str:
        """Absolute base URL as seen by the client (from the ``Host`` header)."""
        host = self.headers.get("Host")
        return f"http://{host}" if host else self.hub.url

    def _iter_body(self) -> Iterator[bytes]:
        """Yield the request body (``Content-Length`` or ``Transfer-Encoding: chunked``)."""
        self._body_consumed = True
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    return
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                remaining = size
                while remaining:
                    chunk = self.rfile.read(min(remaining, _COPY_CHUNK))
                    if not chunk:
                        return
                    remaining -= len(chunk)
                    yield chunk
                self.rfile.readline(3)
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, _COPY_CHUNK))
                if not chunk:
                    return
                remaining -= len(chunk)
                yield chunk

    def _body(self) -> bytes:
        """Return the whole request body."""
        return b"".join(self._iter_body())

    def _json_body(self) -> Any:
        """Parse the request body as JSON (400 on malformed input)."""
        raw = self._body()
        try:
            return json.loads(raw or b"{}")
        except ValueError as err:
            raise HubError(400, f"Malformed JSON body: {err}") from err

    def _form_or_json_body(self) -> dict[str, list[str]]:
        """Parse a form-encoded (or JSON) body into ``{key: [values]}``."""
        raw = self._body()
        if "json" in self.headers.get("Content-Type", ""):
            data = json.loads(raw or b"{}")
            return {
                k: [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in data.items()
            }
        return parse_qs(raw.decode(), keep_blank_values=True)

    def _send(
        self,
        status: int,
        body: bytes = b"",
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Send a complete response (always with ``Content-Length``; no body for HEAD)."""
        self._status = status
        self._headers_sent = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self._method != "HEAD" and body:
            self.wfile.write(body)

    def _send_json(
        self, payload: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        """Send a JSON response."""
        self._send(status, json.dumps(payload).encode(), headers=headers)

    def _send_error(self, err: HubError) -> None:
        """Send a Hub-style JSON error."""
        headers = dict(err.headers)
        first_line = err.message.splitlines()[0][:200] if err.message else ""
        headers["X-Error-Message"] = first_line.encode("ascii", "backslashreplace").decode()
        if err.code:
            headers["X-Error-Code"] = err.code
        self._send_json({"error": err.message}, status=err.status, headers=headers)

    def _require_auth(self) -> str:
        """Return the bearer token, or answer 401 without one (any non-empty token is valid)."""
        auth = self.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not token:
            raise HubError(401, "Invalid credentials in Authorization header")
        return token

    def _has_auth(self) -> bool:
        """Return whether the request carries a bearer token."""
        return self.headers.get("Authorization", "").lower().startswith("bearer ") and bool(
            self.headers.get("Authorization", "")[7:].strip()
        )

    def _readable_repo(self, repo_type: str, repo_id: str) -> Repo:
        """Return a repository the caller may read (private repos need a token)."""
        repo = self.hub._repo(repo_type, repo_id)
        if repo.private and not self._has_auth():
            raise HubError(404, f"Repository {repo_type}s/{repo_id} not found", code="RepoNotFound")
        return repo

    # --- routing ---

    def _route(self, method: str, seg: list[str]) -> None:
        """Dispatch on the path segments (already percent-decoded one by one)."""
        if seg[:1] == ["api"]:
            self._route_api(method, seg[1:])
            return
        if seg[:1] == ["_lfs"]:
            self._route_lfs(method, seg[1:])
            return
        repo_type = "model"
        if seg and seg[0] in _WEB_PREFIXES and len(seg) >= 3:
            repo_type = _WEB_PREFIXES[seg[0]]
            seg = seg[1:]
        if len(seg) >= 4 and seg[2] == "resolve" and method in ("GET", "HEAD"):
            self._resolve(repo_type, f"{seg[0]}/{seg[1]}", seg[3], "/".join(seg[4:]))
            return
        if (
            method == "POST"
            and len(seg) == 6
            and seg[1].endswith(".git")
            and seg[2:] == ["info", "lfs", "objects", "batch"]
        ):
            self._lfs_batch(repo_type, f"{seg[0]}/{seg[1][: -len('.git')]}")
            return
        raise HubError(404, f"Route not found: {method} {self.path}")

    def _route_api(self, method: str, seg: list[str]) -> None:
        """Dispatch ``/api/...`` routes."""
        if seg == ["whoami-v2"] and method == "GET":
            self._whoami()
        elif seg == ["agent-harnesses"] and method == "GET":
            self._send_json({"standardEnvVars": [], "harnesses": {}})
        elif seg == ["validate-yaml"] and method == "POST":
            self._validate_yaml()
        elif seg == ["repos", "create"] and method == "POST":
            self._create_repo()
        elif seg == ["repos", "delete"] and method == "DELETE":
            self._delete_repo()
        elif len(seg) >= 3 and seg[0] in _REPO_TYPES:
            repo_type, repo_id, rest = _REPO_TYPES[seg[0]], f"{seg[1]}/{seg[2]}", seg[3:]
            self._route_repo_api(method, repo_type, repo_id, rest)
        else:
            raise HubError(404, f"Route not found: {method} {self.path}")

    def _route_repo_api(self, method: str, repo_type: str, repo_id: str, rest: list[str]) -> None:
        """Dispatch ``/api/{type}s/{ns}/{name}/...`` routes."""
        action = rest[0] if rest else ""
        if not rest and method == "GET":
            self._repo_info(repo_type, repo_id, "main")
        elif action == "revision" and len(rest) == 2 and method == "GET":
            self._repo_info(repo_type, repo_id, rest[1])
        elif action == "preupload" and len(rest) == 2 and method == "POST":
            self._preupload(repo_type, repo_id, rest[1])
        elif action == "commit" and len(rest) == 2 and method == "POST":
            self._create_commit(repo_type, repo_id, rest[1])
        elif action == "tree" and len(rest) >= 2 and method == "GET":
            self._tree(repo_type, repo_id, rest[1], "/".join(rest[2:]))
        elif action == "paths-info" and len(rest) == 2 and method == "POST":
            self._paths_info(repo_type, repo_id, rest[1])
        elif action == "refs" and len(rest) == 1 and method == "GET":
            self._refs(repo_type, repo_id)
        elif action == "commits" and len(rest) == 2 and method == "GET":
            self._list_commits(repo_type, repo_id, rest[1])
        elif action == "branch" and len(rest) == 2 and method in ("POST", "DELETE"):
            self._branch(method, repo_type, repo_id, rest[1])
        elif action == "tag" and len(rest) == 2 and method in ("POST", "DELETE"):
            self._tag(method, repo_type, repo_id, rest[1])
        elif action == "settings" and len(rest) == 1 and method == "PUT":
            self._settings(repo_type, repo_id)
        else:
            raise HubError(404, f"Route not found: {method} {self.path}")

    # --- user & repos ---

    def _whoami(self) -> None:
        """``GET /api/whoami-v2``."""
        self._require_auth()
        self._send_json(
            {
                "type": "user",
                "id": hashlib.md5(self.hub.user.encode()).hexdigest()[:24],
                "name": self.hub.user,
                "fullname": self.hub.user,
                "email": f"{self.hub.user}@example.invalid",
                "emailVerified": True,
                "isPro": False,
                "canPay": False,
                "orgs": [],
                "auth": {
                    "type": "access_token",
                    "accessToken": {"displayName": "fake-hub", "role": "write"},
                },
            }
        )

    def _validate_yaml(self) -> None:
        """``POST /api/validate-yaml``: accept any content whose YAML front matter is closed."""
        payload = self._json_body()
        content = str(payload.get("content", ""))
        lines = content.splitlines()
        if (
            lines
            and lines[0].strip() == "---"
            and not any(line.strip() == "---" for line in lines[1:])
        ):
            self._send_json(
                {
                    "errors": [{"message": "YAML metadata block is not closed with '---'"}],
                    "warnings": [],
                },
                status=400,
            )
            return
        self._send_json({"errors": [], "warnings": []})

    def _repo_url(self, repo: Repo) -> str:
        """Web URL of a repository."""
        return f"{self._base_url()}/{repo.url_path}"

    def _create_repo(self) -> None:
        """``POST /api/repos/create`` (409 with the repo ``url`` if it already exists)."""
        self._require_auth()
        payload = self._json_body()
        name = payload.get("name")
        if not isinstance(name, str) or not name or "/" in name:
            raise HubError(400, "Invalid repo name")
        namespace = payload.get("organization") or self.hub.user
        repo_type = payload.get("type") or "model"
        if repo_type not in _URL_PREFIXES:
            raise HubError(400, f"Invalid repo type: {repo_type}")
        repo_id = f"{namespace}/{name}"
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        try:
            repo = self.hub.create_repo(repo_type, repo_id, private=private)
        except HubError as err:
            if err.status != 409:
                raise
            url = f"{self._base_url()}/{_URL_PREFIXES[repo_type]}{repo_id}"
            self._send_json(
                {"error": err.message, "url": url},
                status=409,
                headers={"X-Error-Message": err.message},
            )
            return
        self._send_json({"url": self._repo_url(repo), "name": repo_id, "id": repo.object_id})

    def _delete_repo(self) -> None:
        """``DELETE /api/repos/delete``."""
        self._require_auth()
        payload = self._json_body()
        repo_id = f"{payload.get('organization') or self.hub.user}/{payload.get('name')}"
        repo_type = payload.get("type") or "model"
        with self.hub.lock:
            self.hub._repo(repo_type, repo_id)
            del self.hub.repos[(repo_type, repo_id)]
        self._send(200, b"")

    def _settings(self, repo_type: str, repo_id: str) -> None:
        """``PUT /api/{type}s/{repo}/settings`` (only ``private`` / ``visibility`` are kept)."""
        self._require_auth()
        payload = self._json_body()
        with self.hub.lock:
            repo = self.hub._repo(repo_type, repo_id)
            if "private" in payload and payload["private"] is not None:
                repo.private = bool(payload["private"])
            if payload.get("visibility") in ("public", "private"):
                repo.private = payload["visibility"] == "private"
        self._send_json({})

    def _repo_info(self, repo_type: str, repo_id: str, revision: str) -> None:
        """``GET /api/{type}s/{repo}[/revision/{rev}]`` (``?blobs=true``: sizes and LFS info)."""
        blobs = _is_true(self._q("blobs"))
        with self.hub.lock:
            repo = self._readable_repo(repo_type, repo_id)
            commit = self.hub._resolve_commit(repo, revision)
            siblings = []
            for path, entry in sorted(commit.files.items()):
                sibling: dict[str, Any] = {"rfilename": path}
                if blobs:
                    sibling.update({"size": entry.size, "blobId": entry.git_oid})
                    if entry.lfs:
                        sibling["lfs"] = {
                            "size": entry.size,
                            "sha256": entry.sha256,
                            "pointerSize": entry.pointer_size,
                        }
                siblings.append(sibling)
            info: dict[str, Any] = {
                "_id": repo.object_id,
                "id": repo_id,
                "author": repo_id.split("/")[0],
                "sha": commit.oid,
                "lastModified": commit.date,
                "createdAt": repo.created_at,
                "private": repo.private,
                "gated": False,
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "siblings": siblings,
                "usedStorage": sum(e.size for e in commit.files.values()),
            }
            if repo_type == "model":
                info["modelId"] = repo_id
        self._send_json(info)

    # --- upload ---

    def _preupload(self, repo_type: str, repo_id: str, revision: str) -> None:
        """``POST /api/{type}s/{repo}/preupload/{rev}``: upload mode + remote oid of each file."""
        self._require_auth()
        payload = self._json_body()
        files = payload.get("files")
        if not isinstance(files, list):
            raise HubError(400, "Missing 'files'")
        out = []
        with self.hub.lock:
            repo = self.hub._repo(repo_type, repo_id)
            commit = self.hub._resolve_commit(repo, revision)
            patterns = self.hub._lfs_patterns(commit)
            for item in files:
                path = str(item["path"])
                sample = base64.b64decode(item.get("sample") or "")
                mode = self.hub._upload_mode(patterns, path, int(item.get("size") or 0), sample)
                existing = commit.files.get(path)
                oid = None
                if existing is not None:
                    oid = existing.sha256 if existing.lfs else existing.git_oid
                out.append({"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": oid})
            head = commit.oid
        self._send_json({"files": out, "commitOid": head})

    def _lfs_batch(self, repo_type: str, repo_id: str) -> None:
        """``POST /{prefix}{repo}.git/info/lfs/objects/batch`` (``upload`` and ``download``)."""
        self._require_auth()
        payload = self._json_body()
        operation = payload.get("operation")
        with self.hub.lock:
            self.hub._repo(repo_type, repo_id)
        base = self._base_url()
        token = self.hub.upload_secret
        objects = []
        for obj in payload.get("objects") or []:
            oid, size = str(obj.get("oid", "")).lower(), obj.get("size")
            if not (_is_hex(oid) and len(oid) == 64 and isinstance(size, int) and size >= 0):
                objects.append(
                    {
                        "oid": oid,
                        "size": size if isinstance(size, int) else 0,
                        "error": {"code": 422, "message": "Invalid oid or size"},
                    }
                )
                continue
            present = self.hub.store.has(oid)
            if operation == "download":
                if not present:
                    objects.append(
                        {
                            "oid": oid,
                            "size": size,
                            "error": {"code": 404, "message": "Object not found"},
                        }
                    )
                else:
                    objects.append(
                        {
                            "oid": oid,
                            "size": size,
                            "authenticated": True,
                            "actions": {
                                "download": {"href": f"{base}/_lfs/objects/{oid}", "header": {}}
                            },
                        }
                    )
                continue
            if present:
                objects.append({"oid": oid, "size": size})
                continue
            query = urlencode({"size": size, "token": token})
            upload: dict[str, Any] = {"href": f"{base}/_lfs/upload/{oid}?{query}", "header": {}}
            chunk_size = self.hub.lfs_multipart_chunk_size
            if chunk_size is not None and size > chunk_size:
                upload["href"] = f"{base}/_lfs/complete/{oid}?{query}"
                header: dict[str, str] = {"chunk_size": str(chunk_size)}
                for part in range(1, math.ceil(size / chunk_size) + 1):
                    header[str(part)] = (
                        f"{base}/_lfs/part/{oid}/{part}?{urlencode({'token': token})}"
                    )
                upload["header"] = header
            verify = {
                "href": f"{base}/_lfs/verify/{_URL_PREFIXES[repo_type]}{repo_id}",
                "header": {},
            }
            objects.append(
                {
                    "oid": oid,
                    "size": size,
                    "authenticated": True,
                    "actions": {"upload": upload, "verify": verify},
                }
            )
        self._send(
            200,
            json.dumps({"transfer": "basic", "objects": objects, "hash_algo": "sha256"}).encode(),
            content_type=_LFS_CONTENT_TYPE,
        )

    def _route_lfs(self, method: str, seg: list[str]) -> None:
        """Serve the upload / multipart / verify / download URLs given by the batch endpoint."""
        if seg[:1] == ["objects"] and len(seg) == 2 and method in ("GET", "HEAD"):
            if not self.hub.store.has(seg[1]):
                raise HubError(404, "Object not found")
            with self.hub.store.open(seg[1]) as fh:
                self._send(200, fh.read(), content_type="application/octet-stream")
            return
        if seg[:1] == ["verify"] and method == "POST":
            self._require_auth()
            payload = self._json_body()
            oid = str(payload.get("oid", ""))
            if not self.hub.store.has(oid) or self.hub.store.size(oid) != payload.get("size"):
                raise HubError(404, f"LFS object {oid} not found or size mismatch")
            self._send_json({"success": True})
            return
        if self._q("token") != self.hub.upload_secret:
            raise HubError(403, "Invalid or missing upload token")
        if len(seg) < 2 or not (_is_hex(seg[1]) and len(seg[1]) == 64):
            raise HubError(400, f"Invalid LFS oid in {self.path}")
        if seg[:1] == ["upload"] and len(seg) == 2 and method == "PUT":
            size = self._q("size")
            self.hub.store.put_stream(
                self._iter_body(),
                expected_sha256=seg[1],
                expected_size=int(size) if size is not None else None,
            )
            self._send(200, b"", headers={"ETag": f'"{seg[1]}"'})
        elif seg[:1] == ["part"] and len(seg) == 3 and method == "PUT":
            oid, part = seg[1], int(seg[2])
            data = self._body()
            part_dir = self.hub._multipart_dir / oid
            part_dir.mkdir(parents=True, exist_ok=True)
            (part_dir / f"{part:06d}").write_bytes(data)
            self._send(200, b"", headers={"ETag": f'"{hashlib.md5(data).hexdigest()}"'})
        elif seg[:1] == ["complete"] and len(seg) == 2 and method == "POST":
            oid = seg[1]
            payload = self._json_body()
            part_dir = self.hub._multipart_dir / oid
            numbers = [int(p["partNumber"]) for p in payload.get("parts", [])]
            if payload.get("oid") != oid or numbers != list(range(1, len(numbers) + 1)):
                raise HubError(400, "Malformed multipart completion payload")
            paths = [part_dir / f"{n:06d}" for n in numbers]
            if not all(p.is_file() for p in paths):
                raise HubError(400, "Missing uploaded parts")
            size = self._q("size")
            self.hub.store.put_stream(
                (p.read_bytes() for p in paths),
                expected_sha256=oid,
                expected_size=int(size) if size is not None else None,
            )
            for p in paths:
                p.unlink()
            self._send_json({"success": True})
        else:
            raise HubError(404, f"Route not found: {method} {self.path}")

    def _create_commit(self, repo_type: str, repo_id: str, revision: str) -> None:
        """``POST /api/{type}s/{repo}/commit/{rev}``, NDJSON body (``?create_pr=1`` opens a PR)."""
        self._require_auth()
        raw = self._body()
        try:
            lines = [json.loads(line) for line in raw.splitlines() if line.strip()]
        except ValueError as err:
            raise HubError(400, f"Malformed NDJSON payload: {err}") from err
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "The first NDJSON line must be the commit header")
        header = lines[0].get("value") or {}
        title = str(header.get("summary") or "")
        if not title:
            raise HubError(400, "Commit summary is required")
        create_pr = _is_true(self._q("create_pr"))
        with self.hub.lock:
            repo = self.hub._repo(repo_type, repo_id)
            if revision not in repo.branches:
                raise HubError(
                    404, f"Invalid rev id: {revision} is not a branch", code="RevisionNotFound"
                )
            base = repo.commits[repo.branches[revision]]
            parent_commit = header.get("parentCommit")
            if (
                parent_commit
                and not create_pr
                and not base.oid.startswith(str(parent_commit).lower())
            ):
                raise HubError(
                    412,
                    f"A commit has happened since. Please refresh and try again ({base.oid})",
                )
            if parent_commit and create_pr:
                base = self.hub._resolve_commit(repo, str(parent_commit))
            files = dict(base.files)
            for line in lines[1:]:
                self._apply_operation(files, line)
            branch = revision
            pr_url = None
            if create_pr:
                repo.pr_count += 1
                branch = f"refs/pr/{repo.pr_count}"
                pr_url = f"{self._repo_url(repo)}/discussions/{repo.pr_count}"
            commit = self.hub._new_commit(
                repo, base, files, title, str(header.get("description") or "")
            )
            repo.branches[branch] = commit.oid
        self._send_json(
            {
                "success": True,
                "commitOid": commit.oid,
                "commitUrl": f"{self._repo_url(repo)}/commit/{commit.oid}",
                "hookOutput": "",
                "pullRequestUrl": pr_url,
            }
        )

    def _apply_operation(self, files: dict[str, FileEntry], line: dict[str, Any]) -> None:
        """Apply one NDJSON commit operation to a snapshot (in place)."""
        key, value = line.get("key"), line.get("value") or {}
        path = str(value.get("path", "")).strip("/")
        if not path:
            raise HubError(400, f"Missing path in operation {key!r}")
        if key == "file":
            encoding = value.get("encoding", "base64")
            content = value.get("content", "")
            data = base64.b64decode(content) if encoding == "base64" else str(content).encode()
            files[path] = self.hub._regular_entry(data)
        elif key == "lfsFile":
            oid = str(value.get("oid", "")).lower()
            if value.get("algo", "sha256") != "sha256" or not self.hub.store.has(oid):
                raise HubError(400, f"LFS object {oid} for {path} has not been uploaded")
            size = self.hub.store.size(oid)
            if value.get("size") is not None and int(value["size"]) != size:
                raise HubError(400, f"LFS object {oid} has size {size}, not {value['size']}")
            files[path] = self.hub._lfs_entry(oid, size)
        elif key == "deletedFile":
            if path not in files:
                raise HubError(
                    404, f"A file with this name doesn't exist: {path}", code="EntryNotFound"
                )
            del files[path]
        elif key == "deletedFolder":
            doomed = [p for p in files if p.startswith(path + "/")]
            if not doomed:
                raise HubError(
                    404, f"A folder with this name doesn't exist: {path}", code="EntryNotFound"
                )
            for p in doomed:
                del files[p]
        else:
            raise HubError(400, f"Unsupported commit operation: {key!r}")

    # --- listings ---

    def _paginate(self, items: list[Any], page_size: int) -> None:
        """Send a page of ``items`` (``limit``/``cursor``), with ``Link: rel="next"`` if more."""
        limit = int(self._q("limit") or page_size)
        cursor = int(self._q("cursor") or 0)
        page = items[cursor : cursor + limit]
        headers = {}
        if cursor + limit < len(items):
            query = {k: v[-1] for k, v in self._query.items()}
            query.update({"limit": str(limit), "cursor": str(cursor + limit)})
            path = urlsplit(self.path).path
            headers["Link"] = f'<{self._base_url()}{path}?{urlencode(query)}>; rel="next"'
        self._send_json(page, headers=headers)

    def _tree(self, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        """``GET /api/{type}s/{repo}/tree/{rev}[/{path}]?recursive=&expand=`` (paginated)."""
        recursive = _is_true(self._q("recursive"))
        expand = _is_true(self._q("expand"))
        path = path.strip("/")
        with self.hub.lock:
            repo = self._readable_repo(repo_type, repo_id)
            commit = self.hub._resolve_commit(repo, revision)
            dirs = _directories(commit.files)
            if path and path not in dirs:
                raise HubError(
                    404,
                    f"Directory {path} not found",
                    code="EntryNotFound",
                    headers={"X-Repo-Commit": commit.oid},
                )
            if recursive:
                paths = [p for p in (*dirs, *commit.files) if _under(p, path)]
            else:
                paths = [p for p in (*dirs, *commit.files) if _parent(p) == path]
            paths.sort(key=lambda p: (p not in dirs, p))
            entries = [self.hub._tree_entry(repo, commit, p, expand=expand) for p in paths]
        self._paginate(
            entries, self.hub.tree_expand_page_size if expand else self.hub.tree_page_size
        )

    def _paths_info(self, repo_type: str, repo_id: str, revision: str) -> None:
        """``POST /api/{type}s/{repo}/paths-info/{rev}`` (missing paths are omitted)."""
        form = self._form_or_json_body()
        expand = _is_true((form.get("expand") or ["false"])[-1])
        with self.hub.lock:
            repo = self._readable_repo(repo_type, repo_id)
            commit = self.hub._resolve_commit(repo, revision)
            dirs = _directories(commit.files)
            out = []
            for raw_path in form.get("paths", []):
                path = raw_path.strip("/")
                if path in commit.files or path in dirs:
                    out.append(self.hub._tree_entry(repo, commit, path, expand=expand))
        self._send_json(out)

    def _refs(self, repo_type: str, repo_id: str) -> None:
        """``GET /api/{type}s/{repo}/refs[?include_prs=1]``."""
        with self.hub.lock:
            repo = self._readable_repo(repo_type, repo_id)
            branches = [
                {"name": b, "ref": f"refs/heads/{b}", "targetCommit": oid}
                for b, oid in sorted(repo.branches.items())
                if not b.startswith("refs/pr/")
            ]
            prs = [
                {"name": b, "ref": b, "targetCommit": oid}
                for b, oid in sorted(repo.branches.items())
                if b.startswith("refs/pr/")
            ]
            tags = [
                {"name": t, "ref": f"refs/tags/{t}", "targetCommit": oid}
                for t, oid in sorted(repo.tags.items())
            ]
        out: dict[str, Any] = {"branches": branches, "converts": [], "tags": tags}
        if _is_true(self._q("include_prs")):
            out["pullRequests"] = prs
        self._send_json(out)

    def _list_commits(self, repo_type: str, repo_id: str, revision: str) -> None:
        """``GET /api/{type}s/{repo}/commits/{rev}`` (first-parent history, newest first)."""
        with self.hub.lock:
            repo = self._readable_repo(repo_type, repo_id)
            commit: Commit | None = self.hub._resolve_commit(repo, revision)
            items = []
            while commit is not None:
                items.append(
                    {
                        "id": commit.oid,
                        "title": commit.title,
                        "message": commit.message,
                        "authors": [{"user": commit.author, "avatar": ""}],
                        "date": commit.date,
                        "formatted": {"title": commit.title, "message": commit.message},
                    }
                )
                commit = repo.commits[commit.parents[0]] if commit.parents else None
        self._paginate(items, 50)

    def _branch(self, method: str, repo_type: str, repo_id: str, branch: str) -> None:
        """``POST|DELETE /api/{type}s/{repo}/branch/{branch}`` (``startingPoint``: ``main``)."""
        self._require_auth()
        payload = self._json_body() if method == "POST" else {}
        with self.hub.lock:
            repo = self.hub._repo(repo_type, repo_id)
            if method == "DELETE":
                if branch not in repo.branches:
                    raise HubError(404, f"Branch {branch} not found", code="RevisionNotFound")
                del repo.branches[branch]
            else:
                if branch in repo.branches:
                    raise HubError(409, f"Branch {branch} already exists")
                repo.branches[branch] = self.hub._resolve_commit(
                    repo, str(payload.get("startingPoint") or "main")
                ).oid
        self._send_json({})

    def _tag(self, method: str, repo_type: str, repo_id: str, name: str) -> None:
        """``POST /api/{type}s/{repo}/tag/{rev}`` (``{"tag": ...}``) or ``DELETE .../tag/{tag}``."""
        self._require_auth()
        payload = self._json_body() if method == "POST" else {}
        with self.hub.lock:
            repo = self.hub._repo(repo_type, repo_id)
            if method == "DELETE":
                if name not in repo.tags:
                    raise HubError(404, f"Tag {name} not found", code="RevisionNotFound")
                del repo.tags[name]
            else:
                tag = str(payload.get("tag") or "")
                if not tag:
                    raise HubError(400, "Missing tag name")
                if tag in repo.tags:
                    raise HubError(409, f"Tag {tag} already exists")
                repo.tags[tag] = self.hub._resolve_commit(repo, name).oid
        self._send_json({})

    # --- resolve ---

    def _resolve(self, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        """``GET|HEAD /{prefix}{repo}/resolve/{rev}/{path}``: content, Hub headers, ranges."""
        with self.hub.lock:
            repo = self._readable_repo(repo_type, repo_id)
            commit = self.hub._resolve_commit(repo, revision)
            entry = commit.files.get(path)
        if entry is None:
            raise HubError(
                404,
                f"Entry not found: {path}",
                code="EntryNotFound",
                headers={"X-Repo-Commit": commit.oid},
            )
        headers = {
            "X-Repo-Commit": commit.oid,
            "ETag": f'"{entry.git_oid}"',
            "Accept-Ranges": "bytes",
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(path.rsplit('/', 1)[-1])}",
        }
        if entry.lfs:
            headers["X-Linked-Etag"] = f'"{entry.sha256}"'
            headers["X-Linked-Size"] = str(entry.size)
        start, end, status = 0, entry.size - 1, 200
        range_header = self.headers.get("Range")
        if range_header and self._method == "GET":
            parsed = _parse_range(range_header, entry.size)
            if isinstance(parsed, str):  # unsatisfiable
                self._send(416, b"", headers={**headers, "Content-Range": f"bytes */{entry.size}"})
                return
            if parsed is not None:
                start, end = parsed
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{entry.size}"
        length = max(0, end - start + 1)
        self._status = status
        self._headers_sent = True
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self._method == "HEAD" or length == 0:
            return
        with self.hub.store.open(entry.sha256) as fh:
            fh.seek(start)
            remaining = length
            while remaining:
                chunk = fh.read(min(remaining, _COPY_CHUNK))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """Parse one ``bytes=`` range: ``(start, end)``, ``"unsatisfiable"`` or ``None`` (ignore)."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, sep, last = spec.strip().partition("-")
    if not sep:
        return None
    try:
        if first == "":
            suffix = int(last)
            if suffix <= 0:
                return "unsatisfiable"
            return (max(0, size - suffix), size - 1) if size else "unsatisfiable"
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return "unsatisfiable"
    return start, min(end, size - 1)


def start_hub_server(
    tmp_path: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    **options: Any,
) -> HubServer:
    """Start a fake Hub storing its files under ``tmp_path`` and return it (already serving).

    ``options`` go to :class:`HubServer` (``user``, ``lfs_threshold``, ``lfs_multipart_chunk_size``,
    ``tree_page_size``, ``tree_expand_page_size``). Use it as a context manager or ``.stop()`` it::

        with start_hub_server(tmp_path) as hub:
            HfApi(endpoint=hub.url, token="hf_fake").create_repo("user/ds", repo_type="dataset")
    """
    return HubServer(Path(tmp_path) / "hub-server", host=host, port=port, **options).start()
