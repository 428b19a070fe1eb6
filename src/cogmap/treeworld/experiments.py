"""Foraging experiments over many seeded worlds: how long does each agent survive, what does it eat?"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

from cogmap.errors import CogmapError
from cogmap.treeworld.agents import make_agent
from cogmap.treeworld.agents.localizing import AGENT_SOURCES as BATCHED_SOURCES  # the drive foragers run batched
from cogmap.treeworld.config import TreeWorldConfig
from cogmap.treeworld.simulation import TreeWorld


def batched_survival_runs(agent: str, config: TreeWorldConfig, seeds: Sequence[int], steps: int,
                          progress: bool = False, action_noise: float = 0.0, batch: int = 100,
                          reanchor: bool = True) -> list[dict]:
    """:func:`survival_runs` for the drive foragers, ``batch`` worlds at a time in lock-step
    (:func:`cogmap.treeworld.agents.batched.run_survival`): the same rows, many times faster
    (a progress bar of steps per batch)."""
    from cogmap.treeworld.agents.batched import run_survival

    if agent not in BATCHED_SOURCES:
        raise CogmapError(f"only the drive foragers run batched ({', '.join(BATCHED_SOURCES)}), got {agent!r}")
    seeds = list(seeds)
    rows = []
    for start in range(0, len(seeds), batch):
        rows += run_survival(config, seeds[start:start + batch], steps, BATCHED_SOURCES[agent], action_noise,
                             progress=progress, reanchor=reanchor)
    return rows


def survival_runs(agent: str, config: TreeWorldConfig, seeds: Sequence[int], steps: int,
                  progress: bool = False, action_noise: float = 0.0, reanchor: bool = True) -> list[dict]:
    """One run per seed (world and agent seeded alike), with death allowed, capped at ``steps``.

    Agents that localize themselves add their localization error (distance from the estimate
    to the truth) averaged over the run and at its end, and its value every 100 steps.
    """
    rows = []
    for seed in tqdm(seeds, disable=not progress, desc=agent, unit="world"):
        model = make_agent(agent, config, seed=seed, action_noise=action_noise, reanchor=reanchor)
        world = TreeWorld.random_from_config(config, seed=seed, model=model)
        world.run(steps, record=False, allow_death=True)
        row = {"seed": seed, **world.summary()}
        errors = getattr(model, "errors", None)
        if errors:
            row.update(localization_error_mean=statistics.fmean(errors), localization_error_final=errors[-1],
                       localization_error_every_100=errors[::100])
        rows.append(row)
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
        **({"localization_error_mean": statistics.fmean(r["localization_error_mean"] for r in rows),
            "localization_error_final_mean": statistics.fmean(r["localization_error_final"] for r in rows)}
           if all("localization_error_mean" in r for r in rows) else {}),
    }


def survival_curve(rows: list[dict], steps: int) -> np.ndarray:
    """Fraction of worlds whose agent is still alive after each step ``0 .. steps``."""
    lived = np.array([r["steps"] if not r["alive"] else steps + 1 for r in rows])
    return (lived[None, :] > np.arange(steps + 1)[:, None]).mean(axis=1)
