"""``load_dataset("atari_interleaved", ...)``: the builder registered with ``datasets``.

As gymnasium environments become available with ``import ale_py``, ``import
atari_interleaved`` makes ``datasets.load_dataset("atari_interleaved", "interleaved" or
"simple", data_dir=...)`` use :class:`atari_interleaved.dataset.builder.AtariInterleaved`, from any
current folder. ``load_dataset`` tries the builders it packages before local folders and
the Hub, and finds them in ``datasets.packaged_modules._PACKAGED_DATASETS_MODULES``
(``name -> (module import path, hash of its source)``): the builder is added there.

That table is a **private API** of ``datasets`` (seen in 3.6 and 5.2). It is checked before
use; if a version changes it, a warning says so and ``load_dataset`` of the name fails as it
would without this package, while :func:`atari_interleaved.load_frames` keeps working.

``datasets`` takes about 0.7 s to import, so ``import atari_interleaved`` does not import it:
the builder is registered as soon as ``datasets.packaged_modules`` is imported (now, if it
already is).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["DATASET_NAME", "BUILDER_MODULE", "register_builder", "register_when_datasets_loads"]

DATASET_NAME = "atari_interleaved"
BUILDER_MODULE = "atari_interleaved.dataset.builder"
_REGISTRY_MODULE = "datasets.packaged_modules"
_BUILDER_SOURCE = Path(__file__).with_name("builder.py")


def register_builder(packaged_modules: ModuleType | None = None) -> bool:
    """Add the builder to ``datasets``' packaged builders; return whether it was added.

    Args:
        packaged_modules: ``datasets.packaged_modules`` (imported if None).

    Warns:
        UserWarning: if that module no longer has the table and hash function used here.

    """
    if packaged_modules is None:
        packaged_modules = importlib.import_module(_REGISTRY_MODULE)
    registry = getattr(packaged_modules, "_PACKAGED_DATASETS_MODULES", None)
    hash_lines = getattr(packaged_modules, "_hash_python_lines", None)
    known = isinstance(registry, dict) and callable(hash_lines)
    if known:
        entry = next(iter(registry.values()), None)
        known = isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)
    if not known:
        version = getattr(sys.modules.get("datasets"), "__version__", "(unknown version)")
        warnings.warn(
            f"datasets {version} changed the private table atari-interleaved "
            f"registers its builder in, so load_dataset({DATASET_NAME!r}, ...) is not "
            "available; use atari_interleaved.load_frames(data_dir, config) instead",
            stacklevel=2,
        )
        return False
    source_hash = hash_lines(_BUILDER_SOURCE.read_text(encoding="utf-8").splitlines())
    registry[DATASET_NAME] = (BUILDER_MODULE, source_hash)
    return True


class _RegisterOnImport(importlib.abc.MetaPathFinder):
    """Runs :func:`register_builder` right after ``datasets.packaged_modules`` is imported."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _REGISTRY_MODULE:
            return None
        sys.meta_path.remove(self)  # once, and so that the finders below find the real module
        spec = None
        for finder in sys.meta_path:
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _RegisteringLoader(spec.loader)
        return spec


class _RegisteringLoader(importlib.abc.Loader):
    """A loader that executes the module with ``loader``, then registers the builder."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        register_builder(module)

    def __getattr__(self, name: str) -> Any:  # get_source, is_package, ... of the real loader
        return getattr(self._loader, name)


def register_when_datasets_loads() -> None:
    """Register the builder now if ``datasets`` is imported, else when it is."""
    if _REGISTRY_MODULE in sys.modules:
        register_builder(sys.modules[_REGISTRY_MODULE])
    elif not any(isinstance(finder, _RegisterOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RegisterOnImport())
