"""Atari gameplay turned into interleaved image-text training data for Hugging Face datasets.

>>> import atari_interleaved
>>> frames = "sampled_frames_organized"
>>> dataset = atari_interleaved.load_frames(frames, "interleaved")  # doctest: +SKIP

A folder that holds no frames is named, with what to give instead:

>>> atari_interleaved.load_frames("no_such_folder", "interleaved")
Traceback (most recent call last):
...
atari_interleaved.core.errors.InvalidInputError: data_dir 'no_such_folder' does not exist; ...

Importing the package also registers its builder with ``datasets`` (see
:mod:`atari_interleaved.dataset.registration`), so that works too::

    datasets.load_dataset("atari_interleaved", "simple", data_dir=frames)

The names below are imported on first use, so ``import atari_interleaved`` stays light.
"""

from __future__ import annotations

import importlib
from importlib import metadata as _metadata
from typing import Any

from atari_interleaved.dataset.registration import register_when_datasets_loads

try:
    __version__ = _metadata.version("atari-interleaved")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

_LAZY = {
    "AtariInterleaved": "atari_interleaved.dataset.builder",
    "load_frames": "atari_interleaved.dataset.builder",
    "write_config": "atari_interleaved.dataset.convert",
    "dataset_info_features_yaml": "atari_interleaved.core.features",
    "FrameWindows": "atari_interleaved.dataset.windows",
    "StreamingFrameWindows": "atari_interleaved.dataset.window_stream",
}

__all__ = ["__version__", *_LAZY]

register_when_datasets_loads()


def __getattr__(name: str) -> Any:
    """Import the names of ``_LAZY`` on first use."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
