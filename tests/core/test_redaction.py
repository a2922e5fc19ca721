"""Tokens never printed: every relayed message goes through ``redaction.redact``."""

from __future__ import annotations

import socket

import huggingface_hub.constants as hf_constants
import pytest

from atari_interleaved.cli.app import main as cli_main
from atari_interleaved.core.redaction import redact, remember_secret
from tests.fixtures.export_utils import REPO_ID
from tests.fixtures.hub_fixtures import FAKE_HF_TOKEN


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-123", "Authorization: Bearer ***"),
        ("{'authorization': 'Bearer xyz123456'}", "{'authorization': 'Bearer ***'}"),
        ("sent bearer Zm9vYmFyYmF6 to the proxy", "sent bearer *** to the proxy"),
        ("token hf_AbCdEf123456 refused", "token hf_*** refused"),
        ("no secret here: hf_ab is too short", "no secret here: hf_ab is too short"),
    ],
)
def test_token_shaped_strings_are_redacted(text, expected, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert redact(text) == expected


def test_known_token_values_are_redacted_whatever_their_shape(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_TOKEN", "plain-secret-from-env")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "object-store-secret")
    token_file = tmp_path / "token"
    token_file.write_text("stored-login-secret\n")
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(token_file))
    remember_secret("passed-on-the-command-line")
    text = "a plain-secret-from-env b stored-login-secret c passed-on-the-command-line"
    assert redact(text + " d object-store-secret") == "a *** b *** c *** d ***"


def test_an_endpoint_echoing_the_authorization_header_never_prints_the_token(
    hub_server, exported_folder, capsys, monkeypatch
):
    stored = "stored-token-without-a-known-shape"
    monkeypatch.delenv("HF_TOKEN")
    (hub_server.home / "token").write_text(stored)
    hub_server.server.echo_proxy_error = 502
    argv = ["publish", "--input-dir", str(exported_folder), "--repo-id", REPO_ID]
    assert cli_main([*argv, "--no-progress"]) == 2
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert f"failed: the Hub at {hub_server.url} answered" in captured.err
    assert "Authorization: Bearer ***" in captured.err  # the echo came back, without the token
    assert stored not in output and FAKE_HF_TOKEN not in output and "Traceback" not in output

    hub_server.server.echo_proxy_error = 401
    monkeypatch.setenv("HF_TOKEN", FAKE_HF_TOKEN)
    assert cli_main([*argv, "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert "Authorization: Bearer ***" in captured.err
    assert FAKE_HF_TOKEN not in captured.out + captured.err


def point_at_a_closed_port(monkeypatch, user: str = "") -> str:
    """Point the Hub endpoint at a local port nobody listens on; return its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://{user}127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("HF_ENDPOINT", closed)
    monkeypatch.setattr(hf_constants, "ENDPOINT", closed)
    return closed


def test_publish_to_an_unreachable_endpoint_names_it_in_a_short_error(
    hub_server, exported_folder, capsys, monkeypatch
):
    closed = point_at_a_closed_port(monkeypatch)
    argv = ["publish", "--input-dir", str(exported_folder), "--repo-id", REPO_ID]
    assert cli_main([*argv, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: publishing to {REPO_ID!r} failed: cannot reach the Hub at {closed} (HF_ENDPOINT)"
    )
    assert "Check the network, proxy settings and HF_ENDPOINT" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_password_in_the_endpoint_url_is_never_printed(
    hub_server, exported_folder, capsys, monkeypatch
):
    point_at_a_closed_port(monkeypatch, user="me:endpoint-password@")
    argv = ["publish", "--input-dir", str(exported_folder), "--repo-id", REPO_ID]
    assert cli_main([*argv, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the Hub at http://***@127.0.0.1:" in err
    assert "endpoint-password" not in err and "Traceback" not in err


@pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning")
def test_every_line_a_command_prints_is_redacted_the_success_summary_too(
    hub_server, exported_folder, capsys
):
    repo_id = "hf_AbCdEf123456/atari_interleaved"  # a token pasted as the namespace
    argv = ["publish", "--input-dir", str(exported_folder), "--repo-id", repo_id]
    assert cli_main([*argv, "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "Published" in captured.out and "load_dataset('hf_***/atari_interleaved'" in captured.out
    assert "AbCdEf123456" not in captured.out + captured.err
