"""The seed's localization experiments: a path tracer in Tree World localizing itself with TEM2d.

Each experiment runs one world with a path-tracing agent that feeds its movement report
(odometry) and its smell to a :class:`TEM2d`, and measures how far the belief is from the
truth at every step: the distance from the true location to the belief's mean and to its
mode, in world units.

- ``spiral-memory``: outward spiral, memory on, mixed in with weight 1/2 (the seed's code).
- ``spiral-no-memory``: the same without memory: pure path integration by convolution.
- ``circle-memory``: a circle of radius 100 through the origin, memory on (weight 1/2).
- ``noisy-actions``: the circle with odometry noise (sd 1 world unit per axis), no memory.
- ``noisy-actions-memory``: the same with the affinity-gated memory correction.
- ``tracked-vehicle``: a differential-drive agent heard only through its track speeds,
  localized through a learned action model (see :func:`tracked_vehicle_experiment`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cogmap.errors import check_choice, check_positive_int
from cogmap.treeworld.agents import CircleTracer, SpiralTracer
from cogmap.treeworld.config import TreeWorldConfig
from cogmap.treeworld.kernels import belief_mode
from cogmap.treeworld.simulation import TreeWorld
from cogmap.treeworld.tem import LocalizingAgent, TEM2d


@dataclass(frozen=True)
class Experiment:
    path: str  # "spiral" or "circle"
    use_memory: bool
    memory_mix: float | None = 0.5  # None: the affinity-gated weight
    action_noise: float = 0.0


EXPERIMENTS = {
    "spiral-memory": Experiment("spiral", True),
    "spiral-no-memory": Experiment("spiral", False),
    "circle-memory": Experiment("circle", True),
    "noisy-actions": Experiment("circle", False, action_noise=1.0),
    "noisy-actions-memory": Experiment("circle", True, memory_mix=None, action_noise=1.0),
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

    @property
    def belief_extent(self) -> float:
        """Half the width of the area the belief map covers, in world units."""
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
            "distance_from_origin_true_final": float(self.truth[-1].norm()),
            "distance_from_origin_estimate_final": float(self.estimate[-1].norm()),
        }

    def per_step(self) -> dict:
        return {"error_mean": self.error_mean.tolist(), "error_mode": self.error_mode.tolist(),
                "loss": self.loss.tolist(), "memory_weight": self.memory_weight.tolist()}


def _localize(name: str, world: TreeWorld, agent: LocalizingAgent, steps: int, settings: dict,
              progress: bool) -> Localization:
    record = world.run(steps, record=True, allow_death=False, progress=progress).as_tensors()
    truth = record["location"][:-1]  # where each observation, hence each belief, was made
    estimate = torch.stack(agent.estimates)
    mode = belief_mode(record["belief"], agent.tem.grid_scale)
    return Localization(name, {**settings, "grid_scale": agent.tem.grid_scale, "steps": steps}, truth, estimate,
                        (estimate - truth).norm(dim=-1), (mode - truth).norm(dim=-1), torch.tensor(agent.losses),
                        torch.tensor(agent.memory_weights), record, world.batched.layout)


def check_grid(grid_size: int, grid_extent: float) -> None:
    """The belief map's settings, checked before any world is built (TEM2d's own checks)."""
    TEM2d(grid_size=grid_size, sensory_dim=1, grid_extent=grid_extent, memory_size=1, key_cells=1)


def run_localization(name: str, config: TreeWorldConfig, steps: int = 1000, seed: int = 0,
                     memory_mix: float | None | str = "default", action_noise: float | None = None,
                     affinity_exponent: float = 20.0, grid_size: int = 101, grid_extent: float = 1000.0,
                     progress: bool = False) -> Localization:
    """Run experiment ``name``: a path tracer localizing itself with TEM2d in the world of ``seed``."""
    check_choice("experiment", name, tuple(EXPERIMENTS))
    check_positive_int("steps", steps)
    spec = EXPERIMENTS[name]
    mix = spec.memory_mix if memory_mix == "default" else memory_mix
    noise = spec.action_noise if action_noise is None else action_noise
    mover = SpiralTracer(action_noise=noise, seed=seed) if spec.path == "spiral" else CircleTracer(action_noise=noise, seed=seed)
    tem = TEM2d(grid_size=grid_size, sensory_dim=config.embedding_dim, grid_extent=grid_extent,
                use_memory_to_localize=spec.use_memory, memory_mix=mix, affinity_exponent=affinity_exponent)
    agent = LocalizingAgent(mover, tem)
    world = TreeWorld.random_from_config(config, seed=seed, model=agent)
    settings = {"experiment": name, "path": spec.path, "use_memory": spec.use_memory, "memory_mix": mix,
                "action_noise": noise, "affinity_exponent": affinity_exponent, "grid_size": grid_size,
                "grid_extent": grid_extent, "seed": seed}
    return _localize(name, world, agent, steps, settings, progress)


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
                               progress: bool = False) -> TrackedVehicleStudy:
    """Localize a tracked vehicle from its track speeds through a learned action model.

    A calibration run (world ``seed + 1000``, the true movements known) fits a
    :class:`KinematicActionModel` and a :class:`FeedForwardActionModel`; then, in world ``seed``,
    TEM2d (no memory) localizes the vehicle with each of them and with the untrained kinematic
    model (unit gains, track width 1).
    """
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
        tem = TEM2d(grid_size=grid_size, sensory_dim=config.embedding_dim, grid_extent=grid_extent,
                    use_memory_to_localize=False)
        agent = LocalizingAgent(ActionModelMover(TrackedVehicle(seed=seed), model), tem)
        world = TreeWorld.random_from_config(config, seed=seed, model=agent)
        settings = {"experiment": "tracked-vehicle", "action_model": name, "seed": seed, "grid_size": grid_size,
                    "grid_extent": grid_extent, "use_memory": False, "memory_mix": None, "action_noise": 0.0,
                    "affinity_exponent": None, "path": "tracked vehicle"}
        results[name] = _localize(f"tracked-vehicle, {name} action model", world, agent, steps, settings, progress)
    learned = models["learned kinematic"]
    return TrackedVehicleStudy(results, fits, vehicle.track_width, learned.track_width, learned.log_gain.exp().tolist())
