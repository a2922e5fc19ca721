"""ALE's NTSC palette: the RGB colour of each value ``ALEInterface.getScreen`` gives.

The Atari 2600 draws with 128 colours (16 hues of 8 luminances). ALE's ``getScreen`` gives a
pixel's colour as the console's colour register value: an even number 0..254 (the low bit is
unused), and ``getScreenRGB`` maps it through this palette (ALE's default, the NTSC palette of
Stella that ALE ships; ``src/ale/common/ColourPalette.cpp``). Every game of ale-py uses it, so
a value means the same colour in every frame of every game, unlike a PNG's own palette. The
table is checked against ``getScreen``/``getScreenRGB`` on real games in the tests.

:data:`NTSC_GRAY` is ALE's own greyscale of each value, what ``getScreenGrayscale`` gives:
ALE computes it once per colour, when it builds the palette, as the luminance
``round(0.2989 R + 0.5870 G + 0.1140 B)`` of the colour's RGB (no colour lies near a rounding
tie). The tests compare it with ``getScreenGrayscale`` on real games.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NTSC_PALETTE", "NTSC_GRAY", "ale_values_of"]

# One line per hue (the value's high nibble), its 8 luminances in value order (0, 2, ..., 14).
_NTSC_HEX = """
000000 4a4a4a 6f6f6f 8e8e8e aaaaaa c0c0c0 d6d6d6 ececec
484800 69690f 86861d a2a22a bbbb35 d2d240 e8e84a fcfc54
7c2c00 904811 a26221 b47a30 c3903d d2a44a dfb755 ecc860
901c00 a33915 b55328 c66c3a d5824a e39759 f0aa67 fcbc74
940000 a71a1a b83232 c84848 d65c5c e46f6f f08080 fc9090
840064 97197a a8308f b846a2 c659b3 d46cc3 e07cd2 ec8ce0
500084 68199a 7d30ad 9246c0 a459d0 b56ce0 c57cee d48cfc
140090 331aa3 4e32b5 6848c6 7f5cd5 956fe3 a980f0 bc90fc
000094 181aa7 2d32b8 4248c8 545cd6 656fe4 7580f0 8490fc
001c88 183b9d 2d57b0 4272c2 548ad2 65a0e1 75b5ef 84c8fc
003064 185080 2d6d98 4288b0 54a0c5 65b7d9 75cceb 84e0fc
004030 18624e 2d8169 429e82 54b899 65d1ae 75e7c2 84fcd4
004400 1a661a 328432 48a048 5cba5c 6fd26f 80e880 90fc90
143c00 355f18 527e2d 6e9c42 87b754 9ed065 b4e775 c8fc84
303800 505916 6d762b 88923e a0ab4f b7c25f ccd86e e0ec7c
482c00 694d14 866a26 a28638 bb9f47 d2b656 e8cc63 fce070
"""


def _palette() -> np.ndarray:
    colours = np.frombuffer(bytes.fromhex("".join(_NTSC_HEX.split())), dtype=np.uint8)
    table = np.zeros((256, 3), dtype=np.uint8)
    table[0::2] = colours.reshape(128, 3)
    return table


NTSC_PALETTE = _palette()
"""``uint8`` of shape (256, 3): ``NTSC_PALETTE[v]`` is the RGB colour of ``getScreen`` value
``v`` (even values only; the odd rows, which ALE never gives, are zero)."""

_LUMINANCE = np.array([0.2989, 0.5870, 0.1140])
NTSC_GRAY = np.rint(NTSC_PALETTE @ _LUMINANCE).astype(np.uint8)
"""``uint8`` of shape (256,): ``NTSC_GRAY[v]`` is ALE's greyscale of ``getScreen`` value ``v``,
what ``getScreenGrayscale`` gives for that pixel."""


def _packed(colours: np.ndarray) -> np.ndarray:
    colours = np.asarray(colours, dtype=np.uint32).reshape(-1, 3)
    return (colours[:, 0] << 16) | (colours[:, 1] << 8) | colours[:, 2]


_KEYS = _packed(NTSC_PALETTE[0::2])
_ORDER = np.argsort(_KEYS)
_SORTED_KEYS = _KEYS[_ORDER]
_SORTED_VALUES = (_ORDER * 2).astype(np.uint8)


def ale_values_of(colours: np.ndarray) -> np.ndarray:
    """Return the ``getScreen`` value of each RGB colour of ``colours`` (shape (n, 3)).

    Raises:
        ValueError: naming a colour that is not in the palette (not an ALE screen colour).

    """
    keys = _packed(colours)
    found = np.minimum(np.searchsorted(_SORTED_KEYS, keys), len(_SORTED_KEYS) - 1)
    missing = _SORTED_KEYS[found] != keys
    if missing.any():
        bad = np.asarray(colours).reshape(-1, 3)[np.argmax(missing)]
        colour = "#" + "".join(f"{int(channel):02x}" for channel in bad)
        raise ValueError(f"the colour {colour} is not one of ALE's NTSC palette")
    return _SORTED_VALUES[found]
