"""The search planner's tree of simulated states, and its IW(1) novelty table.

Nodes live in parallel lists, index 0 the root; a child always comes after its parent, so a
pass from the last index to the first visits children before parents.
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

    def rebuild(self, rams: list[np.ndarray], depths: list[int]) -> None:
        """Make the table that of states ``rams`` at ``depths``, and nothing else."""
        self.clear()
        if rams:
            atoms = (_OFFSETS + np.stack(rams).astype(np.intp)).ravel()
            np.minimum.at(self.depths, atoms, np.repeat(np.asarray(depths, np.int32), RAM_SIZE))


class Tree:
    """Simulated states below the root, each reached by one action from its parent.

    ``children[i]`` lists node ``i``'s child by action (-1 until simulated; None until the
    first); ``state[i]`` is its saved state (None for a state the planner cannot go on from:
    a death, the end of the game, ALE's length limit); ``dead[i]`` whether a life or the game
    was lost on the way to it; ``novel[i]`` whether it was novel when simulated; ``reward[i]``
    the reward on the way, as the planner counts it.
    """

    __slots__ = ("parent", "action", "reward", "ram", "state", "depth", "dead", "novel",
                 "solved", "children", "num_actions")  # fmt: skip

    def __init__(self, ram: np.ndarray, state: Any, num_actions: int) -> None:
        self.num_actions = num_actions
        self.parent = [-1]
        self.action = [-1]
        self.reward = [0.0]
        self.ram = [ram]
        self.state = [state]
        self.depth = [0]
        self.dead = [False]
        self.novel = [True]
        self.solved = [False]
        self.children: list[list[int] | None] = [None]

    def __len__(self) -> int:
        return len(self.parent)

    def add(self, parent: int, action: int, reward: float, ram: np.ndarray, state: Any,
            dead: bool, novel: bool) -> int:  # fmt: skip
        """Add the child of ``parent`` by ``action``; return its index."""
        index = len(self.parent)
        self.parent.append(parent)
        self.action.append(action)
        self.reward.append(reward)
        self.ram.append(ram)
        self.state.append(state)
        self.depth.append(self.depth[parent] + 1)
        self.dead.append(dead)
        self.novel.append(novel)
        self.solved.append(False)
        self.children.append(None)
        siblings = self.children[parent]
        if siblings is None:
            siblings = self.children[parent] = [-1] * self.num_actions
        siblings[action] = index
        return index

    def solve(self, node: int) -> None:
        """Mark ``node`` solved, and each ancestor whose children are then all solved."""
        solved, children, parent = self.solved, self.children, self.parent
        solved[node] = True
        node = parent[node]
        while node >= 0 and self._all_solved(children[node]):
            solved[node] = True
            node = parent[node]

    def _all_solved(self, children: list[int] | None) -> bool:
        return children is not None and all(c >= 0 and self.solved[c] for c in children)

    def subtree(self, root: int, state: Any) -> Tree:
        """Return the subtree under ``root``, re-indexed from 0, with the root's state ``state``.

        Solved labels are not carried over (they depend on the novelty table): see
        :meth:`label_solved`.
        """
        order, position = [root], {root: 0}
        for node in order:  # breadth first; the list grows as it is read
            for child in self.children[node] or ():
                if child >= 0:
                    position[child] = len(order)
                    order.append(child)
        base = self.depth[root]
        tree = Tree(self.ram[root], state, self.num_actions)
        tree.parent = [-1] + [position[self.parent[node]] for node in order[1:]]
        tree.action = [-1] + [self.action[node] for node in order[1:]]
        tree.reward = [0.0] + [self.reward[node] for node in order[1:]]
        tree.ram = [self.ram[node] for node in order]
        tree.state = [state] + [self.state[node] for node in order[1:]]
        tree.depth = [self.depth[node] - base for node in order]
        tree.dead = [False] + [self.dead[node] for node in order[1:]]
        tree.novel = [self.novel[node] for node in order]
        tree.solved = [False] * len(order)
        tree.children = [
            None if children is None else [position[c] if c >= 0 else -1 for c in children]
            for children in (self.children[node] for node in order)
        ]
        return tree

    def living(self) -> list[int]:
        """Return the nodes reached without losing a life (their atoms make the table)."""
        return [node for node in range(len(self.parent)) if not self.dead[node]]

    def label_solved(self, table: NoveltyTable, max_depth: int) -> None:
        """Label every node solved or not from scratch, against ``table``.

        A node is solved when nothing can be planned from it (no state, at ``max_depth``, or
        no longer novel: every atom it has is held at a lower depth), or when every action
        from it was simulated and led to a solved node.
        """
        for node in range(len(self.parent) - 1, -1, -1):
            depth = self.depth[node]
            if (
                self.state[node] is None
                or depth >= max_depth
                or (node and not table.holds(self.ram[node], depth))
            ):
                self.solved[node] = True
            else:
                self.solved[node] = self._all_solved(self.children[node])

    def values(self, discount: float) -> tuple[list[float], list[int]]:
        """Return each node's value and novel count.

        The value of a node is the best discounted sum of rewards of a path below it (every
        simulated child counts); the novel count, the novel nodes below it and itself (the
        ways to go on).
        """
        size = len(self.parent)
        value = [0.0] * size
        novel = [1 if flag else 0 for flag in self.novel]
        reward, children_of = self.reward, self.children
        for node in range(size - 1, -1, -1):
            children = children_of[node]
            if children is None:
                continue
            best = None
            for child in children:
                if child < 0:
                    continue
                novel[node] += novel[child]
                child_value = reward[child] + discount * value[child]
                if best is None or child_value > best:
                    best = child_value
            value[node] = best or 0.0
        return value, novel
