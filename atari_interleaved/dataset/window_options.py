"""The options of a window, shared by both window loaders, documented and checked here once.

:class:`WindowOptions` says what a window of
:class:`~atari_interleaved.dataset.windows.FrameWindows` and
:class:`~atari_interleaved.dataset.window_stream.StreamingFrameWindows` is and what its item
holds. Both loaders take its fields as keyword arguments, or one ``options=WindowOptions(...)``
(keyword arguments given beside it replace its fields)::

    diamond = WindowOptions(window=16, pad_start=True, preset="diamond")
    windows = FrameWindows("atari_interleaved_hub", options=diamond)
    stream = StreamingFrameWindows("user/atari_interleaved", options=diamond, seed=1)

Each field is checked when the options are made, before any data is looked at; a wrong one
raises :class:`~atari_interleaved.core.errors.InvalidArgumentError` naming it and its value.
Options that are booleans accept only ``True`` or ``False`` (not ``"False"``, not ``1``).

>>> WindowOptions(window=4, stride=2).starts(10)
(0, 4)
>>> WindowOptions(pad_end="False")
Traceback (most recent call last):
...
atari_interleaved.core.errors.InvalidArgumentError: pad_end must be True or False, but got ...
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from atari_interleaved.core.errors import InvalidArgumentError
from atari_interleaved.core.splits import DEFAULT_SPLIT, check_split_name
from atari_interleaved.dataset.frame_cache import FRAME_ARRAYS
from atari_interleaved.dataset.frame_format import FrameFormat, Resample
from atari_interleaved.storage.png_decode import decode_png

__all__ = ["ITEM_KEYS", "EpisodePredicate", "PadMode", "PAD_MODES", "WindowOptions"]

ITEM_KEYS = (
    "frames",
    "actions",
    "rewards",
    "terminated",
    "truncated",
    "is_first",
    "mask",
    "environment",
    "episode",
    "start_frame",
)
"""The keys of an item, in order."""

EpisodePredicate = Callable[[dict[str, Any]], bool]
"""``episodes=``: called with an episode's meta (keys ``EPISODE_KEYS``), True keeps it."""

PadMode = Literal["zeros", "edge"]
PAD_MODES: tuple[PadMode, ...] = ("zeros", "edge")


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be True or False, but got {name}={value!r}")


def _check_columns(columns: Sequence[str] | str | None) -> tuple[str, ...]:
    if columns is None:
        return ITEM_KEYS
    chosen = [columns] if isinstance(columns, str) else columns
    if not isinstance(chosen, Sequence) or not chosen or any(n not in ITEM_KEYS for n in chosen):
        shown = list(chosen) if isinstance(chosen, Sequence) else chosen
        raise InvalidArgumentError(f"columns={shown!r}: choose among {', '.join(ITEM_KEYS)}")
    return tuple(name for name in ITEM_KEYS if name in chosen)


@dataclass(frozen=True)
class WindowOptions:
    """What a window is and what its item holds (see the module doc)."""

    window: int = 16
    """Frames per window (>= 1)."""
    split: str = DEFAULT_SPLIT
    """The split to read (``train``; an export's ``--splits`` names the others)."""
    stride: int = 1
    """Frames between the starts of consecutive windows of an episode (>= 1)."""
    pad_start: bool = False
    """Also give the windows that start before the episode (at -stride, -2 * stride, ...
    down to -(window - 1)), padded before frame 0, as DIAMOND samples an episode's start."""
    pad_end: bool = False
    """Also give the windows that start at each of the last ``window - 1`` frames (at the
    stride), padded after the episode's last frame, as DIAMOND's segment sampler does."""
    pad_mode: PadMode = "zeros"
    """What padding holds: ``"zeros"`` (and False), or ``"edge"``: the episode's first or
    last frame and its values, repeated, as LeRobot pads. ``mask`` is False on padding."""
    columns: Sequence[str] | None = None
    """The keys of each item (None: all of :data:`ITEM_KEYS`); leaving out ``frames`` skips
    decoding. Kept as a tuple in :data:`ITEM_KEYS` order."""
    rgb: bool = True
    """Frames as RGB; False gives ALE colour values (``ALEInterface.getScreen``), which
    cannot be resized or made grey."""
    preset: str | None = None
    """A trainer's frame format, a name of
    :data:`~atari_interleaved.dataset.frame_format.PRESETS` (``"diamond"``, ``"iris"``,
    ``"dreamerv3"``, ``"dqn"``); an argument below that contradicts it is an error."""
    size: tuple[int, int] | None = None
    """(height, width) to resize every frame to (None: 210x160)."""
    gray: bool | None = None
    """ALE's greyscale (``getScreenGrayscale``): frames (window, height, width)."""
    resample: Resample | None = None
    """``"area"`` (OpenCV's ``INTER_AREA``) or ``"bilinear"`` (Pillow's)."""
    episodes: EpisodePredicate | None = None
    """A predicate of an episode's meta (a dict of
    :data:`~atari_interleaved.dataset.episode_meta.EPISODE_KEYS`); only the episodes it
    returns True for are read."""
    revision: str | None = None
    """The Hub branch, tag or commit of a Hub source."""
    branches: bool = False
    """Add the counterfactual branches of the window's last frame, for data sampled with
    ``--branch-every``: ``branch_frames`` (``uint8`` (18, H, *frame*), the next H frames
    under each action index, prepared as ``frames``), ``branch_actions`` (int64 (18,), the
    action index of each slot, -1 where there is no branch), ``branch_rewards`` (float32
    (18, H)) and ``branch_mask`` (bool (18, H), False where a slot or step has no frame;
    all False when the window does not end at a branch point). See
    :mod:`atari_interleaved.dataset.branch_frames`."""
    branch_points_only: bool = False
    """Keep only the windows whose last frame is a branch point (needs ``branches``)."""
    form: FrameFormat = field(init=False, repr=False)
    """How frames are prepared, resolved from ``preset``, ``size``, ``gray`` and
    ``resample``."""

    def __post_init__(self) -> None:
        for name in ("window", "stride"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgumentError(f"{name} must be an integer >= 1, but got {value!r}")
        check_split_name(self.split)
        for name in ("pad_start", "pad_end", "rgb", "branches", "branch_points_only"):
            _check_bool(name, getattr(self, name))
        if self.pad_mode not in PAD_MODES:
            raise InvalidArgumentError(
                f"pad_mode={self.pad_mode!r} is not a padding: choose one of {', '.join(PAD_MODES)}"
            )
        object.__setattr__(self, "columns", _check_columns(self.columns))
        form = FrameFormat.checked(
            preset=self.preset, size=self.size, gray=self.gray, resample=self.resample
        )
        if not self.rgb and not form.is_identity:
            raise InvalidArgumentError(
                "rgb=False gives ALE colour values, which cannot be resized or made grey: "
                "leave rgb=True with preset, size or gray"
            )
        object.__setattr__(self, "form", form)
        if self.episodes is not None and not callable(self.episodes):
            raise InvalidArgumentError(
                f"episodes must be a function of an episode's meta that returns True to keep "
                f"it, but got episodes={self.episodes!r}"
            )
        if self.branch_points_only and not self.branches:
            raise InvalidArgumentError(
                "branch_points_only=True keeps the windows ending at a branch point: give "
                "branches=True with it"
            )
        if self.revision is not None and not isinstance(self.revision, str):
            raise InvalidArgumentError(
                f"revision must be a Hub branch, tag or commit, but got revision={self.revision!r}"
            )

    @classmethod
    def of(
        cls, owner: str, options: WindowOptions | None, window: int | None, choices: dict[str, Any]
    ) -> WindowOptions:
        """Return ``options`` (or the defaults) with ``window`` and ``choices`` replacing fields.

        Args:
            owner: the loader's name, for messages.
            options: the options given as one object, or None.
            window: the window given positionally or by name (None: that of ``options``).
            choices: the options given as keyword arguments.

        Raises:
            TypeError: for a keyword that is not an option, as Python does for a function.
            InvalidArgumentError: for a bad ``options`` or field value.

        """
        names = [entry.name for entry in dataclasses.fields(cls) if entry.init]
        unknown = [name for name in choices if name not in names]
        if unknown:
            raise TypeError(
                f"{owner}() got an unexpected keyword argument {unknown[0]!r}; its window "
                f"options are {', '.join(names)}"
            )
        if window is not None:
            choices = {"window": window, **choices}
        if options is None:
            return cls(**choices)
        if not isinstance(options, cls):
            raise InvalidArgumentError(
                f"options must be a WindowOptions, but got options={options!r}"
            )
        return dataclasses.replace(options, **choices)

    @property
    def decodes_rgb(self) -> bool:
        """Whether frames are decoded to RGB (else to ALE values: ``rgb=False``, or grey)."""
        return self.rgb and not self.form.gray

    def starts(self, length: int) -> tuple[int, int]:
        """Return (first start, number of windows) of an episode of ``length`` frames."""
        lowest = -((self.window - 1) // self.stride) if self.pad_start else 0
        last = length - 1 if self.pad_end else length - self.window
        highest = last // self.stride  # floor, also below zero
        return lowest * self.stride, max(0, highest - lowest + 1)

    def decode(self, data: bytes, offsets: np.ndarray) -> np.ndarray:
        """Decode and prepare the frames whose PNG bytes are ``data`` (split at ``offsets``)."""
        view = memoryview(data)
        first = decode_png(view[offsets[0] : offsets[1]], rgb=self.decodes_rgb)
        frames = np.empty((len(offsets) - 1, *first.shape), dtype=np.uint8)
        frames[0] = first
        for index in range(1, len(frames)):
            frame = view[offsets[index] : offsets[index + 1]]
            decode_png(frame, rgb=self.decodes_rgb, out=frames[index])
        return frames if self.form.is_identity else self.form.prepare(frames)

    def _padded(self, real: np.ndarray, before: int, fill: bool) -> np.ndarray:
        """Return ``real`` (frames or values) placed in a window at ``before``, padded."""
        if len(real) == self.window:
            return real
        padded = np.zeros((self.window, *real.shape[1:]), dtype=real.dtype)
        padded[before : before + len(real)] = real
        if fill and self.pad_mode == "edge":
            padded[:before] = real[0]
            padded[before + len(real) :] = real[-1]
        return padded

    def item(
        self,
        environment: str,
        episode: str,
        start: int,
        frames: np.ndarray | None,
        values: dict[str, np.ndarray],
    ) -> dict[str, Any]:
        """Assemble the item of the window starting at frame ``start``.

        Args:
            environment: the episode's game folder name.
            episode: the episode's folder name.
            start: the frame number of the window's first frame (negative: padding).
            frames: the window's real frames, decoded and prepared (None without ``frames``).
            values: the per-frame arrays of the real frames (:data:`FRAME_ARRAYS`).

        """
        before = max(0, -start)
        real = len(next(iter(values.values())))
        item: dict[str, Any] = {}
        if "frames" in self.columns and frames is not None:
            item["frames"] = self._padded(frames, before, fill=True)
        for name, kind in FRAME_ARRAYS.items():
            if name in self.columns:
                own = np.array(values[name], dtype=kind)  # a copy: never a view of the cache
                item[name] = self._padded(own, before, fill=True)
        if "mask" in self.columns:
            item["mask"] = self._padded(np.ones(real, dtype=bool), before, fill=False)
        names = {"environment": environment, "episode": episode, "start_frame": start}
        item |= {key: value for key, value in names.items() if key in self.columns}
        return {key: item[key] for key in self.columns}
