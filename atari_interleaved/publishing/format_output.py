"""The output folder of an export to another format (``--format minari``, ``--format lerobot``).

Such a folder holds what one export wrote and nothing else, so that replacing it never
deletes a user's file: it is written whole in a hidden folder beside ``--output-dir`` and
renamed into place when complete, with a list of the files it holds,
``atari_interleaved_export.json`` (:data:`MARKER_NAME`). An existing folder is refused
unless it is empty, or, with ``--overwrite``, an earlier export to the same format that holds
only the files its list names; a frame tree, a ``sample --to-parquet`` folder, an exported
(Hub) folder or a folder of other files is never replaced. A failed write (a full disk)
leaves nothing under the output's name and ends in one error naming its cause.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from atari_interleaved.core.errors import (
    AtariInterleavedError,
    InvalidArgumentError,
    OutputExistsError,
    OutputWriteError,
)
from atari_interleaved.core.folder_kind import FolderKind, folder_kind
from atari_interleaved.core.versions import library_versions
from atari_interleaved.storage.atomic import Staged
from atari_interleaved.storage.lock import output_lock, remove_stale_temporaries
from atari_interleaved.storage.output_check import check_output

__all__ = ["MARKER_NAME", "format_output", "written_files"]

MARKER_NAME = "atari_interleaved_export.json"
"""The list of the files an export to another format wrote, at the root of its folder."""

_KINDS: dict[FolderKind, str] = {
    "frame_tree": "a frame tree (the output of 'sample')",
    "direct": "a folder of 'sample --to-parquet'",
    "exported": "a folder written by 'atari-interleaved export' (manifest.json)",
}


def written_files(folder: Path) -> list[str]:
    """Return the files under ``folder``, as sorted paths relative to it."""
    return sorted(
        path.relative_to(folder).as_posix() for path in folder.rglob("*") if not path.is_dir()
    )


def _read_marker(folder: Path) -> dict[str, Any] | None:
    """Return the marker of an earlier export in ``folder``, or None if it has no valid one."""
    try:
        marker = json.loads((folder / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    files = marker.get("files") if isinstance(marker, dict) else None
    if not isinstance(files, list) or not all(isinstance(name, str) for name in files):
        return None
    return marker


def _check_target(input_dir: Path, output_dir: Path, name: str, *, overwrite: bool) -> None:
    """Refuse an output folder the export must not write into or replace.

    Raises:
        InvalidArgumentError: if the output overlaps the input.
        OutputExistsError: if the output is not empty and may not be replaced.

    """
    shown = f"--output-dir {str(output_dir)!r}"
    source, target = input_dir.resolve(), output_dir.resolve()
    if target == source or source in target.parents or target in source.parents:
        raise InvalidArgumentError(
            f"{shown} overlaps --input-dir {str(input_dir)!r}; choose a folder outside it"
        )
    if not target.is_dir() or not any(target.iterdir()):
        return
    marker = _read_marker(target)
    kind = None if marker is not None else folder_kind(target)  # a Minari root has atari_*/
    if kind is not None:
        raise OutputExistsError(
            f"{shown} holds {_KINDS[kind]}, which --format {name} never replaces, even with "
            "--overwrite; choose another folder"
        )
    if marker is None or marker.get("format") != name:
        raise OutputExistsError(
            f"{shown} is not empty and was not written by 'export --format {name}' (no "
            f"{MARKER_NAME} of it), so it is never replaced, even with --overwrite; choose "
            "another folder"
        )
    if not overwrite:
        raise OutputExistsError(
            f"{shown} already holds an earlier --format {name} export; pass --overwrite to "
            "replace it, or choose another folder"
        )
    listed = {*marker["files"], MARKER_NAME}
    added = [path for path in written_files(target) if path not in listed]
    if added:
        raise OutputExistsError(
            f"{shown} holds {len(added)} files the earlier export did not write "
            f"({', '.join(added[:3])}{', ...' if len(added) > 3 else ''}), which replacing it "
            "would delete; move them out of the folder, then rerun"
        )


@contextmanager
def format_output(
    input_dir: Path, output_dir: Path, name: str, *, overwrite: bool
) -> Iterator[Path]:
    """Give the empty folder to write the export into; put it in place when the block ends.

    The output is checked before any work (a path that cannot be written, a folder that may
    not be replaced), then held locked. The block writes into the yielded staging folder;
    when it ends without error the list of its files is added and the folder renamed to
    ``output_dir`` (replacing an earlier export). On any error the staging folder is removed.

    Args:
        input_dir: the export's input, which the output may not overlap.
        output_dir: the folder to write.
        name: the format, as ``--format`` names it (``"minari"``).
        overwrite: replace an earlier export of the same format.

    Raises:
        InvalidArgumentError: for an output that cannot be written or overlaps the input.
        OutputExistsError: for an output that may not be replaced.
        OutputInUseError: if another run is writing ``output_dir``.
        OutputWriteError: if writing failed (a full disk), naming the cause.

    """
    check_output(output_dir, "--output-dir", kind="replaced folder")
    target = Path(output_dir).resolve()
    with output_lock(target):
        remove_stale_temporaries(target)  # left by a killed export
        _check_target(Path(input_dir), Path(output_dir), name, overwrite=overwrite)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with Staged(target, folder=True) as staged:
                yield staged.temporary
                marker = {
                    "format": name,
                    "atari_interleaved": library_versions(("atari-interleaved",)).get(
                        "atari-interleaved", "unknown"
                    ),
                    "files": written_files(staged.temporary),
                }
                (staged.temporary / MARKER_NAME).write_text(
                    json.dumps(marker, indent=1) + "\n", encoding="utf-8"
                )
        except AtariInterleavedError:
            raise
        except OSError as error:
            raise OutputWriteError(
                f"--format {name} could not write --output-dir {os.fspath(output_dir)!r}: "
                f"{error}. Nothing was left under its name; free space or fix the cause, then "
                "rerun"
            ) from error
