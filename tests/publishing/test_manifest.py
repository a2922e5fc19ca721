"""The manifest of an exported folder and ``atari-interleaved verify``."""

from __future__ import annotations

import json
import re

import pytest

from atari_interleaved.cli.app import main as cli_main
from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.core.layout import MANIFEST_NAME
from atari_interleaved.publishing.manifest import read_manifest, verify, write_manifest
from tests.fixtures.tree_utils import tree_digest

SHARD = "interleaved/train-00000-of-00001.parquet"


def test_lists_every_file_with_its_sha256_and_how_it_was_made(exported_folder):
    manifest = read_manifest(exported_folder)
    digests = tree_digest(exported_folder)
    del digests[MANIFEST_NAME]
    assert {path: entry["sha256"] for path, entry in manifest["files"].items()} == digests
    assert manifest["files"][SHARD]["size"] == (exported_folder / SHARD).stat().st_size
    sampling = manifest["generation"]["sampling"]
    assert sampling["settings"]["frame_cap"] == 12
    assert sampling["sample_command"].startswith("atari-interleaved sample --envs alien,pong ")
    assert sampling["rom_md5"].keys() == {"alien", "pong"}
    assert manifest["generation"]["export"]["configs"]["simple"]["train"]["num_examples"] == 48
    assert {"atari-interleaved", "datasets", "pyarrow", "ale-py"} <= manifest["versions"].keys()


def test_verify_passes_on_an_untouched_export(exported_folder):
    report = verify(exported_folder)
    assert report.ok and report.checked == 5
    assert "OK, 5 files" in report.summary()


def test_verify_catches_one_changed_byte(export_copy):
    shard = export_copy / SHARD
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01
    shard.write_bytes(bytes(data))
    report = verify(export_copy)
    assert not report.ok
    assert report.changed == [SHARD] and not report.missing and not report.extra
    assert f"changed: {SHARD}" in report.summary()


def test_verify_reports_missing_and_extra_files_but_ignores_hidden_ones(export_copy):
    (export_copy / "previews" / "episode.gif").unlink()
    (export_copy / "simple" / "train-00001-of-00002.parquet").write_bytes(b"PAR1")
    (export_copy / ".gitattributes").write_text("*.parquet filter=lfs\n")
    (export_copy / ".cache" / "huggingface").mkdir(parents=True)
    (export_copy / ".cache" / "huggingface" / "x.lock").write_text("")
    report = verify(export_copy)
    assert report.missing == ["previews/episode.gif"]
    assert report.extra == ["simple/train-00001-of-00002.parquet"]
    assert report.changed == []


def test_write_manifest_replaces_the_old_one(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    write_manifest(tmp_path, generation={"command": "x"}, versions={})
    (tmp_path / "b.txt").write_text("b")
    write_manifest(tmp_path, generation={"command": "y"}, versions={})
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert sorted(manifest["files"]) == ["a.txt", "b.txt"]
    # sha256 of the one byte b"b" (`printf b | sha256sum`).
    b_sha256 = "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
    assert manifest["files"]["b.txt"] == {"size": 1, "sha256": b_sha256}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.txt", "b.txt", MANIFEST_NAME]


def test_a_folder_without_manifest_is_an_error(tmp_path):
    with pytest.raises(InvalidInputError, match="has no manifest.json"):
        verify(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text('{"format": "something/else"}')
    with pytest.raises(InvalidInputError, match="format 'something/else'"):
        verify(tmp_path)


def test_verify_command_exit_status(export_copy, tmp_path, capsys):
    assert cli_main(["verify", str(export_copy)]) == 0
    (export_copy / "README.md").write_text("changed")
    assert cli_main(["verify", str(export_copy)]) == 1
    assert "changed: README.md" in capsys.readouterr().out
    assert cli_main(["verify", str(tmp_path / "nothing")]) == 2


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ([], "is not an object with size and sha256 \\(got list\\)"),
        ("abc", "is not an object"),
        ({"size": True, "sha256": "0" * 64}, "has no valid size \\(got True\\)"),
        ({"size": 4, "sha256": "xyz"}, "has no valid sha256 \\(got 'xyz'\\)"),
    ],
)
def test_an_invalid_manifest_entry_exits_2_naming_it(export_copy, capsys, entry, problem):
    path = export_copy / MANIFEST_NAME
    manifest = json.loads(path.read_text())
    manifest["files"]["README.md"] = entry
    path.write_text(json.dumps(manifest))
    assert cli_main(["verify", str(export_copy)]) == 2
    err = capsys.readouterr().err
    assert re.search(f"error: {re.escape(str(path))}: files entry 'README.md' {problem}", err)
    assert "Traceback" not in err


def test_a_manifest_path_outside_the_folder_exits_2(export_copy, capsys):
    path = export_copy / MANIFEST_NAME
    manifest = json.loads(path.read_text())
    manifest["files"]["../outside"] = manifest["files"].pop("README.md")
    path.write_text(json.dumps(manifest))
    assert cli_main(["verify", str(export_copy)]) == 2
    assert "files entry '../outside' is not a relative path" in capsys.readouterr().err
    path.write_text("[1, 2]")
    assert cli_main(["verify", str(export_copy)]) == 2
    assert "format None is not" in capsys.readouterr().err
