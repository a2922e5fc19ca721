"""Importing an optional dependency, with the install command when it is missing.

>>> import_optional("json", "--format json", "unused").__name__
'json'
"""

from __future__ import annotations

import importlib
from types import ModuleType

from atari_interleaved.core.errors import DependencyNotInstalledError

__all__ = ["import_optional", "install_hint"]


def install_hint(extra: str) -> str:
    """Return the command that installs the package's ``extra``."""
    return f'pip install "atari-interleaved[{extra}]"'


def import_optional(module: str, needed_by: str, extra: str) -> ModuleType:
    """Return the module ``module``, which ``needed_by`` (a flag, in words) needs.

    Raises:
        DependencyNotInstalledError: if it is not installed, naming the extra that installs it.

    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise DependencyNotInstalledError(
            f"{needed_by} needs the {module} package, which is not installed ({error}); "
            f"install it with: {install_hint(extra)}"
        ) from error
