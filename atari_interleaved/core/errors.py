"""The one exception hierarchy of atari-interleaved.

Every error a user can cause derives from :class:`AtariInterleavedError`; the command line
prints its message and exits with a non-zero status instead of a traceback.
"""

from __future__ import annotations

__all__ = [
    "AtariInterleavedError",
    "InvalidArgumentError",
    "OutputExistsError",
    "InvalidInputError",
    "DependencyNotInstalledError",
    "OutputWriteError",
    "OutputInUseError",
    "PolicyError",
    "WorkerEndedError",
]


class AtariInterleavedError(Exception):
    """Base class of the errors this package raises on bad input or state."""


class InvalidArgumentError(AtariInterleavedError, ValueError):
    """An argument (flag, parameter) has a value that cannot be used."""


class OutputExistsError(AtariInterleavedError, FileExistsError):
    """The output already exists and replacing it was not asked for."""


class InvalidInputError(AtariInterleavedError, ValueError):
    """An input file or folder does not have the expected layout or content."""


class OutputWriteError(AtariInterleavedError, OSError):
    """Writing the output failed (disk full, permissions); what is complete was kept."""


class DependencyNotInstalledError(AtariInterleavedError, ImportError):
    """An optional dependency is missing; the message gives the install command."""


class OutputInUseError(AtariInterleavedError):
    """Another run is writing the same output; the message names it."""


class PolicyError(AtariInterleavedError, RuntimeError):
    """A base policy failed or returned something that is not an action of the game."""


class WorkerEndedError(AtariInterleavedError, RuntimeError):
    """A worker process ended abruptly (killed, out of memory); what was complete was kept."""
