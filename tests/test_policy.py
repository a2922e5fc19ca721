from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

from atari_interleaved.errors import InvalidArgumentError
from atari_interleaved.generate.policy import (
    load_policy_factory,
    needs_observation,
    repeat_previous,
)


def test_repeat_policy_repeats_and_skips_observations():
    policy = repeat_previous("alien", ["NOOP", "FIRE"], np.random.default_rng(0))
    assert policy(None, 1) == 1
    assert policy(None, 0) == 0
    assert not needs_observation(policy)
    assert load_policy_factory("repeat") is repeat_previous


def test_import_custom_policy(tmp_path, monkeypatch):
    (tmp_path / "my_agents.py").write_text(
        textwrap.dedent(
            """
            def make_policy(game, action_meanings, rng):
                return lambda observation, previous_action: len(action_meanings) - 1
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    factory = load_policy_factory("my_agents:make_policy")
    policy = factory("alien", ["NOOP", "FIRE", "UP"], np.random.default_rng(0))
    assert policy(np.zeros((210, 160, 3), np.uint8), 0) == 2
    assert needs_observation(policy)
    sys.modules.pop("my_agents", None)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("greedy", "neither 'repeat' nor 'module.path:factory'"),
        ("no_such_module_xyz:make", "cannot import module 'no_such_module_xyz'"),
        ("json:no_such_attribute", "has no callable 'no_such_attribute'"),
    ],
)
def test_bad_policy_spec(spec, match):
    with pytest.raises(InvalidArgumentError, match=match):
        load_policy_factory(spec)
