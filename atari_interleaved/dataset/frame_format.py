"""Frames the way a trainer wants them: resized, in ALE's greyscale, by a named preset.

Every world-model trainer downsizes ALE's 210x160 screens, each its own way. A
:class:`FrameFormat` says how (``size``, ``gray``, ``resample``), and :meth:`FrameFormat.prepare`
does it to a batch of decoded frames, exactly as the trainer's own code does:

- ``resample="area"`` is OpenCV's ``cv2.resize(..., interpolation=cv2.INTER_AREA)``: each
  output pixel is the mean of the input area it covers, partly covered pixels weighted by
  the part (within one intensity level of OpenCV on every pixel; computed here with numpy, so
  OpenCV is not needed). It only reduces: ``size`` is at most (210, 160).
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
def _area_weights(size_in: int, size_out: int) -> np.ndarray:
    """Return the (size_out, size_in) float32 matrix of an area reduction along one axis."""
    scale = size_in / size_out
    edges = np.arange(size_out + 1) * scale  # output pixel o covers [edges[o], edges[o + 1])
    pixels = np.arange(size_in)
    covered = np.minimum(edges[1:, None], pixels + 1) - np.maximum(edges[:-1, None], pixels)
    return (np.clip(covered, 0, None) / scale).astype(np.float32)


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
        """Area-reduce (n, H, W[, C]) frames: rows, then columns, each one matrix product."""
        count, height_in, width_in = frames.shape[:3]
        channels = frames.shape[3] if frames.ndim == 4 else 1
        height, width = self.size  # type: ignore[misc]
        rows = _area_weights(height_in, height)
        columns = _area_weights(width_in, width)
        stacked = frames.reshape(count, height_in, width_in * channels).transpose(1, 0, 2)
        flat = stacked.reshape(height_in, -1).astype(np.float32)  # (H, n * W * C)
        reduced = (rows @ flat).reshape(height, count, width_in, channels)
        by_column = reduced.transpose(1, 0, 3, 2).reshape(-1, width_in)  # (n * h * C, W)
        result = by_column @ columns.T
        np.rint(result, out=result)
        result = result.reshape(count, height, channels, width).transpose(0, 1, 3, 2)
        return result.astype(np.uint8).reshape(count, *self.shape)
