"""Foraging experiments over many seeded worlds: how long does each agent survive, what does it eat?"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

from cogmap.treeworld.agents import make_agent
from cogmap.treeworld.config import TreeWorldConfig
from cogmap.treeworld.simulation import TreeWorld


def survival_runs(agent: str, config: TreeWorldConfig, seeds: Sequence[int], steps: int,
                  progress: bool = False) -> list[dict]:
    """One run per seed (world and agent seeded alike), with death allowed, capped at ``steps``."""
    rows = []
    for seed in tqdm(seeds, disable=not progress, desc=agent, unit="world"):
        world = TreeWorld.random_from_config(config, seed=seed, model=make_agent(agent, config, seed=seed))
        world.run(steps, record=False, allow_death=True)
        rows.append({"seed": seed, **world.summary()})
    return rows


def survival_summary(rows: list[dict], steps: int) -> dict:
    """Mean and median survival, fraction alive at the cap, fruit eaten."""
    lived = [r["steps"] for r in rows]
    return {
        "worlds": len(rows),
        "step_cap": steps,
        "survival_mean": statistics.fmean(lived),
        "survival_median": statistics.median(lived),
        "survival_sd": statistics.pstdev(lived),
        "alive_at_cap": sum(r["alive"] for r in rows) / len(rows),
        "fruit_eaten_mean": statistics.fmean(r["fruit_eaten"] for r in rows),
        "poisonous_fruit_eaten_mean": statistics.fmean(r["poisonous_fruit_eaten"] for r in rows),
        "total_movement_mean": statistics.fmean(r["total_movement"] for r in rows),
    }


def survival_curve(rows: list[dict], steps: int) -> np.ndarray:
    """Fraction of worlds whose agent is still alive after each step ``0 .. steps``."""
    lived = np.array([r["steps"] if not r["alive"] else steps + 1 for r in rows])
    return (lived[None, :] > np.arange(steps + 1)[:, None]).mean(axis=1)
