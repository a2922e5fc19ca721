"""Pytest fixture pointing ``huggingface_hub`` and ``datasets`` at ``tests/hub_server.py``.

Use it with ``pytest_plugins = ["tests.hub_fixtures"]`` (in ``tests/conftest.py``) or with an
explicit import::

    from tests.hub_fixtures import hub_server  # noqa: F401

    def test_upload(hub_server):
        HfApi().create_repo("test-user/ds", repo_type="dataset")   # goes to hub_server.url
        subprocess.run([sys.executable, "-c", "..."], env=hub_server.subprocess_env(), check=True)

Both libraries read their settings from the environment *at import time* into module constants
(``huggingface_hub.constants.ENDPOINT``, ``HUGGINGFACE_CO_URL_TEMPLATE``, ``HF_HUB_CACHE``,
``HF_HUB_DISABLE_XET``, ``datasets.config.HF_ENDPOINT``, ``HUB_DATASETS_URL``,
``HF_DATASETS_CACHE``, ...), and ``huggingface_hub`` also builds a module-level ``HfApi``
(``huggingface_hub.hf_api.api``, behind ``huggingface_hub.create_repo`` & co.) whose endpoint is
frozen at import. Setting environment variables is therefore not enough inside an already running
pytest process: the fixture sets the variables (for subprocesses and late imports) *and*
monkeypatches those constants, all undone at teardown.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.hub_server import HubServer, start_hub_server

__all__ = ["FAKE_HF_TOKEN", "HubFixture", "hub_env", "hub_server"]

#: Token sent by the clients; the fake Hub accepts any non-empty token.
FAKE_HF_TOKEN = "hf_fakeTokenForTheLocalTestHub"

#: Variables removed while the fixture is active (they would override ours or go offline).
_UNSET_VARS = (
    "HF_HUB_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_OIDC_RESOURCE",
    "HUGGINGFACE_CO_STAGING",
    "HF_TOKEN_PATH",
    "HF_STORED_TOKENS_PATH",
    "HUGGINGFACE_HUB_CACHE",
    "HUGGINGFACE_ASSETS_CACHE",
    "HF_ASSETS_CACHE",
    "HF_XET_CACHE",
    "HF_DATASETS_DOWNLOADED_DATASETS_PATH",
    "HF_DATASETS_EXTRACTED_DATASETS_PATH",
)


def hub_env(url: str, home: str | os.PathLike[str], token: str = FAKE_HF_TOKEN) -> dict[str, str]:
    """Return the environment variables that point a *fresh* Python process at the fake Hub ``url``.

    All caches live under ``home`` (``HF_HOME``), so a new ``home`` means an empty cache.
    """
    home = Path(home)
    host = urlsplit(url).hostname or "127.0.0.1"
    return {
        "HF_ENDPOINT": url,
        "HF_TOKEN": token,
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(home / "hub"),
        "HF_DATASETS_CACHE": str(home / "datasets"),
        "HF_MODULES_CACHE": str(home / "modules"),
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_UPDATE_CHECK": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",  # else `datasets` HEADs an S3 URL on every load
        "DO_NOT_TRACK": "1",
        "NO_PROXY": ",".join(
            filter(None, [host, "localhost", "127.0.0.1", os.environ.get("NO_PROXY")])
        ),
    }


@dataclass
class HubFixture:
    """What the ``hub_server`` fixture yields.

    Attributes:
        server: The running :class:`~tests.hub_server.HubServer` (request log, test helpers).
        url: Endpoint of the fake Hub (also in ``HF_ENDPOINT`` and the patched constants).
        token: The fake token exported as ``HF_TOKEN``.
        user: The user name returned by ``whoami`` (default namespace of ``create_repo``).
        home: The ``HF_HOME`` used by this process during the test.
        env: The environment variables set by the fixture (see :func:`hub_env`).

    """

    server: HubServer
    url: str
    token: str
    user: str
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    def subprocess_env(self, home: str | os.PathLike[str] | None = None) -> dict[str, str]:
        """Full environment for ``subprocess.run(..., env=...)``: ``os.environ`` plus :attr:`env`.

        Pass ``home`` (e.g. a new ``tmp_path`` sub-directory) to give the child process its own,
        empty caches.
        """
        env = {k: v for k, v in os.environ.items() if k not in _UNSET_VARS}
        env.update(self.env if home is None else hub_env(self.url, home, self.token))
        return env


def _patch(
    monkeypatch: pytest.MonkeyPatch, module: ModuleType | object, values: dict[str, Any]
) -> None:
    """Monkeypatch attributes of ``module`` (skipping names this library version does not have)."""
    for name, value in values.items():
        if hasattr(module, name):
            monkeypatch.setattr(module, name, value)


def _patch_huggingface_hub(monkeypatch: pytest.MonkeyPatch, url: str, home: Path) -> None:
    """Patch the import-time constants of ``huggingface_hub`` (see the module docstring)."""
    import huggingface_hub.constants as hf_constants
    from huggingface_hub import hf_api
    from huggingface_hub.utils import _http as hf_http

    host = (urlsplit(url).hostname or "").lower()
    _patch(
        monkeypatch,
        hf_constants,
        {
            "ENDPOINT": url,
            "HUGGINGFACE_CO_URL_TEMPLATE": url + "/{repo_id}/resolve/{revision}/{filename}",
            "HF_URL_HOSTS": frozenset(hf_constants.HF_URL_HOSTS | {host}),
            "HF_HOME": str(home),
            "default_cache_path": str(home / "hub"),
            "default_assets_cache_path": str(home / "assets"),
            "HUGGINGFACE_HUB_CACHE": str(home / "hub"),
            "HUGGINGFACE_ASSETS_CACHE": str(home / "assets"),
            "HF_HUB_CACHE": str(home / "hub"),
            "HF_ASSETS_CACHE": str(home / "assets"),
            "HF_TOKEN_PATH": str(home / "token"),
            "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
            "default_xet_cache_path": str(home / "xet"),
            "HF_XET_CACHE": str(home / "xet"),
            "AGENT_HARNESSES_PATH": str(home / ".agent_harnesses.json"),
            "CHECK_FOR_UPDATE_DONE_PATH": str(home / ".check_for_update_done"),
            "CHECK_FOR_SKILL_UPDATE_DONE_PATH": str(home / ".check_for_skill_update_done"),
            "HF_HUB_DISABLE_XET": True,
            "HF_HUB_DISABLE_TELEMETRY": True,
            "HF_HUB_DISABLE_UPDATE_CHECK": True,
            "HF_HUB_OFFLINE": False,
            "HF_HUB_DISABLE_IMPLICIT_TOKEN": False,
        },
    )
    # `huggingface_hub.create_repo`, `upload_folder`, ... are bound methods of this instance.
    _patch(monkeypatch, hf_api.api, {"endpoint": url})
    # Origins trusted as "Hub" (auth header kept when following redirects).
    origin = hf_http._url_origin(url)
    _patch(monkeypatch, hf_http, {"_HUB_ORIGINS": frozenset(hf_http._HUB_ORIGINS | {origin})})


def _patch_datasets(monkeypatch: pytest.MonkeyPatch, url: str, home: Path) -> None:
    """Patch the import-time constants of ``datasets.config`` (imported here: teardown restores)."""
    if importlib.util.find_spec("datasets") is None:
        return
    config = importlib.import_module("datasets.config")
    datasets_cache = home / "datasets"
    downloads = datasets_cache / config.DOWNLOADED_DATASETS_DIR
    _patch(
        monkeypatch,
        config,
        {
            "HF_ENDPOINT": url,
            "HUB_DATASETS_URL": url + "/datasets/{repo_id}/resolve/{revision}/{path}",
            "HF_CACHE_HOME": str(home),
            "HF_DATASETS_CACHE": datasets_cache,
            "HF_MODULES_CACHE": home / "modules",
            "DOWNLOADED_DATASETS_PATH": downloads,
            "EXTRACTED_DATASETS_PATH": downloads / config.EXTRACTED_DATASETS_DIR,
            "HF_UPDATE_DOWNLOAD_COUNTS": False,
            "HF_HUB_OFFLINE": False,
            "HF_DATASETS_OFFLINE": False,
        },
    )


def _reset_client_state() -> None:
    """Drop cached HTTP connections and ``HfFileSystem`` instances (tied to a server / revision)."""
    from huggingface_hub import HfFileSystem, close_session

    close_session()
    HfFileSystem.clear_instance_cache()


@pytest.fixture
def hub_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubFixture]:
    """Run a fake Hub on 127.0.0.1 (free port) and point ``huggingface_hub`` / ``datasets`` at it.

    Sets ``HF_ENDPOINT``, ``HF_TOKEN`` (fake), ``HF_HOME`` / ``HF_HUB_CACHE`` /
    ``HF_DATASETS_CACHE`` (under ``tmp_path``), ``HF_HUB_DISABLE_XET=1`` and
    ``HF_HUB_DISABLE_TELEMETRY=1``, patches the matching module constants of both libraries, and
    yields a :class:`HubFixture` (``.url``, ``.env``, ``.subprocess_env()``).
    """
    home = tmp_path / "hf-home"
    home.mkdir()
    server = start_hub_server(tmp_path)
    try:
        env = hub_env(server.url, home)
        for name in _UNSET_VARS:
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        _patch_huggingface_hub(monkeypatch, server.url, home)
        _patch_datasets(monkeypatch, server.url, home)
        _reset_client_state()
        yield HubFixture(
            server=server, url=server.url, token=FAKE_HF_TOKEN, user=server.user, home=home, env=env
        )
    finally:
        _reset_client_state()
        server.stop()
