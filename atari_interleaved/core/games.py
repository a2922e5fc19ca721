"""The Atari games that ale-py registers with gymnasium, and how users name them.

A game is named by its ALE ROM id (``alien``, ``montezuma_revenge``); users may also write
the gymnasium id (``ALE/Alien-v5``) or the CamelCase name (``Alien``, ``MontezumaRevenge``).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable

from atari_interleaved.core.errors import InvalidArgumentError

__all__ = ["all_games", "env_id", "display_name", "resolve_game", "resolve_games"]

_ENV_ID_RE = re.compile(r"^ALE/(?P<name>[A-Za-z0-9]+)-v5$")


@functools.cache
def _registry() -> dict[str, str]:
    """Map every ROM id registered as ``ALE/<Game>-v5`` to its env id, sorted by ROM id."""
    import ale_py
    import gymnasium

    gymnasium.register_envs(ale_py)
    games: dict[str, str] = {}
    for spec_id, spec in gymnasium.registry.items():
        if _ENV_ID_RE.match(spec_id) and spec.kwargs.get("obs_type", "rgb") == "rgb":
            games[str(spec.kwargs["game"])] = spec_id
    return dict(sorted(games.items()))


def all_games() -> list[str]:
    """Return the ROM ids of every ``ALE/<Game>-v5`` environment, sorted."""
    return list(_registry())


def env_id(game: str) -> str:
    """Return the gymnasium id of a game: ``env_id("alien") == "ALE/Alien-v5"``."""
    return _registry()[game]


def display_name(game: str) -> str:
    """Return a game's name for texts: ``"montezuma_revenge"`` gives ``"Montezuma Revenge"``."""
    return " ".join(part.capitalize() for part in game.split("_"))


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def resolve_game(name: str, flag: str = "--envs") -> str:
    """Return the ROM id a user means by ``name`` (given with the command-line flag ``flag``).

    Accepts ``alien``, ``Alien``, ``ALE/Alien-v5``, ``MontezumaRevenge``, ``montezuma_revenge``.

    Raises:
        InvalidArgumentError: for an unknown game, with the closest known names.

    """
    stripped = name.strip()
    match = _ENV_ID_RE.match(stripped)
    key = _normalise(match["name"] if match else stripped)
    by_key = {_normalise(game): game for game in _registry()}
    if key in by_key:
        return by_key[key]
    close = difflib.get_close_matches(key, list(by_key), n=3, cutoff=0.6)
    hint = (
        " Did you mean " + " or ".join(repr(by_key[c]) for c in close) + "?"
        if close
        else " Run 'atari-interleaved sample --list-envs' to see the known games."
    )
    raise InvalidArgumentError(f"unknown Atari game {name!r} in {flag}.{hint}")


def resolve_games(names: Iterable[str] | None) -> list[str]:
    """Resolve user-given game names (None means every game), keeping order, dropping repeats."""
    if names is None:
        return all_games()
    resolved: list[str] = []
    for name in names:
        if not name.strip():
            continue
        game = resolve_game(name)
        if game not in resolved:
            resolved.append(game)
    if not resolved:
        raise InvalidArgumentError("--envs names no game; give e.g. --envs alien,pong")
    return resolved
