from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from atari_interleaved.core.episode import Episode
from atari_interleaved.core.errors import InvalidArgumentError, PolicyError
from atari_interleaved.core.settings import EpisodeSettings
from atari_interleaved.generate.emulator import GameEmulator
from atari_interleaved.generate.emulator_view import EmulatorView
from atari_interleaved.generate.policy import (
    PolicyContext,
    load_policy_factory,
    needs_observation,
    repeat_previous,
)
from tests.fixtures import hostile_policies
from tests.fixtures.blocking_policy import environment
from tests.fixtures.paths import REPO, SAMPLE_SCRIPT

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


# What a plug-in does cannot change the recorded episode, and whatever it raises or returns
# ends in one error naming it (tests/fixtures/hostile_policies.py).
HOSTILE = "tests.fixtures.hostile_policies"


def recorded(episode: Episode) -> tuple[object, ...]:
    metadata = episode.metadata
    assert metadata is not None
    return (episode.frames, episode.actions, metadata.applied_actions, metadata.rewards,
            metadata.lives)  # fmt: skip


@pytest.mark.parametrize("name", ["opens_in_factory", "reopens_kept_views"])
def test_nothing_a_plug_in_does_with_its_views_changes_the_episodes(name):
    # Both play like repeat; one opens the view in its factory, the other reopens every
    # episode's view at each call, steps it, restores another episode's state and acts on
    # ALE behind the view's back.
    options = {"frame_cap": 30, "randomness": 0.3}
    plain = GameEmulator("pong", EpisodeSettings(policy="repeat", **options))
    meddler = GameEmulator("pong", EpisodeSettings(policy=f"{HOSTILE}:{name}", **options))
    for index in range(3):
        assert recorded(meddler.run_episode(index)) == recorded(plain.run_episode(index)), index


def test_the_view_offers_nothing_that_opens_or_restores_it():
    public = {name for name in dir(EmulatorView) if not name.startswith("_")}
    assert public == {
        "clone_state", "restore_state", "step", "ram", "lives", "terminated", "truncated",
        "game_over", "frame_number", "screen_rgb",
    }  # fmt: skip


def test_an_int_subclass_is_recorded_as_the_number_it_holds():
    # Its int() is -1, its __index__ 99 and its comparisons raise: the value it holds counts.
    settings = EpisodeSettings(frame_cap=5, randomness=0.0, policy=f"{HOSTILE}:lying_int")
    episode = GameEmulator("alien", settings).run_episode(0)
    assert episode.actions == [2] * 5
    assert all(type(action) is int for action in episode.actions)
    assert episode.metadata is not None
    assert episode.metadata.applied_actions == [[2] * 4] * 4 + [[]]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("huge_int", "returned an object of type int whose repr() fails at frame 0, not an "
                     "action index (an integer in 0..17)"),
        ("raising_needs_observation", "its needs_observation raised RuntimeError('no flag here')"),
    ],
)  # fmt: skip
def test_what_a_plug_in_returns_is_checked_within_its_guard(name, problem):
    settings = EpisodeSettings(frame_cap=5, randomness=0.0, policy=f"{HOSTILE}:{name}")
    with pytest.raises(PolicyError) as raised:
        GameEmulator("alien", settings).run_episode(0)
    assert str(raised.value).startswith(f"policy '{HOSTILE}:{name}' {problem} in alien ")


def test_ctrl_c_raised_in_a_policy_still_stops_the_run(monkeypatch):
    monkeypatch.setattr(hostile_policies, "_episodes_started", 0)
    policy = f"{HOSTILE}:interrupts_in_third_episode"
    emulator = GameEmulator("pong", EpisodeSettings(frame_cap=5, randomness=0.0, policy=policy))
    emulator.run_episode(0), emulator.run_episode(1)
    with pytest.raises(KeyboardInterrupt):
        emulator.run_episode(2)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "raised"),
    [
        ("exits_in_third_episode", "SystemExit(0)"),
        ("base_exception_in_third_episode", "_PolicyEnded('the plug-in gave up')"),
    ],
)
def test_a_policy_that_exits_is_one_error_line_and_the_episodes_before_it_are_kept(
    tmp_path, name, raised
):
    result = subprocess.run(
        [sys.executable, str(SAMPLE_SCRIPT), "--envs", "pong", "--max-episodes", "4",
         "--frames-per-env", "10", "--randomness", "0.0", "--parallel", "1",
         "--policy", f"{HOSTILE}:{name}", "--output-dir", str(tmp_path / "out"), "--no-progress"],
        capture_output=True, text=True, env=environment(),
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(
        f"error: policy '{HOSTILE}:{name}' raised {raised} at frame 0 in pong "
        "(episode episode_002_rand0.0)"
    ), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    game = tmp_path / "out" / "atari_pong"
    assert sorted(path.name for path in game.iterdir()) == [
        "episode_000_rand0.0",
        "episode_001_rand0.0",
    ]
    for episode in game.iterdir():
        assert len(list(episode.glob("frame_*.png"))) == 10
        assert (episode / "episode.json").is_file()


def test_the_policy_of_the_sampling_docs_runs_and_is_reproducible(tmp_path, monkeypatch):
    docs = (REPO / "docs" / "sampling.md").read_text(encoding="utf-8")
    section = docs.split("## Writing a policy", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"^```python\n(.*?)^```", section, flags=re.M | re.S)
    (tmp_path / "greedy_step.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "greedy_step", raising=False)
    settings = EpisodeSettings(frame_cap=30, randomness=0.0, policy="greedy_step:make_policy")
    used = GameEmulator("pong", settings)
    used.run_episode(0)
    episode = used.run_episode(1)
    assert len(set(episode.actions)) > 1  # ties broken by the episode's generator
    assert episode == GameEmulator("pong", settings).run_episode(1)
    sys.modules.pop("greedy_step", None)
