"""The columns of the ``interleaved`` and ``simple`` configs, declared once.

:data:`CONFIG_FEATURES` holds the ``datasets.Features`` of each config; everything else
derives from it: the builder's ``DatasetInfo``, the pyarrow schema of the parquet files
:func:`arrow_schema` gives, and the ``dataset_info.features`` YAML of a dataset card.

Frames are palette PNGs (PIL mode ``"P"``); they are declared ``Image(mode="RGB")`` so
``datasets`` users get RGB images, exactly ALE's screen. In the parquet files this project
writes, image columns are plain ``binary`` (PNG bytes), which is what ``pandas`` users of
PIPELINE.md index and open with ``PIL.Image.open(io.BytesIO(...))``. ``datasets`` types them
as ``Image`` from a README.md ``dataset_info`` beside the files, or when given
``features=features(config)``.

``interleaved`` (one row per episode), columns of PIPELINE.md first:

- ``inputs``: the interleaved sequence, a list of ``{"type", "has_loss", "text",
  "image_index"}``. Text entries (``type == "text"``) have ``image_index == -1``; image
  entries (``type == "image_gen"``) have ``text`` None (null) and the index of their frame in
  ``images``. ``image_index`` is never null, so pandas reads it as an integer.
- ``images`` (list of PNG), ``images_front`` (the first frame), ``environment`` (the game
  folder name, ``"atari_alien"``), ``episode`` (``"episode_000_rand0.2"``), ``num_frames``,
  ``randomness``.
- From ``episode.json`` when the sampler wrote it, else null: ``env_id``
  (``"ALE/Alien-v5"``), ``seed`` (of the episode), ``rewards`` (per frame: the reward of the
  action taken at that frame), ``episode_return``, ``terminated`` (the episode ended at game
  over), ``truncated`` (ALE's length limit cut it), ``end_reason`` (``"game_over"``,
  ``"truncated"`` or ``"frame_cap"``: the ``--frames-per-env`` limit), ``applied_actions``
  (per frame, the action indices the emulator ran on each of the ``frameskip`` emulator
  frames after it, which sticky actions can make differ from ``actions``; empty for the last
  frame) and ``start_actions`` (those run before frame 0, ``--noop-max``); both null for
  episodes sampled before they were recorded.
- ``actions``: the action index taken at each frame (from the action files, always set).

``simple`` (one row per frame), columns of PIPELINE.md first: ``environment``,
``episode``, ``frame_number``, ``action`` (``"DOWNRIGHT"``), ``action_raw``
(``"8: DOWNRIGHT"``), ``image``; then ``action_index`` (8), ``is_first``, ``is_last``
(always set) and, from ``episode.json`` else null, ``reward``, ``terminated``,
``truncated``, ``env_id``, ``seed``, ``applied_actions`` (this frame's) and ``start_actions``
(the episode's).

``branches`` (one row per branch step, only in data sampled with ``--branch-every``; see
:mod:`atari_interleaved.core.branches`): ``environment``, ``episode``, ``frame_number`` (the
branch point), ``action`` and ``action_raw`` (the action held), ``step`` (1..H: the frame is
``step`` recorded frames after the branch point), ``image``; then ``action_index``,
``taken`` (whether the episode took this action at the branch point), ``reward`` (of the
step), ``lives``, ``terminated``, ``truncated`` (at this frame), ``applied_actions`` (the
actions ALE ran on the step's emulator frames), ``env_id`` and ``seed``.
"""

from __future__ import annotations

import functools
import json
from typing import Literal

import pyarrow as pa
from datasets import Features, Image, Value

from atari_interleaved.core.errors import InvalidArgumentError

__all__ = [
    "ConfigName",
    "CONFIG_NAMES",
    "BRANCHES_CONFIG",
    "ALL_CONFIG_NAMES",
    "CONFIG_FEATURES",
    "TEXT_IMAGE_INDEX",
    "check_config_name",
    "features",
    "image_columns",
    "arrow_schema",
    "dataset_info_features_yaml",
]

ConfigName = Literal["interleaved", "simple", "branches"]
CONFIG_NAMES: tuple[ConfigName, ...] = ("interleaved", "simple")
"""The configs of every dataset (PIPELINE.md's formats)."""
BRANCHES_CONFIG: ConfigName = "branches"
"""The third config, of data sampled with ``--branch-every``."""
ALL_CONFIG_NAMES: tuple[ConfigName, ...] = (*CONFIG_NAMES, BRANCHES_CONFIG)

TEXT_IMAGE_INDEX = -1
"""The ``image_index`` of text entries of ``inputs`` (never null, see the module doc)."""

_FRAME = Image(mode="RGB")

# Lists are written as Python lists ([feature]): datasets >= 4 reads them as ``List`` and
# datasets 3.x (the loading script) as a list too, with the same arrow type.
CONFIG_FEATURES: dict[ConfigName, Features] = {
    "interleaved": Features(
        {
            "inputs": [
                {
                    "type": Value("string"),
                    "has_loss": Value("int32"),
                    "text": Value("string"),
                    "image_index": Value("int32"),
                }
            ],
            "images": [_FRAME],
            "images_front": _FRAME,
            "environment": Value("string"),
            "episode": Value("string"),
            "num_frames": Value("int32"),
            "randomness": Value("float64"),
            "env_id": Value("string"),
            "seed": Value("int64"),
            "actions": [Value("int32")],
            "rewards": [Value("float32")],
            "episode_return": Value("float32"),
            "terminated": Value("bool"),
            "truncated": Value("bool"),
            "end_reason": Value("string"),
            "applied_actions": [[Value("int32")]],
            "start_actions": [Value("int32")],
        }
    ),
    "simple": Features(
        {
            "environment": Value("string"),
            "episode": Value("string"),
            "frame_number": Value("int32"),
            "action": Value("string"),
            "action_raw": Value("string"),
            "image": _FRAME,
            "action_index": Value("int32"),
            "is_first": Value("bool"),
            "is_last": Value("bool"),
            "reward": Value("float32"),
            "terminated": Value("bool"),
            "truncated": Value("bool"),
            "env_id": Value("string"),
            "seed": Value("int64"),
            "applied_actions": [Value("int32")],
            "start_actions": [Value("int32")],
        }
    ),
    "branches": Features(
        {
            "environment": Value("string"),
            "episode": Value("string"),
            "frame_number": Value("int32"),
            "action": Value("string"),
            "action_raw": Value("string"),
            "step": Value("int32"),
            "image": _FRAME,
            "action_index": Value("int32"),
            "taken": Value("bool"),
            "reward": Value("float32"),
            "lives": Value("int32"),
            "terminated": Value("bool"),
            "truncated": Value("bool"),
            "applied_actions": [Value("int32")],
            "env_id": Value("string"),
            "seed": Value("int64"),
        }
    ),
}

_IMAGE_STORAGE = _FRAME.pa_type


def check_config_name(name: str) -> ConfigName:
    """Return ``name`` if it names a config.

    Raises:
        InvalidArgumentError: naming the configs, for any other value.

    """
    if name not in ALL_CONFIG_NAMES:
        raise InvalidArgumentError(
            f"unknown format/config {name!r}: choose one of {', '.join(ALL_CONFIG_NAMES)}"
        )
    return name  # type: ignore[return-value]


def features(config_name: ConfigName) -> Features:
    """Return (a copy of) the ``Features`` of a config."""
    return CONFIG_FEATURES[check_config_name(config_name)].copy()


def image_columns(config_name: ConfigName) -> list[str]:
    """Return the columns holding PNG bytes: ``["images", "images_front"]`` or ``["image"]``."""
    schema = CONFIG_FEATURES[check_config_name(config_name)].arrow_schema
    return [item.name for item in schema if _plain_type(item.type) != item.type]


def _plain_type(data_type: pa.DataType) -> pa.DataType:
    """Return ``data_type`` with every ``Image`` storage struct replaced by ``binary``."""
    if data_type == _IMAGE_STORAGE:
        return pa.binary()
    if pa.types.is_list(data_type):
        return pa.list_(data_type.value_field.with_type(_plain_type(data_type.value_type)))
    if pa.types.is_struct(data_type):
        return pa.struct([item.with_type(_plain_type(item.type)) for item in data_type])
    return data_type


@functools.cache
def arrow_schema(config_name: ConfigName) -> pa.Schema:
    """Return the schema of the parquet files of a config.

    Image columns are plain ``binary`` (PNG bytes) so pandas reads bytes. The schema's
    ``huggingface`` metadata records the config's ``Features``; datasets (3.6 to 5.2) uses
    it only for columns whose arrow type matches, so it does not turn ``binary`` into
    ``Image`` by itself: a README.md ``dataset_info`` or ``features=`` does.
    """
    declared = CONFIG_FEATURES[check_config_name(config_name)]
    fields = [item.with_type(_plain_type(item.type)) for item in declared.arrow_schema]
    metadata = {"huggingface": json.dumps({"info": {"features": declared.to_dict()}})}
    return pa.schema(fields, metadata=metadata)


def dataset_info_features_yaml(config_name: ConfigName) -> list:
    """Return the ``features`` list of a README.md's ``dataset_info`` for a config.

    With it in the YAML header beside the parquet files, ``load_dataset(<folder or Hub
    repo>, config_name)`` types the image columns as ``Image(mode="RGB")``.
    """
    return CONFIG_FEATURES[check_config_name(config_name)]._to_yaml_list()
