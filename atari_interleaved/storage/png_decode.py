"""Decoding PNG frames to numpy arrays: RGB, or ALE's colour values.

The frames this project writes are palette PNGs (colour type 3) at 1, 2, 4 or 8 bits per
pixel, filter type 0 (none) on every row, whose PLTE holds only the colours the frame uses
(``generate/frame_encoder.py``). Those take the fast path: inflate the IDAT data (with
zlib-ng when installed, ``pip install "atari-interleaved[fast]"``, else the standard
library's zlib), then one table lookup per packed byte gives the pixels of that byte,
already as RGB (or as ALE values). Any other PNG (RGB PNGs of other tools, other filters,
interlacing, transparency) is decoded by Pillow and converted to RGB. Both give exactly
``Image.open(...).convert("RGB")``.

``rgb=False`` gives, per pixel, the value ``ALEInterface.getScreen`` gives: an index into
ALE's NTSC palette (:mod:`atari_interleaved.core.palette`), even numbers 0..254, the same for every
frame and game; not the PNG's own palette index.

Nothing in a PNG is trusted for sizes: its header must be an Atari frame's (160x210,
:func:`~atari_interleaved.storage.png_check.frame_header_problem`) before anything is
decoded, and the fast path inflates at most the bytes such a frame holds, so a small file
claiming 30000x30000 pixels, or one whose data inflates to a gigabyte, costs no more than
a frame and is refused.
"""

from __future__ import annotations

import io
import struct
from functools import cache, lru_cache

import numpy as np
from PIL import Image

from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.core.palette import ale_values_of
from atari_interleaved.storage.png_check import FRAME_HEIGHT, FRAME_WIDTH, frame_header_problem

try:  # zlib-ng inflates these small streams faster (the "fast" extra; see bench/README.md)
    from zlib_ng.zlib_ng import decompressobj as _inflater
    from zlib_ng.zlib_ng import error as _InflateError
except ImportError:
    from zlib import decompressobj as _inflater
    from zlib import error as _InflateError

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


@lru_cache(maxsize=4096)  # frames of a game share a few palettes
def _byte_tables(bits: int, palette: bytes, rgb: bool) -> tuple[np.ndarray, np.ndarray]:
    """Return the output bytes of each packed byte value, as rows and as 8-byte words.

    The rows have shape (256, pixels per byte * channels); the words hold the same bytes
    zero-padded (when a row fits in 8 bytes). ``palette`` is the PNG's PLTE; the output is
    its RGB colours, or their ALE values.
    """
    entries = np.frombuffer(palette, dtype=np.uint8).reshape(-1, 3)[: 1 << bits]
    if rgb:
        colours = np.zeros((1 << bits, 3), dtype=np.uint8)
        colours[: len(entries)] = entries
    else:
        colours = np.zeros((1 << bits, 1), dtype=np.uint8)
        colours[: len(entries), 0] = ale_values_of(entries)
    table = np.ascontiguousarray(colours[_unpack_table(bits)].reshape(256, -1))
    words = np.zeros((256, 8), dtype=np.uint8)
    words[:, : min(8, table.shape[1])] = table[:, :8]
    return table, words.view(np.uint64).reshape(256)


def _overlapping_writes_work() -> bool:
    """Whether a copy into 8-byte cells 3 bytes apart writes them in order (numpy's loop)."""
    target = np.zeros(16, dtype=np.uint8)
    cells = np.ndarray((3,), np.uint64, buffer=target, strides=(3,))
    cells[...] = np.array([0x030201, 0x060504, 0x090807], dtype=np.uint64)
    return target[:9].tolist() == list(range(1, 10))


_OVERLAPPING_WRITES = _overlapping_writes_work()


def _look_up(tables: tuple[np.ndarray, np.ndarray], packed: np.ndarray, out: np.ndarray) -> None:
    """Write ``table[packed]`` (whole rows of bytes) into the C-contiguous ``out``.

    Rows of 1, 2, 4 or 8 bytes are one native lookup. Rows of 3 or 6 bytes (RGB at 8 or 4
    bits per pixel, most frames) are looked up as 8-byte words, written 3 or 6 bytes apart
    in order so each overwrites the previous one's spare bytes: about twice as fast as a
    lookup of 6-byte rows. Other sizes take numpy's lookup of byte strings.
    """
    table, words = tables
    size = table.shape[1]
    flat = out.reshape(-1)
    if size in (1, 2, 4, 8):
        kind = np.dtype(f"u{size}")
        np.take(table.view(kind).reshape(256), packed, out=flat.view(kind).reshape(packed.shape))
    elif size < 8 and _OVERLAPPING_WRITES:
        indices = packed.reshape(-1)
        looked_up = np.take(words, indices)
        tail = -(-(8 - size) // size)  # the last words would overrun the array
        cells = np.ndarray((len(indices) - tail,), np.uint64, buffer=flat, strides=(size,))
        cells[...] = looked_up[:-tail]
        flat[-tail * size :] = table[indices[-tail:]].reshape(-1)
    else:
        cell = f"V{size}"
        np.take(table.view(cell).reshape(256), packed, out=flat.view(cell).reshape(packed.shape))


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
    if (width, height) != (FRAME_WIDTH, FRAME_HEIGHT):  # refused by decode_png's check
        return None
    return width, height, bits, palette, b"".join(idat)


def _bounded_inflate(compressed: bytes, size: int) -> bytes:
    """Inflate ``compressed``, refusing it if it holds more than ``size`` bytes.

    Raises:
        InvalidInputError: if the stream inflates to more than ``size`` bytes.

    """
    inflater = _inflater()
    try:
        raw = inflater.decompress(compressed, size + 1)
    except _InflateError:
        return b""  # damaged: Pillow's decode says how
    if len(raw) > size or inflater.unconsumed_tail:
        raise InvalidInputError(
            f"not an Atari frame: its image data inflates to more than the {size} bytes a "
            "frame of its size holds"
        )
    return raw


def _fast(data: bytes, rgb: bool, out: np.ndarray | None) -> np.ndarray | None:
    """Decode a palette PNG of the fast path into ``out`` (or a new array); None if it is not."""
    parsed = _palette_png(data)
    if parsed is None:
        return None
    width, height, bits, palette, idat = parsed
    stride = (width * bits + 7) // 8 + 1
    raw = np.frombuffer(_bounded_inflate(idat, stride * height), dtype=np.uint8)
    if raw.size != stride * height:
        return None
    rows = raw.reshape(height, stride)
    if rows[:, 0].any():  # a row with a filter: Pillow undoes it
        return None
    tables = _byte_tables(bits, bytes(palette), rgb)
    shape = (height, width, 3) if rgb else (height, width)
    if out is not None and out.shape != shape:
        raise ValueError(f"a {shape} image cannot be written into an {out.shape} array")
    target = np.empty(shape, dtype=np.uint8) if out is None else out
    packed = rows[:, 1:]
    if packed.shape[1] * (8 // bits) == width:
        _look_up(tables, packed, target)
    else:  # the last byte of each row is padded: look up whole bytes, then cut
        wide = np.empty((height, packed.shape[1] * tables[0].shape[1]), dtype=np.uint8)
        _look_up(tables, packed, wide)
        target[...] = wide.reshape(height, -1, *shape[2:])[:, :width]
    return target


def _with_pillow(data: bytes, rgb: bool) -> np.ndarray:
    try:
        image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    except (OSError, ValueError, SyntaxError) as error:  # what Pillow raises on bad PNGs
        raise InvalidInputError(f"not a decodable PNG frame ({error})") from None
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
        InvalidInputError: if ``data`` is not an Atari frame (its header, or pixel data
            that inflates to more than such a frame holds) or cannot be decoded.
        ValueError: with ``rgb=False``, if the image has a colour that is not ALE's; if
            ``out`` has another shape than the image.

    """
    fast = _fast(data, rgb, out)  # only a 160x210 palette PNG, inflated within bounds
    if fast is not None:
        return fast
    problem = frame_header_problem(data)
    if problem is not None:
        raise InvalidInputError(f"not an Atari frame: {problem}")
    image = _with_pillow(data, rgb)
    if out is None:
        return image
    if out.shape != image.shape:
        raise ValueError(f"a {image.shape} image cannot be written into an {out.shape} array")
    out[...] = image
    return out
