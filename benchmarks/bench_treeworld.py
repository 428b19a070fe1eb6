"""Tree World stepping: cogmap's batched worlds against a straightforward per-world loop.

An agent-step is one world sensing (smell and sight) and applying one action (move or rest,
eating, regrowth, death). The reference is what the original did: one world at a time in a
Python loop, here written plainly in NumPy (the faster choice for arrays of 25 trees). Both
see the same worlds and the same random actions; the script checks that they end in the same
state before it prints any number. For one world it also times the NumPy engine that
``TreeWorld`` steps on the CPU (``NumpyTreeWorld``), through the batched interface (``sense``,
``step``, which wrap every reading in tensors), through its own unbatched calls (``sense_arrays``,
``step_one``) and through ``TreeWorld``'s (``observe``, then ``step_one``: what a one-world agent pays
besides its own decisions).

    python benchmarks/bench_treeworld.py                      # 1 and 1,024 worlds
    python benchmarks/bench_treeworld.py --worlds 1,4096 --device cuda
    python benchmarks/bench_treeworld.py --embedding-dim 64   # smaller senses
"""

from __future__ import annotations

import argparse
import math
import platform
import time

import numpy as np
import torch

from cogmap.treeworld import BatchedTreeWorld, TreeWorld, TreeWorldConfig
from cogmap.treeworld.single import NumpyTreeWorld


class ReferenceWorld:
    """One world, plain NumPy, the rules of :mod:`cogmap.treeworld.world` written out."""

    def __init__(self, config: TreeWorldConfig, trees: np.ndarray, poisonous: np.ndarray, embedding: np.ndarray):
        self.c, self.trees, self.poisonous, self.embedding = config, trees, poisonous, embedding
        self.location, self.heading = np.zeros(2), np.array([1.0, 0.0])
        self.health, self.alive, self.steps = config.max_health, True, 0
        self.fruit = np.full(len(trees), config.max_fruit)
        self.width2 = 2 * config.smell_width**2

    def sense(self):
        offset = self.trees - self.location
        distance = np.sqrt((offset**2).sum(1))
        smell = np.exp(-distance**2 / self.width2) @ self.embedding
        cosine = np.where(distance > 0, offset @ self.heading / np.maximum(distance, 1e-12), 1.0)
        visible = np.flatnonzero((cosine > self.c.sight_cosine) & (distance <= self.c.max_sense_distance))
        seen = self.embedding[visible[np.argmin(distance[visible])]] if len(visible) else np.zeros(self.embedding.shape[1])
        return smell, seen

    def step(self, move: np.ndarray, rest: bool):
        if not self.alive:
            return
        c = self.c
        if rest:
            self.health -= c.rest_cost
        else:
            self.location = self.location + move
            length = math.hypot(*move)
            if length > 0:
                self.heading = move / length
            self.health -= c.move_cost
        distance = np.sqrt(((self.trees - self.location) ** 2).sum(1))
        eligible = np.flatnonzero((distance <= c.eat_distance) & (self.fruit > 0))
        if len(eligible):
            tree = eligible[np.argmin(distance[eligible])]
            self.fruit[tree] -= 1
            self.health += -c.fruit_health if self.poisonous[tree] else c.fruit_health
        self.health = min(self.health, c.max_health)
        self.steps += 1
        if self.steps % c.regrow_every == 0:
            self.fruit[:] = c.max_fruit
        if self.health <= 0:
            self.alive = False


def run_batched(world: BatchedTreeWorld, moves: torch.Tensor, rests: torch.Tensor) -> float:
    sync = torch.cuda.synchronize if world.device.type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    for t in range(moves.shape[0]):
        world.sense()
        world.step(moves[t], rests[t])
    sync()
    return time.perf_counter() - start


def run_engine(world: NumpyTreeWorld, moves: torch.Tensor, rests: torch.Tensor) -> float:
    """The NumPy engine's own unbatched calls: senses as arrays, then the step."""
    moves, rests = moves[:, 0].numpy(), rests[:, 0].tolist()
    start = time.perf_counter()
    for t in range(moves.shape[0]):
        world.sense_arrays()
        world.step_one(moves[t], rests[t])
    return time.perf_counter() - start


def run_tree_world(world: TreeWorld, moves: torch.Tensor, rests: torch.Tensor) -> float:
    """The one-world API: an observation each step, then the step (as TreeWorld.step, less the agent)."""
    engine, moves, rests = world.batched, moves[:, 0].numpy(), rests[:, 0].tolist()
    start = time.perf_counter()
    for t in range(moves.shape[0]):
        world.observe()
        engine.step_one(moves[t], rests[t])
    return time.perf_counter() - start


def run_reference(worlds: list[ReferenceWorld], moves: np.ndarray, rests: np.ndarray) -> float:
    start = time.perf_counter()
    for t in range(moves.shape[0]):
        for i, world in enumerate(worlds):
            world.sense()
            world.step(moves[t, i], bool(rests[t, i]))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worlds", default="1,1024", help="comma-separated batch sizes (default 1,1024)")
    parser.add_argument("--steps", type=int, default=200, help="steps timed per run (default 200)")
    parser.add_argument("--reference-worlds", type=int, default=64,
                        help="worlds the reference loop runs for large batches; its rate is per agent-step (default 64)")
    parser.add_argument("--embedding-dim", type=int, default=1024, help="sensory embedding size (default 1024)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each, the best kept (default 5)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    config = TreeWorldConfig(embedding_dim=args.embedding_dim)  # otherwise the original's settings: 25 trees
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, device {args.device}, embedding_dim {args.embedding_dim}")
    print(f"{'worlds':>7} {'engine':>24} {'cogmap agent-steps/s':>21} {'reference agent-steps/s':>24} {'ratio':>7}")
    for size in [int(s) for s in args.worlds.split(",")]:
        generator = torch.Generator().manual_seed(0)
        moves = torch.randn(args.steps, size, 2, generator=generator) * 5
        rests = torch.rand(args.steps, size, generator=generator) < 0.2
        engines = [("BatchedTreeWorld", BatchedTreeWorld.random_from_config(config, list(range(size)),
                                                                           device=args.device), run_batched)]
        if size == 1 and args.device == "cpu":
            engines += [("NumpyTreeWorld sense/step", NumpyTreeWorld.random_from_config(config, [0]), run_batched),
                        ("NumpyTreeWorld engine", NumpyTreeWorld.random_from_config(config, [0]), run_engine),
                        ("TreeWorld observe+step", TreeWorld.random_from_config(config, seed=0), run_tree_world)]
        for name, world, run in engines:
            # Warm-up (allocations, kernels); then the best of --repeats runs from fresh worlds, ours and the
            # reference's taking turns (a shared VM's speed drifts by tens of per cent from second to second).
            run(world, moves[:5].to(args.device), rests[:5].to(args.device))
            n_ref = min(size, args.reference_worlds)
            layout = getattr(world, "batched", world).layout
            ours = theirs = math.inf
            for _ in range(args.repeats):
                world.reset()
                ours = min(ours, run(world, moves.to(args.device), rests.to(args.device)))
                reference = [ReferenceWorld(config, layout.location[i].double().cpu().numpy(),
                                            layout.poisonous[i].cpu().numpy(), layout.embedding[i].double().cpu().numpy())
                             for i in range(n_ref)]
                theirs = min(theirs, run_reference(reference, moves[:, :n_ref].double().numpy(),
                                                   rests[:, :n_ref].numpy()))
            world = getattr(world, "batched", world)
            for i, ref in enumerate(reference):
                assert np.allclose(ref.location, world.location[i].cpu().double().numpy(), atol=1e-2), i
                assert ref.health == float(world.health[i]) and ref.alive == bool(world.alive[i]), i
                assert np.array_equal(ref.fruit, world.fruit[i].cpu().numpy()), i
            ours_rate, theirs_rate = size * args.steps / ours, n_ref * args.steps / theirs
            print(f"{size:>7} {name:>24} {ours_rate:>21,.0f} {theirs_rate:>24,.0f} {ours_rate / theirs_rate:>7.1f}")


if __name__ == "__main__":
    main()
