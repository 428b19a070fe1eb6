"""How closely a trained Go1 walker follows its commands (``cogmap control tracking``).

For each command (forward, lateral and yaw-rate velocity, held for the whole run), ``copies``
robots start as EnvPool's episodes do (random heading and trunk velocities) in cogmap's Python twin
of the task (:mod:`cogmap.envs.go1`, observation noise off) and walk deterministically; after
``warmup`` steps the trunk's velocity in its own frame is read from MuJoCo's state every step for
``steps`` steps and averaged per copy. Per condition: the mean over copies and its spread, the
relative miss of every commanded component (|measured - commanded| / |commanded|), and how many
copies fell (their episodes ended; they are left out of the means). By default the walker takes its
mean action on noise-free observations; ``stochastic`` and ``noise_level`` run it as it trained
(a policy early in training may move only through its exploration noise). Rush, Jayaram & Humbert's
walker tracks its commands "on average within 10%": ``tolerance`` is that bar, and the summary
says which conditions meet it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from cogmap.envs.go1 import Go1Joystick, as_commands
from cogmap.errors import CogmapError, check_positive_int
from cogmap.rl.policy import load_policy
from cogmap.studies.base import Result, draw_figures
from cogmap.studies.walking import acting, is_go1

# The conditions of the walking study on the Go1 (forward/backward, left/right, turning left/right while
# walking forward), within the task's command range (|vx| <= 1.5, |vy| <= 0.8 m/s, |yaw rate| <= 1.2 rad/s).
# (configs/tangling/go1_opposing.yaml; configs/tracking/go1_study.yaml has every condition of the study).
STUDY_COMMANDS = [[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, -0.5, 0.0], [1.0, 0.0, 0.5],
                  [1.0, 0.0, -0.5]]


@dataclass(frozen=True)
class TrackingConfig:
    """Settings of ``cogmap control tracking``."""

    runs: list = dataclasses.field(default_factory=list)  # Go1 walkers: run folders (last checkpoint) or checkpoints
    commands: list = dataclasses.field(default_factory=lambda: [list(c) for c in STUDY_COMMANDS])  # [vx, vy, yaw rate]
    copies: int = 100  # robots per condition
    warmup: int = 100  # steps (of 20 ms) before measuring
    steps: int = 250  # steps measured
    seed: int = 0  # of the copies' starts
    tolerance: float = 0.1  # the largest relative miss a condition may have to count as tracked
    stochastic: bool = False  # sample the walker's actions (seeded) as in training, rather than take their mean
    noise_level: float = 0.0  # the task's observation noise (1 in training)

    def __post_init__(self):
        if not self.runs or not all(isinstance(r, str) and r for r in self.runs):
            raise CogmapError("runs is required: one or more Go1 walkers' run folders or checkpoints")
        for key, minimum in (("copies", 1), ("warmup", 0), ("steps", 1)):
            check_positive_int(key, getattr(self, key), minimum)
        if not isinstance(self.commands, list) or not self.commands:
            raise CogmapError("commands must be a list of [vx, vy, yaw rate] triples")
        as_commands(_triples(self.commands), len(self.commands))  # three numbers each, within the task's range
        if not (isinstance(self.tolerance, (int, float)) and 0 < self.tolerance):
            raise CogmapError(f"tolerance must be a positive fraction, got {self.tolerance!r}")
        if not isinstance(self.noise_level, (int, float)) or not 0 <= self.noise_level < float("inf"):
            raise CogmapError(f"noise_level must be a number >= 0, got {self.noise_level!r}")


def _triples(commands) -> np.ndarray:
    try:
        array = np.asarray(commands, dtype=np.float64)
    except (TypeError, ValueError):
        raise CogmapError(f"commands must be a list of [vx, vy, yaw rate] triples, got {commands!r}") from None
    if array.ndim != 2 or array.shape[1] != 3:
        raise CogmapError(f"commands must be a list of [vx, vy, yaw rate] triples, got {commands!r}")
    return array


@torch.no_grad()
def measure_tracking(policy, command, copies: int = 100, warmup: int = 100, steps: int = 250, seed: int = 0,
                     stochastic: bool = False, noise_level: float = 0.0) -> dict:
    """One condition: each copy's mean body-frame velocity over the measured steps, and which copies fell.
    ``stochastic``: actions drawn from the policy's Gaussian (seeded), as in training; ``noise_level``: the
    task's observation noise."""
    options = {k: v for k, v in policy.config.env_kwargs.items() if k == "without_last_action"}
    env = Go1Joystick(copies, command=command, seed=seed, max_episode_steps=warmup + steps + 1,
                      noise_level=noise_level, **options)
    act = acting(policy, stochastic, seed, record=False)
    try:
        observation = env.reset()
        policy.reset(copies)
        fell = np.zeros(copies, bool)
        total = np.zeros((copies, 3))
        for t in range(warmup + steps):
            step = env.step(act(observation))
            fell |= step.terminated.numpy()
            observation = step.observation
            if t >= warmup:
                total += env.body_velocity
    finally:
        env.close()
    return {"per_copy": total / steps, "fell": fell}


def relative_miss(measured: np.ndarray, command: np.ndarray) -> list:
    """|measured - commanded| / |commanded| per component; None where nothing is commanded."""
    return [None if abs(c) < 1e-9 else float(abs(m - c) / abs(c)) for m, c in zip(measured, command)]


@dataclass(frozen=True)
class TrackingResult(Result):
    file = "tracking.json"
    config: TrackingConfig
    runs: dict  # run -> list of conditions: command, mean, sd, miss, worst_miss, fell

    def to_json(self) -> dict:
        return {"tolerance": self.config.tolerance, "copies": self.config.copies, "warmup_steps": self.config.warmup,
                "measured_steps": self.config.steps, "dt": 0.02, "runs": self.runs}

    def draw(self, folder):
        from cogmap.viz.control import plot_command_tracking  # matplotlib only when drawing

        return draw_figures(folder, {"tracking": plot_command_tracking(self.runs, self.config.tolerance)})

    def summary(self) -> str:
        lines = []
        for run, conditions in self.runs.items():
            lines.append(f"{run}:")
            for c in conditions:
                worst = c["worst_miss"]
                mark = "ok" if worst is not None and worst <= self.config.tolerance and not c["fell"] else "MISS"
                lines.append(f"  command {c['command']}: measured {np.round(c['mean'], 3).tolist()} "
                             f"(sd {np.round(c['sd'], 3).tolist()}), worst miss "
                             f"{'n/a' if worst is None else f'{100 * worst:.1f}%'}, fell {c['fell']} [{mark}]")
        return "\n".join(lines)


def run(config: TrackingConfig, progress: bool = True) -> TrackingResult:
    """Measure every run's tracking of every command."""
    commands = _triples(config.commands)
    results = {}
    for source in config.runs:
        policy = load_policy(source)
        if not is_go1(policy.config.env):
            raise CogmapError(f"{source}: tracking is measured on the Go1 (a walker trained on "
                              f"envpool/Go1JoystickFlatTerrain-v1 or go1), not on {policy.config.env}")
        conditions = []
        for command in commands:
            measured = measure_tracking(policy, command, config.copies, config.warmup, config.steps, config.seed,
                                        config.stochastic, config.noise_level)
            kept = measured["per_copy"][~measured["fell"]]
            mean = kept.mean(0) if len(kept) else np.full(3, np.nan)
            sd = kept.std(0) if len(kept) > 1 else np.zeros(3)
            miss = relative_miss(mean, command)
            asked = [m for m in miss if m is not None]
            conditions.append({"command": command.tolist(), "mean": mean.tolist(), "sd": sd.tolist(), "miss": miss,
                               "worst_miss": max(asked) if asked and len(kept) else None,
                               "fell": int(measured["fell"].sum())})
            if progress:
                print(f"  {source}: command {command.tolist()} -> {np.round(mean, 3).tolist()}", flush=True)
        results[str(source)] = conditions
    return TrackingResult(config=config, runs=results)
