"""The search planner's graph of simulated states, and its IW(1) novelty tables.

One node per distinct state: a step that reaches the RAM of a node already at that depth
links to it instead of adding a copy, so the nodes form a graph in which every edge goes
one depth down. Nodes live in parallel lists, index 0 the root; ``parent[i]`` is the node
that first reached node ``i``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["NoveltyTable", "Tree", "RAM_SIZE"]

RAM_SIZE = 128
_OFFSETS = np.arange(RAM_SIZE, dtype=np.intp) * 256
_UNSEEN = np.iinfo(np.int32).max


class NoveltyTable:
    """The lowest depth at which the tree holds each atom (RAM byte, value) of IW(1)."""

    def __init__(self) -> None:
        self.depths = np.full(RAM_SIZE * 256, _UNSEEN, dtype=np.int32)

    def clear(self) -> None:
        """Forget every atom."""
        self.depths.fill(_UNSEEN)

    def add(self, ram: np.ndarray, depth: int) -> bool:
        """Record the atoms of ``ram`` at ``depth``; return whether one was new at that depth."""
        atoms = _OFFSETS + ram
        seen = self.depths[atoms]
        novel = bool((seen > depth).any())
        if novel:
            self.depths[atoms] = np.minimum(seen, depth)
        return novel

    def holds(self, ram: np.ndarray, depth: int) -> bool:
        """Whether a state of ``ram`` at ``depth`` still holds one of its atoms lowest."""
        return bool((self.depths[_OFFSETS + ram] >= depth).any())

    def holding(self, rams: list[np.ndarray], depths: list[int]) -> list[bool]:
        """:meth:`holds` for each of the states ``rams`` at ``depths`` at once."""
        atoms = _OFFSETS + np.stack(rams).astype(np.intp)
        return (self.depths[atoms] >= np.asarray(depths)[:, None]).any(axis=1).tolist()

    def rebuild(self, rams: list[np.ndarray], depths: list[int]) -> None:
        """Make the table that of states ``rams`` at ``depths``, and nothing else."""
        self.clear()
        if rams:
            atoms = (_OFFSETS + np.stack(rams).astype(np.intp)).ravel()
            np.minimum.at(self.depths, atoms, np.repeat(np.asarray(depths, np.int32), RAM_SIZE))


class Tree:
    """Simulated states below the root, each reached by one action from a node a depth up.

    ``children[i]`` lists node ``i``'s child by action (-1 until simulated; None until the
    first) and ``gains[i]`` the reward on the way to each, as the planner counts it; two
    actions that reach the same RAM share a child. ``state[i]`` is its saved
    state (None for a state the planner cannot go on from: a death, the end of the game,
    ALE's length limit); ``dead[i]`` whether a life or the game was lost on the way to it.
    ``index`` finds a node by its RAM;
    ``passing`` finds, by the RAM of each frame on the way to a node but the last, the node
    and the steps left to it.
    """

    __slots__ = ("parent", "action", "gains", "ram", "state", "depth", "dead",
                 "solved", "children", "num_actions", "index", "passing")  # fmt: skip

    def __init__(self, ram: np.ndarray, state: Any, num_actions: int) -> None:
        self.num_actions = num_actions
        self.parent = [-1]
        self.action = [-1]
        self.ram = [ram]
        self.state = [state]
        self.depth = [0]
        self.dead = [False]
        self.solved = [False]
        self.children: list[list[int] | None] = [None]
        self.gains: list[list[float] | None] = [None]
        self.index: dict[bytes, int] = {ram.tobytes(): 0}
        self.passing: dict[bytes, tuple[int, int]] = {}

    def __len__(self) -> int:
        return len(self.parent)

    def find(self, ram: np.ndarray, depth: int) -> int:
        """Return the node of RAM ``ram`` at ``depth``, or -1."""
        node = self.index.get(ram.tobytes(), -1)
        return node if node >= 0 and self.depth[node] == depth else -1

    def link(self, parent: int, action: int, child: int, reward: float) -> None:
        """Make ``child`` (one depth below ``parent``) the child of ``parent`` by ``action``."""
        siblings = self.children[parent]
        if siblings is None:
            siblings = self.children[parent] = [-1] * self.num_actions
            self.gains[parent] = [0.0] * self.num_actions
        siblings[action] = child
        self.gains[parent][action] = reward  # type: ignore[index]

    def add(self, parent: int, action: int, reward: float, ram: np.ndarray, state: Any,
            dead: bool, passing: tuple[bytes, ...] = ()) -> int:  # fmt: skip
        """Add the child of ``parent`` by ``action``; return its index.

        ``passing`` holds the RAM (bytes) of the frames on the way but the last.
        """
        index = len(self.parent)
        self.parent.append(parent)
        self.action.append(action)
        self.ram.append(ram)
        self.state.append(state)
        self.depth.append(self.depth[parent] + 1)
        self.dead.append(dead)
        self.solved.append(False)
        self.children.append(None)
        self.gains.append(None)
        self.link(parent, action, index, reward)
        self.index.setdefault(ram.tobytes(), index)
        for left, seen in enumerate(reversed(passing), start=1):
            self.passing.setdefault(seen, (index, left))
        return index

    def solve(self, node: int) -> None:
        """Mark ``node`` solved, and each first parent whose children are then all solved.

        (Another parent of a shared node finds it solved when a rollout next passes it.)
        """
        solved, children, parent = self.solved, self.children, self.parent
        solved[node] = True
        node = parent[node]
        while node >= 0 and self._all_solved(children[node]):
            solved[node] = True
            node = parent[node]

    def _all_solved(self, children: list[int] | None) -> bool:
        return children is not None and all(c >= 0 and self.solved[c] for c in children)

    def bottom_up(self) -> list[int]:
        """Return the nodes deepest first (children before their parents)."""
        depth = self.depth
        return sorted(range(len(depth)), key=lambda node: -depth[node])

    def subtree(self, root: int, state: Any) -> Tree:
        """Return the nodes below ``root``, re-indexed from 0, with the root's state ``state``.

        Solved labels are not carried over (they depend on the novelty tables): see
        :meth:`label_solved`.
        """
        order, position, first_parent = [root], {root: 0}, [-1]
        for node in order:  # breadth first; the list grows as it is read
            for child in self.children[node] or ():
                if child >= 0 and child not in position:
                    position[child] = len(order)
                    order.append(child)
                    first_parent.append(position[node])
        base = self.depth[root]
        tree = Tree(self.ram[root], state, self.num_actions)
        tree.parent = first_parent
        tree.action = [-1] + [self.action[node] for node in order[1:]]
        tree.ram = [self.ram[node] for node in order]
        tree.state = [state] + [self.state[node] for node in order[1:]]
        tree.depth = [self.depth[node] - base for node in order]
        tree.dead = [False] + [self.dead[node] for node in order[1:]]
        tree.solved = [False] * len(order)
        tree.children = [
            None if children is None else [position[c] if c >= 0 else -1 for c in children]
            for children in (self.children[node] for node in order)
        ]
        tree.gains = [self.gains[node] for node in order]
        tree.index = {ram.tobytes(): node for node, ram in reversed(list(enumerate(tree.ram)))}
        tree.passing = {
            seen: (position[node], left)
            for seen, (node, left) in self.passing.items()
            if node in position and position[node] > 0
        }
        return tree

    def living(self) -> list[int]:
        """Return the nodes reached without losing a life (their atoms make the tables)."""
        return [node for node in range(len(self.parent)) if not self.dead[node]]

    def label_solved(self, table: NoveltyTable, max_depth: int) -> None:
        """Label every node solved or not from scratch, against ``table``.

        A node is solved when nothing can be planned from it (no state, at ``max_depth``, or
        no longer novel: every atom it has is held at a lower depth), or when every action
        from it was simulated and led to a solved node.
        """
        for node in self.bottom_up():
            depth = self.depth[node]
            if (
                self.state[node] is None
                or depth >= max_depth
                or (node and not table.holds(self.ram[node], depth))
            ):
                self.solved[node] = True
            else:
                self.solved[node] = self._all_solved(self.children[node])

    def values(
        self, discount: float, novel: list[bool]
    ) -> tuple[list[float], list[int], list[int]]:
        """Return each node's value, novel count and survival depth.

        The value of a node is the best discounted sum of rewards of a path below it (every
        simulated child counts); the novel count, the distinct nodes flagged in ``novel``
        reachable from it, itself included (the ways to go on; a shared node counts once);
        the survival depth, the greatest depth of a node reached without losing a life among
        it and those below it (-1 if there is none): how far a path from it is known to stay
        alive, where a path cut short by pruning is not known to.
        """
        size = len(self.parent)
        value = [0.0] * size
        below = [1 << node if flag else 0 for node, flag in enumerate(novel)]  # bit sets
        survival = [
            -1 if dead else depth for depth, dead in zip(self.depth, self.dead, strict=True)
        ]
        gains_of, children_of = self.gains, self.children
        for node in self.bottom_up():
            children, gains = children_of[node], gains_of[node]
            if children is None or gains is None:
                continue
            for child in set(children):
                if child >= 0:
                    below[node] |= below[child]
                    survival[node] = max(survival[node], survival[child])
            value[node] = max(
                gain + discount * value[child]
                for child, gain in zip(children, gains, strict=True)
                if child >= 0
            )
        return value, [reached.bit_count() for reached in below], survival
