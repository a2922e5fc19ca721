"""The manifest of an exported dataset folder: what it holds and how it was made.

``manifest.json`` lists the sha256 and size of every file of the folder (parquet shards,
README.md, preview pictures), with the parameters and library versions that produced them.
:func:`verify` checks a folder, local or downloaded from the Hub, against it. Hidden entries
(``.gitattributes``, ``.cache/`` of ``huggingface_hub`` downloads) are not part of the data
and are ignored.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as name:
...     folder = Path(name)
...     _ = (folder / "data.parquet").write_bytes(b"rows")
...     _ = write_manifest(folder, generation={"command": "atari-interleaved export"})
...     listed = read_manifest(folder)["files"]
...     untouched = verify(folder).ok
...     _ = (folder / "data.parquet").write_bytes(b"Rows")
...     changed = verify(folder).changed
>>> listed["data.parquet"]["size"], listed["data.parquet"]["sha256"][:16]
(4, 'bc51e9e65d79e1c9')
>>> untouched, changed
(True, ['data.parquet'])
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.core.layout import MANIFEST_NAME
from atari_interleaved.core.versions import library_versions
from atari_interleaved.storage.atomic import write_atomically
from atari_interleaved.storage.location import is_url, local_copy

__all__ = [
    "MANIFEST_FORMAT",
    "FileEntry",
    "VerifyReport",
    "file_entry",
    "folder_files",
    "write_manifest",
    "read_manifest",
    "verify",
]

MANIFEST_FORMAT = "atari-interleaved/manifest/1"
_CHUNK = 1 << 20
_HEX_DIGITS = "0123456789abcdef"


@dataclass(frozen=True)
class FileEntry:
    """The size and sha256 of one file."""

    size: int
    sha256: str


@dataclass
class VerifyReport:
    """The result of checking a folder against its manifest (paths are relative, POSIX)."""

    folder: Path
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every listed file is present and unchanged and no other file was added."""
        return not (self.missing or self.changed or self.extra)

    def summary(self) -> str:
        """Return a human summary: one line when all is well, else one line per problem."""
        if self.ok:
            return f"{self.folder}: OK, {self.checked} files match {MANIFEST_NAME}"
        lines = [f"{self.folder}: does NOT match {MANIFEST_NAME}"]
        lines += [f"  missing: {path}" for path in self.missing]
        lines += [f"  changed: {path}" for path in self.changed]
        lines += [f"  extra:   {path} (not listed in {MANIFEST_NAME})" for path in self.extra]
        return "\n".join(lines)


def file_entry(path: Path) -> FileEntry:
    """Return the size and sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileEntry(size=size, sha256=digest.hexdigest())


def folder_files(folder: Path) -> list[str]:
    """Return the relative POSIX paths of the files a manifest covers, sorted.

    Everything but the manifest itself and hidden entries (a path part starting with ``.``).
    """
    paths = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if relative.as_posix() != MANIFEST_NAME:
            paths.append(relative.as_posix())
    return sorted(paths)


def write_manifest(
    folder: Path,
    *,
    generation: dict[str, Any],
    versions: dict[str, Any] | None = None,
) -> Path:
    """Hash every file of ``folder`` and write ``folder/manifest.json`` (atomically).

    Args:
        folder: the exported folder, complete but for its manifest.
        generation: how the data was made (command, sampling settings, export options).
        versions: library versions; those installed now if None.

    Returns:
        The path of the manifest.

    """
    folder = Path(folder)
    files = {path: vars(file_entry(folder / path)) for path in folder_files(folder)}
    manifest = {
        "format": MANIFEST_FORMAT,
        "generation": generation,
        "versions": library_versions() if versions is None else versions,
        "files": files,
    }
    return write_atomically(
        folder / MANIFEST_NAME, json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    )


def read_manifest(folder: Path) -> dict[str, Any]:
    """Read ``folder/manifest.json``.

    Raises:
        InvalidInputError: if the folder has no manifest or it is not one of ours.

    """
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        raise InvalidInputError(
            f"{str(folder)!r} has no {MANIFEST_NAME}: it is not a folder written by "
            "'atari-interleaved export' (export a frame tree with 'atari-interleaved export')"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InvalidInputError(f"{path}: not a readable manifest ({error})") from error
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise InvalidInputError(f"{path}: format {found!r} is not {MANIFEST_FORMAT!r}")
    if not isinstance(manifest.get("files"), dict):
        raise InvalidInputError(f"{path}: has no 'files' table")
    if not isinstance(manifest.get("generation", {}), dict):
        raise InvalidInputError(f"{path}: its 'generation' is not an object")
    for name, entry in manifest["files"].items():
        problem = _entry_problem(name, entry)
        if problem is not None:
            raise InvalidInputError(
                f"{path}: files entry {name!r} {problem}; export the folder again or "
                "download it again"
            )
    return manifest


def _entry_problem(name: str, entry: Any) -> str | None:
    """Return what is wrong with one ``files`` entry of a manifest, or None."""
    parts = name.split("/")
    if not name or name.startswith("/") or any(part in {"", ".", ".."} for part in parts):
        return "is not a relative path inside the folder"
    if not isinstance(entry, dict):
        return f"is not an object with size and sha256 (got {type(entry).__name__})"
    size, digest = entry.get("size"), entry.get("sha256")
    if type(size) is not int or size < 0:
        return f"has no valid size (got {size!r})"
    if not isinstance(digest, str) or len(digest) != 64 or set(digest) - set(_HEX_DIGITS):
        return f"has no valid sha256 (got {digest!r})"
    return None


def verify(
    folder: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None
) -> VerifyReport:
    """Check ``folder`` against its manifest: missing, changed (size or sha256) and extra files.

    ``folder`` may be an object store URL (``s3://bucket/export``), downloaded into a
    temporary folder first, with the fsspec ``storage_options``.

    Raises:
        InvalidInputError: if the folder has no valid manifest.

    """
    with local_copy(folder, "FOLDER", storage_options) as local:
        report = _verify(local)
    if is_url(folder):
        report.folder = folder  # type: ignore[assignment]
    return report


def _verify(folder: Path) -> VerifyReport:
    listed: dict[str, dict[str, Any]] = read_manifest(folder)["files"]
    report = VerifyReport(folder=folder, checked=len(listed))
    present = set(folder_files(folder))
    for path, expected in sorted(listed.items()):
        if path not in present:
            report.missing.append(path)
            continue
        # Compare the size first: a truncated shard is found without hashing it.
        size_differs = (folder / path).stat().st_size != expected.get("size")
        if size_differs or vars(file_entry(folder / path)) != expected:
            report.changed.append(path)
    report.extra = sorted(present - set(listed))
    return report
