"""Loading script of the Atari frame trees for datasets < 4 (datasets >= 4 runs no scripts).

    from datasets import load_dataset
    dataset = load_dataset(
        "atari_interleaved.py", "interleaved",  # or "simple"
        data_dir="sampled_frames_organized", trust_remote_code=True,
    )

It needs the ``atari-interleaved`` package installed (``pip install -e .``) and gives the rows
of :class:`atari_interleaved.dataset.builder.AtariInterleaved`, which datasets >= 4 users call
directly: ``atari_interleaved.load_frames("sampled_frames_organized", "interleaved")``.

The script works wherever it is copied. Its name is the package's, so in a folder holding
the script but not the package, ``import atari_interleaved`` would find the script itself
(the current folder comes first on ``sys.path``); the package is therefore imported with
such folders left out of the search.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType

_PACKAGE = "atari_interleaved"


def _shadows_package(entry: str) -> bool:
    """Whether a ``sys.path`` entry holds a copy of this script but not the package."""
    folder = os.path.abspath(entry or os.curdir)
    return os.path.isfile(os.path.join(folder, f"{_PACKAGE}.py")) and not os.path.isfile(
        os.path.join(folder, _PACKAGE, "__init__.py")
    )


def _import_builder() -> ModuleType:
    """Import the installed package's builder module, even where this script shadows it."""
    loaded = sys.modules.get(_PACKAGE)
    if loaded is not None and not hasattr(loaded, "__path__"):  # a script, not the package
        del sys.modules[_PACKAGE]
    search_path = sys.path[:]
    sys.path[:] = [entry for entry in search_path if not _shadows_package(entry)]
    try:
        return importlib.import_module(f"{_PACKAGE}.dataset.builder")
    except ModuleNotFoundError as error:
        raise ImportError(
            "this loading script needs the atari-interleaved package: install it with "
            "'pip install -e <atari-interleaved repository>'"
        ) from error
    finally:
        sys.path[:] = search_path


builder = _import_builder()


class AtariInterleaved(builder.AtariInterleaved):
    """The package's builder, named after this script."""
