"""Learning-dynamics study of a recurrent controller over its saved checkpoints (Huang, Singh & Rajan's panels).

For every analysed checkpoint of a run:

- the return of deterministic evaluation episodes (fixed seeds, the same for every checkpoint);
- fixed points of the update under the goal input (the upright pendulum, held still), found
  from states the agent visits; their stability; the stable fixed point with the lowest q is
  "the" stable fixed point, and its distance to the final checkpoint's is tracked;
- the slowest integration timescales (Jacobian eigenvalues at the visited states, the ``top``
  slowest modes) with 99% intervals over expansion points;
- hidden states of an evaluation rollout, with the pendulum's angle, for PCA;

and, for the first, middle and last checkpoints, the policy landscape: the torque over a grid
of (angle, angular velocity) states. A recurrent policy's action depends on its state, so each
grid point's observation is held for ``settle`` steps from the zero state and the last action
is read (for the partially observable task the velocity is then only in the history: the
landscape holds the angle fixed, i.e. velocity 0, and is a curve over angles).

Distances in state space across checkpoints are meaningful because the network keeps its
units; the stable fixed point's distance to its final location is compared with the return
still to be gained ("reward-to-go": the final return minus this checkpoint's). Every result is
a frozen dataclass with ``to_json()``; figures are in :mod:`cogmap.viz.control`.

As a study: :class:`LearningDynamicsConfig` in, :func:`run` -> :class:`LearningDynamicsResult`
(``study.json``, the figures, the pooled correlation in words).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cogmap.analysis.dynamics import find_fixed_points, jacobians, recurrent_step, sorted_eigenvalues, timescale_intervals
from cogmap.envs import BatchedPendulum
from cogmap.errors import CogmapError, check_positive_int
from cogmap.rl.episodes import run_episodes
from cogmap.rl.policy import Policy, checkpoints, load_policy
from cogmap.studies.base import Result, draw_figures


def _rounded(values, digits: int = 4) -> list:
    return np.round(np.asarray(values, dtype=float), digits).tolist()


@dataclass(frozen=True)
class CheckpointAnalysis:
    update: int
    eval_return: float
    fixed_points: np.ndarray  # (K, S), lowest q first
    fixed_point_q: np.ndarray  # (K,)
    fixed_point_stable: np.ndarray  # (K,) bool
    timescales: np.ndarray  # (top,) geometric means over expansion points, slowest first
    timescales_lower: np.ndarray  # 99% interval
    timescales_upper: np.ndarray
    hidden_states: np.ndarray  # (episodes * steps, hidden), episode-major
    angles: np.ndarray  # (episodes * steps,) the pendulum's angle in [-pi, pi) at each of them
    distance_to_final: float | None = None  # of the stable fixed point to the last checkpoint's
    reward_to_go: float | None = None  # the last checkpoint's return minus this one's

    @property
    def stable_fixed_point(self) -> np.ndarray | None:
        stable = self.fixed_points[self.fixed_point_stable]
        return stable[0] if len(stable) else None

    def to_json(self) -> dict:
        return {"update": self.update, "eval_return": self.eval_return, "fixed_points": int(len(self.fixed_points)),
                "stable_fixed_points": int(self.fixed_point_stable.sum()), "distance_to_final": self.distance_to_final,
                "reward_to_go": self.reward_to_go, "timescales": _rounded(self.timescales),
                "timescales_lower_99": _rounded(self.timescales_lower),
                "timescales_upper_99": _rounded(self.timescales_upper)}


@dataclass(frozen=True)
class PolicyLandscape:
    update: int
    angles: np.ndarray  # (A,)
    speeds: np.ndarray  # (V,); one zero for the partially observable task
    torque: np.ndarray  # (V, A)


@dataclass(frozen=True)
class RunStudy:
    run_dir: str
    observation: str
    checkpoints: tuple[CheckpointAnalysis, ...]
    landscapes: tuple[PolicyLandscape, ...]

    @property
    def name(self) -> str:
        """The run folder's last two parts (``pendulum_fo_rnn/seed0``), a short label for figures."""
        return "/".join(Path(self.run_dir).parts[-2:])

    def to_json(self) -> dict:
        return {"run_dir": self.run_dir, "observation": self.observation,
                "checkpoints": [c.to_json() for c in self.checkpoints]}


@dataclass(frozen=True)
class Correlation:
    n: int
    r: float | None
    p: float | None
    runs: int  # runs that contributed pairs

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class LearningDynamicsStudy:
    runs: tuple[RunStudy, ...]
    correlation: Correlation

    def to_json(self) -> dict:
        return {"correlation_distance_reward_to_go": self.correlation.to_json(),
                "runs": [run.to_json() for run in self.runs]}


@torch.no_grad()
def policy_landscape(policy: Policy, observation_mode: str, angles: np.ndarray, speeds: np.ndarray,
                     settle: int = 20) -> np.ndarray:
    """Torque ``(len(speeds), len(angles))`` after holding each state's observation for ``settle`` steps."""
    theta, omega = np.meshgrid(angles, speeds)
    parts = [np.cos(theta), np.sin(theta)] + ([omega] if observation_mode == "full" else [])
    observation = np.stack(parts, -1).reshape(-1, len(parts)).astype(np.float32)
    policy.reset(len(observation))
    for _ in range(settle):
        torque = policy.act(observation)
    return torque[:, 0].reshape(theta.shape)


def goal_observation(observation_mode: str) -> torch.Tensor:
    """The observation of the upright, still pendulum, as the environment gives it."""
    return torch.tensor([1.0, 0.0, 0.0] if observation_mode == "full" else [1.0, 0.0])


@torch.no_grad()
def _record_episodes(policy: Policy, env: BatchedPendulum) -> tuple[np.ndarray, np.ndarray, float]:
    """One deterministic episode per pendulum: the recording, angles ``(N, T)`` and the mean return."""
    run = run_episodes(policy, env, steps=env.max_steps, watch={"angle": lambda e: e.theta.float().clone()},
                       record=True)
    wrapped = (run.watched["angle"] + math.pi) % (2 * math.pi) - math.pi
    return policy.recording(), wrapped.numpy(), float(run.returns.mean())


def analyse_checkpoint(policy: Policy, episodes: int = 8, seed: int = 12345, fixed_point_starts: int = 64,
                       top: int = 5, iterations: int = 1000) -> CheckpointAnalysis:
    agent, mode = policy.agent, policy.config.observation
    recording, angles, eval_return = _record_episodes(policy, BatchedPendulum(episodes, mode, seed=seed))
    # Episode-major (N, T, ...) rows, as the expansion points were always taken.
    states = torch.as_tensor(recording.states.transpose(1, 0, 2)).reshape(-1, agent.state_dim)
    observations = torch.as_tensor(recording.observations.transpose(1, 0, 2)).reshape(-1, agent.observation_dim)
    every = max(1, len(states) // fixed_point_starts)
    starts = states[::every][:fixed_point_starts]
    inputs = agent.core_input(observations[::every][:fixed_point_starts])
    step = recurrent_step(agent.core)
    found = find_fixed_points(step, starts, agent.core_input(goal_observation(mode)), iterations=iterations, lr=0.01,
                              q_tolerance=1e-8, unique_tolerance=1e-2)
    expansion = sorted_eigenvalues(jacobians(step, starts, inputs)[0])
    tau = timescale_intervals(expansion, top=top, confidence=0.99)
    hidden = recording.states.transpose(1, 0, 2)[:, :, :agent.hidden].reshape(-1, agent.hidden)
    return CheckpointAnalysis(update=int(policy.update), eval_return=eval_return, fixed_points=found.states.numpy(),
                              fixed_point_q=found.q.numpy(), fixed_point_stable=found.stable.numpy(),
                              timescales=tau.mean, timescales_lower=tau.lower, timescales_upper=tau.upper,
                              hidden_states=hidden, angles=angles.reshape(-1))


def study(run_dir: str | Path, every: int = 10, progress: Callable[[CheckpointAnalysis], None] | None = None,
          landscape_angles: int = 61, landscape_speeds: int = 41, **options) -> RunStudy:
    """Analyse every ``every``-th checkpoint (and the last) of a run; distances to the final stable fixed point.

    ``progress`` is called with each checkpoint's analysis as it is done.
    """
    check_positive_int("every", every)
    paths = checkpoints(run_dir)
    chosen = paths[::every] + ([paths[-1]] if (len(paths) - 1) % every else [])
    rows, policies = [], []
    for path in chosen:
        policy = load_policy(path)
        if policy.config.env != "pendulum":
            raise CogmapError(f"{path}: the learning-dynamics study is for pendulum runs, not {policy.config.env}")
        if not policy.agent.recurrent:
            raise CogmapError(f"{path}: a feed-forward (mlp) agent has no recurrent core: no fixed points to find")
        rows.append(analyse_checkpoint(policy, **options))
        policies.append(policy)
        if progress is not None:
            progress(rows[-1])
    final, final_return = rows[-1].stable_fixed_point, rows[-1].eval_return
    rows = [dataclasses.replace(row, reward_to_go=final_return - row.eval_return, distance_to_final=(
        float(np.linalg.norm(row.stable_fixed_point - final))
        if row.stable_fixed_point is not None and final is not None else None)) for row in rows]
    mode = policies[-1].config.observation
    angles = np.linspace(-np.pi, np.pi, landscape_angles)
    speeds = np.linspace(-BatchedPendulum.max_speed, BatchedPendulum.max_speed, landscape_speeds) \
        if mode == "full" else np.zeros(1)
    picks = sorted({0, len(rows) // 2, len(rows) - 1})
    landscapes = tuple(PolicyLandscape(rows[i].update, angles, speeds, policy_landscape(policies[i], mode, angles, speeds))
                       for i in picks)
    return RunStudy(str(run_dir), mode, tuple(rows), landscapes)


def distance_reward_correlation(studies: list[RunStudy]) -> Correlation:
    """Pearson correlation (and p-value) of distance-to-final-fixed-point and reward-to-go, pooled over runs.

    The last checkpoint of each run (distance 0, reward-to-go 0 by definition) is left out, and
    so are checkpoints without a stable fixed point (no distance).
    """
    from scipy import stats

    pairs, runs = [], 0
    for run in studies:
        mine = [(c.distance_to_final, c.reward_to_go) for c in run.checkpoints[:-1] if c.distance_to_final is not None]
        pairs += mine
        runs += bool(mine)
    if len(pairs) < 3:
        return Correlation(len(pairs), None, None, runs)
    x, y = np.array(pairs).T
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return Correlation(len(pairs), None, None, runs)
    r, p = stats.pearsonr(x, y)
    return Correlation(len(pairs), float(r), float(p), runs)


def learning_dynamics(run_dirs: list[str | Path], every: int = 10, progress=None, **options) -> LearningDynamicsStudy:
    """The study of several runs of one task, with the pooled correlation."""
    runs = tuple(study(run_dir, every=every, progress=progress, **options) for run_dir in run_dirs)
    return LearningDynamicsStudy(runs, distance_reward_correlation(list(runs)))


@dataclass(frozen=True)
class LearningDynamicsConfig:
    """Settings of the learning-dynamics study (``cogmap control analyze``)."""

    runs: list[str] = dataclasses.field(default_factory=list)  # run folders of `cogmap control train`; required
    every: int = 10  # analyse every n-th checkpoint (and the last)
    top: int = 5  # slowest timescales reported

    def __post_init__(self):
        if not self.runs:
            raise CogmapError("runs is required: one or more run folders written by `cogmap control train`")
        check_positive_int("every", self.every)
        check_positive_int("top", self.top)


@dataclass(frozen=True)
class LearningDynamicsResult(Result):
    file = "study.json"
    config: LearningDynamicsConfig
    study: LearningDynamicsStudy

    def to_json(self) -> dict:
        return self.study.to_json()

    def draw(self, folder: Path) -> list[Path]:
        from cogmap.viz.control import plot_hidden_pca, plot_learning_dynamics, plot_policy_landscapes

        first = self.study.runs[0]
        figures = {"learning_dynamics": plot_learning_dynamics(self.study),
                   "policy_landscapes": plot_policy_landscapes(first.landscapes, title=first.name)}
        for row in (first.checkpoints[0], first.checkpoints[-1]):
            figures[f"hidden_pca_update{row.update:04d}"] = plot_hidden_pca(
                row.hidden_states, row.angles, title=f"{first.name}, update {row.update}")
        return draw_figures(folder, figures)

    def summary(self) -> str:
        c = self.study.correlation
        return ("stable fixed point's distance to its final location vs reward-to-go: "
                + (f"r = {c.r:.3f}, p = {c.p:.2e} (n = {c.n} checkpoints of {c.runs} of {len(self.study.runs)} runs)"
                   if c.r is not None else "too few points"))


def run(config: LearningDynamicsConfig, progress: bool = True) -> LearningDynamicsResult:
    """The study of ``config.runs``; every run and its last checkpoint are checked before any work."""
    for run_dir in config.runs:
        load_policy(checkpoints(run_dir)[-1])

    def report(row):
        print(f"  update {row.update}: return {row.eval_return:.1f}, {len(row.fixed_points)} fixed point(s), "
              f"{int(row.fixed_point_stable.sum())} stable", flush=True)

    if progress:
        print(f"analysing {len(config.runs)} run(s), every {config.every}th checkpoint and the last", flush=True)
    study_ = learning_dynamics(config.runs, every=config.every, progress=report if progress else None, top=config.top)
    return LearningDynamicsResult(config=config, study=study_)
