"""The versions of the libraries that made the data, recorded in ``episode.json`` and manifests."""

from __future__ import annotations

from importlib import metadata

__all__ = ["VERSIONED_PACKAGES", "library_versions"]

VERSIONED_PACKAGES = (
    "atari-interleaved",
    "datasets",
    "huggingface_hub",
    "pyarrow",
    "pillow",
    "numpy",
    "ale-py",
    "gymnasium",
)
"""The packages whose versions decide the data; each is recorded when installed."""


def library_versions(packages: tuple[str, ...] = VERSIONED_PACKAGES) -> dict[str, str]:
    """Return the installed version of each package (those not installed are left out)."""
    versions = {}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions
