"""Frames the way a trainer wants them: resized, in ALE's greyscale, by a named preset.

Every world-model trainer downsizes ALE's 210x160 screens, each its own way. A
:class:`FrameFormat` says how (``size``, ``gray``, ``resample``), and :meth:`FrameFormat.prepare`
does it to a batch of decoded frames, exactly as the trainer's own code does:

- ``resample="area"`` is OpenCV's ``cv2.resize(..., interpolation=cv2.INTER_AREA)``: each
  output pixel is the mean of the input area it covers, partly covered pixels weighted by
  the part. It is OpenCV's to the bit, computed here with numpy (so OpenCV is not needed):
  the same ``float32`` weights, added in OpenCV's order and rounded half to even, or, where
  both sides shrink by whole factors, OpenCV's integer sums. Each frame is computed on its
  own, so a frame's bytes never depend on the frames prepared with it. It only reduces:
  ``size`` is at most (210, 160).
- ``resample="bilinear"`` is Pillow's ``Image.resize(..., Image.BILINEAR)`` (Pillow itself).
- ``gray=True`` is ALE's own greyscale, what ``ALEInterface.getScreenGrayscale`` gives for the
  same screen: a lookup of each pixel's ALE colour value in
  :data:`~atari_interleaved.core.palette.NTSC_GRAY` (frames are palette PNGs), not a
  conversion of RGB. Greyscale comes first, then the resize, as gymnasium's
  ``AtariPreprocessing`` does.

:data:`PRESETS` names the formats of the trainers people pair with this data; each entry
names the file of the project whose preparation it reproduces. Only the preparation of each
frame is reproduced; what an environment wrapper does across frames (frame skip, the
maximum of two frames in DQN) is the data's sampling, not this.

>>> form = FrameFormat.checked(preset="dqn")
>>> form.size, form.gray, form.resample, form.shape
((84, 84), True, 'area', (84, 84))
>>> FrameFormat.checked(size=(64, 64)).name
'64x64-rgb-area'
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
from PIL import Image

from atari_interleaved.core.errors import InvalidArgumentError
from atari_interleaved.core.palette import NTSC_GRAY

__all__ = ["Resample", "RESAMPLES", "SCREEN", "Preset", "PRESETS", "FrameFormat"]

Resample = Literal["area", "bilinear"]
RESAMPLES: tuple[Resample, ...] = ("area", "bilinear")
SCREEN = (210, 160)
"""ALE's screen, (height, width): the size of every recorded frame."""


@dataclass(frozen=True)
class Preset:
    """A trainer's frames: their size, colour and resampling, and where the trainer says so."""

    size: tuple[int, int]
    gray: bool
    resample: Resample
    reproduces: str
    """The project and file whose frame preparation this is."""


PRESETS: dict[str, Preset] = {
    "diamond": Preset(
        (64, 64),
        False,
        "area",
        "DIAMOND: eloialonso/diamond src/envs/atari_preprocessing.py (cv2.INTER_AREA), "
        "config/env/atari.yaml (size 64)",
    ),
    "iris": Preset(
        (64, 64),
        False,
        "bilinear",
        "IRIS: eloialonso/iris src/envs/wrappers.py (Image.resize, Image.BILINEAR)",
    ),
    "dreamerv3": Preset(
        (64, 64),
        False,
        "bilinear",
        "DreamerV3 (Atari 100k): danijar/dreamerv3 embodied/envs/atari.py (resize 'pillow', "
        "bilinear), configs.yaml (size 64)",
    ),
    "dqn": Preset(
        (84, 84),
        True,
        "area",
        "DQN, Dopamine and gymnasium's AtariPreprocessing: gymnasium "
        "wrappers/atari_preprocessing.py (getScreenGrayscale, cv2.INTER_AREA, 84x84)",
    ),
}
"""The named presets of ``preset=``."""


@cache
def _area_table(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the sources and ``float32`` weights of an area reduction along one axis.

    Row ``o`` of both (size_out, k) arrays lists the input pixels output pixel ``o`` covers,
    in order, and the part of it each one is, as OpenCV's ``computeResizeAreaTab`` computes
    them (in doubles, then rounded to ``float32``); unused places have weight 0.
    """
    scale = 1.0 / (size_out / size_in)
    entries: list[list[tuple[int, float]]] = []
    for out in range(size_out):
        first, last = out * scale, out * scale + scale
        cell = min(scale, size_in - first)
        whole_end = min(math.floor(last), size_in - 1)
        whole_start = min(math.ceil(first), whole_end)
        row = []
        if whole_start - first > 1e-3:
            row.append((whole_start - 1, (whole_start - first) / cell))
        row += [(pixel, 1.0 / cell) for pixel in range(whole_start, whole_end)]
        if last - whole_end > 1e-3:
            row.append((whole_end, min(last - whole_end, 1.0, cell) / cell))
        entries.append(row)
    width = max(len(row) for row in entries)
    sources = np.zeros((size_out, width), dtype=np.intp)
    weights = np.zeros((size_out, width), dtype=np.float32)
    for out, row in enumerate(entries):
        for place, (pixel, weight) in enumerate(row):
            sources[out, place], weights[out, place] = pixel, weight
    return sources, weights


def _weighted_sums(values: np.ndarray, table: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Reduce axis 0 of ``float32`` values by an area table, adding in the table's order."""
    sources, weights = table
    shape = (-1,) + (1,) * (values.ndim - 1)
    total = values[sources[:, 0]] * weights[:, 0].reshape(shape)
    for place in range(1, sources.shape[1]):
        total += values[sources[:, place]] * weights[:, place].reshape(shape)
    return total


def _whole_factor(size_in: int, size_out: int) -> int | None:
    """Return ``size_in / size_out`` if OpenCV takes it for a whole number, else None."""
    scale = 1.0 / (size_out / size_in)
    whole = round(scale)
    return whole if abs(scale - whole) < sys.float_info.epsilon else None


def _check_size(size: object) -> tuple[int, int]:
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or any(isinstance(side, bool) or not isinstance(side, int) or side < 1 for side in size)
    ):
        raise InvalidArgumentError(
            f"size must be (height, width), two integers >= 1, but got size={size!r}"
        )
    return int(size[0]), int(size[1])


@dataclass(frozen=True)
class FrameFormat:
    """How frames are prepared (see the module doc); the default keeps them as recorded.

    Attributes:
        size: (height, width) of the prepared frames; None keeps 210x160.
        gray: ALE's greyscale, one channel, instead of RGB.
        resample: how ``size`` is reached, ``"area"`` or ``"bilinear"``.

    """

    size: tuple[int, int] | None = None
    gray: bool = False
    resample: Resample = "area"

    @classmethod
    def checked(
        cls,
        *,
        preset: str | None = None,
        size: tuple[int, int] | None = None,
        gray: bool | None = None,
        resample: str | None = None,
    ) -> FrameFormat:
        """Return the format of these arguments; ``None`` leaves one to the preset or default.

        Raises:
            InvalidArgumentError: for an unknown preset or resample, a bad size, an area
                resize that would enlarge, or an argument the preset sets otherwise.

        """
        chosen: dict[str, object] = {"size": None, "gray": False, "resample": "area"}
        if preset is not None:
            if preset not in PRESETS:
                raise InvalidArgumentError(
                    f"preset={preset!r} is not a preset: choose one of {', '.join(PRESETS)}"
                )
            known = PRESETS[preset]
            chosen = {"size": known.size, "gray": known.gray, "resample": known.resample}
        if size is not None:
            size = _check_size(size)
        if gray is not None and not isinstance(gray, bool):
            raise InvalidArgumentError(f"gray must be True or False, but got gray={gray!r}")
        if resample is not None and resample not in RESAMPLES:
            raise InvalidArgumentError(
                f"resample={resample!r} is not a resampling: choose one of {', '.join(RESAMPLES)}"
            )
        for name, value in (("size", size), ("gray", gray), ("resample", resample)):
            if value is None:
                continue
            if preset is not None and value != chosen[name]:
                raise InvalidArgumentError(
                    f"{name}={value!r} contradicts preset={preset!r}, which sets "
                    f"{name}={chosen[name]!r}: give the preset or the argument, not both"
                )
            chosen[name] = value
        form = cls(chosen["size"], chosen["gray"], chosen["resample"])  # type: ignore[arg-type]
        if (
            form.size is not None
            and form.resample == "area"
            and not (form.size[0] <= SCREEN[0] and form.size[1] <= SCREEN[1])
        ):
            raise InvalidArgumentError(
                f"size={form.size!r} is larger than the screen {SCREEN!r}: resample='area' only "
                "reduces; give resample='bilinear' to enlarge"
            )
        return form

    @property
    def is_identity(self) -> bool:
        """Whether frames are kept as recorded (210x160 RGB)."""
        return self.size is None and not self.gray

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of one prepared frame: (height, width, 3), or (height, width) in grey."""
        height, width = self.size or SCREEN
        return (height, width) if self.gray else (height, width, 3)

    @property
    def name(self) -> str:
        """A name of the format for file names: ``64x64-rgb-area``, ``84x84-gray-area``."""
        height, width = self.size or SCREEN
        resample = self.resample if self.size else "none"
        return f"{height}x{width}-{'gray' if self.gray else 'rgb'}-{resample}"

    def prepare(self, frames: np.ndarray) -> np.ndarray:
        """Return a batch of frames prepared: ``uint8`` (n, *:attr:`shape`).

        Args:
            frames: ``uint8`` frames as decoded: (n, 210, 160, 3) RGB, or, with ``gray``,
                (n, 210, 160) ALE colour values (``decode_png(..., rgb=False)``).

        """
        if self.gray:
            frames = NTSC_GRAY[frames]
        if self.size is None or self.size == frames.shape[1:3]:
            return frames
        if self.resample == "area":
            return self._area(frames)
        out = np.empty((len(frames), *self.shape), dtype=np.uint8)
        height, width = self.size
        for index, frame in enumerate(frames):
            image = Image.fromarray(frame).resize((width, height), Image.Resampling.BILINEAR)
            out[index] = np.asarray(image)
        return out

    def _area(self, frames: np.ndarray) -> np.ndarray:
        """Area-reduce (n, H, W[, C]) frames as OpenCV's ``INTER_AREA`` does (module doc)."""
        count, height_in, width_in = frames.shape[:3]
        height, width = self.size  # type: ignore[misc]
        pixels = frames.reshape(count, height_in, width_in, -1)
        down, across = _whole_factor(height_in, height), _whole_factor(width_in, width)
        if down is not None and across is not None:
            blocks = pixels.reshape(count, height, down, width, across, -1)
            sums = blocks.sum(axis=(2, 4), dtype=np.int32)
            if down == across == 2:  # OpenCV's own rounding of this case: half up
                result = (sums + 2) >> 2
            else:
                scale = np.float32(1) / np.float32(down * across)
                result = np.rint(sums.astype(np.float32) * scale)
            return result.astype(np.uint8).reshape(count, *self.shape)
        # Columns of each input row first, then rows, as OpenCV adds them.
        by_column = np.ascontiguousarray(pixels.transpose(2, 0, 1, 3), dtype=np.float32)
        rows = _weighted_sums(by_column, _area_table(width_in, width))  # (w, n, H, C)
        by_row = np.ascontiguousarray(rows.transpose(2, 1, 0, 3))  # (H, n, w, C)
        result = _weighted_sums(by_row, _area_table(height_in, height))  # (h, n, w, C)
        np.rint(result, out=result)
        return result.transpose(1, 0, 2, 3).astype(np.uint8).reshape(count, *self.shape)
