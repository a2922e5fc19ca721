"""ALE's NTSC palette against real ALE screens, and PNG decoding against Pillow."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pyarrow.parquet as pq
import pytest
from ale_py import ALEInterface, roms
from PIL import Image

from atari_interleaved.core.errors import InvalidInputError
from atari_interleaved.core.palette import NTSC_PALETTE, ale_values_of
from atari_interleaved.generate.frame_encoder import PaletteFrameEncoder
from atari_interleaved.storage import png_decode
from atari_interleaved.storage.png_decode import decode_png


def pillow_rgb(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@pytest.fixture(scope="module")
def screens() -> list[tuple[np.ndarray, np.ndarray]]:
    """(getScreen, getScreenRGB) pairs of random play in games of many colours."""
    ale = ALEInterface()
    ale.setInt("random_seed", 0)
    pairs, rng = [], np.random.default_rng(0)
    for game in ("alien", "ms_pacman", "riverraid", "seaquest", "pong"):
        ale.loadROM(roms.get_rom_path(game))
        actions = ale.getMinimalActionSet()
        for step in range(120):
            ale.act(actions[rng.integers(len(actions))])
            if step % 4 == 0:
                pairs.append((ale.getScreen(), ale.getScreenRGB()))
    return pairs


def test_the_palette_is_what_ale_draws_with(screens):
    values = np.concatenate([screen.ravel() for screen, _ in screens])
    assert not (values % 2).any()  # getScreen gives even values only
    assert len(np.unique(values)) > 30
    for screen, rgb in screens:
        assert np.array_equal(NTSC_PALETTE[screen], rgb)
    assert len({tuple(colour) for colour in NTSC_PALETTE[0::2]}) == 128


def test_frames_of_the_encoder_decode_to_pillows_rgb_and_to_get_screen(screens):
    encoder = PaletteFrameEncoder()
    for screen, rgb in screens:
        png = encoder.encode(screen, lambda rgb=rgb: rgb)
        assert np.array_equal(decode_png(png), pillow_rgb(png))
        assert np.array_equal(decode_png(png, rgb=False), screen)
    # Frames of 2, 4, 16 and 40 colours: 1, 2, 4 and 8 bits per pixel.
    for colours, bits in ((2, 1), (4, 2), (16, 4), (40, 8)):
        screen = (np.arange(210 * 160) * 7 % colours * 6 % 256).astype(np.uint8).reshape(210, 160)
        png = encoder.encode(screen, lambda screen=screen: NTSC_PALETTE[screen])
        assert png[24] == bits  # the bit depth of IHDR
        assert np.array_equal(decode_png(png), pillow_rgb(png))
        assert np.array_equal(decode_png(png, rgb=False), screen)


@pytest.mark.parametrize(("overlapping_writes", "inflate"), [(True, None), (False, zlib)])
def test_the_frames_of_an_export_decode_as_pillow_does(
    exported_folder, monkeypatch, overlapping_writes, inflate
):
    monkeypatch.setattr(png_decode, "_OVERLAPPING_WRITES", overlapping_writes)
    if inflate is not None:  # the standard library's zlib, where zlib-ng is not installed
        monkeypatch.setattr(png_decode, "_inflater", inflate.decompressobj)
        monkeypatch.setattr(png_decode, "_InflateError", inflate.error)
    images = pq.read_table(sorted((exported_folder / "simple").glob("*.parquet"))[0])["image"]
    out = np.empty((210, 160, 3), dtype=np.uint8)
    for data in images.to_pylist():
        assert np.array_equal(decode_png(data, out=out), pillow_rgb(data))
        assert np.array_equal(decode_png(data), out)
    with pytest.raises(ValueError, match=r"a \(210, 160, 3\) image cannot be written into an"):
        decode_png(data, out=np.empty((210, 160), dtype=np.uint8))


def test_other_pngs_are_decoded_by_pillow(screens):
    screen, rgb = screens[-1]
    palette_image = Image.fromarray(screen, "P")
    palette_image.putpalette(NTSC_PALETTE.tobytes())  # Pillow's 8-bit PNG of ALE's palette
    for image in (Image.fromarray(rgb), palette_image):  # and an RGB PNG of another tool
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        data = buffer.getvalue()
        assert np.array_equal(decode_png(data), rgb)
        assert np.array_equal(decode_png(data, rgb=False), screen)
    buffer = io.BytesIO()
    Image.fromarray(np.full((210, 160, 3), 7, dtype=np.uint8)).save(buffer, format="PNG")
    with pytest.raises(ValueError, match=r"the colour #070707 is not one of ALE's NTSC palette"):
        decode_png(buffer.getvalue(), rgb=False)
    assert np.array_equal(decode_png(buffer.getvalue()), np.full((210, 160, 3), 7))
    with pytest.raises(ValueError, match=r"not one of ALE's NTSC palette"):
        ale_values_of(np.array([[1, 2, 3]]))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_a_palette_png_with_filtered_rows_is_left_to_pillow(screens):
    screen, rgb = screens[0]
    png = PaletteFrameEncoder().encode(screen, lambda: rgb)
    # signature, IHDR (13 bytes of data at 16), PLTE (length at 33, data at 41), IDAT, IEND
    header, palette = png[16:29], png[41 : 41 + struct.unpack(">I", png[33:37])[0]]
    width = (160 * header[8] + 7) // 8
    idat_start = 41 + len(palette) + 4
    rows = np.frombuffer(zlib.decompress(png[idat_start + 8 : -12 - 4]), dtype=np.uint8).reshape(
        210, 1 + width
    )[:, 1:]
    up = np.diff(rows.astype(np.int16), axis=0, prepend=0).astype(np.uint8)  # filter 2: Up
    filtered = np.hstack([np.full((210, 1), 2, dtype=np.uint8), up]).tobytes()
    data = b"".join(
        (
            png[:8],
            _chunk(b"IHDR", header),
            _chunk(b"PLTE", palette),
            _chunk(b"IDAT", zlib.compress(filtered)),
            _chunk(b"IEND", b""),
        )
    )
    assert np.array_equal(pillow_rgb(data), rgb)
    assert np.array_equal(decode_png(data), rgb)
    assert np.array_equal(decode_png(data, rgb=False), screen)


def _frame_png(header: bytes, palette: bytes, pixels: bytes) -> bytes:
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"PLTE", palette),
            _chunk(b"IDAT", zlib.compress(pixels, 9)),
            _chunk(b"IEND", b""),
        )
    )


@pytest.mark.parametrize("fast", [True, False])
def test_sizes_are_never_trusted_from_the_file(monkeypatch, fast):
    if not fast:  # the standard library's zlib, where zlib-ng is not installed
        monkeypatch.setattr(png_decode, "_inflater", zlib.decompressobj)
        monkeypatch.setattr(png_decode, "_InflateError", zlib.error)
    palette = bytes(3 * 2)
    frame = struct.pack(">IIBBBBB", 160, 210, 8, 3, 0, 0, 0)
    rows = 210 * (1 + 160)
    whole = _frame_png(frame, palette, bytes(rows))
    assert decode_png(whole).shape == (210, 160, 3)
    bomb = _frame_png(frame, palette, bytes(rows + 64 * 2**20))  # 64 MiB more than a frame
    assert len(bomb) < 100_000
    with pytest.raises(InvalidInputError, match=r"inflates to more than the 33810 bytes"):
        decode_png(bomb)
    huge = whole[:16] + struct.pack(">II", 30000, 30000) + whole[24:]
    with pytest.raises(InvalidInputError, match=r"not an Atari frame: 30000x30000 pixels"):
        decode_png(huge)
    with pytest.raises(InvalidInputError, match=r"not an Atari frame: not a PNG file"):
        decode_png(b"GIF89a" + bytes(64))
    truncated = whole[: len(whole) // 2]
    with pytest.raises(InvalidInputError, match=r"not a decodable PNG frame"):
        decode_png(truncated)
