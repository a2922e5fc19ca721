"""The doctests of ``generate/``, run under the name it is installed as.

``generate/`` is not in pytest's ``testpaths``: collected from there, its modules would be
imported a second time as ``generate.*``, with module state of their own.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import sys

import pytest

import atari_interleaved.generate

MODULES = [
    info.name
    for info in pkgutil.iter_modules(
        atari_interleaved.generate.__path__, "atari_interleaved.generate."
    )
]
WITH_EXAMPLES = [
    name
    for name in MODULES
    if any(test.examples for test in doctest.DocTestFinder().find(importlib.import_module(name)))
]


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_doctests_pass(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted and result.failed == 0


def test_the_sampler_is_imported_once():
    assert MODULES and "generate" not in sys.modules
    assert not [name for name in sys.modules if name.startswith("generate.")]
