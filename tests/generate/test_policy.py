from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

from atari_interleaved.core.errors import InvalidArgumentError
from atari_interleaved.generate.policy import (
    PolicyContext,
    load_policy_factory,
    needs_observation,
    repeat_previous,
)

MEANINGS = ["NOOP", "FIRE", "UP"]


def context() -> PolicyContext:
    return PolicyContext("alien", list(MEANINGS), np.random.default_rng(0), None, 500.0)  # type: ignore[arg-type]


def test_repeat_policy_repeats_and_skips_observations():
    policy = repeat_previous(context())
    assert policy(None, 1) == 1
    assert policy(None, 0) == 0
    assert not needs_observation(policy)
    assert load_policy_factory("repeat") is repeat_previous


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "def make_policy(context):\n"
            "    last = len(context.action_meanings) - 1 if context.game == 'alien' else 0\n"
            "    return lambda observation, previous_action: last - 1\n",
            1,
        ),
    ],
)
def test_import_custom_policy(tmp_path, monkeypatch, source, expected):
    (tmp_path / "my_agents.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_agents", raising=False)
    factory = load_policy_factory("my_agents:make_policy")
    policy = factory(context())
    assert policy(np.zeros((210, 160, 3), np.uint8), 0) == expected
    assert needs_observation(policy)
    sys.modules.pop("my_agents", None)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("greedy", "neither one of repeat, search nor 'module.path:factory'"),
        ("no_such_module_xyz:make", "cannot import module 'no_such_module_xyz'"),
        ("json:no_such_attribute", "has no callable 'no_such_attribute'"),
    ],
)
def test_bad_policy_spec(spec, match):
    with pytest.raises(InvalidArgumentError, match=match):
        load_policy_factory(spec)


def test_factory_of_another_form_says_how_to_update_it(tmp_path, monkeypatch):
    (tmp_path / "two_args.py").write_text(
        textwrap.dedent(
            """
            def make_policy(game, action_meanings):
                return lambda observation, previous_action: 0
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(InvalidArgumentError, match=r"write it as 'def make_policy\(context\)'"):
        load_policy_factory("two_args:make_policy")
    sys.modules.pop("two_args", None)
