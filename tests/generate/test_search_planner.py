"""The search planner's parts, driven through the emulator protocol on a small fake world.

Each behaviour test also plays the same world at random (or checks a choice that random
play makes only by chance), so that a planner deciding at random fails it.
"""

from __future__ import annotations

import numpy as np
import pytest

from atari_interleaved.core.errors import InvalidArgumentError
from atari_interleaved.generate import search
from atari_interleaved.generate.search import SearchPolicy
from atari_interleaved.generate.search_tree import NoveltyTable, Tree
from tests.fixtures.fake_emulator import LEFT, NOOP, RIGHT, Corridor, play

SEEDS = range(6)


def random_play(world: Corridor, steps: int, seed: int = 0):
    return play(world, SearchPolicy, steps, budget=100, seed=seed, randomness=1.0)


@pytest.mark.parametrize("seed", SEEDS)
def test_finds_a_distant_reward_that_random_play_misses(seed):
    def world():
        return Corridor(size=128, start=8, rewards={28: 10.0})

    planned = play(world(), SearchPolicy, 120, budget=200, seed=seed)
    assert sum(planned.rewards) == 10.0
    # It walks there: the reward is 60 cells away, 60 steps at the least.
    assert planned.rewards.index(10.0) < 110
    assert sum(random_play(world(), 120, seed).rewards) == 0.0


@pytest.mark.parametrize("seed", SEEDS)
def test_avoids_the_traps_around_it(seed):
    def world():
        return Corridor(start=8, traps=frozenset({6, 10}))

    planned = play(world(), SearchPolicy, 90, budget=100, seed=seed)
    assert planned.lives == [3] * 90
    assert random_play(world(), 90, seed).lives[-1] < 3


@pytest.mark.parametrize("seed", SEEDS)
def test_with_no_reward_in_sight_it_stays_alive_longest(seed):
    # A wave comes from the right, half a cell a step: running left first keeps the first
    # life until the wave reaches cell 0, at step 100. Random play is caught far earlier.
    def world():
        return Corridor(start=40, wave_start=50.0, wave_speed=0.5, lives_at_start=1)

    planned = play(world(), SearchPolicy, 200, budget=200, seed=seed)
    assert len(planned.actions) >= 99
    assert planned.actions[:30].count(LEFT) >= 20
    assert len(random_play(world(), 200, seed).actions) < 60


@pytest.mark.parametrize("seed", SEEDS)
def test_truncation_is_not_a_death(seed):
    # Right: a reward, then the trap. Left: nothing, then the length limit. Counted as a death,
    # the limit would make the reward worth taking; it is not, so the planner goes left.
    def world():
        return Corridor(start=8, rewards={9: 5.0}, traps=frozenset({10}), length_limit=4 * 9)

    planned = play(world(), SearchPolicy, 9, budget=400, seed=seed)
    assert planned.lives[-1] == 3 and sum(planned.rewards) == 0.0
    assert planned.actions[0] != RIGHT


def test_a_node_at_the_length_limit_is_not_dead():
    world = Corridor(start=8, length_limit=4 * search.HOLD)
    planner = played_planner(world, budget=4 * search.HOLD)
    reward, dead, ended, frames, _ = planner._simulate(RIGHT)
    assert (reward, dead, ended, frames) == (0.0, False, True, 4 * search.HOLD)
    world.restore_state(Corridor(start=8, traps=frozenset({9})).clone_state())
    world.traps = frozenset({9})
    reward, dead, ended, frames, _ = planner._simulate(RIGHT)
    assert (reward, dead, ended) == (search.LIFE_LOSS_PENALTY, True, True)


def played_planner(world: Corridor, budget: float, seed: int = 0) -> SearchPolicy:
    from atari_interleaved.generate.policy import PolicyContext

    context = PolicyContext("corridor", ["NOOP", "RIGHT", "LEFT"], np.random.default_rng(seed),
                            world, budget)  # fmt: skip
    return SearchPolicy(context)


def test_reuses_the_subtree_after_the_expected_step_and_after_a_random_one():
    planned = play(Corridor(size=128, start=60), SearchPolicy, 60, budget=100)
    stats = planned.policy.stats
    # Every decision after the first starts from the kept subtree: the fake world has no
    # sticky actions, so the real state is always the chosen child's.
    assert stats.reused == stats.decisions - 1 > 10
    noisy = play(Corridor(size=128, start=60), SearchPolicy, 60, budget=100, randomness=0.3)
    # After a random step the real state is another child of the root, or no node at all;
    # the planner finds the child when there is one.
    assert 0 < noisy.policy.stats.reused < noisy.policy.stats.decisions - 1


def test_the_novelty_table_after_reuse_is_the_one_of_the_kept_states():
    world = Corridor(size=128, start=60)
    planner = played_planner(world, budget=200)
    real = world.clone_state()
    first = planner(None, NOOP)
    world.restore_state(real)
    tree = planner._tree
    chosen = next(c for c in tree.children[0] if c >= 0 and tree.action[c] == first)
    for _ in range(search.HOLD):
        world.step(first)
    kept_ram = tree.ram[chosen]
    assert np.array_equal(world.ram(), kept_ram)
    planner._hold_left = 0
    new_tree = planner._root(world.ram())
    # Recomputed from scratch: the lowest depth of each atom over the kept living states.
    expected = {}
    for node in range(len(new_tree)):
        if new_tree.dead[node]:
            continue
        for byte, value in enumerate(new_tree.ram[node]):
            atom = byte * 256 + int(value)
            expected[atom] = min(expected.get(atom, 1 << 30), new_tree.depth[node])
    table = planner._table.depths
    assert {int(a): int(table[a]) for a in np.flatnonzero(table < 1 << 30)} == expected
    assert len(new_tree) > 1 and new_tree.depth[0] == 0
    # Every node is labelled as from scratch: solved exactly when it holds no atom lowest
    # (or cannot go on), or all its actions were simulated and are solved.
    for node in range(len(new_tree) - 1, 0, -1):
        holds = any(
            expected[byte * 256 + int(value)] == new_tree.depth[node]
            for byte, value in enumerate(new_tree.ram[node])
        )
        children = new_tree.children[node]
        all_solved = children is not None and all(c >= 0 and new_tree.solved[c] for c in children)
        leaf = new_tree.state[node] is None or not holds
        assert new_tree.solved[node] == (leaf or all_solved), node


@pytest.mark.parametrize("budget", [12, 50, 100.5])
@pytest.mark.parametrize("lives", [1, 3])
def test_the_budget_account_is_exact(budget, lives):
    # With one life, simulated steps that walk into the traps end the game inside the step.
    world = Corridor(size=128, start=60, traps=frozenset({50, 57}), lives_at_start=lives)
    steps = 50
    planned = play(world, SearchPolicy, steps, budget=budget, randomness=0.2)
    stats = planned.policy.stats
    real_frames = len(planned.actions) * world.frameskip
    assert stats.frames == world.frames_stepped - real_frames
    # A decision spends ahead the account of the frames it holds its action for.
    assert stats.frames <= budget * (len(planned.actions) + search.HOLD - 1)
    # Nothing is left unspent but what one step of the tree cannot use, and the last share.
    step = world.frameskip * search.HOLD
    assert stats.frames > budget * len(planned.actions) - budget * search.HOLD * 2 - step


def test_the_same_seed_gives_the_same_choices():
    def run(seed):
        # No reward anywhere: ties are many, and the policy's generator breaks them.
        world = Corridor(size=128, start=60, traps=frozenset({50}))
        return play(world, SearchPolicy, 60, budget=60, seed=seed).actions

    assert run(0) == run(0)
    assert run(0) != run(1)


def test_a_budget_too_small_to_plan_is_refused():
    with pytest.raises(InvalidArgumentError, match=r"--search-budget 3 is too small.*\(4\)"):
        played_planner(Corridor(), budget=3)
    played_planner(Corridor(), budget=4)


def test_the_tree_values_every_child_and_counts_novel_states():
    tree = Tree(np.zeros(128, np.uint8), "root", 3)
    ram = np.ones(128, np.uint8)
    safe = tree.add(0, NOOP, 0.0, ram, None, dead=False)
    deadly = tree.add(0, RIGHT, 7.0, ram, "s", dead=False)
    tree.add(deadly, RIGHT, search.LIFE_LOSS_PENALTY, ram, None, dead=True)
    tree.add(deadly, LEFT, search.LIFE_LOSS_PENALTY, ram, None, dead=True)
    value, novel, survival = tree.values(0.5, [True, False, True, False, False])
    # The safe child counts, though it is not novel: the root is worth 7 + 0.5 * (best of
    # two deaths), or 0 through the safe child, whichever is more.
    assert value[deadly] == search.LIFE_LOSS_PENALTY
    assert value[0] == max(0.0, 7.0 + 0.5 * search.LIFE_LOSS_PENALTY) == 0.0
    assert novel == [2, 0, 1, 0, 0] and value[safe] == 0.0
    # Known alive at depth 1 below the root; the deaths at depth 2 do not count.
    assert survival == [1, 1, 1, -1, -1]
    # A node shared by two parents (two actions reaching the same state) counts once.
    shared = tree.add(safe, NOOP, 1.0, ram + 1, "s", dead=False)
    tree.link(safe, LEFT, shared, 2.0)
    tree.link(deadly, NOOP, shared, 0.0)
    value, novel, survival = tree.values(0.5, [True] * len(tree))
    assert novel[0] == len(tree) and novel[safe] == 2 and novel[deadly] == 4
    assert survival[0] == survival[safe] == survival[deadly] == 2  # through the shared node
    assert value[safe] == 2.0  # each edge keeps its own reward
    table = NoveltyTable()
    assert table.add(np.zeros(128, np.uint8), 0)
    assert not table.add(np.zeros(128, np.uint8), 1)
    assert table.holds(np.zeros(128, np.uint8), 0) and not table.holds(np.zeros(128, np.uint8), 1)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_negative_reward_is_not_worth_the_reward_behind_it(seed):
    # Right: -1, then +5, then nothing. Counted at face value the walk pays 4; the planner
    # weighs a negative reward far more than a positive one, and stays off it.
    def world():
        return Corridor(start=8, rewards={9: -1.0, 10: 5.0})

    planned = play(world(), SearchPolicy, 30, budget=100, seed=seed)
    assert -1.0 not in planned.rewards
    assert -1.0 in random_play(world(), 30, seed).rewards


def root_tree(seed: int) -> tuple[SearchPolicy, np.ndarray, Tree]:
    """A planner on a fresh corridor, the corridor's RAM and a tree of its state alone."""
    world = Corridor(start=8)
    planner = played_planner(world, budget=100, seed=seed)
    ram = world.ram()
    return planner, ram, Tree(ram, world.clone_state(), 3)


@pytest.mark.parametrize("seed", SEEDS)
def test_of_two_deaths_it_takes_the_later(seed):
    # Every root action loses the game, one a step later than the others; nothing else tells
    # them apart (no reward, no novel state, and the held action dies early).
    planner, ram, tree = root_tree(seed)
    tree.add(0, LEFT, search.LIFE_LOSS_PENALTY, ram + 1, None, dead=True)
    tree.add(0, NOOP, search.LIFE_LOSS_PENALTY, ram + 2, None, dead=True)
    later = tree.add(0, RIGHT, 0.0, ram + 3, "alive", dead=False)
    tree.add(later, RIGHT, search.LIFE_LOSS_PENALTY, ram + 4, None, dead=True)
    planner._table.add(ram + 3, 0)  # the living node holds no atom lowest: not novel
    assert planner._choose(tree, LEFT) == RIGHT


@pytest.mark.parametrize("seed", SEEDS)
def test_of_two_safe_looking_branches_it_takes_the_one_known_alive_deeper(seed):
    # No reward and no death below LEFT or RIGHT. Below LEFT (the action held, and the most
    # novel states) every rollout was cut short at depth 2; below RIGHT one went on alive to
    # depth 3 through states that are not novel. That LEFT's paths stopped says nothing of
    # what follows them: RIGHT is the branch known to stay alive. NOOP dies.
    planner, ram, tree = root_tree(seed)
    short = tree.add(0, LEFT, 0.0, ram + 1, "s", dead=False)
    tree.add(short, LEFT, 0.0, ram + 2, "s", dead=False)
    tree.add(short, NOOP, 0.0, ram + 3, "s", dead=False)
    tree.add(0, NOOP, search.LIFE_LOSS_PENALTY, ram + 4, None, dead=True)
    node = 0
    for offset in (5, 6, 7):
        node = tree.add(node, RIGHT, 0.0, ram + offset, "s", dead=False)
        planner._table.add(ram + offset, 0)  # held lower: not novel
    assert planner._choose(tree, LEFT) == RIGHT


def test_it_looks_240_emulator_frames_ahead_and_no_further():
    # The clock makes the first state at each depth novel: with budget to spare, one
    # rollout goes down to the lookahead.
    world = Corridor(size=128, start=60)
    planner = played_planner(world, budget=400)
    planner(None, NOOP)
    tree = planner._tree
    assert max(tree.depth) * world.frameskip * search.HOLD == 240


def test_one_node_per_distinct_state():
    # At the left wall LEFT and NOOP reach the same state: they share one node, and the
    # planner, with nothing else between them, keeps the action held.
    world = Corridor(size=128, start=0)
    planner = played_planner(world, budget=200)
    planner(None, LEFT)
    tree = planner._tree
    rams = {tree.ram[node].tobytes() for node in range(len(tree))}
    assert len(rams) == len(tree)
    assert tree.children[0][NOOP] == tree.children[0][LEFT] >= 0
    for children in tree.children:
        if children is not None and children[NOOP] >= 0 and children[LEFT] >= 0:
            same = np.array_equal(tree.ram[children[NOOP]], tree.ram[children[LEFT]])
            assert same == (children[NOOP] == children[LEFT])


def test_after_a_random_step_on_the_planned_path_it_plays_on_and_reuses_the_tree():
    world = Corridor(size=128, start=60)
    planner = played_planner(world, budget=100)
    real = world.clone_state()
    action = planner(None, NOOP)
    world.restore_state(real)
    world.step(action)
    world.step(action)  # a random step that drew the same action: no call at frame 4
    real = world.clone_state()
    assert planner(None, action) == action
    world.restore_state(real)
    assert planner.stats.followed == 1 and planner.stats.decisions == 1
    world.step(action)
    planner(None, action)
    assert planner.stats.decisions == 2 and planner.stats.reused == 1
    # Where the random step left the planned path, the tree starts anew.
    world.step(LEFT if action != LEFT else RIGHT)
    world.step(LEFT if action != LEFT else RIGHT)
    planner(None, action)
    assert planner.stats.decisions == 3 and planner.stats.reused == 1


def test_a_step_that_ends_the_game_is_charged_the_frames_simulated():
    world = Corridor(start=8, traps=frozenset({9}), lives_at_start=1)
    planner = played_planner(world, budget=100)
    _, dead, ended, frames, _ = planner._simulate(RIGHT)
    assert dead and ended and frames == world.frameskip
    assert planner.stats.frames == world.frames_stepped == world.frameskip


def test_the_first_decision_gets_its_share_even_at_the_smallest_budget():
    world = Corridor(start=8, traps=frozenset({9}))
    planner = played_planner(world, budget=world.frameskip)
    real = world.clone_state()
    planner(None, RIGHT)
    world.restore_state(real)
    assert planner.stats.frames == world.frameskip * search.HOLD
    assert planner._tree is not None and len(planner._tree) == 2


def same_action_share(seed: int) -> float:
    """The share of the first decision's non-root steps that repeat their parent's action."""
    world = Corridor(size=128, start=60)
    planner = played_planner(world, budget=100, seed=seed)
    planner(None, NOOP)
    tree = planner._tree
    steps = [node for node in range(len(tree)) if tree.parent[node] > 0]
    return sum(tree.action[node] == tree.action[tree.parent[node]] for node in steps) / len(steps)


def test_rollouts_tend_to_hold_the_action_of_the_step_before(monkeypatch):
    # Drawn uniformly among three actions, a step repeats its parent's a third of the time
    # (less where the repeat is solved); with persistence 0.5, about two thirds.
    held = sum(same_action_share(seed) for seed in SEEDS) / len(SEEDS)
    monkeypatch.setattr(search, "ROLLOUT_PERSISTENCE", 0.0)
    uniform = sum(same_action_share(seed) for seed in SEEDS) / len(SEEDS)
    assert held > 0.6 and uniform < 0.5


@pytest.mark.parametrize("seed", SEEDS)
def test_at_a_small_budget_it_reaches_a_reward_a_random_walk_does_not(seed, monkeypatch):
    # Rewards 24 cells away on both sides, budget 50: rollouts that keep their direction get
    # there within the lookahead; rollouts that draw every step at random wander about their
    # start, and so does random play.
    def world():
        return Corridor(size=128, start=60, rewards={36: 10.0, 84: 10.0})

    planned = play(world(), SearchPolicy, 40, budget=50, seed=seed)
    assert 10.0 in planned.rewards and planned.rewards.index(10.0) < 30
    assert 10.0 not in random_play(world(), 40, seed).rewards
    monkeypatch.setattr(search, "ROLLOUT_PERSISTENCE", 0.0)
    assert 10.0 not in play(world(), SearchPolicy, 40, budget=50, seed=seed).rewards
