from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from atari_interleaved.png_check import PNG_SIGNATURE, png_problem


def encode(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@pytest.fixture(scope="module")
def palette_png() -> bytes:
    pixels = np.random.default_rng(0).integers(0, 4, size=(210, 160), dtype=np.uint8)
    image = Image.fromarray(pixels, mode="P")
    image.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    return encode(image)


@pytest.mark.parametrize("mode", ["P", "RGB", "RGBA", "L", "I;16", "1"])
def test_pillow_pngs_pass(mode):
    assert png_problem(encode(Image.new(mode, (7, 5)))) is None


def test_every_truncation_is_caught(palette_png):
    assert png_problem(palette_png) is None
    for size in range(len(palette_png)):
        assert png_problem(palette_png[:size]) is not None, size


def test_a_flipped_byte_in_the_image_data_is_caught(palette_png):
    broken = bytearray(palette_png)
    broken[len(broken) // 2] ^= 0x01
    assert "CRC mismatch in chunk IDAT" in png_problem(bytes(broken))


def test_not_a_png():
    assert png_problem(b"8: DOWNRIGHT") == "not a PNG file (bad signature)"
    assert png_problem(b"") == "not a PNG file (bad signature)"


def test_bytes_after_iend(palette_png):
    assert png_problem(palette_png + b"\0\0") == "2 unexpected bytes after the IEND chunk"


def test_structure_rules(palette_png):
    header = palette_png[8:33]
    iend = chunk(b"IEND", b"")
    idat = chunk(b"IDAT", zlib.compress(b"\0" * 3))
    plte = chunk(b"PLTE", b"\0\0\0")
    ihdr_1x1_palette = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 3, 0, 0, 0))
    assert png_problem(PNG_SIGNATURE + ihdr_1x1_palette + plte + idat + iend) is None
    assert "without a PLTE" in png_problem(PNG_SIGNATURE + ihdr_1x1_palette + idat + iend)
    assert "no IDAT" in png_problem(PNG_SIGNATURE + header + iend)
    assert "not a valid IHDR" in png_problem(PNG_SIGNATURE + idat + iend)
    empty = chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 1, 8, 3, 0, 0, 0))
    assert "empty image" in png_problem(PNG_SIGNATURE + empty + plte + idat + iend)
    bad_depth = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 16, 3, 0, 0, 0))
    assert "bit depth 16" in png_problem(PNG_SIGNATURE + bad_depth + plte + idat + iend)
