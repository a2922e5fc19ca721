"""PNG bytes built chunk by chunk, for the checks of ``atari_interleaved.png_check``."""

from __future__ import annotations

import functools
import struct
import zlib

from atari_interleaved.png_check import PNG_SIGNATURE

__all__ = ["chunk", "palette_header_png"]


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.cache
def palette_header_png(width: int, height: int, rows: int, row_bytes: int) -> bytes:
    """A 1-bit palette PNG whose IHDR says width x height; ``rows`` zero rows compressed."""
    compressor = zlib.compressobj(9)
    row = bytes(row_bytes)
    data = b"".join(compressor.compress(row) for _ in range(rows)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 3, 0, 0, 0)
    return b"".join(
        [PNG_SIGNATURE, chunk(b"IHDR", header), chunk(b"PLTE", bytes(6)), chunk(b"IDAT", data)]
        + [chunk(b"IEND", b"")]
    )
