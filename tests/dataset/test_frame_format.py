"""Frame preparation against ALE, OpenCV and Pillow themselves, on real screens of several games."""

from __future__ import annotations

import numpy as np
import pytest
from ale_py import ALEInterface, roms
from PIL import Image

from atari_interleaved.core.errors import InvalidArgumentError
from atari_interleaved.core.palette import NTSC_GRAY
from atari_interleaved.dataset.frame_format import PRESETS, SCREEN, FrameFormat
from tests.fixtures.prerequisites import required_module

GAMES = ("alien", "ms_pacman", "riverraid", "seaquest", "pong", "breakout", "enduro", "asterix")
SIZES = [(64, 64), (84, 84), (105, 80), (96, 72), (1, 1), (210, 160)]


@pytest.fixture(scope="module")
def screens() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(getScreen, getScreenRGB, getScreenGrayscale) of random play in several games."""
    ale = ALEInterface()
    ale.setInt("random_seed", 0)
    triples, rng = [], np.random.default_rng(0)
    for game in GAMES:
        ale.loadROM(roms.get_rom_path(game))
        actions = ale.getMinimalActionSet()
        for step in range(160):
            ale.act(actions[rng.integers(len(actions))])
            if ale.game_over():
                ale.reset_game()
            if step % 8 == 0:
                triples.append((ale.getScreen(), ale.getScreenRGB(), ale.getScreenGrayscale()))
    return triples


@pytest.fixture(scope="module")
def cv2():
    return required_module("cv2", "pip install -e '.[test]' installs opencv-python-headless")


def test_the_grey_table_is_ales_own_greyscale(screens):
    colours = set()
    for screen, _, gray in screens:
        assert np.array_equal(NTSC_GRAY[screen], gray)
        colours |= set(np.unique(screen).tolist())
    assert len(colours) > 60  # half of the 128 colours were compared
    # gray=True gives exactly that, from the ALE values a palette PNG decodes to.
    values = np.stack([screen for screen, _, _ in screens])
    grays = np.stack([gray for _, _, gray in screens])
    assert np.array_equal(FrameFormat.checked(gray=True).prepare(values), grays)


# (105, 80) and (70, 80) shrink by whole factors (OpenCV sums integers, rounding 2x2 half up);
# (150, 3) and (13, 160) shrink one side only; the others take OpenCV's float32 weights.
AREA_SIZES = [*SIZES, (70, 80), (42, 32), (100, 100), (7, 5), (150, 3), (13, 160)]


@pytest.mark.parametrize("size", AREA_SIZES)
def test_area_is_opencvs_inter_area_exactly(screens, cv2, size):
    height, width = size
    noise = np.random.default_rng(0).integers(0, 256, (8, *SCREEN, 3), dtype=np.uint8)
    rgb = np.concatenate([np.stack([frame for _, frame, _ in screens]), noise])
    gray = np.stack([frame for _, _, frame in screens])
    values = np.stack([screen for screen, _, _ in screens])
    for frames, prepared in (
        (rgb, FrameFormat.checked(size=size).prepare(rgb)),
        (gray, FrameFormat.checked(size=size, gray=True).prepare(values)),
    ):
        expected = np.stack(
            [cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA) for frame in frames]
        ).reshape(prepared.shape)
        assert prepared.dtype == np.uint8 and prepared.shape[1:3] == size
        assert np.array_equal(prepared, expected)


@pytest.mark.parametrize(("size", "resample"), [((84, 84), "area"), ((64, 64), "bilinear")])
def test_a_frame_is_prepared_the_same_whatever_frames_come_with_it(screens, size, resample):
    rgb = np.stack([frame for _, frame, _ in screens])
    form = FrameFormat.checked(size=size, resample=resample)
    together = form.prepare(rgb)
    for batch in (1, 3, 64):
        apart = [form.prepare(rgb[start : start + batch]) for start in range(0, len(rgb), batch)]
        assert np.array_equal(np.concatenate(apart), together)


@pytest.mark.parametrize("size", [*SIZES, (300, 200)])
def test_bilinear_is_pillows_exactly(screens, size):
    height, width = size
    rgb = np.stack([frame for _, frame, _ in screens])
    values = np.stack([screen for screen, _, _ in screens])
    prepared = FrameFormat.checked(size=size, resample="bilinear").prepare(rgb)
    grey = FrameFormat.checked(size=size, resample="bilinear", gray=True).prepare(values)
    for index, (_, frame, gray) in enumerate(screens):
        image = Image.fromarray(frame).resize((width, height), Image.BILINEAR)
        assert np.array_equal(prepared[index], np.asarray(image))
        image = Image.fromarray(gray).resize((width, height), Image.BILINEAR)
        assert np.array_equal(grey[index], np.asarray(image))


def test_presets_are_the_trainers_formats():
    assert {name: (p.size, p.gray, p.resample) for name, p in PRESETS.items()} == {
        "diamond": ((64, 64), False, "area"),
        "iris": ((64, 64), False, "bilinear"),
        "dreamerv3": ((64, 64), False, "bilinear"),
        "dqn": ((84, 84), True, "area"),
    }
    for name, preset in PRESETS.items():
        form = FrameFormat.checked(preset=name)
        assert form.shape == (*preset.size, *(() if preset.gray else (3,)))
        assert ".py" in preset.reproduces  # the file of the trainer it reproduces
        # Arguments that agree with the preset are fine.
        assert FrameFormat.checked(preset=name, size=preset.size, gray=preset.gray) == form
    assert FrameFormat.checked().is_identity and FrameFormat.checked().shape == (*SCREEN, 3)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"size": (0, 64)}, r"size must be \(height, width\), two integers >= 1, but got size=\(0"),
        ({"size": 64}, r"size must be \(height, width\).*size=64"),
        ({"size": (64, True)}, r"size must be"),
        ({"preset": "dreamer"}, r"preset='dreamer' is not a preset: choose one of diamond, iris"),
        ({"resample": "cubic"}, r"resample='cubic' is not a resampling: choose one of area, bil"),
        ({"gray": "yes"}, r"gray must be True or False, but got gray='yes'"),
        ({"preset": "dqn", "gray": False}, r"gray=False contradicts preset='dqn', which sets gr"),
        ({"preset": "iris", "resample": "area"}, r"resample='area' contradicts preset='iris'"),
        ({"preset": "diamond", "size": (84, 84)}, r"size=\(84, 84\) contradicts preset='diamo"),
        ({"size": (420, 160)}, r"size=\(420, 160\) is larger than the screen .*'bilinear' to enl"),
    ],
)
def test_bad_formats_are_named(arguments, message):
    with pytest.raises(InvalidArgumentError, match=message):
        FrameFormat.checked(**arguments)
