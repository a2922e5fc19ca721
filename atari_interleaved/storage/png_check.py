"""A structural check of PNG bytes: cheap enough to run on every frame of a conversion.

Decoding every frame would make a conversion several times slower than writing it. This
check reads the chunk structure instead: the signature, every chunk's length and CRC, an
``IHDR`` first with a valid size and pixel format, a ``PLTE`` before the image data of a
palette image, at least one ``IDAT``, and ``IEND`` last with nothing after it. A truncated
file, a flipped byte (caught by the CRC of its chunk) or a file that is not a PNG fails;
the compressed pixel stream itself is not inflated.

A frame must also be what ALE shows: :func:`frame_problem` adds, from the ``IHDR`` alone
(before anything is decoded, so a small file that would decode to 30000x30000 pixels is
refused unread), that it is 160 pixels wide and 210 high, and a palette image (colour type 3,
1, 2, 4 or 8 bits per pixel, as the sampler writes) or an 8-bit RGB image (colour type 2).

>>> png_problem(b"GIF89a")
'not a PNG file (bad signature)'
"""

from __future__ import annotations

import struct
from zlib import crc32

__all__ = [
    "PNG_SIGNATURE",
    "FRAME_WIDTH",
    "FRAME_HEIGHT",
    "FRAME_FORMATS",
    "png_problem",
    "frame_header_problem",
    "frame_problem",
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_HEADER = struct.Struct(">I4s")
_CRC = struct.Struct(">I")
_IHDR = struct.Struct(">IIBBBBB")
# Allowed bit depths of each PNG colour type (PNG specification, table 11.1).
_BIT_DEPTHS = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}
_COLOUR_TYPE_NAMES = {
    0: "a greyscale",
    2: "an RGB",
    3: "a palette",
    4: "a greyscale+alpha",
    6: "an RGBA",
}

FRAME_WIDTH = 160
FRAME_HEIGHT = 210
"""The size of an ALE screen, in pixels."""
FRAME_FORMATS = {3: (1, 2, 4, 8), 2: (8,)}
"""The bit depths a frame may have, by PNG colour type (3: palette, 2: RGB)."""
_RAW_FRAME = FRAME_HEIGHT * (1 + 3 * FRAME_WIDTH)
"""The bytes of the largest frame (8-bit RGB) before compression: a filter byte per row."""
_STORED_BLOCK = 5
"""The header of a deflate stored block (the data it holds follows as it is)."""
_MAX_FRAME_DATA = _RAW_FRAME + _STORED_BLOCK * (2 * FRAME_HEIGHT + _RAW_FRAME // 65535 + 1) + 6
"""The most compressed data a frame can need: its bytes stored as they are (an uncompressed
PNG, Pillow's ``compress_level=0``), in stored blocks of at most 65535 bytes, each with a
5-byte header; room for two more blocks a row (an encoder that flushes every row starts a
block and writes an empty one), and zlib's header and checksum (6 bytes). About 2% more than
the frame; a frame with more hides a stream that inflates beyond any frame (deflate
compresses at most 1032:1)."""


def _header_problem(data: bytes | memoryview) -> str | None:
    width, height, depth, colour, compression, filtering, interlace = _IHDR.unpack(data)
    if width == 0 or height == 0:
        return f"IHDR gives an empty image ({width}x{height})"
    if depth not in _BIT_DEPTHS.get(colour, ()):
        return f"IHDR has an invalid colour type {colour} with bit depth {depth}"
    if compression != 0 or filtering != 0 or interlace > 1:
        return "IHDR has an unknown compression, filter or interlace method"
    return None


def png_problem(data: bytes) -> str | None:
    """Return what is structurally wrong with PNG bytes, or None if nothing is.

    Args:
        data: the content of a ``.png`` file.

    Returns:
        A short description such as ``"truncated in chunk IDAT"`` or
        ``"CRC mismatch in chunk IDAT"``; None for a well-formed PNG.

    """
    return _walk_chunks(data)[0]


def _walk_chunks(data: bytes) -> tuple[str | None, int]:
    """Return :func:`png_problem`'s answer and the bytes of image data (``IDAT``) seen."""
    if not data.startswith(PNG_SIGNATURE):
        return "not a PNG file (bad signature)", 0
    view = memoryview(data)
    size = len(data)
    position = len(PNG_SIGNATURE)
    seen_palette = seen_data = False
    image_bytes = 0
    colour_type = None
    while position + 12 <= size:
        length, kind = _HEADER.unpack_from(data, position)
        end = position + 8 + length
        if end + 4 > size:
            return f"truncated in chunk {kind.decode('latin-1')}", image_bytes
        if crc32(view[position + 4 : end]) != _CRC.unpack_from(data, end)[0]:
            return f"CRC mismatch in chunk {kind.decode('latin-1')} (corrupt data)", image_bytes
        if colour_type is None:
            if kind != b"IHDR" or length != _IHDR.size:
                return "the first chunk is not a valid IHDR", image_bytes
            problem = _header_problem(view[position + 8 : end])
            if problem is not None:
                return problem, image_bytes
            colour_type = data[position + 8 + 9]
        elif kind == b"IDAT":
            if colour_type == 3 and not seen_palette:
                return "palette image without a PLTE chunk before its image data", image_bytes
            seen_data = True
            image_bytes += length
        elif kind == b"PLTE":
            seen_palette = True
        elif kind == b"IEND":
            if not seen_data:
                return "no IDAT chunk (no image data)", image_bytes
            if end + 4 != size:
                return f"{size - end - 4} unexpected bytes after the IEND chunk", image_bytes
            return None, image_bytes
        position = end + 4
    return "truncated: the file ends before its IEND chunk", image_bytes


def frame_header_problem(data: bytes | memoryview) -> str | None:
    """Return why bytes do not start as an Atari frame's PNG does, reading the header only.

    The signature, an ``IHDR`` first, and in it a 160x210 palette or RGB image: what
    :func:`frame_problem` checks besides the chunk structure, in constant time per frame,
    so a reader can check every frame it reads (a file that is not a PNG, or one claiming
    30000x30000 pixels, is refused before anything is decoded).
    """
    view = memoryview(data)
    if bytes(view[: len(PNG_SIGNATURE)]) != PNG_SIGNATURE:
        return "not a PNG file (bad signature)"
    start = len(PNG_SIGNATURE)
    if len(view) < start + 8 + _IHDR.size or bytes(view[start : start + 8]) != (
        _HEADER.pack(_IHDR.size, b"IHDR")
    ):
        return "not a valid PNG: the first chunk is not a valid IHDR"
    header = view[start + 8 : start + 8 + _IHDR.size]
    return _header_problem(header) or _frame_format_problem(header)


def _frame_format_problem(header: bytes | memoryview) -> str | None:
    """Return what in a valid ``IHDR`` differs from an Atari frame's, or None."""
    width, height, depth, colour = struct.unpack_from(">IIBB", header)
    if (width, height) != (FRAME_WIDTH, FRAME_HEIGHT):
        return (
            f"{width}x{height} pixels (width x height), but an Atari frame is "
            f"{FRAME_WIDTH}x{FRAME_HEIGHT}"
        )
    if depth not in FRAME_FORMATS.get(colour, ()):
        return (
            f"{_COLOUR_TYPE_NAMES.get(colour, 'an unknown')} PNG of {depth} bits per sample "
            f"(colour type {colour}), but a frame is a palette PNG of 1, 2, 4 or 8 bits per "
            "pixel or an 8-bit RGB PNG"
        )
    return None


def frame_problem(data: bytes) -> str | None:
    """Return why PNG bytes are not an Atari frame, or None if they are one.

    Args:
        data: the content of a frame file.

    Returns:
        ``"not a valid PNG: ..."`` (see :func:`png_problem`), or what differs from a 160x210
        palette or RGB PNG (``"64x48 pixels, but ..."``); None for a valid frame.

    """
    problem, image_bytes = _walk_chunks(data)
    if problem is not None:
        return f"not a valid PNG: {problem}"
    start = len(PNG_SIGNATURE) + 8
    problem = _frame_format_problem(memoryview(data)[start : start + _IHDR.size])
    if problem is None and image_bytes > _MAX_FRAME_DATA:
        return (
            f"{image_bytes} bytes of compressed image data, more than a {FRAME_WIDTH}x"
            f"{FRAME_HEIGHT} frame holds even uncompressed ({_MAX_FRAME_DATA}): its data "
            "would inflate far beyond a frame"
        )
    return problem
