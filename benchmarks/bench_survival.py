"""The drive forager: B worlds stepped together against one world at a time (the loop `survival` used before).

An agent-step is one world sensing, the forager deciding (memory of trees, hunger, poison
avoidance, exploration) and the world applying its move. The reference is the one-world
`DriveForager` in a `TreeWorld`, one world after another (what `cogmap treeworld survival` ran
until the batched forager); cogmap's is `BatchedDriveForager` over a `BatchedTreeWorld`. Both
play the same seeded worlds; the script checks that the batched runs end as the one-world runs
did (on the worlds both ran) before it prints a number.

    python benchmarks/bench_survival.py                               # told its location, 1,000 worlds
    python benchmarks/bench_survival.py --source phase --worlds 200   # localizing itself (phase code)
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from cogmap.treeworld import TreeWorldConfig
from cogmap.treeworld.agents.batched import SOURCES, run_survival
from cogmap.treeworld.agents.localizing import AGENT_SOURCES
from cogmap.treeworld.experiments import survival_runs

AGENT = {source: name for name, source in AGENT_SOURCES.items()}
KEYS = ("steps", "alive", "fruit_eaten", "poisonous_fruit_eaten")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", choices=SOURCES, default="true", help="where the forager's location comes from")
    parser.add_argument("--worlds", type=int, default=1000, help="worlds stepped together (default 1000)")
    parser.add_argument("--reference-worlds", type=int, default=10, help="worlds run one at a time (default 10)")
    parser.add_argument("--steps", type=int, default=1000, help="steps per world (default 1000)")
    parser.add_argument("--action-noise", type=float, default=1.0, help="motor noise sd per axis (default 1)")
    parser.add_argument("--embedding-dim", type=int, default=1024, help="sensation size (default 1024, the original's)")
    args = parser.parse_args()
    config = TreeWorldConfig(embedding_dim=args.embedding_dim)
    noise = args.action_noise if args.source != "true" else 0.0

    start = time.perf_counter()
    reference = survival_runs(AGENT[args.source], config, range(args.reference_worlds), args.steps,
                              action_noise=noise)
    reference_time = time.perf_counter() - start
    start = time.perf_counter()
    batched = run_survival(config, range(args.worlds), args.steps, args.source, action_noise=noise)
    batched_time = time.perf_counter() - start
    for one, many in zip(reference, batched):
        if any(one[k] != many[k] for k in KEYS):
            raise SystemExit(f"world {one['seed']}: batched {[many[k] for k in KEYS]} != one-world {[one[k] for k in KEYS]}")

    per_world = sum(r["steps"] for r in reference) / reference_time
    together = sum(r["steps"] for r in batched) / batched_time
    print(f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"drive forager, location {args.source}, {args.steps} steps, {args.embedding_dim}-d senses, noise {noise:g}")
    print(f"one world at a time ({args.reference_worlds} worlds): {per_world:,.0f} agent-steps/s")
    print(f"{args.worlds} worlds together:               {together:,.0f} agent-steps/s")
    print(f"ratio: {together / per_world:.1f}x (the first {min(args.reference_worlds, args.worlds)} worlds end alike)")


if __name__ == "__main__":
    main()
