"""``--policy search``: Rollout IW(1) over the console's RAM, planned on ALE's saved states.

Each decision grows a tree of emulator states from the current one by *rollouts*: from the
root, repeatedly take an action drawn uniformly among those not yet solved, holding it for
``frameskip`` emulator frames (no sticky actions: a simulation is deterministic). A new
state is kept (its state cloned) only when it is *novel*: one of its 128 RAM bytes holds a
value that no state of the tree had at that byte at this depth or less (the depth-based
novelty of Rollout IW(1), Bandres, Bonet and Geffner, AAAI 2018, after the IW(1) of
Lipovetzky, Ramirez and Geffner, IJCAI 2015). A state that is not novel, or where the game
ended, or :data:`MAX_DEPTH` steps down, ends its rollout and is *solved*, as is a node whose
children are all solved; a rollout passing a known node goes on while one of the atoms
(byte, value) that node brought is not reached higher in the tree. A lost life (or game
over) counts as a large negative reward.

The value of a node is the best discounted sum of rewards below it; the root action of
highest value is taken, then the one whose subtree holds the most novel states (the most
ways to go on), then the policy's random generator decides. The subtree of the chosen
action is kept and grown at the next decision when the real next state has the same RAM as
its root (sticky actions or a random step can make it differ: the tree then starts anew).

Budget: ``search_budget`` emulator frames simulated per recorded frame, on account: a
decision may spend what earlier cheap or random steps left, up to
:data:`MAX_DECISION_BUDGET` times the budget. All randomness comes from the episode's policy
generator, so an episode is the same whatever runs it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from atari_interleaved.generate.policy import BasePolicy, PolicyContext

__all__ = [
    "ALGORITHM",
    "DISCOUNT",
    "LIFE_LOSS_PENALTY",
    "MAX_DECISION_BUDGET",
    "MAX_DEPTH",
    "SearchStats",
    "SearchPolicy",
    "make_search_policy",
]

ALGORITHM = "rollout-iw1-ram/1"
"""Name and version of the planner's algorithm, recorded with the data."""
DISCOUNT = 0.99
"""Discount of a reward per step (``frameskip`` emulator frames) below the root."""
LIFE_LOSS_PENALTY = 10_000.0
"""Reward counted for losing a life or the game in a simulation."""
MAX_DECISION_BUDGET = 2.0
"""A decision spends at most this many times ``search_budget`` per step."""
MAX_DEPTH = 30
"""Rollouts stop at this depth (steps below the root); a node there is solved."""

_RAM_SIZE = 128
_ATOM_OFFSETS = np.arange(_RAM_SIZE, dtype=np.intp) * 256
_UNSEEN = np.iinfo(np.int32).max


@dataclass
class SearchStats:
    """What the planner did in one episode (for the benchmark)."""

    decisions: int = 0
    frames: int = 0
    """Emulator frames simulated."""
    clones: int = 0
    restores: int = 0
    ram_reads: int = 0
    seconds: float = 0.0
    """Time spent deciding, ALE calls included."""


class _Tree:
    """Nodes in lists (index 0 the root); children are created after their parent.

    ``children[i][a]`` is the child of node ``i`` by action ``a`` (-1 until simulated; the
    list is None until node ``i`` has a child); ``state[i]`` its saved state, None when it
    was not novel or the game ended there (it is then solved from the start); ``counts[i]``
    (it was novel) whether it counts in its parent's value; ``atoms[i]`` the atoms it
    brought to the novelty table.
    """

    __slots__ = ("parent", "action", "reward", "ram", "atoms", "state", "lives", "depth",
                 "counts", "solved", "children", "num_actions")  # fmt: skip

    def __init__(self, ram: np.ndarray, state: Any, lives: int, num_actions: int) -> None:
        self.num_actions = num_actions
        self.parent = [-1]
        self.action = [-1]
        self.reward = [0.0]
        self.ram = [ram]
        self.atoms: list[list[int]] = [[]]
        self.state = [state]
        self.lives = [lives]
        self.depth = [0]
        self.counts = [True]
        self.solved = [False]
        self.children: list[list[int] | None] = [None]

    def add(self, parent: int, action: int, reward: float, ram: np.ndarray, atoms: list[int],
            state: Any, lives: int, counts: bool) -> int:  # fmt: skip
        index = len(self.parent)
        self.parent.append(parent)
        self.action.append(action)
        self.reward.append(reward)
        self.ram.append(ram)
        self.atoms.append(atoms)
        self.state.append(state)
        self.lives.append(lives)
        self.depth.append(self.depth[parent] + 1)
        self.counts.append(counts)
        self.solved.append(state is None)
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
        while node >= 0 and all(child >= 0 and solved[child] for child in children[node] or ()):
            solved[node] = True
            node = parent[node]

    def subtree(self, root: int, ram: np.ndarray, state: Any) -> _Tree:
        """Return the subtree under ``root``, re-indexed from 0, its root's state replaced.

        Its nodes are unsolved again where they have a state: the novelty table changes.
        """
        order, position = [root], {root: 0}
        for node in order:  # breadth first; the list grows as it is read
            for child in self.children[node] or ():
                if child >= 0:
                    position[child] = len(order)
                    order.append(child)
        base = self.depth[root]
        subtree = _Tree(ram, state, self.lives[root], self.num_actions)
        subtree.parent = [-1] + [position[self.parent[node]] for node in order[1:]]
        subtree.action = [self.action[node] for node in order]
        subtree.reward = [self.reward[node] for node in order]
        subtree.ram = [ram] + [self.ram[node] for node in order[1:]]
        subtree.atoms = [self.atoms[node] for node in order]
        subtree.state = [state] + [self.state[node] for node in order[1:]]
        subtree.lives = [self.lives[node] for node in order]
        subtree.depth = [self.depth[node] - base for node in order]
        subtree.counts = [True] + [self.counts[node] for node in order[1:]]
        subtree.solved = [False] + [self.state[node] is None for node in order[1:]]
        subtree.children = [
            None if children is None else [position[c] if c >= 0 else -1 for c in children]
            for children in (self.children[node] for node in order)
        ]
        return subtree


class SearchPolicy:
    """The ``search`` base policy of one episode (see the module doc)."""

    needs_observation = False

    def __init__(self, context: PolicyContext) -> None:
        self._view = context.emulator
        self._rng = context.rng
        self._budget = float(context.search_budget)
        self._frameskip = context.emulator.frameskip
        self._actions = context.emulator.ale_actions
        self._depths = np.full(_RAM_SIZE * 256, _UNSEEN, dtype=np.int32)
        self._first_frame: int | None = None
        self._kept: tuple[_Tree, int] | None = None  # the last tree and its chosen child
        self.stats = SearchStats()

    def __call__(self, observation: np.ndarray | None, previous_action: int) -> int:
        """Plan from the emulator's current state and return the action to take."""
        started = time.perf_counter()
        ale = self._view.raw_interface()
        stats = self.stats
        frame_number = ale.getEpisodeFrameNumber()
        if self._first_frame is None:
            self._first_frame = frame_number
        steps = (frame_number - self._first_frame) // self._frameskip + 1
        allowance = min(self._budget * steps - stats.frames, self._budget * MAX_DECISION_BUDGET)
        action = previous_action  # when there is nothing to plan
        if not ale.game_over():
            ram = ale.getRAM()
            tree = self._root_tree(ram, ale.cloneState(), ale.lives())
            stats.ram_reads += 1
            stats.clones += 1
            self._grow(ale, tree, allowance)
            if tree.children[0] is not None:
                action = self._choose(tree)
        stats.decisions += 1
        stats.seconds += time.perf_counter() - started
        return action

    def _root_tree(self, ram: np.ndarray, state: Any, lives: int) -> _Tree:
        """Return the tree to grow: the kept subtree if it starts here, else a new root.

        The novelty table is rebuilt from the root's atoms and the atoms each node brought
        (see :meth:`_grow`), at their new depths.
        """
        depths = self._depths
        depths.fill(_UNSEEN)
        depths[_ATOM_OFFSETS + ram] = 0
        kept, self._kept = self._kept, None
        if kept is None or not np.array_equal(kept[0].ram[kept[1]], ram):
            return _Tree(ram, state, lives, len(self._actions))
        tree = kept[0].subtree(kept[1], ram, state)
        for atoms, depth in zip(tree.atoms, tree.depth, strict=True):
            for atom in atoms:
                if depths[atom] > depth:
                    depths[atom] = depth
        return tree

    def _grow(self, ale: Any, tree: _Tree, allowance: float) -> None:
        """Run rollouts from the root while a step fits in ``allowance`` (see the module doc)."""
        stats, depths, rng = self.stats, self._depths, self._rng
        actions, frameskip = self._actions, self._frameskip
        children_of, solved, depth_of = tree.children, tree.solved, tree.depth
        every_action = list(range(len(actions)))
        spent = 0
        while spent + frameskip <= allowance and not solved[0]:
            node, at_node = 0, False  # at_node: ALE holds the node's state
            while spent + frameskip <= allowance:
                children = children_of[node]
                if children is None:
                    open_actions = every_action
                else:
                    open_actions = [
                        action
                        for action, child in enumerate(children)
                        if child < 0 or not solved[child]
                    ]
                if not open_actions:
                    tree.solve(node)
                    break
                if len(open_actions) > 1:
                    action = open_actions[int(rng.integers(len(open_actions)))]
                else:
                    action = open_actions[0]
                child = -1 if children is None else children[action]
                if child >= 0:
                    # Known: go on while one of the atoms it brought is still its own.
                    depth = depth_of[child]
                    if not any(depths[atom] >= depth for atom in tree.atoms[child]):
                        tree.solve(child)
                        break
                    node, at_node = child, False
                    if depth_of[node] >= MAX_DEPTH:
                        tree.solve(node)
                        break
                    continue
                if not at_node:
                    ale.restoreState(tree.state[node])
                    stats.restores += 1
                chosen = actions[action]
                reward = 0
                for _ in range(frameskip):
                    reward += ale.act(chosen)
                spent += frameskip
                ram = ale.getRAM()
                lives = ale.lives()
                over = ale.game_over()
                stats.ram_reads += 1
                value = float(reward)
                if over or lives < tree.lives[node]:
                    value -= LIFE_LOSS_PENALTY
                depth = depth_of[node] + 1
                atoms = _ATOM_OFFSETS + ram
                seen = depths[atoms]
                novel = not over and (node == 0 or bool((seen > depth).any()))
                state, brought = None, []
                if novel:
                    # The atoms not seen at a lower depth: the node stays novel while one of
                    # them is not reached higher in the tree.
                    brought = atoms[seen >= depth].tolist()
                    depths[atoms] = np.minimum(seen, depth)
                    state = ale.cloneState()
                    stats.clones += 1
                child = tree.add(node, action, value, ram, brought, state, lives, novel)
                if state is None:
                    tree.solve(child)
                    break
                node, at_node = child, True
                if depth >= MAX_DEPTH:
                    tree.solve(node)
                    break
        stats.frames += spent

    def _choose(self, tree: _Tree) -> int:
        """Return the root action of highest value (see the module doc) and keep its subtree."""
        size = len(tree.parent)
        value = [0.0] * size
        novel = [1 if state is not None else 0 for state in tree.state]
        reward, counts = tree.reward, tree.counts
        for node in range(size - 1, 0, -1):  # children come after their parent
            parent = tree.parent[node]
            if counts[node]:
                novel[parent] += novel[node]
        for node in range(size - 1, -1, -1):
            if tree.children[node] is None:
                continue
            children = [child for child in tree.children[node] if child >= 0]
            if children:
                # A child that was not novel stands for a state seen elsewhere in the tree:
                # it counts only when none of its siblings was novel.
                counted = [child for child in children if counts[child]] or children
                value[node] = max(reward[child] + DISCOUNT * value[child] for child in counted)
        root_children = [child for child in tree.children[0] or () if child >= 0]
        score = [
            (round(reward[child] + DISCOUNT * value[child], 6), novel[child])
            for child in root_children
        ]
        best = max(score)
        ties = [child for child, key in zip(root_children, score, strict=True) if key == best]
        chosen = ties[int(self._rng.integers(len(ties)))] if len(ties) > 1 else ties[0]
        self._kept = (tree, chosen)
        return tree.action[chosen]


def make_search_policy(context: PolicyContext) -> BasePolicy:
    """Return the ``search`` base policy of one episode (the factory of ``--policy search``)."""
    return SearchPolicy(context)
