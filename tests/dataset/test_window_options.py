"""WindowOptions: the one options object of both window loaders, each field checked."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from atari_interleaved import FrameWindows, StreamingFrameWindows
from atari_interleaved.core.errors import InvalidArgumentError
from atari_interleaved.dataset.window_options import WindowOptions
from tests.fixtures.docs import block


def test_options_as_one_object_give_the_windows_of_the_keyword_arguments(exported_folder, tmp_path):
    chosen = WindowOptions(window=5, stride=2, pad_start=True, preset="diamond")
    by_object = FrameWindows(exported_folder, options=chosen, cache_dir=tmp_path)
    by_keywords = FrameWindows(
        exported_folder, 5, stride=2, pad_start=True, preset="diamond", cache_dir=tmp_path
    )
    assert by_object.spec == by_keywords.spec and len(by_object) == len(by_keywords)
    assert all(
        np.array_equal(by_object[index]["frames"], by_keywords[index]["frames"])
        for index in (0, len(by_object) - 1)
    )
    # A keyword argument beside the object replaces its field; the window may be positional.
    wider = FrameWindows(exported_folder, 3, options=chosen, stride=1, cache_dir=tmp_path)
    assert (wider.spec.window, wider.spec.stride, wider.spec.form.size) == (3, 1, (64, 64))
    stream = StreamingFrameWindows(exported_folder, options=chosen, shuffle_buffer=0)
    assert stream.spec == chosen
    assert [item["start_frame"] for item in stream][:3] == [
        by_object[index]["start_frame"] for index in range(3)
    ]


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        ({"pad_end": "False"}, "pad_end"),
        ({"pad_start": 1}, "pad_start"),
        ({"rgb": "False"}, "rgb"),
        ({"rgb": np.bool_(False)}, "rgb"),
        ({"gray": 1}, "gray"),
    ],
)
def test_boolean_options_accept_only_booleans(tmp_path, arguments, name):
    [(_, value)] = arguments.items()
    message = rf"{name} must be True or False, but got {name}={value!r}"
    with pytest.raises(InvalidArgumentError, match=message):
        WindowOptions(**arguments)
    for loader in (FrameWindows, StreamingFrameWindows):  # before the source is looked at
        with pytest.raises(InvalidArgumentError, match=message):
            loader(tmp_path / "missing", 4, **arguments)


def test_unknown_keywords_and_bad_option_objects_are_named(tmp_path):
    with pytest.raises(TypeError, match=r"FrameWindows\(\) got an unexpected keyword argument "):
        FrameWindows(tmp_path, 4, pad=True)
    with pytest.raises(TypeError, match="'shuffle'; its window options are window, split,"):
        StreamingFrameWindows(tmp_path, 4, shuffle=True)
    with pytest.raises(InvalidArgumentError, match=r"options must be a WindowOptions, but got"):
        FrameWindows(tmp_path, options={"window": 4})
    with pytest.raises(InvalidArgumentError, match=r"split='a/b' is not a split name"):
        WindowOptions(split="a/b")
    with pytest.raises(dataclasses.FrozenInstanceError):
        WindowOptions().window = 3  # type: ignore[misc]
    assert WindowOptions(columns="actions").columns == ("actions",)


def test_the_options_example_of_the_training_docs_runs(exported_folder, tmp_path, monkeypatch):
    (tmp_path / "atari_interleaved_hub").symlink_to(exported_folder)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # the frame cache's default place
    code = block("docs/training.md#Window options").code
    names: dict[str, object] = {}
    exec(compile(code, "docs/training.md", "exec"), names)
    assert names["windows"].spec == names["stream"].spec == names["diamond"]
    assert names["shorter"].spec.window == 8 and names["shorter"].spec.form.size == (64, 64)
