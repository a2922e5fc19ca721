from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from atari_interleaved.cli.app import main as cli_main
from atari_interleaved.generate.frame_encoder import PaletteFrameEncoder
from atari_interleaved.storage.png_check import PNG_SIGNATURE, frame_problem, png_problem
from atari_interleaved.storage.png_decode import decode_png
from tests.fixtures.png_utils import chunk, palette_header_png


def encode(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


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


def test_a_decompression_bomb_is_refused_from_its_header():
    bomb = palette_header_png(30_000, 30_000, 30_000, 1 + 30_000 // 8)
    assert len(bomb) < 200_000 and png_problem(bomb) is None  # well formed, 900M pixels
    assert frame_problem(bomb) == (
        "30000x30000 pixels (width x height), but an Atari frame is 160x210"
    )


def test_a_frame_whose_data_inflates_far_beyond_a_frame_is_refused_uninflated():
    bomb = palette_header_png(160, 210, 160, 2**20)  # 160 MiB of zero rows
    assert len(bomb) < 400_000 and png_problem(bomb) is None  # a well-formed 160x210 PNG
    problem = frame_problem(bomb)
    assert problem is not None and "bytes of compressed image data, more than a 160x210" in problem


@pytest.mark.parametrize(
    ("mode", "size", "problem"),
    [
        ("P", (64, 48), "64x48 pixels (width x height), but an Atari frame is 160x210"),
        ("P", (210, 160), "210x160 pixels (width x height), but an Atari frame is 160x210"),
        ("RGBA", (160, 210), "an RGBA PNG of 8 bits per sample (colour type 6), but a frame"),
        ("L", (160, 210), "a greyscale PNG of 8 bits per sample (colour type 0), but"),
        ("I;16", (160, 210), "a greyscale PNG of 16 bits"),
        ("RGB", (160, 210), None),
        ("P", (160, 210), None),
    ],
)
def test_frames_are_160x210_palette_or_rgb(mode, size, problem):
    found = frame_problem(encode(Image.new(mode, size)))
    assert found == problem if problem is None else found.startswith(problem)


def test_what_the_sampler_writes_is_a_frame_at_every_bit_depth():
    rng = np.random.default_rng(1)
    colours = rng.integers(0, 256, size=(256, 3), dtype=np.uint8)
    depths = set()
    for count in (1, 2, 3, 16, 128):
        screen = rng.choice(np.arange(0, 256, 2, dtype=np.uint8)[:count], size=(210, 160))
        data = PaletteFrameEncoder().encode(screen, lambda screen=screen: colours[screen])
        assert frame_problem(data) is None
        depths.add(data[24])
    assert depths == {1, 2, 4, 8}


def test_uncompressed_frames_are_frames_and_export(tree_copy, tmp_path):
    """Pillow's ``compress_level=0`` stores a frame's bytes in deflate's stored blocks, which
    are a little larger than what they hold (the seed's layout allows any PNG)."""
    episode = tree_copy / "atari_pong" / "episode_000_rand0.2"
    frames = sorted(episode.glob("frame_*.png"))
    originals = [np.asarray(Image.open(path).convert("RGB")) for path in frames]
    for path, pixels in zip(frames, originals, strict=True):
        image = Image.fromarray(pixels) if path != frames[0] else Image.open(path)
        image.save(path, format="PNG", compress_level=0)  # RGB, and the first as a palette PNG
        assert frame_problem(path.read_bytes()) is None
    assert len(frames[1].read_bytes()) > 160 * 210 * 3  # bigger than its pixels
    assert cli_main(["export", "--input-dir", str(tree_copy), "--output-dir",
                     str(tmp_path / "hub"), "--no-progress"]) == 0  # fmt: skip
    rows = pq.read_table(tmp_path / "hub" / "simple", filters=[("episode", "=", episode.name),
                         ("environment", "=", "atari_pong")]).to_pylist()  # fmt: skip
    assert [decode_png(row["image"]).tobytes() for row in rows] == [
        pixels.tobytes() for pixels in originals
    ]
