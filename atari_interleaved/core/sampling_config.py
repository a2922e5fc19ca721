"""Reading ``sampling_config.json``: the settings a frame tree or direct folder was sampled with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.core.layout import SAMPLING_CONFIG_NAME

__all__ = ["read_sampling_config"]


def read_sampling_config(root: Path) -> dict[str, Any] | None:
    """Return the content of ``root/sampling_config.json``, or None if absent.

    Raises:
        InvalidInputError: if the file exists but is not a JSON object.

    """
    path = root / SAMPLING_CONFIG_NAME
    if not path.is_file():
        return None
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InvalidInputError(f"{path}: not a valid sampling config ({error!r})") from error
    if not isinstance(recorded, dict):
        raise InvalidInputError(f"{path}: not a valid sampling config (not a JSON object)")
    return recorded
