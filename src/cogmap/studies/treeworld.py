"""Studies in Tree World: one forager's run, survival over many worlds, and the localization experiments.

Each takes the world's rules as its ``world`` section (a :class:`~cogmap.treeworld.TreeWorldConfig`,
``world.num_trees=10`` on the command line):

- :class:`ForagingRunConfig` / :func:`forage` (``cogmap treeworld run``): one agent in one seeded
  world, its record, a picture of the run (and, for a self-localizing forager, where it believed
  it was), an animation on request;
- :class:`SurvivalConfig` / :func:`survival` (``cogmap treeworld survival``): agents over seeded
  worlds with death allowed, at each motor noise (:mod:`cogmap.treeworld.experiments`);
- :class:`LocalizationConfig` / :func:`localize` (``cogmap treeworld localize``): the Tree World
  specification's localization experiments with TEM2d or the phase code
  (:mod:`cogmap.treeworld.localize`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cogmap.config import choice
from cogmap.errors import CogmapError, check_memory, check_positive_int
from cogmap.studies.base import Result, draw_figures
from cogmap.treeworld import TreeWorldConfig
from cogmap.treeworld.agents import AGENTS
from cogmap.treeworld.localize import ALL_EXPERIMENTS, LOCALIZERS, check_grid

ANIMATIONS = ("none", "gif", "mp4")



def _once(key: str, values) -> None:
    """Refuse a list that names an item twice (it would run twice and keep one)."""
    seen = [v for i, v in enumerate(values) if v in list(values)[:i]]
    if seen:
        raise CogmapError(f"{key} lists {seen[0]!r} twice: {list(values)!r}")


def _noise(key: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise CogmapError(f"{key} must be a finite number >= 0, got {value}")


def _check_animation(animation: str) -> None:
    """Refuse, before any work, an animation this machine cannot write (an .mp4 without ffmpeg)."""
    from cogmap.viz.treeworld import check_animation_path

    if animation != "none":
        check_animation_path(Path(f"run.{animation}"))


@dataclass(frozen=True)
class ForagingRunConfig:
    """Settings of one agent's run in one world."""

    agent: str = choice("random", AGENTS)  # the controller
    steps: int = 1000
    seed: int = 0  # of the world and the agent
    allow_death: bool = False  # stop when health reaches 0 (else run on)
    action_noise: float = 0.0  # odometry noise of the path tracers, motor noise of the self-localizing foragers (sd per axis)
    animation: str = choice("none", ANIMATIONS)  # also write run.gif or run.mp4 (needs ffmpeg)
    stride: int = 5  # steps per animation frame
    world: TreeWorldConfig = dataclasses.field(default_factory=TreeWorldConfig)

    def __post_init__(self):
        check_positive_int("steps", self.steps)
        check_positive_int("stride", self.stride)
        _noise("action_noise", self.action_noise)
        if self.agent == "random" and self.action_noise:
            raise CogmapError(f"the random agent has no motor or odometry noise; action_noise={self.action_noise} "
                              "applies to the path tracers and the drive foragers")


@dataclass(frozen=True)
class ForagingRunResult(Result):
    file = "metrics.json"
    config: ForagingRunConfig
    world: Any  # the TreeWorld after the run
    record: dict  # name -> tensor, one row per step
    metrics: dict

    def save(self, folder, figures: bool = True) -> list[Path]:
        import numpy as np

        from cogmap.files import atomic_path

        written = super().save(folder, figures)
        with atomic_path(Path(folder) / "record.npz") as tmp:
            with open(tmp, "wb") as handle:
                np.savez_compressed(handle, **{k: v.numpy() for k, v in self.record.items()})
        return [*written, Path(folder) / "record.npz"]

    def to_json(self) -> dict:
        return self.metrics

    def draw(self, folder: Path) -> list[Path]:
        from cogmap.treeworld.agents import SelfLocalizingForager
        from cogmap.viz.treeworld import animate_run, plot_run, plot_self_localization

        c, m, layout = self.config, self.metrics, self.world.batched.layout
        outcome = (f"{'alive' if m['alive'] else 'dead'} after {m['steps']:,} steps, {m['fruit_eaten']} fruit "
                   f"({m['poisonous_fruit_eaten']} poisonous)")
        figures = {"run": plot_run(layout, self.record, c.world, title=f"{c.agent} agent, world {c.seed}: {outcome}")}
        model = self.world.agent.model
        if isinstance(model, SelfLocalizingForager) and model.localizer is not None:
            figures["localization"] = plot_self_localization(
                layout, self.record, model, c.world, title=(
                    f"{c.agent}, motor noise {c.action_noise:g}, world {c.seed}: {outcome};\nlocalization error "
                    f"{m['localization_error_mean']:.1f} on average, {m['localization_error_final']:.1f} at the end"))
        written = draw_figures(folder, figures)
        if c.animation != "none":
            movie = Path(folder) / f"run.{c.animation}"
            animate_run(layout, self.record, c.world, movie, stride=c.stride, progress=True)
            written.append(movie)
        return written

    def summary(self) -> str:
        m = self.metrics
        return (f"{self.config.agent}: {m['steps']} steps, alive {m['alive']}, health {m['health']:.0f}, "
                f"fruit {m['fruit_eaten']} ({m['poisonous_fruit_eaten']} poisonous)")


def forage(config: ForagingRunConfig, progress: bool = True) -> ForagingRunResult:
    """One run of ``config.agent`` in the world of ``config.seed``."""
    import numpy as np

    from cogmap.treeworld import TreeWorld
    from cogmap.treeworld.agents import SelfLocalizingForager, make_agent

    _check_animation(config.animation)
    world = TreeWorld.random_from_config(config.world, seed=config.seed, model=make_agent(
        config.agent, config.world, seed=config.seed, action_noise=config.action_noise))
    world.run(config.steps, record=True, allow_death=config.allow_death, progress=progress)
    metrics = {"agent": config.agent, "seed": config.seed, "steps_asked": config.steps, **world.summary()}
    model = world.agent.model
    if isinstance(model, SelfLocalizingForager) and model.localizer is not None:
        metrics["localization_error_mean"] = float(np.mean(model.errors))
        metrics["localization_error_final"] = model.errors[-1]
    return ForagingRunResult(config=config, world=world, record=world.record.as_tensors(), metrics=metrics)


@dataclass(frozen=True)
class SurvivalConfig:
    """Settings of the survival comparison: every agent in the worlds of seeds first_seed.., death allowed."""

    agents: list[str] = dataclasses.field(default_factory=lambda: ["random", "drive"])
    worlds: int = 50  # per agent (and motor noise)
    first_seed: int = 0  # the worlds' seeds are first_seed .. first_seed + worlds - 1 (fresh worlds: a new range)
    steps: int = 5000  # step cap per run
    action_noise: list[float] = dataclasses.field(default_factory=lambda: [0.0])  # motor noise sds, unperceived; every agent runs at each
    # The drive foragers keep each tree where they first met it (else it moves to where it is sensed
    # again, which keeps the map in a drifting estimate's frame); drive-landmarks always keeps a fixed map.
    fixed_map: bool = False
    batch: int = 100  # worlds stepped together for the drive foragers (memory grows with it)
    world: TreeWorldConfig = dataclasses.field(default_factory=TreeWorldConfig)

    def __post_init__(self):
        unknown = [a for a in self.agents if a not in AGENTS]
        if unknown or not self.agents:
            raise CogmapError(f"agents must name agents from {', '.join(AGENTS)}, got {self.agents!r}")
        _once("agents", self.agents)
        if not self.action_noise:
            raise CogmapError("action_noise must hold at least one noise level, e.g. [0, 1, 2]")
        for noise in self.action_noise:
            _noise("action_noise", noise)
        _once("action_noise", self.action_noise)
        if "random" in self.agents and any(self.action_noise):
            raise CogmapError(f"the random agent has no motor noise, so action_noise={list(self.action_noise)} would "
                              "label runs it ignores; compare it at action_noise=[0] in a survival of its own")
        for key in ("worlds", "steps", "batch"):
            check_positive_int(key, getattr(self, key))
        # What the results hold per run (its summary and its localization error every 100 steps).
        runs = self.worlds * len(self.agents) * len(self.action_noise)
        check_memory(runs * (1000 + 8 * (self.steps // 100)), f"{runs:,} runs of up to {self.steps:,} steps "
                     f"(worlds={self.worlds}, agents, action_noise)", "ask for fewer worlds")


@dataclass(frozen=True)
class SurvivalResult(Result):
    file = "survival.json"
    config: SurvivalConfig
    results: dict  # "agent" or "agent, noise s" -> {"summary", "runs"}
    curves: dict  # the same keys -> the fraction alive at every step

    def to_json(self) -> dict:
        return self.results

    def draw(self, folder: Path) -> list[Path]:
        from cogmap.viz.treeworld import plot_survival

        errors = {key: [r["localization_error_every_100"] for r in result["runs"]] for key, result in self.results.items()
                  if all("localization_error_every_100" in r for r in result["runs"])}
        return draw_figures(folder, {"survival": plot_survival(
            self.curves, title=f"Tree World survival, {self.config.worlds} worlds", errors=errors)})

    def summary(self) -> str:
        return "\n".join(survival_line(key, result["summary"], self.config.steps) for key, result in self.results.items())


def survival_line(key: str, s: dict, steps: int) -> str:
    where = f", localization error mean {s['localization_error_mean']:.1f}" if "localization_error_mean" in s else ""
    return (f"{key:>8}: survival mean {s['survival_mean']:.0f} median {s['survival_median']:.0f} steps, "
            f"alive at {steps}: {s['alive_at_cap']:.2f}, fruit {s['fruit_eaten_mean']:.1f} "
            f"(poisonous {s['poisonous_fruit_eaten_mean']:.1f}){where}")


def survival(config: SurvivalConfig, progress: bool = True) -> SurvivalResult:
    from cogmap.treeworld.experiments import (
        BATCHED_SOURCES,
        batched_survival_runs,
        survival_curve,
        survival_runs,
        survival_summary,
    )

    c = config
    seeds = range(c.first_seed, c.first_seed + c.worlds)
    results, curves = {}, {}
    for noise in c.action_noise:
        for agent in c.agents:
            key = agent if list(c.action_noise) == [0.0] else f"{agent}, noise {noise:g}"
            if agent in BATCHED_SOURCES:
                rows = batched_survival_runs(agent, c.world, seeds, c.steps, progress=progress,
                                             action_noise=noise, batch=c.batch, reanchor=not c.fixed_map)
            else:
                rows = survival_runs(agent, c.world, seeds, c.steps, progress=progress, action_noise=noise)
            results[key] = {"summary": {**survival_summary(rows, c.steps), "action_noise": noise,
                                        "fixed_map": c.fixed_map or agent == "drive-landmarks"}, "runs": rows}
            curves[key] = survival_curve(rows, c.steps)
            if progress:
                print(survival_line(key, results[key]["summary"], c.steps), flush=True)
    return SurvivalResult(config=config, results=results, curves=curves)


@dataclass(frozen=True)
class LocalizationConfig:
    """Settings of the localization experiments; every localizer runs every experiment."""

    experiments: list[str] = dataclasses.field(default_factory=lambda: ["spiral-memory"])  # or ["all"]
    localizers: list[str] = dataclasses.field(default_factory=lambda: ["tem2d"])  # tem2d, phase
    steps: int = 1000
    seed: int = 0  # of the world and the odometry noise
    memory_mix: float | None = None  # a fixed memory weight in [0, 1] (None: the experiment's)
    affinity: bool = False  # the affinity-gated memory weight instead of a fixed one
    affinity_exponent: float = 20.0
    action_noise: float | None = None  # odometry noise sd per axis (None: the experiment's)
    grid_size: int = 101  # cells per side of TEM2d's belief map, odd
    grid_extent: float = 1000.0  # world units the map spans
    animation: bool = False  # also an animation of the belief map per experiment (.gif)
    stride: int = 5  # steps per animation frame
    world: TreeWorldConfig = dataclasses.field(default_factory=TreeWorldConfig)

    def __post_init__(self):
        if not self.localizers or any(e not in LOCALIZERS for e in self.localizers):
            raise CogmapError(f"localizers must name localizers from {', '.join(LOCALIZERS)}, got {self.localizers!r}")
        _once("localizers", self.localizers)
        _once("experiments", self.experiments)
        if not self.names or any(n not in ALL_EXPERIMENTS for n in self.names):
            raise CogmapError(f"experiments must name experiments from {', '.join(ALL_EXPERIMENTS)} (or [all]), "
                              f"got {self.experiments!r}")
        check_positive_int("steps", self.steps)
        check_positive_int("stride", self.stride)
        if self.memory_mix is not None and not 0 <= self.memory_mix <= 1:
            raise CogmapError(f"memory_mix must be in [0, 1], got {self.memory_mix}")
        _noise("action_noise", self.action_noise)
        check_grid(self.grid_size, self.grid_extent)

    @property
    def names(self) -> list[str]:
        return list(ALL_EXPERIMENTS) if list(self.experiments) == ["all"] else list(self.experiments)


@dataclass(frozen=True)
class LocalizationResult(Result):
    file = "localization.json"
    config: LocalizationConfig
    runs: list  # Localization per (localizer, experiment)

    def to_json(self) -> dict:
        return {"summary": {r.name: r.summary() for r in self.runs}, "per_step": {r.name: r.per_step() for r in self.runs}}

    def draw(self, folder: Path) -> list[Path]:
        from cogmap.viz.treeworld import animate_run, plot_localization

        written = draw_figures(folder, {"localization": plot_localization(self.runs)})
        if self.config.animation:
            for result in self.runs:
                name = result.name.replace(", ", "-").replace(" (", "-").replace(")", "").replace(" ", "-")
                movie = Path(folder) / f"{name}.gif"
                animate_run(result.layout, {**result.record, "estimate": result.estimate}, self.config.world, movie,
                            stride=self.config.stride, belief_extent=result.belief_extent, progress=True)
                written.append(movie)
        return written

    def summary(self) -> str:
        lines = []
        for result in self.runs:
            s = result.summary()
            lines.append(f"{result.name:>20}: error (belief mean to truth) final {s['error_mean_final']:.1f}, average "
                         f"{s['error_mean_average']:.1f}, max {s['error_mean_max']:.1f} world units; estimate "
                         f"{s['distance_from_origin_estimate_final']:.0f} from the origin, truth "
                         f"{s['distance_from_origin_true_final']:.0f}")
        return "\n".join(lines)


def localize(config: LocalizationConfig, progress: bool = True) -> LocalizationResult:
    from cogmap.treeworld.localize import run_localization, tracked_vehicle_experiment

    c = config
    mix = None if c.affinity else (c.memory_mix if c.memory_mix is not None else "default")
    runs = []
    for localizer in c.localizers:
        for name in c.names:
            if name == "tracked-vehicle":
                study = tracked_vehicle_experiment(c.world, c.steps, c.seed, grid_size=c.grid_size,
                                                   grid_extent=c.grid_extent, progress=progress, localizer=localizer)
                if progress:
                    print(f"tracked vehicle: learned track width {study.learned_track_width:.3f} (true "
                          f"{study.true_track_width:.3f}), track gains "
                          f"{', '.join(f'{g:.3f}' for g in study.learned_gains)} (true 1)", flush=True)
                for result in study.results.values():
                    result.settings.update(learned_track_width=study.learned_track_width,
                                           true_track_width=study.true_track_width)
                    runs.append(result)
            else:
                runs.append(run_localization(name, c.world, c.steps, c.seed, mix, c.action_noise, c.affinity_exponent,
                                             c.grid_size, c.grid_extent, progress=progress, localizer=localizer))
    return LocalizationResult(config=config, runs=runs)
