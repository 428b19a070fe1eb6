"""Learning-dynamics study of a recurrent controller over its saved checkpoints (seed 002's panels).

For every analysed checkpoint of a run:

- the return of deterministic evaluation episodes (fixed seeds, the same for every checkpoint);
- the policy landscape: the torque over a grid of (angle, angular velocity) states. A recurrent
  policy's action depends on its state, so each grid point's observation is held for
  ``settle`` steps from the zero state and the last action is read (for the partially
  observable task the velocity is then only in the history: the landscape holds the angle
  fixed, i.e. velocity 0, and is a curve over angles);
- fixed points of the update under the goal input (the upright pendulum, held still), found
  from states the agent visits; their stability; the stable fixed point with the lowest q is
  "the" stable fixed point, and its distance to the final checkpoint's is tracked;
- the slowest integration timescales (Jacobian eigenvalues at the visited states, ``top``
  modes) with 99% intervals over expansion points;
- hidden states of an evaluation rollout, with the pendulum's angle, for PCA.

Distances in state space across checkpoints are meaningful because the network keeps its
units; the stable fixed point's distance to its final location is compared with the return
still to be gained ("reward-to-go": the final return minus this checkpoint's).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from cogmap.analysis.dynamics import find_fixed_points, jacobians, recurrent_step, sorted_eigenvalues, timescale_intervals
from cogmap.control.envs import BatchedPendulum
from cogmap.control.ppo import load_agent, rollout, scale_observations
from cogmap.errors import CogmapError


def checkpoints(run_dir: str | Path) -> list[Path]:
    found = sorted(Path(run_dir).glob("checkpoints/update_*.pt"))
    if not found:
        raise CogmapError(f"no checkpoints (checkpoints/update_*.pt) in {run_dir}")
    return found


@torch.no_grad()
def policy_landscape(agent, observation_mode: str, angles: np.ndarray, speeds: np.ndarray, settle: int = 20) -> np.ndarray:
    """Torque ``(len(speeds), len(angles))`` after holding each state's observation for ``settle`` steps."""
    theta, omega = np.meshgrid(angles, speeds)
    parts = [np.cos(theta), np.sin(theta)] + ([omega] if observation_mode == "full" else [])
    obs = torch.tensor(np.stack(parts, -1).reshape(-1, len(parts)), dtype=torch.float32)
    obs = scale_observations(obs)
    mean, _, _, _ = agent(obs[:, None].expand(-1, settle, -1).contiguous(), agent.initial_state(len(obs)))
    return mean[:, -1, 0].numpy().reshape(theta.shape)


def goal_input(observation_mode: str) -> torch.Tensor:
    """The observation of the upright, still pendulum (after scaling)."""
    return torch.tensor([1.0, 0.0, 0.0] if observation_mode == "full" else [1.0, 0.0])


def analyse_checkpoint(path: Path, episodes: int = 8, seed: int = 12345, fixed_point_starts: int = 64,
                       top: int = 5, iterations: int = 1000) -> dict:
    agent, config = load_agent(path)
    data = rollout(agent, BatchedPendulum(episodes, config.observation, seed=seed), deterministic=True)
    states = data["states"].reshape(-1, agent.state_dim)
    every = max(1, len(states) // fixed_point_starts)
    starts = states[::every][:fixed_point_starts]
    step = recurrent_step(agent.core)
    found = find_fixed_points(step, starts, goal_input(config.observation), iterations=iterations, lr=0.01,
                              q_tolerance=1e-8, unique_tolerance=1e-2)
    stable = found.states[found.stable]
    inputs = data["observations"].reshape(-1, data["observations"].shape[-1])[::every][:fixed_point_starts]
    expansion = sorted_eigenvalues(jacobians(step, starts, inputs)[0])
    tau = timescale_intervals(expansion, top=top, confidence=0.99)
    return {
        "update": int(path.stem.split("_")[-1]),  # checkpoints are named update_XXXX.pt
        "eval_return": float(data["rewards"].sum(1).mean()),
        "fixed_points": found.states.numpy(), "fixed_point_q": found.q.numpy(),
        "fixed_point_stable": found.stable.numpy(),
        "stable_fixed_point": stable[0].numpy() if len(stable) else None,
        "timescale_mean": tau.mean, "timescale_lower": tau.lower, "timescale_upper": tau.upper,
        "hidden_states": data["states"][:, :, :agent.hidden].reshape(-1, agent.hidden).numpy(),
        "angles": ((data["angles"] + math.pi) % (2 * math.pi) - math.pi).reshape(-1).numpy(),
        "agent": agent, "config": config,
    }


def study(run_dir: str | Path, every: int = 10, progress: bool = False, **options) -> dict:
    """Analyse every ``every``-th checkpoint (and the last) of a run; distances to the final stable fixed point."""
    paths = checkpoints(run_dir)
    chosen = paths[::every] + ([paths[-1]] if (len(paths) - 1) % every else [])
    rows = []
    for i, path in enumerate(chosen):
        rows.append(analyse_checkpoint(path, **options))
        if progress:
            print(f"  {path.name}: return {rows[-1]['eval_return']:.1f}, {len(rows[-1]['fixed_points'])} fixed "
                  f"point(s), {int(rows[-1]['fixed_point_stable'].sum())} stable", flush=True)
    final, final_return = rows[-1]["stable_fixed_point"], rows[-1]["eval_return"]
    for row in rows:
        point = row["stable_fixed_point"]
        row["distance_to_final"] = (float(np.linalg.norm(point - final)) if point is not None and final is not None
                                    else None)
        row["reward_to_go"] = final_return - row["eval_return"]
    return {"run_dir": str(run_dir), "rows": rows}


def distance_reward_correlation(studies: list[dict]) -> dict:
    """Pearson correlation (and p-value) of distance-to-final-fixed-point and reward-to-go, pooled over runs."""
    from scipy import stats

    pairs = [(r["distance_to_final"], r["reward_to_go"]) for s in studies for r in s["rows"][:-1]
             if r["distance_to_final"] is not None]
    if len(pairs) < 3:
        return {"n": len(pairs), "r": None, "p": None}
    x, y = np.array(pairs).T
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return {"n": len(pairs), "r": None, "p": None}
    r, p = stats.pearsonr(x, y)
    return {"n": len(pairs), "r": float(r), "p": float(p)}
