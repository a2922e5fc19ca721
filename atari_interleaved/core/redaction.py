"""Removing access tokens from the messages this package relays (Hub, HTTP, Ray errors).

A misconfigured proxy or a hostile ``HF_ENDPOINT`` can echo a request's
``Authorization`` header in its error body, which ``huggingface_hub`` puts in its
exception's message. Every line the command line prints goes through :func:`redact`:
``cli.run_command`` runs each command inside :func:`redacted_output`, which passes all that
is written to ``sys.stdout`` and ``sys.stderr`` (summaries, logging, warnings, progress
bars, error messages) through it; error texts this package builds from another library's
exception are redacted too. Removed are the values of the tokens this process knows
(``HF_TOKEN``, an object store's ``AWS_SECRET_ACCESS_KEY`` and the like, the stored
logins, tokens passed to :func:`remember_secret`) and anything
shaped like one (``Authorization: ...`` and ``Bearer ...`` values, ``hf_...`` tokens, the
user and password of a URL such as ``HF_ENDPOINT=https://user:password@host``).

>>> redact("401: echoed 'Authorization: Bearer hf_abcdefghijkl' back")
"401: echoed 'Authorization: Bearer ***' back"
>>> redact("cannot reach https://me:s3cret@hub.example.org/api")
'cannot reach https://***@hub.example.org/api'
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "REDACTED",
    "error_text",
    "remember_secret",
    "known_secrets",
    "redact",
    "redacted_output",
]

REDACTED = "***"

_TOKEN_VARIABLES = (
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    # An object store's secrets (storage/location.py), should a library's error echo them.
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
)
_MIN_SECRET_LENGTH = 6
"""Shorter values are not replaced verbatim (a one-letter token would blank the message)."""

_PATTERNS = [
    # Authorization headers, whatever their scheme: "Authorization: Bearer x", "authorization=x".
    re.compile(
        r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?(?:bearer\s+|basic\s+|token\s+)?)[^\s\"',;}]+"
    ),
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(\b(?:hf|api_org)_)[A-Za-z0-9]{6,}"),
    # The user information of a URL (https://user:password@host): all of it.
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/\s@'\"]+(?=@)"),
]

_remembered: set[str] = set()


def remember_secret(secret: str | None) -> None:
    """Have :func:`redact` remove ``secret`` from every later message of this process."""
    if secret:
        _remembered.add(secret)


def _stored_tokens() -> list[str]:
    """Return the tokens of ``hf auth login``, read from their files (no network)."""
    from huggingface_hub import constants, utils

    stored = getattr(utils, "get_stored_tokens", dict)  # huggingface_hub >= 0.25
    tokens = list(stored().values())
    token_file = Path(constants.HF_TOKEN_PATH)
    if token_file.is_file():
        tokens.append(token_file.read_text(encoding="utf-8", errors="replace").strip())
    return tokens


def known_secrets() -> list[str]:
    """Return the token values this process knows, longest first."""
    found = {os.environ.get(name, "").strip() for name in _TOKEN_VARIABLES}
    with contextlib.suppress(OSError):  # an unreadable token file: nothing we could print
        found.update(_stored_tokens())
    found |= _remembered
    return sorted((s for s in found if len(s) >= _MIN_SECRET_LENGTH), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with every token value and token-shaped string replaced by ``***``.

    Args:
        text: a message, e.g. ``str(error)`` of a ``huggingface_hub`` exception.
        secrets: more values to remove, besides :func:`known_secrets`.

    """
    for secret in [*secrets, *known_secrets()]:
        if len(secret) >= _MIN_SECRET_LENGTH:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + REDACTED, text)
    return text


def error_text(error: BaseException, secrets: Iterable[str] = ()) -> str:
    """Return an error's words for a message, :func:`redact`-ed, or its type's name if none."""
    return redact(str(error), secrets) or type(error).__name__


class _RedactedStream:
    """A text stream that writes through :func:`redact` into another one."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, flush, encoding, ...
        return getattr(self._stream, name)


@contextlib.contextmanager
def redacted_output() -> Iterator[None]:
    """Pass everything written to ``sys.stdout`` and ``sys.stderr`` through :func:`redact`.

    Loggers, warnings and progress bars created inside the block write through it as well.
    """
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _RedactedStream(sys.stdout), _RedactedStream(sys.stderr)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
