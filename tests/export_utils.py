"""Helpers of the export, card and publish tests (no fixtures: import freely)."""

from __future__ import annotations

import hashlib
from io import BytesIO

from PIL import Image

__all__ = ["REPO_ID", "row_digests"]

REPO_ID = "test-user/atari_interleaved"


def _digest(value: object) -> object:
    """Replace PNG bytes and PIL images by the sha256 of their RGB pixels, recursively."""
    if isinstance(value, bytes):
        value = Image.open(BytesIO(value))
    if hasattr(value, "convert") and hasattr(value, "size"):
        return hashlib.sha256(value.convert("RGB").tobytes()).hexdigest()
    if isinstance(value, dict):
        return {key: _digest(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_digest(item) for item in value]
    return value


def row_digests(rows) -> list:
    """Rows (dicts of datasets or pandas) with every image replaced by a digest of its pixels.

    Rows loaded by ``datasets`` (PIL images) and read from parquet (PNG bytes) compare equal.
    """
    return [_digest(dict(row)) for row in rows]
