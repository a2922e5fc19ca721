"""Importing an optional dependency, with the install command when it is missing.

>>> import_optional("json", "--format json", "unused").__name__
'json'
"""

from __future__ import annotations

import importlib
import re
import shlex
from importlib import metadata
from types import ModuleType

from atari_interleaved.core.errors import DependencyNotInstalledError

__all__ = ["import_optional", "install_hint"]

_DISTRIBUTION = "atari-interleaved"


def _extra_requirements(extra: str) -> list[str]:
    """Return the requirements of ``extra`` as the installed metadata lists them."""
    try:
        requires = metadata.requires(_DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return []
    marker = re.compile(rf"""extra\s*==\s*["']{re.escape(extra)}["']""")
    return [line.split(";")[0].strip() for line in requires if marker.search(line)]


def install_hint(extra: str) -> str:
    """Return a command that installs the package's ``extra``, from any folder.

    The package is not published (README installs it from its checkout), so the command names
    the extra's requirements, as the installed metadata lists them.

    >>> install_hint("minari")
    "pip install 'minari>=0.5.4'"
    """
    requirements = _extra_requirements(extra)
    if requirements:
        return "pip install " + " ".join(shlex.quote(line) for line in requirements)
    return f"pip install -e '.[{extra}]' (in the atari-interleaved checkout)"


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
