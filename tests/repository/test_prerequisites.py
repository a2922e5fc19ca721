"""The one rule of tests/fixtures/prerequisites.py: skip locally, fail on CI."""

from __future__ import annotations

import pytest

from tests.fixtures.prerequisites import missing_prerequisite, on_ci, required_module


@pytest.mark.parametrize(
    ("value", "ci"),
    [(None, False), ("", False), ("0", False), ("false", False), ("False", False),
     ("true", True), ("1", True), ("yes", True), ("github-actions", True)],
)  # fmt: skip
def test_ci_is_any_value_but_empty_zero_or_false(monkeypatch, value, ci):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert on_ci() is ci


def test_a_missing_prerequisite_skips_locally_and_fails_on_ci(monkeypatch):
    monkeypatch.setenv("CI", "0")
    with pytest.raises(pytest.skip.Exception, match="^ray is not installed$"):
        missing_prerequisite("ray is not installed")
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI must run this test, but ray is not"):
        missing_prerequisite("ray is not installed")


def test_a_required_module_is_imported_or_missing(monkeypatch):
    import json

    assert required_module("json", "it is in the standard library") is json
    monkeypatch.setenv("CI", "0")
    with pytest.raises(pytest.skip.Exception, match=r"^no_such_module_xyz is not installed \(pip"):
        required_module("no_such_module_xyz", "pip install no-such-module")
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI must run this test, but no_such_module"):
        required_module("no_such_module_xyz", "pip install no-such-module")
