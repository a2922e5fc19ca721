"""Decoding PNG frames to numpy arrays: RGB, or ALE's colour values.

The frames this project writes are palette PNGs (colour type 3) at 1, 2, 4 or 8 bits per
pixel, filter type 0 (none) on every row, whose PLTE holds only the colours the frame uses
(``generate/frame_encoder.py``). Those take the fast path: inflate the IDAT data with zlib,
then one table lookup per packed byte gives the pixels of that byte, already as RGB (or as
ALE values). Any other PNG (RGB PNGs of other tools, other filters, interlacing,
transparency) is decoded by Pillow and converted to RGB. Both give exactly
``Image.open(...).convert("RGB")``.

``rgb=False`` gives, per pixel, the value ``ALEInterface.getScreen`` gives: an index into
ALE's NTSC palette (:mod:`atari_interleaved.palette`), even numbers 0..254, the same for every
frame and game; not the PNG's own palette index.
"""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache

import numpy as np
from PIL import Image

from atari_interleaved.palette import ale_values_of

__all__ = ["decode_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PALETTE_COLOUR_TYPE = 3
_FAST_CHUNKS = {b"IHDR", b"PLTE", b"IDAT", b"IEND"}


@cache
def _unpack_table(bits: int) -> np.ndarray:
    """Return the pixels of each byte value at ``bits`` per pixel: shape (256, 8 // bits)."""
    per_byte = 8 // bits
    shifts = np.arange(8 - bits, -1, -bits, dtype=np.uint8)
    values = np.arange(256, dtype=np.uint8)[:, None]
    return ((values >> shifts) & ((1 << bits) - 1)).reshape(256, per_byte)


def _palette_png(data: bytes) -> tuple[int, int, int, bytes, bytes] | None:
    """Return (width, height, bits, PLTE, IDAT data) of a PNG the fast path decodes, else None."""
    if data[:8] != _SIGNATURE:
        return None
    position, idat, palette, header = 8, [], b"", None
    while position + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind not in _FAST_CHUNKS:  # tRNS, gAMA, ...: leave them to Pillow
            return None
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = body
        elif kind == b"IDAT":
            idat.append(body)
        else:
            break
    if header is None or not palette or not idat:
        return None
    width, height, bits, colour_type, _, _, interlace = header
    if colour_type != _PALETTE_COLOUR_TYPE or bits not in (1, 2, 4, 8) or interlace:
        return None
    return width, height, bits, palette, b"".join(idat)


def _fast(data: bytes, rgb: bool, out: np.ndarray | None) -> np.ndarray | None:
    """Decode a palette PNG of the fast path into ``out`` (or a new array); None if it is not."""
    parsed = _palette_png(data)
    if parsed is None:
        return None
    width, height, bits, palette, idat = parsed
    stride = (width * bits + 7) // 8 + 1
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8)
    if raw.size != stride * height:
        return None
    rows = raw.reshape(height, stride)
    if rows[:, 0].any():  # a row with a filter: Pillow undoes it
        return None
    entries = np.frombuffer(palette, dtype=np.uint8).reshape(-1, 3)[: 1 << bits]
    if rgb:
        colours = np.zeros((1 << bits, 3), dtype=np.uint8)
        colours[: len(entries)] = entries
    else:
        colours = np.zeros((1 << bits, 1), dtype=np.uint8)
        colours[: len(entries), 0] = ale_values_of(entries)
    # The pixels of each possible byte, side by side: one lookup per byte of the image.
    table = np.ascontiguousarray(colours[_unpack_table(bits)].reshape(256, -1))
    cell = f"V{table.shape[1]}"
    channels = (height, width, 3) if rgb else (height, width)
    packed = rows[:, 1:]
    if out is not None and packed.shape[1] * (8 // bits) == width:
        np.take(table.view(cell).reshape(256), packed, out=out.reshape(height, -1).view(cell))
        return out
    pixels = np.take(table.view(cell).reshape(256), packed).view(np.uint8)
    pixels = pixels.reshape(height, -1, *channels[2:])[:, :width]
    if out is None:
        return np.ascontiguousarray(pixels).reshape(channels)
    out[...] = pixels
    return out


def _with_pillow(data: bytes, rgb: bool) -> np.ndarray:
    image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    if rgb:
        return image
    colours, inverse = np.unique(image.reshape(-1, 3), axis=0, return_inverse=True)
    return ale_values_of(colours)[inverse.reshape(-1)].reshape(image.shape[:2])


def decode_png(data: bytes, *, rgb: bool = True, out: np.ndarray | None = None) -> np.ndarray:
    """Decode one PNG: ``uint8`` (height, width, 3) RGB, or (height, width) ALE values.

    Args:
        data: the PNG file's bytes.
        rgb: RGB if True, else ALE's colour values (see the module doc).
        out: a C-contiguous ``uint8`` array of the result's shape to write into.

    Raises:
        ValueError: with ``rgb=False``, if the image has a colour that is not ALE's; if
            ``out`` has another shape than the image.

    """
    fast = _fast(data, rgb, out)
    if fast is not None:
        return fast
    image = _with_pillow(data, rgb)
    if out is None:
        return image
    if out.shape != image.shape:
        raise ValueError(f"a {image.shape} image cannot be written into an {out.shape} array")
    out[...] = image
    return out
