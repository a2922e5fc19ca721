"""``--policy search``: Rollout IW(1) over the console's RAM, planned on saved states.

The planner decides every :data:`HOLD` recorded frames and holds the chosen action between
decisions; a step of its tree holds an action just as long (``HOLD * frameskip`` emulator
frames), so the same budget looks further ahead, and sticky actions, which only act where
an action changes, touch the held action once. Ties go to the action already held.

Each decision grows a tree of emulator states from the current one by *rollouts*: from the
root, repeatedly take an action among those not yet *solved*: with probability
:data:`ROLLOUT_PERSISTENCE` the action of the step before (at the root, the action held) when
it is one of them, else one drawn uniformly. Held actions carry a rollout further from where
it started than a uniform walk does (in a corridor, a random walk of n steps gets about the
square root of n cells away), so a small budget still sees rewards and dangers ahead, as
temporally extended exploration does in reinforcement learning (Dabney, Ostrovski and
Barreto, ICLR 2021). One node per
distinct state: a step that reaches the RAM of a node already at that depth links to it
(several actions often lead to the same state; each keeps its own reward). A new state
is *novel* when one of its atoms (RAM byte, value) is held by no living state of the tree at
its depth or less (the depth-based novelty of Rollout IW(1), Bandres, Bonet and Geffner,
AAAI 2018, after the IW(1) of Lipovetzky, Ramirez and Geffner, IJCAI 2015). A rollout ends
at a state that is not novel, at a lost life or the end of the game, at ALE's length limit
(not a death) or at :data:`MAX_DEPTH_FRAMES`; such a node is solved, as is a node whose
actions all lead to solved nodes. A rollout passing a known node goes on while that node
still holds one of its atoms lowest.

Risk aversion, as in the paper's best variant at this budget: a lost life (or the end of
the game) counts :data:`LIFE_LOSS_PENALTY`, a negative reward (each frame's)
:data:`NEGATIVE_REWARD_SCALE` times itself. The value of a node is the best discounted sum
of rewards of a path below it; the root action of highest value is taken (with no reward in
sight, a branch that dies is worth less the sooner it dies: the branch that stays alive
longest). Among equals, the one with a path known to stay alive deepest: a rollout cut short
at a state that is not novel says nothing of what comes after it, so a branch whose living
paths all end shallow is not taken as safe when another was simulated alive further; then
the one whose subtree holds the most novel states (the most ways to go on: it explores), then
the action held; then the policy's random generator decides.

The tree is kept. At the next decision, the node whose RAM is the real state's, at any
depth, becomes the root; the novelty table is rebuilt from the living states below it at
their new depths, and every node is labelled solved or not against it. A random step (or a
sticky one) can leave the real state between two steps of the tree: when its RAM is that of
a frame on the way to a node, the planner plays on to that node without planning and
decides there; otherwise the tree starts anew.

Budget: ``search_budget`` emulator frames per recorded frame on account, charged for the
frames actually simulated (a step that ends the game early costs only its frames). A
decision spends the account of the frames it will hold its action for, so the first
decision of an episode gets a full share, up to :data:`MAX_DECISION_BUDGET` times its share;
over an episode the planner never simulates more than ``search_budget`` times the frames
recorded plus ``HOLD - 1``. All randomness comes from the episode's policy generator, so an
episode is the same whatever runs it. The planner uses nothing but the
:class:`~atari_interleaved.generate.emulator_view.Emulator` methods a plug-in policy gets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from atari_interleaved.core.errors import InvalidArgumentError
from atari_interleaved.generate.emulator_view import Emulator
from atari_interleaved.generate.policy import BasePolicy, PolicyContext
from atari_interleaved.generate.search_tree import NoveltyTable, Tree

__all__ = [
    "ALGORITHM",
    "DISCOUNT",
    "HOLD",
    "LIFE_LOSS_PENALTY",
    "MAX_DECISION_BUDGET",
    "MAX_DEPTH_FRAMES",
    "NEGATIVE_REWARD_SCALE",
    "ROLLOUT_PERSISTENCE",
    "SearchStats",
    "SearchPolicy",
    "check_search_budget",
    "make_search_policy",
]

ALGORITHM = "rollout-iw1-ram/5"
"""Name and version of the planner's algorithm, recorded with the data."""
HOLD = 3
"""Recorded frames between decisions, and per step of the tree."""
DISCOUNT = 0.9975
"""Discount of a reward per emulator frame below the root (0.99 per 4 frames)."""
LIFE_LOSS_PENALTY = -500_000.0
"""Reward counted for losing a life or the game in a simulation."""
NEGATIVE_REWARD_SCALE = 50_000.0
"""Factor on negative rewards in a simulation."""
MAX_DECISION_BUDGET = 2.0
"""A decision spends at most this many times its share (``HOLD * search_budget``)."""
MAX_DEPTH_FRAMES = 240
"""Rollouts stop this many emulator frames below the root."""
ROLLOUT_PERSISTENCE = 0.5
"""Chance that a rollout step repeats the action of the step before it, when that one is open."""


def check_search_budget(search_budget: float, frameskip: int) -> None:
    """Refuse a budget too small for the planner to simulate one step per decision.

    Raises:
        InvalidArgumentError: if ``search_budget`` is below ``frameskip``.

    """
    if search_budget < frameskip:
        raise InvalidArgumentError(
            f"--search-budget {search_budget:g} is too small for --policy search: it needs at "
            f"least --frameskip ({frameskip}) emulator frames per recorded frame to plan at all"
        )


@dataclass
class SearchStats:
    """What the planner did in one episode (for the benchmark and the tests)."""

    decisions: int = 0
    """Decisions planned (held frames not counted)."""
    frames: int = 0
    """Emulator frames simulated."""
    clones: int = 0
    restores: int = 0
    ram_reads: int = 0
    reused: int = 0
    """Decisions that started from a subtree kept from the one before."""
    followed: int = 0
    """Calls that went on along an edge of the last tree to reach its node (no planning)."""
    seconds: float = 0.0
    """Time spent deciding, emulator calls included."""


class SearchPolicy:
    """The ``search`` base policy of one episode (see the module doc)."""

    needs_observation = False

    def __init__(self, context: PolicyContext) -> None:
        emulator: Emulator = context.emulator
        check_search_budget(context.search_budget, emulator.frameskip)
        self._emulator = emulator
        self._rng = context.rng
        self._budget = float(context.search_budget)
        self._frameskip = emulator.frameskip
        self._step_frames = HOLD * emulator.frameskip
        self._discount = DISCOUNT**self._step_frames
        self._max_depth = max(1, MAX_DEPTH_FRAMES // self._step_frames)
        self._table = NoveltyTable()
        self._first_frame: int | None = None
        self._tree: Tree | None = None  # the last decision's tree, to reuse a subtree of
        self._held = 0
        self._hold_left = 0
        self._next_frame = -1
        self.stats = SearchStats()

    def __call__(self, observation: np.ndarray | None, previous_action: int) -> int:
        """Return the action held, or plan from the emulator's current state."""
        emulator = self._emulator
        frame = emulator.frame_number()
        if self._hold_left and frame == self._next_frame:
            self._hold_left -= 1
            self._next_frame += self._frameskip
            return self._held
        started = time.perf_counter()
        stats = self.stats
        if self._first_frame is None:
            self._first_frame = frame
        action, hold = previous_action, HOLD
        if not emulator.terminated():
            ram = emulator.ram()
            stats.ram_reads += 1
            on_the_way = self._on_the_way(ram)
            if on_the_way is not None:
                action, hold = on_the_way
                stats.followed += 1
            else:
                # The decision spends the account of the frames it will hold its action for.
                covered = (frame - self._first_frame) // self._frameskip + HOLD
                allowance = min(
                    self._budget * covered - stats.frames,
                    self._budget * HOLD * MAX_DECISION_BUDGET,
                )
                tree = self._root(ram)
                self._grow(tree, allowance, previous_action)
                if tree.children[0] is not None:
                    action = self._choose(tree, previous_action)
                stats.decisions += 1
        self._held, self._hold_left = action, hold - 1
        self._next_frame = frame + self._frameskip
        stats.seconds += time.perf_counter() - started
        return action

    def _on_the_way(self, ram: np.ndarray) -> tuple[int, int] | None:
        """Return the action and steps that take the real state to a kept node, if any.

        After a random step (or at a call the planner did not expect) the real state can be
        one of the frames on the way to a node of the last tree: playing on along that edge
        reaches the node at a step of the tree, and its subtree is reused there.
        """
        kept = self._tree
        if kept is None or ram.tobytes() in kept.index:
            return None
        node, left = kept.passing.get(ram.tobytes(), (-1, 0))
        if node < 0 or kept.state[node] is None:
            return None
        return kept.action[node], left

    def _root(self, ram: np.ndarray) -> Tree:
        """Return the tree to grow from the real state: a kept subtree if one starts here."""
        emulator, stats, table = self._emulator, self.stats, self._table
        kept, self._tree = self._tree, None
        state = emulator.clone_state()
        stats.clones += 1
        match = -1 if kept is None else kept.index.get(ram.tobytes(), -1)
        if match < 0:
            table.clear()
            table.add(ram, 0)
            return Tree(ram, state, emulator.num_actions)
        tree = kept.subtree(match, state)
        living = tree.living()
        table.rebuild([tree.ram[n] for n in living], [tree.depth[n] for n in living])
        tree.label_solved(table, self._max_depth)
        stats.reused += 1
        return tree

    def _simulate(self, action: int) -> tuple[float, bool, bool, int, tuple[bytes, ...]]:
        """Hold ``action`` for a tree step from the emulator's state.

        Returns:
            The reward as the planner counts it; whether a life or the game was lost;
            whether play cannot go on from there (lost, or at ALE's length limit); the
            emulator frames simulated (fewer than a step where the game ends inside it);
            and the RAM of each frame on the way but the last.

        """
        emulator, frameskip = self._emulator, self._frameskip
        lives = emulator.lives()
        reward = 0.0
        frames = 0
        passing: list[bytes] = []
        for held in range(HOLD):
            gained = emulator.step(action)
            reward += gained * NEGATIVE_REWARD_SCALE if gained < 0 else gained
            frames += frameskip
            if emulator.terminated() or emulator.truncated():
                break
            if held < HOLD - 1:
                passing.append(emulator.ram().tobytes())
        self.stats.frames += frames
        self.stats.ram_reads += len(passing)
        dead = emulator.terminated() or emulator.lives() < lives
        if dead:
            reward += LIFE_LOSS_PENALTY
        return reward, dead, dead or emulator.truncated(), frames, tuple(passing)

    def _grow(self, tree: Tree, allowance: float, held: int) -> None:
        """Run rollouts from the root while a step fits in ``allowance`` (see the module doc)."""
        emulator, stats, table, rng = self._emulator, self.stats, self._table, self._rng
        children_of, solved, depth_of = tree.children, tree.solved, tree.depth
        every_action = list(range(tree.num_actions))
        step_frames, max_depth = self._step_frames, self._max_depth
        persistence = ROLLOUT_PERSISTENCE
        spent = 0
        while spent + step_frames <= allowance and not solved[0]:
            node, at_node = 0, False  # at_node: the emulator holds the node's state
            last = held  # the action of the step before (at the root: the action held)
            while True:
                children = children_of[node]
                if children is None:
                    open_actions = every_action
                else:
                    open_actions = [a for a, c in enumerate(children) if c < 0 or not solved[c]]
                if not open_actions:
                    tree.solve(node)
                    break
                if last in open_actions and rng.random() < persistence:
                    action = last
                else:
                    action = open_actions[int(rng.integers(len(open_actions)))]
                last = action
                child = -1 if children is None else children[action]
                if child < 0:
                    if spent + step_frames > allowance:
                        break
                    if not at_node:
                        emulator.restore_state(tree.state[node])
                        stats.restores += 1
                    reward, dead, ended, frames, passing = self._simulate(action)
                    spent += frames
                    ram = emulator.ram()
                    stats.ram_reads += 1
                    depth = depth_of[node] + 1
                    same = tree.find(ram, depth)
                    if same >= 0 and tree.dead[same] == dead:
                        tree.link(node, action, same, reward)  # one node per state
                        child = same
                    else:
                        novel = not dead and table.add(ram, depth)
                        state = None
                        if not ended:
                            state = emulator.clone_state()
                            stats.clones += 1
                        child = tree.add(node, action, reward, ram, state, dead, passing)
                        if ended or not novel or depth >= max_depth:
                            tree.solve(child)
                            break
                        node, at_node = child, True
                        continue
                if solved[child]:
                    break
                if not table.holds(tree.ram[child], depth_of[child]):
                    tree.solve(child)  # a lower state took all its atoms
                    break
                node, at_node = child, False

    def _choose(self, tree: Tree, previous_action: int) -> int:
        """Return the root action to take (see the module doc) and keep the tree."""
        # Novel now: the living states that still hold an atom lowest in the table.
        holding = self._table.holding(tree.ram, tree.depth)
        value, novel, survival = tree.values(
            self._discount,
            [held and not dead for held, dead in zip(holding, tree.dead, strict=True)],
        )
        gains = tree.gains[0] or ()
        best_key: tuple[float, int, int, bool] | None = None
        best: list[int] = []
        for action, child in enumerate(tree.children[0] or ()):
            if child < 0:
                continue
            key = (
                round(gains[action] + self._discount * value[child], 6),
                survival[child],
                novel[child],
                action == previous_action,
            )
            if best_key is None or key > best_key:
                best_key, best = key, [action]
            elif key == best_key:
                best.append(action)
        self._tree = tree
        return best[int(self._rng.integers(len(best)))] if len(best) > 1 else best[0]


def make_search_policy(context: PolicyContext) -> BasePolicy:
    """Return the ``search`` base policy of one episode (the factory of ``--policy search``)."""
    return SearchPolicy(context)
