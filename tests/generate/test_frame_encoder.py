from __future__ import annotations

import io

import ale_py
import numpy as np
import pytest
from ale_py import roms
from PIL import Image

from atari_interleaved.generate.frame_encoder import PaletteFrameEncoder
from atari_interleaved.storage.png_check import png_problem


def screens(game: str, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    ale = ale_py.ALEInterface()
    ale.setFloat("repeat_action_probability", 0.0)
    ale.loadROM(roms.get_rom_path(game))
    ale.reset_game()
    actions = ale.getMinimalActionSet()
    rng = np.random.default_rng(0)
    pairs = []
    for _ in range(count):
        for _ in range(4):
            ale.act(actions[rng.integers(len(actions))])
        pairs.append((ale.getScreen(), ale.getScreenRGB()))
    return pairs


@pytest.mark.parametrize("game", ["alien", "pong", "space_invaders", "pitfall"])
@pytest.mark.parametrize("level", [1, 6])
def test_palette_png_round_trips_to_ale_rgb(game, level):
    encoder = PaletteFrameEncoder(level)
    for screen, rgb in screens(game, 40):
        png = encoder.encode(screen, lambda rgb=rgb: rgb)
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG" and image.mode == "P"
        assert np.array_equal(np.asarray(image.convert("RGB")), rgb)


def test_bytes_depend_only_on_the_frame():
    pairs = screens("alien", 30)
    warm = PaletteFrameEncoder()
    for screen, rgb in pairs:
        warm.encode(screen, lambda rgb=rgb: rgb)
    screen, rgb = pairs[-1]
    assert warm.encode(screen, lambda: rgb) == PaletteFrameEncoder().encode(screen, lambda: rgb)


def test_known_colours_skip_the_rgb_screen():
    (screen, rgb), *_ = screens("pong", 1)
    encoder = PaletteFrameEncoder()
    requests: list[str] = []

    def rgb_screen() -> np.ndarray:
        requests.append("rgb")
        return rgb

    first = encoder.encode(screen, rgb_screen)
    assert requests == ["rgb"]  # new colours: the RGB screen gives their values
    again = encoder.encode(screen, rgb_screen)
    assert requests == ["rgb"]  # the same colours again: not asked for
    assert again == first
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(again)).convert("RGB")), rgb)


def test_bad_level():
    with pytest.raises(ValueError, match="compress_level must be in 0..9, but got 10"):
        PaletteFrameEncoder(10)


@pytest.mark.parametrize("colours", [1, 2, 3, 5, 16, 17, 128])
@pytest.mark.parametrize("width", [160, 157])
def test_any_colour_count_and_width_round_trip(colours, width):
    rng = np.random.default_rng(colours)
    palette = rng.integers(0, 256, size=(256, 3), dtype=np.uint8)
    indices = rng.choice(np.arange(0, 256, 2), size=colours, replace=False).astype(np.uint8)
    screen = indices[rng.integers(colours, size=(210, width))]
    screen.reshape(-1)[:colours] = indices  # every colour appears
    rgb = palette[screen]
    png = PaletteFrameEncoder().encode(screen, lambda: rgb)
    assert png_problem(png) is None
    image = Image.open(io.BytesIO(png))
    assert image.size == (width, 210)
    assert np.array_equal(np.asarray(image.convert("RGB")), rgb)
