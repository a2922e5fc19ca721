"""Lossless PNG encoding of ALE screens as small palette images.

ALE draws every screen with at most 128 colours of its NTSC palette, and ``getScreen`` gives
the palette index of each pixel far faster than ``getScreenRGB`` gives RGB. A frame is stored
as an 8-bit palette PNG holding only the colours it uses (index order), which Pillow encodes
several times faster than an RGB PNG, at the size of an RGB PNG with Pillow's default level
when ``compress_level=1`` (see ``bench/`` and README). Decoded and converted to RGB
(``Image.open(...).convert("RGB")``) it is exactly ``getScreenRGB()``.

The colour of each palette index is learnt from ALE itself the first time it appears (one
``getScreenRGB`` call), so no palette table is copied here; what is written depends only on
the frame, never on which frames an encoder saw before.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image

__all__ = ["PaletteFrameEncoder", "DEFAULT_COMPRESS_LEVEL"]

DEFAULT_COMPRESS_LEVEL = 1


class PaletteFrameEncoder:
    """Encode ALE palette-index screens to PNG bytes, reusing its colour table across frames.

    Args:
        compress_level: zlib level of the PNG (0-9). 1 is fastest with about the size of
            Pillow's default RGB PNG; 6 is about 35% smaller and 1.8x slower to encode.

    """

    def __init__(self, compress_level: int = DEFAULT_COMPRESS_LEVEL) -> None:
        if not 0 <= compress_level <= 9:
            raise ValueError(f"compress_level must be in 0..9, but got {compress_level}")
        self.compress_level = compress_level
        self._colours = np.zeros((256, 3), dtype=np.uint8)
        self._known = np.zeros(256, dtype=bool)

    def encode(self, screen: np.ndarray, screen_rgb: Callable[[], np.ndarray]) -> bytes:
        """Return the PNG bytes of ``screen``.

        Args:
            screen: palette indices, ``uint8`` of shape (height, width), from ``ale.getScreen``.
            screen_rgb: returns the same screen as RGB (``ale.getScreenRGB``); called only when
                the screen holds an index whose colour is not known yet.

        """
        height, width = screen.shape
        image = Image.frombuffer("P", (width, height), screen, "raw", "P", 0, 1)
        present = np.flatnonzero(np.asarray(image.histogram(), dtype=np.int64))
        if not self._known[present].all():
            self._learn_colours(screen, screen_rgb(), present[~self._known[present]])
        lookup = np.zeros(256, dtype=np.uint8)
        lookup[present] = np.arange(len(present), dtype=np.uint8)
        compact = Image.frombuffer("P", (width, height), np.take(lookup, screen), "raw", "P", 0, 1)
        compact.putpalette(self._colours[present].tobytes())
        buffer = io.BytesIO()
        compact.save(buffer, format="PNG", compress_level=self.compress_level)
        return buffer.getvalue()

    def _learn_colours(self, screen: np.ndarray, rgb: np.ndarray, indices: np.ndarray) -> None:
        flat_screen = screen.reshape(-1)
        flat_rgb = rgb.reshape(-1, 3)
        for index in indices:
            self._colours[index] = flat_rgb[int(np.argmax(flat_screen == index))]
            self._known[index] = True
