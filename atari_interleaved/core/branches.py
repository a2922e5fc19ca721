"""Counterfactual branches: what every other action would have shown, and where it is kept.

With ``sample --branch-every K``, at every K-th recorded frame ``t`` of an episode (a branch
point; never its last frame) the sampler restores the emulator's state at ``t`` and, for every
action ``b`` of the game's action set, holds ``b`` for ``--branch-steps H`` recorded frames,
recording each frame with its reward, the lives, whether the game ended and the actions ALE
applied. Sticky actions draw from a copy of the episode's own sticky stream at ``t``, so every
branch of a point sees the same draws as the episode's next steps, and the episode itself
stays byte-identical to a run without branches. A branch stops early at the frame where its
game ends, and never goes past the episode's last recorded frame (``t + step`` is at most that
frame's number).

Step ``s`` (1..H) of branch ``(t, b)`` is the frame ``s`` recorded frames after ``t``. The
branch of the action the episode took at ``t`` applies the episode's own next actions (same
sticky draws, same previous action), so its step 1 is always the episode's frame ``t + 1``,
and its later steps are the episode's frames while the episode applies the same actions.

A frame tree keeps an episode's branches beside its frames, in a folder the seed's readers
do not look into::

    episode_000_rand0.2/
    ├── frame_000000.png, action_000000.txt, ..., episode.json     # PIPELINE.md, unchanged
    └── branches/
        ├── branches.json                        # the outcome of every step (below)
        └── frame_000010_action_03_step_001.png  # frame 10, action 3 held, 1 step on

and ``sample --to-parquet`` and ``export`` write a third config, ``branches``, one row per
(episode, frame, action, step) (:mod:`atari_interleaved.core.features`).

>>> branch_frame_name(10, 3, 1)
'frame_000010_action_03_step_001.png'
>>> parse_branch_frame_name("frame_000010_action_03_step_001.png")
(10, 3, 1)
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from atari_interleaved.core.episode import check_field

__all__ = [
    "BRANCHES_DIR_NAME",
    "BRANCHES_METADATA_NAME",
    "BRANCHES_FORMAT",
    "Branch",
    "branch_frame_name",
    "parse_branch_frame_name",
    "branches_to_json",
    "branches_from_json",
]

BRANCHES_DIR_NAME = "branches"
"""The folder of an episode's branches, inside its episode folder."""
BRANCHES_METADATA_NAME = "branches.json"
"""The file of the outcomes of every branch step, in :data:`BRANCHES_DIR_NAME`."""
BRANCHES_FORMAT = "atari-interleaved/branches/1"

_FRAME_RE = re.compile(r"^frame_(\d{6,})_action_(\d{2})_step_(\d{3,})\.png$")


def branch_frame_name(frame: int, action: int, step: int) -> str:
    """Return the file of step ``step`` of the branch of ``action`` at ``frame``."""
    return f"frame_{frame:06d}_action_{action:02d}_step_{step:03d}.png"


def parse_branch_frame_name(name: str) -> tuple[int, int, int] | None:
    """Return (frame, action, step) of a branch frame's file name, else None."""
    match = _FRAME_RE.match(name)
    return None if match is None else (int(match[1]), int(match[2]), int(match[3]))


@dataclass(frozen=True)
class Branch:
    """Action ``action`` held from frame ``frame_number`` for ``len(frames)`` recorded frames.

    Entry ``s - 1`` of each list belongs to step ``s``: the PNG of the frame, the reward of
    the step that produced it, the lives and game-end flags at that frame, and the actions
    ALE ran on the ``frameskip`` emulator frames of that step.
    """

    frame_number: int
    action: int
    frames: list[bytes]
    rewards: list[float]
    lives: list[int]
    terminated: list[bool]
    truncated: list[bool]
    applied_actions: list[list[int]]

    @property
    def steps(self) -> int:
        """The frames the branch holds."""
        return len(self.frames)

    def cut(self, steps: int) -> Branch:
        """Return the branch with its first ``steps`` steps only."""
        kept = {item.name: getattr(self, item.name)[:steps] for item in fields(self)[2:]}
        return Branch(self.frame_number, self.action, **kept)


_OUTCOME_HINTS: dict[str, Any] = {
    "frame_number": int,
    "action": int,
    "rewards": list[float],
    "lives": list[int],
    "terminated": list[bool],
    "truncated": list[bool],
    "applied_actions": list[list[int]],
}
"""The fields of each entry of ``branches.json``: a :class:`Branch` without its frames."""


def branches_to_json(branches: list[Branch]) -> str:
    """Return the ``branches.json`` of an episode's branches, one branch a line."""
    lines = []
    for branch in branches:
        outcome = {key: value for key, value in asdict(branch).items() if key != "frames"}
        lines.append("  " + json.dumps(outcome, sort_keys=True))
    body = ",\n".join(lines)
    return f'{{"format": "{BRANCHES_FORMAT}", "branches": [\n{body}\n]}}\n'


def branches_from_json(text: str, frames: Any) -> list[Branch]:
    """Return the branches a ``branches.json`` describes, their frames read by ``frames``.

    Args:
        text: the file's content.
        frames: called with a frame's file name (:func:`branch_frame_name`), returns its PNG.

    Raises:
        ValueError: naming what is wrong (not the format, a field of the wrong type, lists
            of different lengths, a branch given twice).

    """
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("format") != BRANCHES_FORMAT:
        raise ValueError(f"not a {BRANCHES_FORMAT!r} file")
    entries = check_field(data.get("branches"), list[dict[str, Any]], "branches")
    branches, seen = [], set()
    for position, entry in enumerate(entries):
        where = f"branches[{position}]"
        if set(entry) != set(_OUTCOME_HINTS):
            raise ValueError(
                f"{where} has the fields {sorted(entry)}, not {sorted(_OUTCOME_HINTS)}"
            )
        values = {
            key: check_field(entry[key], hint, f"{where}.{key}")
            for key, hint in _OUTCOME_HINTS.items()
        }
        steps = len(values["rewards"])
        if steps < 1 or any(len(values[key]) != steps for key in list(_OUTCOME_HINTS)[3:]):
            raise ValueError(f"{where}: its lists are empty or of different lengths")
        key = (values["frame_number"], values["action"])
        if key in seen or min(key) < 0:
            raise ValueError(f"{where}: frame {key[0]}, action {key[1]} is not a new branch")
        seen.add(key)
        values["frames"] = [frames(branch_frame_name(*key, step)) for step in range(1, steps + 1)]
        branches.append(Branch(**values))
    return branches
