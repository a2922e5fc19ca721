"""``episode.json`` is checked against ``EpisodeMetadata``'s own field types, whatever they are."""

from __future__ import annotations

import re
import typing
from typing import Any, Literal

import pytest

from atari_interleaved.core.episode import EpisodeMetadata, _checked, _describe


def test_every_field_type_of_the_metadata_can_be_checked():
    hints = typing.get_type_hints(EpisodeMetadata)
    assert {name: _describe(hint) for name, hint in hints.items()}["seed"] == "an integer"


@pytest.mark.parametrize(
    ("hint", "good", "bad", "says"),
    [
        (list[list[int]], [[1, 2], []], [[1, "2"]], "'f[0][1]' must be an integer, got \"2\""),
        (list[int], [0, 3], [0, True], "'f[1]' must be an integer, got true"),
        (int, 5, 5.0, "'f' must be an integer, got 5.0"),
        (float, 1.5, float("-inf"), "'f' must be a finite number, got -inf"),
        (bool, False, 0, "'f' must be true or false, got 0"),
        (str, "x", None, "'f' must be a string, got null"),
        (
            dict[str, Any],
            {"a": [1]},
            [],
            "'f' must be an object, each value any JSON value, got []",
        ),
        (int | None, None, "1", "'f' must be an integer or null, got \"1\""),
        (Literal["a", "b"], "b", "c", '\'f\' must be one of "a", "b", got "c"'),
    ],
)
def test_values_are_checked_by_type_hint(hint, good, bad, says):
    assert _checked(good, hint, "f") == good
    with pytest.raises(ValueError, match=f"^{re.escape('field ' + says)}$"):
        _checked(bad, hint, "f")


def test_an_int_is_a_float_but_not_the_other_way():
    assert type(_checked(1, float, "f")) is float
    with pytest.raises(TypeError, match="does not check"):
        _checked(1, tuple[int], "f")
