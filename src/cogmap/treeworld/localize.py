"""The Tree World specification's localization experiments: a path tracer in Tree World localizing itself.

Each experiment runs one world with a path-tracing agent that feeds its movement report
(odometry) and its smell to a localizer, ``tem2d`` (:class:`TEM2d`, a belief map) or
``phase`` (:class:`~cogmap.treeworld.phase.PhaseLocalizer`, a phase code), and measures how far
the estimate is from the truth at every step: the distance from the true location to the
belief's mean and to its mode (the phase code's decoded position is both), in world units.

- ``spiral-memory``: outward spiral, memory on, mixed in with weight 1/2 (the original Tree World code).
- ``spiral-no-memory``: the same without memory: pure path integration by convolution.
- ``circle-memory``: a circle of radius 100 through the origin, memory on (weight 1/2).
- ``noisy-actions``: the circle with odometry noise (sd 1 world unit per axis), no memory.
- ``noisy-actions-memory``: the same with the affinity-gated memory correction.
- ``spiral-far``: a wider, slower spiral (a turn every 300 steps, 200 units further out each
  turn) that leaves TEM2d's 1,000 x 1,000 map after about 750 steps; memory as the affinity-gated
  correction.
- ``tracked-vehicle``: a differential-drive agent heard only through its track speeds,
  localized through a learned action model (see :func:`tracked_vehicle_experiment`).

The fixed memory weight of the original Tree World code (1/2) is TEM2d's; the phase code always mixes its
landmarks in by their certainty, gated by affinity (``memory_mix`` does not apply to it).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cogmap.errors import check_choice, check_positive_int
from cogmap.treeworld.agents import CircleTracer, SpiralTracer
from cogmap.treeworld.config import TreeWorldConfig
from cogmap.treeworld.kernels import belief_mode
from cogmap.treeworld.phase import PhaseLocalizer
from cogmap.treeworld.simulation import TreeWorld
from cogmap.treeworld.tem import LocalizingAgent, TEM2d


@dataclass(frozen=True)
class Experiment:
    path: str  # "spiral" or "circle"
    use_memory: bool
    memory_mix: float | None = 0.5  # None: the affinity-gated weight
    action_noise: float = 0.0
    spiral: tuple[int, float] = (100, 25.0)  # steps per turn, distance gained per turn


LOCALIZERS = ("tem2d", "phase")


EXPERIMENTS = {
    "spiral-memory": Experiment("spiral", True),
    "spiral-no-memory": Experiment("spiral", False),
    "circle-memory": Experiment("circle", True),
    "noisy-actions": Experiment("circle", False, action_noise=1.0),
    "noisy-actions-memory": Experiment("circle", True, memory_mix=None, action_noise=1.0),
    "spiral-far": Experiment("spiral", True, memory_mix=None, spiral=(300, 200.0)),
}
ALL_EXPERIMENTS = (*EXPERIMENTS, "tracked-vehicle")


@dataclass(frozen=True)
class Localization:
    """One localization run: the truth, the belief's mean and the errors at every step.

    ``record`` (the world's history, with the belief maps) and ``layout`` (its trees) are kept
    for pictures; :meth:`to_json` holds only numbers.
    """

    name: str
    settings: dict
    truth: torch.Tensor  # (T, 2) where each observation, hence each belief, was made
    estimate: torch.Tensor  # (T, 2) the belief's mean
    error_mean: torch.Tensor  # (T,) distance from the truth to the belief's mean
    error_mode: torch.Tensor  # (T,) ... and to its mode
    loss: torch.Tensor  # (T,)
    memory_weight: torch.Tensor  # (T,)
    record: dict
    layout: object
    uncertainty: torch.Tensor | None = None  # (T,) the estimate's sd per axis

    @property
    def belief_extent(self) -> float | None:
        """Half the width of the area the belief map covers, in world units (None: no map)."""
        if self.settings.get("localizer", "tem2d") != "tem2d":
            return None
        return self.settings["grid_extent"] / 2 + self.settings["grid_scale"] / 2

    def summary(self) -> dict:
        error, mode = self.error_mean, self.error_mode
        n = len(error)
        marks = sorted({min(n - 1, k) for k in (0, 99, 249, 499, 999, n - 1)})
        return {
            **self.settings,
            "error_mean_final": float(error[-1]), "error_mean_average": float(error.mean()),
            "error_mean_max": float(error.max()),
            "error_mode_final": float(mode[-1]), "error_mode_average": float(mode.mean()),
            "error_at_step": {str(k + 1): round(float(error[k]), 3) for k in marks},
            "loss_average": float(self.loss.mean()), "memory_weight_average": float(self.memory_weight.mean()),
            "sd_final": None if self.uncertainty is None else float(self.uncertainty[-1]),
            "distance_from_origin_true_final": float(self.truth[-1].norm()),
            "distance_from_origin_estimate_final": float(self.estimate[-1].norm()),
        }

    def per_step(self) -> dict:
        return {"error_mean": self.error_mean.tolist(), "error_mode": self.error_mode.tolist(),
                "loss": self.loss.tolist(), "memory_weight": self.memory_weight.tolist(),
                "sd": None if self.uncertainty is None else self.uncertainty.tolist()}


def _localize(name: str, world: TreeWorld, agent: LocalizingAgent, steps: int, settings: dict,
              progress: bool) -> Localization:
    record = world.run(steps, record=True, allow_death=False, progress=progress).as_tensors()
    truth = record["location"][:-1]  # where each observation, hence each belief, was made
    estimate = torch.stack(agent.estimates)
    if isinstance(agent.tem, TEM2d):
        mode = belief_mode(record["belief"], agent.tem.grid_scale)
        settings = {**settings, "grid_scale": agent.tem.grid_scale}
    else:
        mode = estimate  # the decoded position is the phases' most likely one
    return Localization(name, {**settings, "steps": steps}, truth, estimate,
                        (estimate - truth).norm(dim=-1), (mode - truth).norm(dim=-1), torch.tensor(agent.losses),
                        torch.tensor(agent.memory_weights), record, world.batched.layout,
                        torch.tensor(agent.uncertainties))


def make_localizer(localizer: str, config: TreeWorldConfig, use_memory: bool, memory_mix: float | None,
                   action_noise: float, affinity_exponent: float, grid_size: int, grid_extent: float):
    """A TEM2d or a PhaseLocalizer for one world, from the experiments' settings."""
    check_choice("localizer", localizer, LOCALIZERS)
    if localizer == "tem2d":
        return TEM2d(grid_size=grid_size, sensory_dim=config.embedding_dim, grid_extent=grid_extent,
                     use_memory_to_localize=use_memory, memory_mix=memory_mix, affinity_exponent=affinity_exponent)
    return PhaseLocalizer(sensory_dim=config.embedding_dim, use_memory_to_localize=use_memory, action_noise=action_noise,
                          affinity_exponent=affinity_exponent)


def check_grid(grid_size: int, grid_extent: float) -> None:
    """The belief map's settings, checked before any world is built (TEM2d's own checks)."""
    TEM2d(grid_size=grid_size, sensory_dim=1, grid_extent=grid_extent, memory_size=1, key_cells=1)


def run_localization(name: str, config: TreeWorldConfig, steps: int = 1000, seed: int = 0,
                     memory_mix: float | None | str = "default", action_noise: float | None = None,
                     affinity_exponent: float = 20.0, grid_size: int = 101, grid_extent: float = 1000.0,
                     progress: bool = False, localizer: str = "tem2d") -> Localization:
    """Run experiment ``name``: a path tracer localizing itself with ``localizer`` in the world of ``seed``.

    The result's name is the experiment's, with `` (phase)`` appended for the phase code.
    """
    check_choice("experiment", name, tuple(EXPERIMENTS))
    check_choice("localizer", localizer, LOCALIZERS)
    check_positive_int("steps", steps)
    spec = EXPERIMENTS[name]
    mix = spec.memory_mix if memory_mix == "default" else memory_mix
    mix = None if localizer == "phase" else mix
    noise = spec.action_noise if action_noise is None else action_noise
    if spec.path == "spiral":
        mover = SpiralTracer(time_to_rotate_spiral=spec.spiral[0], distance_increment=spec.spiral[1],
                             action_noise=noise, seed=seed)
    else:
        mover = CircleTracer(action_noise=noise, seed=seed)
    agent = LocalizingAgent(mover, make_localizer(localizer, config, spec.use_memory, mix, noise, affinity_exponent,
                                                  grid_size, grid_extent))
    world = TreeWorld.random_from_config(config, seed=seed, model=agent)
    settings = {"experiment": name, "localizer": localizer, "path": spec.path, "use_memory": spec.use_memory,
                "memory_mix": mix, "action_noise": noise, "affinity_exponent": affinity_exponent, "seed": seed}
    if localizer == "tem2d":
        settings.update(grid_size=grid_size, grid_extent=grid_extent)
    label = name if localizer == "tem2d" else f"{name} (phase)"
    return _localize(label, world, agent, steps, settings, progress)


def summarize(result: Localization) -> dict:
    return result.summary()


@dataclass(frozen=True)
class TrackedVehicleStudy:
    """Localizing a tracked vehicle through action models: one :class:`Localization` per model."""

    results: dict  # action model name -> Localization
    fit_loss: dict  # learned model name -> loss per fitting step
    true_track_width: float
    learned_track_width: float
    learned_gains: list


def tracked_vehicle_experiment(config: TreeWorldConfig, steps: int = 1000, seed: int = 0, calibration_steps: int = 300,
                               fit_steps: int = 300, grid_size: int = 101, grid_extent: float = 1000.0,
                               progress: bool = False, localizer: str = "tem2d") -> TrackedVehicleStudy:
    """Localize a tracked vehicle from its track speeds through a learned action model.

    A calibration run (world ``seed + 1000``, the true movements known) fits a
    :class:`KinematicActionModel` and a :class:`FeedForwardActionModel`; then, in world ``seed``,
    the localizer (TEM2d or the phase code, no memory) localizes the vehicle with each of them
    and with the untrained kinematic model (unit gains, track width 1).
    """
    check_choice("localizer", localizer, LOCALIZERS)
    from cogmap.treeworld.odometry import (
        ActionModelMover,
        FeedForwardActionModel,
        KinematicActionModel,
        TrackedVehicle,
        calibration_run,
        fit_action_model,
    )

    check_positive_int("steps", steps)
    vehicle = TrackedVehicle(seed=seed + 1000)
    speeds, moves = calibration_run(config, seed + 1000, calibration_steps, vehicle)
    with torch.random.fork_rng(devices=[]):  # seeded initial weights, the caller's random state untouched
        torch.manual_seed(seed)
        models = {"untrained kinematic": KinematicActionModel(), "learned kinematic": KinematicActionModel(),
                  "learned feed-forward": FeedForwardActionModel()}
    fits = {name: fit_action_model(model, speeds, moves, fit_steps, lr=0.05 if "kinematic" in name else 0.01)
            for name, model in models.items() if name.startswith("learned")}
    results = {}
    for name, model in models.items():
        tem = make_localizer(localizer, config, False, None, 0.0, 20.0, grid_size, grid_extent)
        agent = LocalizingAgent(ActionModelMover(TrackedVehicle(seed=seed), model), tem)
        world = TreeWorld.random_from_config(config, seed=seed, model=agent)
        settings = {"experiment": "tracked-vehicle", "localizer": localizer, "action_model": name, "seed": seed,
                    "use_memory": False, "memory_mix": None, "action_noise": 0.0, "affinity_exponent": None,
                    "path": "tracked vehicle"}
        if localizer == "tem2d":
            settings.update(grid_size=grid_size, grid_extent=grid_extent)
        label = f"tracked-vehicle, {name} action model" + ("" if localizer == "tem2d" else " (phase)")
        results[name] = _localize(label, world, agent, steps, settings, progress)
    learned = models["learned kinematic"]
    return TrackedVehicleStudy(results, fits, vehicle.track_width, learned.track_width, learned.log_gain.exp().tolist())
