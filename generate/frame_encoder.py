"""Lossless PNG encoding of ALE screens as small palette images.

ALE draws every screen with at most 128 colours of its NTSC palette, and ``getScreen`` gives
the palette index of each pixel far faster than ``getScreenRGB`` gives RGB. A frame is stored
as a palette PNG (colour type 3) holding only the colours it uses, in index order, with the
fewest bits per pixel that fit them (most frames use at most 16 colours: 4 bits). Decoded
and converted to RGB (``Image.open(...).convert("RGB")``) it is exactly ``getScreenRGB()``.

The PNG is assembled here from its four chunks with the standard library's ``zlib``, since
Pillow writes palette images at 8 bits per pixel. ``python3 bench/bench_sample.py`` measures
its speed and size against Pillow's RGB and palette PNGs (figures in ``bench/README.md``).

The colour of each palette index is learnt from ALE itself the first time it appears (one
``getScreenRGB`` call), so no palette table is copied here; what is written depends only on
the frame, never on which frames an encoder saw before.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

import numpy as np
from PIL import Image

from atari_interleaved.core.settings import DEFAULT_COMPRESS_LEVEL

__all__ = ["PaletteFrameEncoder"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_PALETTE_COLOUR_TYPE = 3


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))
    )


def _bits_per_pixel(colours: int) -> int:
    return next(bits for bits in (1, 2, 4, 8) if colours <= 1 << bits)


class PaletteFrameEncoder:
    """Encode ALE palette-index screens to PNG bytes, reusing its colour table across frames.

    Args:
        compress_level: zlib level of the PNG (0-9); 6 is the default, 1 trades size for
            encoding time (``bench/README.md``, *PNG settings*).

    """

    def __init__(self, compress_level: int = DEFAULT_COMPRESS_LEVEL) -> None:
        if not 0 <= compress_level <= 9:
            raise ValueError(f"compress_level must be in 0..9, but got {compress_level}")
        self.compress_level = compress_level
        self._colours = np.zeros((256, 3), dtype=np.uint8)
        self._known = np.zeros(256, dtype=bool)
        # Index -> position in the frame's palette. Only the entries of the colours present
        # are set for a frame, and only those are looked up, so it is never cleared.
        self._lookup = np.zeros(256, dtype=np.uint8)

    def encode(self, screen: np.ndarray, screen_rgb: Callable[[], np.ndarray]) -> bytes:
        """Return the PNG bytes of ``screen``.

        Args:
            screen: palette indices, ``uint8`` of shape (height, width), from ``ale.getScreen``.
            screen_rgb: returns the same screen as RGB (``ale.getScreenRGB``); called only when
                the screen holds an index whose colour is not known yet.

        """
        height, width = screen.shape
        histogram = Image.frombuffer("P", (width, height), screen, "raw", "P", 0, 1).histogram()
        present = np.flatnonzero(np.asarray(histogram, dtype=np.int64))
        if not self._known[present].all():
            self._learn_colours(screen, screen_rgb(), present[~self._known[present]])
        self._lookup[present] = np.arange(len(present), dtype=np.uint8)
        indices = np.take(self._lookup, screen)
        bits = _bits_per_pixel(len(present))
        per_byte = 8 // bits
        padded = -width % per_byte
        if padded:
            indices = np.pad(indices, ((0, 0), (0, padded)))
        rows = np.zeros((height, 1 + indices.shape[1] // per_byte), dtype=np.uint8)
        packed = rows[:, 1:]  # column 0 holds each row's filter type, 0 (none)
        for position in range(per_byte):
            packed |= indices[:, position::per_byte] << (8 - bits * (position + 1))
        header = struct.pack(">IIBBBBB", width, height, bits, _PALETTE_COLOUR_TYPE, 0, 0, 0)
        return b"".join(
            (
                _SIGNATURE,
                _chunk(b"IHDR", header),
                _chunk(b"PLTE", self._colours[present].tobytes()),
                _chunk(b"IDAT", zlib.compress(rows.tobytes(), self.compress_level)),
                _IEND,
            )
        )

    def _learn_colours(self, screen: np.ndarray, rgb: np.ndarray, indices: np.ndarray) -> None:
        flat_screen = screen.reshape(-1)
        flat_rgb = rgb.reshape(-1, 3)
        for index in indices:
            self._colours[index] = flat_rgb[int(np.argmax(flat_screen == index))]
            self._known[index] = True
