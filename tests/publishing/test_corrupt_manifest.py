"""A corrupt manifest.json: verify and publish stop with exit 2 naming it, and send nothing."""

from __future__ import annotations

import re

import pytest

from atari_interleaved.cli.app import main as cli_main
from atari_interleaved.core.layout import MANIFEST_NAME
from tests.fixtures.export_utils import REPO_ID

CORRUPT = [
    pytest.param(b'{"format": "atari-interleaved/manifest', "not a readable manifest", id="cut"),
    pytest.param(b"\xff\xfe not text", "not a readable manifest", id="not-utf8"),
    pytest.param(b"[1, 2]", "format None is not 'atari-interleaved/manifest/1'", id="a-list"),
    pytest.param(
        b'{"format": "atari-interleaved/manifest/1"}', "has no 'files' table", id="no-files"
    ),
]


def corrupt_manifest(folder, content: bytes):
    path = folder / MANIFEST_NAME
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(("content", "problem"), CORRUPT)
def test_verify_names_a_corrupt_manifest(export_copy, capsys, content, problem):
    path = corrupt_manifest(export_copy, content)
    assert cli_main(["verify", str(export_copy)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {path}: ")
    assert problem in error and "Traceback" not in error
    assert path.read_bytes() == content  # left as it was


@pytest.mark.parametrize(("content", "problem"), CORRUPT)
def test_publish_refuses_a_corrupt_manifest_before_any_request(
    hub_server, export_copy, capsys, content, problem
):
    path = corrupt_manifest(export_copy, content)
    argv = ["publish", "--input-dir", str(export_copy), "--repo-id", REPO_ID, "--no-progress"]
    assert cli_main(argv) == 2
    error = capsys.readouterr().err
    assert re.match(rf"error: {re.escape(str(path))}: ", error), error
    assert problem in error and "Traceback" not in error
    assert hub_server.server.requests == []
