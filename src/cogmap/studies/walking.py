"""Trajectory tangling of a trained walker's layers (Rush, Jayaram & Humbert; Russo et al. 2018).

For each commanded condition, ``envs`` copies of the walker run deterministically with that
command fixed; after ``warmup`` steps the study records, every step, the input layer (the
encoder's output, or the normalised observation when there is no encoder), the recurrent core's
output ``h`` (and, for an LSTM, its cell state ``c``) and the actuation (the action); a
feed-forward walker (``cell: mlp``, the control of RESULTS.md) has its hidden layer recorded in
the recurrent one's place. Gait
cycles are cut where foot ``foot`` lifts off, pooled over the copies, and the cycles of the
most common length are averaged (Rush et al.'s method). Then, for every layer:

- tangling of the averaged cycles, each condition alone and all conditions together, by
  :func:`cogmap.analysis.tangle_analysis` (each unit z-scored over the whole data set, as Rush
  et al. do, then the top ``n_pcs`` principal components and ``eps = 0.1 x`` their summed
  variances, Russo et al.'s convention); and, to show what the choice does, the convention of
  Rush et al.'s own code, no PCA and ``eps = 0.1 x`` the variance pooled over all entries, which is
  about ``D`` times smaller and inflates Q more in wide layers than in the narrow actuation;
- the median Q per condition, and the actuation-over-recurrent ratio of the medians with a
  paired (Wilcoxon signed-rank) test over conditions;
- the recurrent layer's speed axis (:func:`cogmap.analysis.speed_axis`) and the 3-D coordinates
  (PC 1, PC 2, speed axis) of every condition's cycle;
- tracking: the measured velocity against the command, per condition (the largest relative miss
  over the commanded components);
- for every pair of opposing conditions (mirrored commands), whether each layer's two cycles co-
  or counter-rotate (:func:`cogmap.analysis.cycles.rotation_direction`, Russo et al. 2018);
- a push: in one copy, the torso's velocity is changed by ``push`` for one step in the middle of
  the recording, and the distance of the recurrent state from its averaged cycle is followed;
- a control: a network of the same shape with random weights (and the walker's observation
  normalisation), driven by the walker's own observations, analysed like the walker's layers
  (``"untrained ..."``): what the inputs alone put into each layer.

The walkers are cogmap's Gymnasium ones (the cheetah, the ant) and the Go1 (trained on EnvPool,
studied in cogmap's Python twin of its task, :mod:`cogmap.envs.go1`: the command held, the feet's
contacts, the push). ``stochastic`` and ``noise_level`` run a walker as it trained (sampled
actions, the Go1's observation noise).

As a study: :class:`WalkingConfig` in, :func:`run` -> :class:`WalkingResult` (``tangling.json``,
``cycles.npz``, the figures, the median tangling per layer in words).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from cogmap.analysis.cycles import (
    average_cycles,
    cycle_starts,
    opposing_pairs,
    rotation_direction,
    smooth_cycle,
    speed_axis,
    split_cycles,
)
from cogmap.analysis.tangling import tangle_analysis
from cogmap.envs.go1 import Go1Joystick
from cogmap.errors import CogmapError, check_positive_int
from cogmap.files import atomic_path
from cogmap.rl.policy import Policy, load_policy, make_agent
from cogmap.studies.base import Result

RECURRENT, ACTUATION = "recurrent", "actuation"
CYCLES_FILE = "cycles.npz"


@dataclass(frozen=True)
class Recording:
    """One condition's steps, every array ``(envs, steps, ...)``."""

    command: np.ndarray
    layers: dict  # layer name -> (envs, steps, units)
    contacts: np.ndarray  # (envs, steps, feet)
    velocity: np.ndarray  # (envs, steps, command dims)
    dt: float  # seconds per step
    fell: int = 0  # copies that fell (their episodes ended) and were left out of the arrays


@torch.no_grad()
def replay(agent, observations: np.ndarray) -> dict:
    """The layers of ``agent`` driven by ``observations`` ``(T, N, O)`` from a zero state (no environment in the loop)."""
    obs = torch.as_tensor(observations, dtype=torch.float32)
    state = agent.initial_state(obs.shape[1])
    hidden, cell, action = [], [], []
    for t in range(obs.shape[0]):
        out = agent(obs[t], state)
        state = out.state
        hidden.append(out.hidden)
        cell.append(state[:, agent.hidden:])
        action.append(out.mean)
    layers = {"input": agent.core_input(obs).numpy(), RECURRENT: torch.stack(hidden).numpy()}
    if agent.cell == "lstm":
        layers["recurrent cell"] = torch.stack(cell).numpy()
    layers[ACTUATION] = torch.stack(action).numpy()
    return layers


GO1_ENVS = ("envpool/Go1JoystickFlatTerrain-v1", "go1")


def is_go1(env_id: str) -> bool:
    """Whether a policy trained on ``env_id`` walks the Go1 (EnvPool's task or cogmap's Python twin)."""
    return env_id in GO1_ENVS


class WalkersFell(CogmapError):
    """Every copy of a walker fell under a command: there is no walking to record."""


def _fell(command, copies: int) -> WalkersFell:
    return WalkersFell(f"every walker fell (its episode terminated) under command {command} ({copies} of {copies}); "
                       "it cannot be analysed as walking")


def acting(policy: Policy, stochastic: bool, seed: int, record: bool = True):
    """``act(observation)`` as a study runs a walker: its mean action, or, ``stochastic``, a draw from its
    Gaussian (seeded), as it acted in training."""
    generator = torch.Generator().manual_seed(seed + 7919) if stochastic else None

    def act(observation):
        return policy.act(observation, deterministic=not stochastic, record=record, generator=generator)
    return act


def _run_gymnasium_walker(policy: Policy, command, envs: int, total: int, warmup: int, seed: int, push,
                          stochastic: bool = False, noise_level: float = 0.0):
    """The cheetah's or the ant's steps (cogmap's Gymnasium walkers): contacts, velocities, dt."""
    import gymnasium as gym
    from gymnasium.vector import AutoresetMode

    env_id = policy.config.env
    if not env_id.startswith("cogmap/") or "Velocity" not in env_id:
        raise CogmapError(f"the walking study needs a walker (cogmap/CheetahVelocity-v0, cogmap/AntVelocity-v0, "
                          f"envpool/Go1JoystickFlatTerrain-v1), not {env_id}")
    if noise_level:
        raise CogmapError("noise_level (observation noise) is the Go1 task's; the Gymnasium walkers have none")
    act = acting(policy, stochastic, seed)
    options = {**policy.config.env_kwargs, "command": command}  # the task the walker was trained on
    vector = gym.make_vec(env_id, num_envs=envs, vectorization_mode="sync",
                          vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP}, **options)
    try:
        dt = float(vector.envs[0].unwrapped.dt)
        observation, _ = vector.reset(seed=[seed + i for i in range(envs)])
        policy.reset(envs)
        contacts, velocity = [], []
        fell = np.zeros(envs, bool)
        for t in range(total):
            if push is not None and t == warmup + push[1]:
                inner = vector.envs[push[0]].unwrapped
                qvel = inner.data.qvel.copy()
                qvel[0] += push[2]
                inner.set_state(inner.data.qpos.copy(), qvel)
            observation, _, terminated, _, info = vector.step(act(observation))
            fell |= np.asarray(terminated, bool)
            contacts.append(np.asarray(info["contacts"], dtype=bool))
            velocity.append(np.asarray(info["velocity"], dtype=np.float64))
    finally:
        vector.close()
    return contacts, velocity, dt, fell


def _run_go1(policy: Policy, command, envs: int, total: int, warmup: int, seed: int, push, stochastic: bool = False,
             noise_level: float = 0.0):
    """The Go1's steps in cogmap's Python twin of its task (command held, feet FR, FL, RR, RL; EnvPool's random starts)."""
    options = {k: v for k, v in policy.config.env_kwargs.items() if k == "without_last_action"}
    if np.ndim(command) == 0:  # a forward speed
        command = (float(command), 0.0, 0.0)
    env = Go1Joystick(envs, command=command, seed=seed, max_episode_steps=total + 1, noise_level=noise_level,
                      **options)
    act = acting(policy, stochastic, seed)
    observation = env.reset()
    policy.reset(envs)
    contacts, velocity = [], []
    fell = np.zeros(envs, bool)
    for t in range(total):
        if push is not None and t == warmup + push[1]:
            env.push([push[2], 0.0], rows=[push[0]])
        step = env.step(act(observation))
        fell |= step.terminated.cpu().numpy()
        observation = step.observation
        contacts.append(env.contacts.copy())
        velocity.append(env.body_velocity)
    return contacts, velocity, env.dt, fell


@torch.no_grad()
def record(policy: Policy, command, envs: int = 16, steps: int = 600, warmup: int = 200, seed: int = 0,
           push: tuple[int, int, float] | None = None, controls: dict | None = None, stochastic: bool = False,
           noise_level: float = 0.0) -> Recording:
    """Run ``envs`` copies of the walker with ``command`` and record every layer, feet contacts and velocity.

    ``push`` = (copy, step, change): add ``change`` m/s to that copy's torso forward velocity at
    that step (counted after the warm-up), once. ``controls`` (name -> agent) are driven by the
    walker's own observations, without acting (e.g. an untrained network): their layers are
    recorded as ``"<name> <layer>"``. ``stochastic``: the walker samples its actions (seeded) as in training,
    rather than taking their mean; the actuation layer recorded is the mean either way (the network's
    output). ``noise_level``: the Go1 task's observation noise (its training default is 1; 0 here).
    """
    env_id = policy.config.env
    run = _run_go1 if is_go1(env_id) else _run_gymnasium_walker
    contacts, velocity, dt, fell = run(policy, command, envs, warmup + steps, warmup, seed, push, stochastic,
                                       noise_level)
    if fell.all():
        raise _fell(command, envs)
    steps_kept = slice(warmup, None)
    recording = policy.recording()  # (T, N, ...) every step since the reset
    standing = ~fell  # a copy that fell restarted: its recording is two episodes, and it is left out

    def envs_first(a: np.ndarray) -> np.ndarray:
        return np.swapaxes(a[steps_kept], 0, 1)[standing]

    agent = policy.agent
    inputs = agent.core_input(torch.as_tensor(recording.observations, dtype=torch.float32)).numpy()
    layers = {"input": envs_first(inputs), RECURRENT: envs_first(recording.hidden)}
    if agent.cell == "lstm":  # the cell state after each step: the next step's state, and the final one
        after = np.concatenate([recording.states[1:], policy.state.cpu().numpy()[None]])
        layers["recurrent cell"] = envs_first(after[..., agent.hidden:])
    layers[ACTUATION] = envs_first(recording.means)  # the network's output, without the sampling noise
    for name, control in (controls or {}).items():
        for layer, values in replay(control, recording.observations).items():
            layers[f"{name} {layer}"] = envs_first(values)
    return Recording(np.atleast_1d(np.asarray(command, dtype=np.float64)), layers,
                     envs_first(np.stack(contacts)), envs_first(np.stack(velocity)), dt, int(fell.sum()))


@dataclass(frozen=True)
class ConditionCycles:
    command: np.ndarray
    cycles: dict  # layer -> (length, units) the averaged cycle
    length: int
    cycles_used: int
    cycles_total: int
    velocity: np.ndarray  # mean measured velocity over the recording
    speed_error: float  # the largest |mean measured velocity - command| / |command| over the commanded components
    fell: int = 0  # copies that fell and were left out


def tracking_error(velocity, command) -> float:
    """The largest relative miss, |measured - commanded| / |commanded|, over the commanded (nonzero) components
    (forward speed alone for a scalar command; forward, lateral and turning for a triple)."""
    velocity, command = np.atleast_1d(velocity), np.atleast_1d(command)
    asked = np.flatnonzero(np.abs(command) > 1e-9)
    if not len(asked):  # standing still: the speed reached, in the command's units
        return float(np.abs(velocity[:len(command)]).max())
    return float(max(abs(velocity[i] - command[i]) / abs(command[i]) for i in asked))


def cycle_average(recording: Recording, foot: int = 0, min_cycle: float = 0.1) -> ConditionCycles:
    """Cut every copy's recording at foot ``foot``'s lift-offs, pool the cycles and average the most common length.

    Lift-offs less than ``min_cycle`` seconds after the last cycle's start are taken for a foot
    skimming the ground, not a new cycle.
    """
    if not 0 <= foot < recording.contacts.shape[2]:
        raise CogmapError(f"foot must be in 0..{recording.contacts.shape[2] - 1}, got {foot}")
    gap = max(1, int(round(min_cycle / recording.dt)))
    pooled: dict[str, list] = {name: [] for name in recording.layers}
    for copy in range(recording.contacts.shape[0]):
        starts = cycle_starts(~recording.contacts[copy, :, foot], gap)
        if len(starts) < 2:
            continue
        for name, series in recording.layers.items():
            pooled[name] += split_cycles(series[copy], starts)
    if not pooled[ACTUATION]:
        raise CogmapError(f"command {recording.command.tolist()}: foot {foot} never lifted off twice in a copy; no gait "
                          "cycle to analyse (a longer recording, another --foot?)")
    first = average_cycles(pooled[ACTUATION])
    averaged = {name: average_cycles(cycles, first.length).mean for name, cycles in pooled.items()}
    velocity = recording.velocity.mean(axis=(0, 1))
    command = recording.command
    error = tracking_error(velocity, command)
    return ConditionCycles(command, averaged, first.length, first.cycles_used, first.cycles_total, velocity, error,
                           recording.fell)


def _zscore(parts: list[np.ndarray]) -> list[np.ndarray]:
    everything = np.concatenate(parts)
    mean, sd = everything.mean(0), everything.std(0)
    sd = np.where(sd > 1e-12, sd, 1.0)  # a unit that never moves stays at 0
    return [(p - mean) / sd for p in parts]


@dataclass(frozen=True)
class LayerTangling:
    q_pooled: list  # per condition, Q of its cycle's time points when all conditions are compared together
    q_within: list  # per condition, Q within its own cycle
    median_pooled: list  # per condition
    median_within: list
    q_seed_eps: list  # per condition, pooled, with Rush et al.'s code's convention (no PCA, eps from the pooled variance)
    eps: float
    eps_seed: float
    units: int


def layer_tangling(cycles: list[np.ndarray], dt: float, n_pcs: int = 8) -> LayerTangling:
    """Tangling of one layer's averaged cycles (one per condition), z-scored over all of them."""
    parts = _zscore(cycles)
    pooled = tangle_analysis(parts, dt, n_pcs=n_pcs)
    within = [tangle_analysis([p], dt, n_pcs=n_pcs).q for p in parts]
    eps_seed = 0.1 * float(np.concatenate(parts).var())
    seed_style = tangle_analysis(parts, dt, n_pcs=None, eps=eps_seed)
    return LayerTangling([q.tolist() for q in pooled.per_condition()], [q.tolist() for q in within],
                         [float(np.median(q)) for q in pooled.per_condition()], [float(np.median(q)) for q in within],
                         [q.tolist() for q in seed_style.per_condition()], pooled.eps, eps_seed, parts[0].shape[1])


@dataclass(frozen=True)
class WalkingStudy:
    source: str
    env: str
    dt: float
    conditions: tuple  # ConditionCycles per command
    tangling: dict  # layer -> LayerTangling
    ratio: list  # per condition: median Q of the actuation / median Q of the recurrent layer (pooled)
    wilcoxon_p: float | None  # paired test over conditions of actuation vs recurrent medians (two-sided)
    speed: object  # SpeedAxis of the recurrent layer, or None with one condition
    projections: list  # per condition, the recurrent cycle on (PC 1, PC 2, speed axis)
    push: dict | None
    untrained_ratio: list | None = None  # the same ratio for the untrained network driven by the walker's observations
    smoothed_projections: list | None = None  # the projections through a periodic spline, 5 points per step (figures)
    smoothed_q: list | None = None  # the recurrent layer's pooled Q per condition through the same spline
    rotations: list | None = None  # per pair of opposing conditions: each layer's sense of rotation (Russo et al.)

    def to_json(self) -> dict:
        return {
            "source": self.source, "env": self.env, "dt": self.dt,
            "conditions": [{"command": c.command.tolist(), "measured_velocity": c.velocity.tolist(),
                            "speed_error": c.speed_error, "cycle_length": c.length, "cycles_used": c.cycles_used,
                            "cycles_total": c.cycles_total, "copies_fell": c.fell} for c in self.conditions],
            "tangling": {name: {k: v for k, v in dataclasses.asdict(t).items()} for name, t in self.tangling.items()},
            "ratio_actuation_over_recurrent": self.ratio, "wilcoxon_p": self.wilcoxon_p,
            "untrained_ratio_actuation_over_recurrent": self.untrained_ratio,
            "speed_axis": None if self.speed is None else {
                "explained_across_conditions": self.speed.explained_across_conditions,
                "explained_total": self.speed.explained_total, "correlation": self.speed.correlation,
                "coefficients_on_pcs_3_on": self.speed.coefficients.tolist()},
            "push": self.push,
            "rotations": self.rotations,
        }


def twin_seed_of(seed: int, twin_seed: int | None) -> int:
    """The seed of the untrained control's weights: ``twin_seed``, or by default ``seed + 1``."""
    return seed + 1 if twin_seed is None else twin_seed


def untrained_copy(policy: Policy, seed: int = 1) -> torch.nn.Module:
    """A network of the walker's shape with fresh random weights and the walker's observation normalisation."""
    agent = policy.agent
    described = {"observation_dim": agent.observation_dim, "action_dim": agent.action_dim,
                 "critic_observation_dim": agent.critic_observation_dim,
                 "action_low": agent.action_low.tolist(), "action_high": agent.action_high.tolist(),
                 "observation_scale": None}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = make_agent(policy.config, described)
    fresh.normalizer.load_state_dict(agent.normalizer.state_dict())
    fresh.normalizer.clip = agent.normalizer.clip
    return fresh.eval()


def opposing_rotations(conditions: Sequence[ConditionCycles], layers: Sequence[str]) -> list:
    """For every pair of opposing conditions (mirrored commands), whether each layer's two averaged cycles
    rotate the same way in the plane they share (:func:`cogmap.analysis.cycles.rotation_direction`): primate
    motor cortex co-rotates for forward and backward cycling while muscles counter-rotate (Russo et al. 2018);
    Rush et al.'s walker counter-rotates in both."""
    out = []
    for i, j in opposing_pairs([c.command.tolist() for c in conditions]):
        per_layer = {}
        for layer in layers:
            turn = rotation_direction(conditions[i].cycles[layer], conditions[j].cycles[layer])
            per_layer[layer] = {"co_rotating": turn.co_rotating, "alignment": turn.alignment,
                                "areas": list(turn.areas), "circularity": list(turn.circularity)}
        out.append({"conditions": [i, j], "commands": [conditions[i].command.tolist(), conditions[j].command.tolist()],
                    "layers": per_layer})
    return out


def walking_study(policy: Policy, commands: Sequence, envs: int = 16, steps: int = 600, warmup: int = 200,
                  foot: int = 0, n_pcs: int = 8, seed: int = 0, push: float = 1.0, min_cycle: float = 0.1,
                  untrained: bool = True, progress=None, stochastic: bool = False,
                  noise_level: float = 0.0, twin_seed: int | None = None) -> WalkingStudy:
    """The whole study of one trained walker; see the module's docstring.

    With ``untrained``, a network of the same shape with random weights (and the walker's
    observation normalisation) is driven by the walker's own observations as a control: its layers
    are analysed alongside as ``"untrained ..."``. Its weights are drawn from ``twin_seed`` (default
    ``seed + 1``): two walkers studied with the same seeds get the same untrained network, so to
    compare walkers against independent untrained networks give each its own ``twin_seed``.
    """
    from scipy import stats

    if not commands:
        raise CogmapError("give at least one command")
    controls = {"untrained": untrained_copy(policy, twin_seed_of(seed, twin_seed))} if untrained else None
    conditions = []
    for command in commands:
        recording = record(policy, command, envs, steps, warmup, seed, controls=controls, stochastic=stochastic,
                           noise_level=noise_level)
        conditions.append(cycle_average(recording, foot, min_cycle))
        if progress is not None:
            progress(conditions[-1])
    inner_dt = recording.dt
    layers = list(conditions[0].cycles)
    tangling = {name: layer_tangling([c.cycles[name] for c in conditions], inner_dt, n_pcs) for name in layers}
    ratio = [a / r for a, r in zip(tangling[ACTUATION].median_pooled, tangling[RECURRENT].median_pooled)]
    p_value = None
    if len(conditions) >= 5:
        p_value = float(stats.wilcoxon(tangling[ACTUATION].median_pooled, tangling[RECURRENT].median_pooled).pvalue)
    control_ratio = None
    if untrained:
        control_ratio = [a / r for a, r in zip(tangling[f"untrained {ACTUATION}"].median_pooled,
                                               tangling[f"untrained {RECURRENT}"].median_pooled)]
    axis, projections = None, []
    if len(conditions) >= 2:
        recurrent = [c.cycles[RECURRENT] for c in conditions]
        # The commanded quantity the conditions differ in most (forward, lateral or turning speed).
        commands = np.stack([c.command for c in conditions])
        varied = int(np.ptp(commands, axis=0).argmax())
        axis = speed_axis(recurrent, commands[:, varied].tolist())
        projections = [axis.project(cycle).tolist() for cycle in recurrent]
    smoothed = [smooth_cycle(np.asarray(p), factor=5).tolist() if len(p) >= 3 else p for p in projections]
    # Q of the recurrent cycles through the same periodic spline, for colouring those figures.
    smoothed_q = [smooth_cycle(np.asarray(q)[:, None], factor=5)[:, 0].tolist() if len(q) >= 3 else q
                  for q in tangling[RECURRENT].q_pooled] if smoothed else []
    rotations = opposing_rotations(conditions, layers)
    push_result = None
    if push:
        middle = conditions[len(conditions) // 2]
        try:
            pushed = record(policy, middle.command, 1, steps, warmup, seed, push=(0, steps // 3, push),
                            stochastic=stochastic, noise_level=noise_level)
        except WalkersFell:  # the push knocked it over: that is the result
            pushed = None
    if push and pushed is None:
        push_result = {"command": middle.command.tolist(), "change": push, "step": steps // 3, "fell": True}
    elif push:
        series = pushed.layers[RECURRENT][0]
        nominal = middle.cycles[RECURRENT]
        distance = np.sqrt(((series[:, None, :] - nominal[None]) ** 2).sum(-1)).min(1)
        radius = float(np.sqrt(((nominal - nominal.mean(0)) ** 2).sum(1)).mean())
        before = float(np.median(distance[: steps // 3]))
        after = distance[steps // 3:]
        back = np.flatnonzero(after <= 2 * max(before, 1e-9))
        returned = next((int(i) for i in back if np.all(after[i:i + middle.length] <= 2 * max(before, 1e-9))), None)
        push_result = {"command": middle.command.tolist(), "change": push, "step": steps // 3, "fell": False,
                       "distance_to_cycle": distance.tolist(), "cycle_radius": radius, "distance_before_median": before,
                       "peak_distance": float(after.max()), "steps_to_return": returned,
                       "cycles_to_return": None if returned is None else returned / middle.length}
    return WalkingStudy(policy.source or "", policy.config.env, inner_dt, tuple(conditions), tangling, ratio, p_value,
                        axis, projections, push_result, control_ratio, smoothed, smoothed_q, rotations)


@dataclass(frozen=True)
class WalkingConfig:
    """Settings of the walking study (``cogmap control tangling``)."""

    source: str = ""  # a walker's run folder (its last checkpoint, or `update`) or checkpoint; required
    update: int | None = None  # analyse this update's checkpoint of a run folder
    # Commanded velocities: forward speeds in m/s (the cheetah), or [u, v, r] triples (the ant).
    commands: list = dataclasses.field(default_factory=lambda: [-2, -1.5, -1, 1, 1.5, 2, 2.5, 3])
    envs: int = 16  # parallel copies per condition
    steps: int = 600  # steps recorded per copy after the warm-up
    warmup: int = 200  # steps before recording
    foot: int = 0  # the foot whose lift-off starts a cycle
    n_pcs: int = 8  # principal components for tangling
    push: float = 1.0  # velocity change of the push in m/s (0: none)
    seed: int = 0  # of the copies' start states
    untrained: bool = True  # the control: a network of the same shape with random weights
    # The control's weights (default seed + 1): give each walker its own to compare walkers against
    # independent untrained networks (`cogmap control similarity`).
    twin_seed: int | None = None
    stochastic: bool = False  # sample the walker's actions (seeded) as in training, rather than take their mean
    noise_level: float = 0.0  # the Go1 task's observation noise (1 in training); other walkers have none

    def __post_init__(self):
        if not self.source:
            raise CogmapError("source is required: a walker's run folder or checkpoint")
        for key, minimum in (("envs", 1), ("steps", 20), ("warmup", 0), ("n_pcs", 1)):
            check_positive_int(key, getattr(self, key), minimum)
        if self.twin_seed is not None:
            check_positive_int("twin_seed", self.twin_seed, 0)
            if self.twin_seed >= 2**63:  # torch's seeds
                raise CogmapError(f"twin_seed must be below 2**63, got {self.twin_seed}")
        if not isinstance(self.noise_level, (int, float)) or not 0 <= self.noise_level < float("inf"):
            raise CogmapError(f"noise_level must be a number >= 0, got {self.noise_level!r}")
        def number(value) -> bool:
            return isinstance(value, (int, float)) and not isinstance(value, bool)

        commands = list(self.commands)
        speeds = all(number(c) for c in commands)
        triples = all(isinstance(c, list) and c and all(number(v) for v in c) for c in commands)
        if not commands or not (speeds or triples):
            raise CogmapError(f"commands must be a list of forward speeds (e.g. [1, 2]) or of [u, v, r] triples, "
                              f"got {self.commands!r}")


@dataclass(frozen=True)
class WalkingResult(Result):
    file = "tangling.json"
    config: WalkingConfig
    study: WalkingStudy

    def to_json(self) -> dict:
        return self.study.to_json()

    def save(self, folder, figures: bool = True):
        """As every study's, and ``cycles.npz``: each layer's averaged cycle per condition, for comparisons
        across agents (``cogmap control similarity``)."""
        from pathlib import Path

        written = super().save(folder, figures)
        arrays = {f"{layer}/{k}": cycle for k, c in enumerate(self.study.conditions) for layer, cycle in c.cycles.items()}
        arrays["commands"] = np.stack([c.command for c in self.study.conditions])
        if self.config.untrained:  # which untrained network, so that comparisons across walkers can tell
            arrays["twin_seed"] = np.array(twin_seed_of(self.config.seed, self.config.twin_seed))
        path = Path(folder) / CYCLES_FILE
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        return [*written, path]

    def draw(self, folder):
        from cogmap.studies.base import draw_figures
        from cogmap.viz.control import (
            plot_condition_cycles,
            plot_push,
            plot_speed_axis,
            plot_tracking,
            plot_walking_tangling,
        )

        figures = {"tangling": plot_walking_tangling(self.study), "tracking": plot_tracking(self.study),
                   "cycles": plot_condition_cycles(self.study)}
        if self.study.speed is not None:
            figures["speed_axis"] = plot_speed_axis(self.study)
        if self.study.push is not None and not self.study.push.get("fell"):
            figures["push"] = plot_push(self.study)
        return draw_figures(folder, figures)

    def summary(self) -> str:
        study = self.study
        lines = [f"{layer:>15} ({result.units:3d} units): median Q per condition "
                 + ", ".join(f"{q:.3g}" for q in result.median_pooled) for layer, result in study.tangling.items()]
        p = f", Wilcoxon p = {study.wilcoxon_p:.3g}" if study.wilcoxon_p is not None else ""
        lines.append("actuation / recurrent median Q: " + ", ".join(f"{r:.2f}" for r in study.ratio) + p)
        if study.untrained_ratio is not None:
            lines.append("the same, untrained network on the walker's observations: "
                         + ", ".join(f"{r:.2f}" for r in study.untrained_ratio))
        for pair in study.rotations or []:
            senses = ", ".join(f"{layer} {'co' if v['co_rotating'] else 'counter'}-rotating ({v['alignment']:+.2f})"
                               for layer, v in pair["layers"].items() if layer in (RECURRENT, ACTUATION))
            lines.append(f"commands {pair['commands'][0]} vs {pair['commands'][1]}: {senses}")
        return "\n".join(lines)


def run(config: WalkingConfig, progress: bool = True) -> WalkingResult:
    """The walking study of the walker in ``config.source``."""
    policy = load_policy(config.source, update=config.update)
    commands = list(config.commands)

    def report(condition):
        fell = f", {condition.fell} cop{'y' if condition.fell == 1 else 'ies'} fell (left out)" if condition.fell else ""
        print(f"  command {condition.command.tolist()}: measured {condition.velocity.round(3).tolist()}, "
              f"{condition.cycles_used} of {condition.cycles_total} cycles of {condition.length} steps{fell}", flush=True)

    if progress:
        print(f"{policy}: {len(commands)} condition(s), {config.envs} copies x {config.steps} steps each", flush=True)
    study = walking_study(policy, commands, config.envs, config.steps, config.warmup, config.foot, config.n_pcs,
                          config.seed, config.push, untrained=config.untrained, progress=report if progress else None,
                          stochastic=config.stochastic, noise_level=config.noise_level, twin_seed=config.twin_seed)
    return WalkingResult(config=config, study=study)
