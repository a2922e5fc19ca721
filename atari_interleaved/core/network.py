"""The errors of a request to the Hub that got no answer, whichever HTTP library sent it.

``huggingface_hub`` 2.x sends requests with httpx2, 1.x with httpx, 0.x with requests; an
unreachable endpoint raises that library's transport error, which every caller of the Hub
(``publish``, the frame sources) turns into one clear message.
"""

from __future__ import annotations

import importlib
import importlib.util
import os

__all__ = ["network_errors", "endpoint_origin"]

_TRANSPORT_ERRORS = {
    "httpx2": ("TransportError",),
    "httpx": ("TransportError",),
    "requests": ("ConnectionError", "Timeout"),
}
"""The errors of each HTTP library raised when a request gets no answer (by module)."""


def network_errors() -> tuple[type[Exception], ...]:
    """Return the errors of a request that got no answer, for the HTTP libraries installed."""
    errors: list[type[Exception]] = []
    for module_name, names in _TRANSPORT_ERRORS.items():
        if importlib.util.find_spec(module_name) is not None:
            module = importlib.import_module(module_name)
            errors += [getattr(module, name) for name in names if hasattr(module, name)]
    return tuple(errors)


def endpoint_origin() -> str:
    """Say where the Hub's endpoint comes from, for messages: `` (HF_ENDPOINT)`` if set there."""
    return " (HF_ENDPOINT)" if os.environ.get("HF_ENDPOINT") else ""
