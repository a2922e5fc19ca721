"""Outputs and inputs in an object store: a prefix named by an fsspec URL (``s3://bucket/run``).

Every command that reads or writes a folder asks :func:`is_url` first; a URL becomes a
:class:`RemoteFolder`, the one place that talks to the store (through fsspec, so ``s3://``,
``gs://``, ``az://`` and every protocol fsspec knows), and a ``file://`` URL is its local path
(:func:`local_path`). Object stores have no rename: a file is written whole, elsewhere, and
put as one object (:meth:`RemoteFolder.upload`), which the store shows complete or not at all
(a multipart upload appears when it is completed).

Credentials and endpoints come from where each library looks for them (the AWS variables
and config files, ``FSSPEC_S3_ENDPOINT_URL`` and the other ``FSSPEC_<PROTOCOL>_<OPTION>``
settings, ``gcloud``'s login, a Ray runtime environment's variables) or from
``storage_options``; a URL holding a secret (``s3://key:secret@bucket``) is refused, so the
URL can be recorded and printed as it is.

>>> is_url("s3://bucket/run"), is_url("file:///data/run"), is_url("data/run")
(True, False, False)
>>> local_path("file:///data/run")
'/data/run'
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import posixpath
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atari_interleaved.core.errors import (
    DependencyNotInstalledError,
    InvalidArgumentError,
    InvalidInputError,
    OutputInUseError,
)
from atari_interleaved.core.optional import install_hint
from atari_interleaved.core.redaction import error_text, redact, remember_secret

__all__ = [
    "LOCK_NAME",
    "RemoteFolder",
    "local_copy",
    "is_url",
    "local_path",
    "remote_folder",
    "store_errors",
]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_EXTRAS = {
    "s3": ("s3fs", "s3"),
    "s3a": ("s3fs", "s3"),
    "gs": ("gcsfs", "gcs"),
    "gcs": ("gcsfs", "gcs"),
    "az": ("adlfs", "azure"),
    "abfs": ("adlfs", "azure"),
    "abfss": ("adlfs", "azure"),
}
"""The package each protocol needs, and the extra of this project that installs it."""
LOCK_NAME = ".atari-interleaved.lock"
"""The lock object of a prefix a run writes (see :mod:`~atari_interleaved.storage.remote_lock`)."""
_SECRET_OPTIONS = ("secret", "token", "key", "password", "account_key", "sas_token")


def is_url(location: str | os.PathLike[str]) -> bool:
    """Return whether ``location`` is an object store URL (``file://`` is a local path)."""
    match = _SCHEME.match(os.fspath(location))
    return match is not None and match[1].lower() != "file"


def local_path(location: str | os.PathLike[str]) -> str:
    """Return the local path of ``location``: a ``file://`` URL's path, or the path as given."""
    text = os.fspath(location)
    return text[len("file://") :] if text.lower().startswith("file://") else text


def store_errors() -> tuple[type[BaseException], ...]:
    """Return the exceptions a store's library raises for an unreachable or refused request."""
    found: list[type[BaseException]] = [OSError]
    with contextlib.suppress(ImportError):
        import botocore.exceptions

        found.append(botocore.exceptions.BotoCoreError)
        found.append(botocore.exceptions.ClientError)
    return tuple(found)


@dataclass(frozen=True)
class RemoteFolder:
    """A prefix of an object store, named by its URL; picklable (workers get it).

    Attributes:
        url: the prefix, ``<protocol>://<bucket>/<path>``, without a trailing slash.
        storage_options: options of the fsspec filesystem (an endpoint, credentials); the
            defaults come from the environment. Never printed.

    """

    url: str
    storage_options: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def protocol(self) -> str:
        """The URL's protocol (``s3``)."""
        return self.url.split("://", 1)[0].lower()

    @property
    def fs(self) -> Any:
        """The fsspec filesystem of the store (one per process, cached by fsspec)."""
        import fsspec

        return fsspec.filesystem(self.protocol, **self.storage_options)

    def path(self, name: str = "") -> str:
        """Return the filesystem path of ``name`` (``simple/train-...``) under the prefix."""
        root = self.url.split("://", 1)[1]
        return posixpath.join(root, name) if name else root

    def url_of(self, name: str) -> str:
        """Return the URL of ``name`` under the prefix, for messages."""
        return f"{self.url}/{name}"

    def child(self, name: str) -> RemoteFolder:
        """Return the folder ``name`` under this prefix."""
        return RemoteFolder(self.url_of(name), self.storage_options)

    @contextlib.contextmanager
    def reaching(self, flag: str) -> Iterator[None]:
        """Turn a store's errors into one message naming ``flag``, the URL and the fix.

        Raises:
            InvalidArgumentError: a missing bucket, refused credentials, an unreachable
                endpoint, with the store's words (secrets removed).

        """
        try:
            yield
        except store_errors() as error:
            if isinstance(error, FileExistsError):
                raise
            text = error_text(error, self._secrets())
            if isinstance(error, FileNotFoundError):
                fix = "create the bucket first, or check its name"
            elif isinstance(error, PermissionError):
                fix = (
                    "check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                    "~/.aws, gcloud auth) and that they may read and write there"
                )
            else:
                fix = (
                    "check the endpoint (FSSPEC_S3_ENDPOINT_URL, AWS_ENDPOINT_URL), the "
                    "network and the credentials"
                )
            raise InvalidArgumentError(
                f"{flag} {self.url!r} cannot be reached ({text}); {fix}"
            ) from None

    def _secrets(self) -> list[str]:
        return [str(value) for key, value in self.storage_options.items() if key in _SECRET_OPTIONS]

    def check_writable(self, flag: str) -> None:
        """Check, before any work, that the store answers and the prefix's bucket exists.

        Raises:
            InvalidArgumentError: naming ``flag`` and the fix.

        """
        bucket = self.path().split("/", 1)[0]
        with self.reaching(flag):
            self.fs.ls(bucket, detail=False, refresh=True)

    def read_bytes(self, name: str) -> bytes | None:
        """Return the object ``name``, or None if there is none."""
        try:
            return self.fs.cat_file(self.path(name))
        except FileNotFoundError:
            return None

    def isfile(self, name: str) -> bool:
        """Return whether the object ``name`` exists."""
        self.fs.invalidate_cache(posixpath.dirname(self.path(name)))
        return bool(self.fs.isfile(self.path(name)))

    def list(self, pattern: str = "*") -> list[str]:
        """Return the names under the prefix matching ``pattern`` (``simple/train-*``), sorted.

        Names are relative to the prefix; ``*`` does not cross a ``/``, ``**`` is every name.
        """
        self.fs.invalidate_cache()
        root = self.path()
        found = self.fs.find(root, withdirs=False)
        names = [posixpath.relpath(path, root) for path in found]
        regex = re.compile(
            ".*" if pattern == "**" else fnmatch.translate(pattern).replace(".*", "[^/]*")
        )
        return sorted(name for name in names if regex.fullmatch(name))

    def write(self, name: str, data: bytes) -> None:
        """Put ``data`` as the object ``name``, whole (replacing one of that name)."""
        self.fs.pipe_file(self.path(name), data)

    def create(self, name: str, data: bytes) -> bool:
        """Put ``data`` as the object ``name`` only if there is none; return whether it did.

        On S3 this is ``If-None-Match: *`` (refused with ``PreconditionFailed`` when the
        object exists), decided by the store, so of two writers exactly one wins. A library
        without create-only writes (no ``"xb"`` mode) gets a check then a write, which two
        writers starting in the same instant can both pass.
        """
        try:
            with self.fs.open(self.path(name), "xb") as file:
                file.write(data)
        except FileExistsError:
            return False
        except (ValueError, NotImplementedError):  # no "x" mode in this fsspec library
            if self.isfile(name):
                return False
            self.write(name, data)
        return True

    def upload(self, name: str, local: Path) -> None:
        """Put the local file ``local`` as the object ``name``, whole."""
        self.fs.put_file(os.fspath(local), self.path(name))

    def remove(self, names: list[str]) -> None:
        """Delete the objects ``names`` (missing ones are ignored)."""
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(self.path(name))

    def download(self, folder: Path, patterns: tuple[str, ...] = ("**",)) -> list[Path]:
        """Copy the objects matching ``patterns`` into ``folder``, keeping their names."""
        copied = []
        for name in sorted({name for pattern in patterns for name in self.list(pattern)}):
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            self.fs.get_file(self.path(name), os.fspath(target))
            copied.append(target)
        return copied

    def upload_folder(self, folder: Path, last: str | None = None) -> None:
        """Put every file under the local ``folder`` under the prefix; ``last`` goes last."""
        files = sorted(path for path in folder.rglob("*") if path.is_file())
        files.sort(key=lambda path: path.relative_to(folder).as_posix() == last)
        for path in files:
            self.upload(path.relative_to(folder).as_posix(), path)


def remote_folder(
    url: str, flag: str, storage_options: Mapping[str, Any] | None = None
) -> RemoteFolder:
    """Return the folder of ``url``, checked before any work.

    Raises:
        InvalidArgumentError: if the URL holds a secret (``s3://key:secret@bucket``) or no
            bucket.
        DependencyNotInstalledError: if the protocol's library is missing, with the command
            that installs it.

    """
    import fsspec

    options = dict(storage_options or {})
    for key in _SECRET_OPTIONS:
        if key in options:
            remember_secret(str(options[key]))
    protocol, _, rest = url.partition("://")
    if "@" in rest.split("/", 1)[0]:
        raise InvalidArgumentError(
            f"{flag} {redact(url)!r} holds credentials; give the URL without them and put them "
            "where the store's library reads them (AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, ~/.aws/credentials, gcloud auth)"
        )
    if not rest.strip("/"):
        raise InvalidArgumentError(f"{flag} {url!r} names no bucket; give <protocol>://BUCKET/PATH")
    package, extra = _EXTRAS.get(protocol.lower(), (protocol, None))
    try:
        fsspec.get_filesystem_class(protocol.lower())
    except ImportError as error:
        hint = install_hint(extra) if extra else f"pip install {package}"
        raise DependencyNotInstalledError(
            f"{flag} {url!r} needs the {package} package, which is not installed; "
            f"install it with: {hint}"
        ) from error
    except ValueError:
        raise InvalidArgumentError(
            f"{flag} {url!r}: fsspec knows no protocol {protocol!r}; give a local path or an "
            "s3://, gs:// or az:// URL"
        ) from None
    return RemoteFolder(f"{protocol.lower()}://{rest.rstrip('/')}", options)


@contextlib.contextmanager
def local_copy(
    location: str | os.PathLike[str], flag: str, storage_options: Mapping[str, Any] | None = None
) -> Iterator[Path]:
    """Give a local folder holding what ``location`` holds: itself, or a store prefix's copy.

    A prefix is downloaded into a temporary folder, removed when the block ends; readers of
    a folder (``export``, ``verify``, ``publish``) then read it as they read any folder.

    Raises:
        InvalidInputError: if the prefix holds nothing.
        OutputInUseError: if a run is writing it (its lock object is there).
        InvalidArgumentError: if the store cannot be reached.

    """
    if not is_url(location):
        yield Path(local_path(location))
        return
    folder = remote_folder(os.fspath(location), flag, storage_options)
    with tempfile.TemporaryDirectory(prefix="atari-interleaved-") as work:
        with folder.reaching(flag):
            names = folder.list("**")
        if LOCK_NAME in names:
            raise OutputInUseError(
                f"{flag} {folder.url!r} is being written by another run (its "
                f"{LOCK_NAME} object is there). Wait for it to finish, then rerun."
            )
        if not names:
            raise InvalidInputError(f"{flag} {folder.url!r} holds nothing; check the URL")
        local = Path(work) / posixpath.basename(folder.path())  # its name, as commands record it
        with folder.reaching(flag):
            folder.download(local, ("**",))
        yield local
