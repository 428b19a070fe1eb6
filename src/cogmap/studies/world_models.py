"""Studies of world models of rotating bodies (Park et al. 2022): how well a trained model predicts, and how
identifiable a domain's poses are from its images.

- :class:`EvaluationConfig` / :func:`evaluate` (``cogmap equivariance evaluate``): next-state
  ranking (Hits@k, MRR) at 1 and ``steps`` steps on fresh trajectories of all the domain's
  actions, the encoder's equivariance error (EE), the distance-invariance error (DIE), each
  joint's equivariant part, and how the latent turns when a joint turns
  (:func:`cogmap.worldmodels.train.evaluate`, :func:`~cogmap.worldmodels.train.latent_rotations`);
- :class:`AmbiguityConfig` / :func:`ambiguity` (``cogmap equivariance ambiguity``): how often a pose
  renders more like a far pose than like itself turned a little
  (:func:`cogmap.worldmodels.domains.pose_ambiguity`);
- :class:`SamplesConfig` / :func:`samples` (``cogmap equivariance samples``): one random
  trajectory of each domain, drawn frame by frame.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cogmap.devices import resolve_device
from cogmap.errors import CogmapError, check_memory, check_positive_int
from cogmap.loading import WORLD_MODEL, load
from cogmap.studies.base import Result, draw_figures
from cogmap.worldmodels import grid
from cogmap.worldmodels.data import trajectories
from cogmap.worldmodels.domains import DOMAINS, get_domain, pose_ambiguity
from cogmap.worldmodels.objects import RENDERERS, ObjectWorldModel, latent_grid, transitions
from cogmap.worldmodels.train import evaluate as evaluate_model
from cogmap.worldmodels.train import latent_rotations, summary_line


def _domains(names, grid_world: bool = False) -> None:
    for name in names:
        if grid_world and name in RENDERERS:
            continue
        if grid_world and name not in DOMAINS:
            raise CogmapError(f"domain must be one of {', '.join([*DOMAINS, *RENDERERS])}, got {name!r}")
        get_domain(name)


@dataclass(frozen=True)
class EvaluationConfig:
    """Settings of a world model's evaluation."""

    source: str = ""  # a run folder of `cogmap equivariance train`, or a model file; required
    trajectories: int = 1000  # test trajectories
    steps: int = 10  # actions per test trajectory
    seed: int = 12_345  # of the test trajectories
    device: str = "cpu"  # cpu, cuda, cuda:N or auto
    # The actions the test trajectories are drawn from (names or indices; None: all the domain's), e.g. only
    # those a model never saw in training ([yaw-, pitch-, roll-] for one trained on the "+" turns).
    actions: list | None = None

    def __post_init__(self):
        if not self.source:
            raise CogmapError("source is required: a run folder of `cogmap equivariance train`, or model.pt")
        check_positive_int("trajectories", self.trajectories, 2)
        check_positive_int("steps", self.steps)
        if self.actions is not None and (not isinstance(self.actions, list) or not self.actions):
            raise CogmapError(f"actions must be a list of action names or indices, got {self.actions!r}")


@dataclass(frozen=True)
class EvaluationResult(Result):
    file = "evaluation.json"
    config: EvaluationConfig
    scores: dict  # cogmap.worldmodels.train.evaluate's result
    # cogmap.worldmodels.train.latent_rotations's result; for a grid-world model, objects.latent_grid's
    turns: dict

    def to_json(self) -> dict:
        return self.scores

    def draw(self, folder: Path) -> list[Path]:
        from cogmap.viz.worldmodels import plot_latent_grid, plot_latent_rotations, plot_misses

        if "slots" in self.turns:  # a model of the grid world
            figures = {"latent_grid": plot_latent_grid(self.turns)}
        else:
            ranks = ", ".join(str(j["rank"]) for j in self.scores["equivariant_part"].values())
            figures = {"latent_rotations": plot_latent_rotations(
                self.turns, title=f"how the latent turns when a joint turns (its equivariant part has rank {ranks}; "
                                  f"a rank-1 latent leaves the Kabsch angle undetermined)")}
        if "misses" in self.scores:  # evaluations written before cogmap measured them have none
            figures["misses"] = plot_misses(self.scores)
        return draw_figures(folder, figures)

    def summary(self) -> str:
        lines = [summary_line(self.scores, self.config.steps)]
        steps = self.config.steps
        candidates = self.scores.get("candidates")
        if candidates is not None:
            sizes = candidates["sizes"]
            lines.append(f"  Hits@1 among {' / '.join(str(s) for s in sizes)} candidates: " + "; ".join(
                " / ".join(f"{100 * candidates[f'hits@1_{h}_step'][str(s)]:.1f}" for s in sizes) + f"% ({h} step"
                + ("s)" if h > 1 else ")") for h in sorted({1, steps})))
        for horizon, miss in self.scores.get("misses", {}).items():
            if miss["count"]:
                rival, h, unit = miss["rival"], int(horizon.split("_")[0]), miss["unit"]
                lines.append(f"  {miss['count']} misses at {h} step{'s' if h > 1 else ''}: the state ranked first lies "
                             f"a median {rival['median']:.1f} {unit} from the truth (quartiles {rival['q25']:.1f}-"
                             f"{rival['q75']:.1f}, at most {rival['max']:.1f}); the nearest test state, a median "
                             f"{miss['nearest']['missed']:.1f} {unit} for these, {miss['nearest']['all']:.1f} for all")
                if "unavoidable" in miss:
                    lines.append(f"    {miss['unavoidable']} of the {self.scores['trajectories']} unavoidable: their "
                                 f"state is another trajectory's, and only one of each such group can rank first")
                displaced = miss.get("objects_displaced")
                if displaced:
                    lines.append("    objects on other cells in the state taken: " + ", ".join(
                        f"{count}{' (the same state)' if count == '0' else ''}: {100 * share:.0f}%"
                        for count, share in displaced.items() if share))
                axes = miss.get("body_axis")
                if axes and axes["confusions"]:
                    lines.append(f"    {axes['confusions']} of them more than 90 deg away, turned about the body's "
                                 f"x / y / z axis: {100 * axes['x']:.0f} / {100 * axes['y']:.0f} / "
                                 f"{100 * axes['z']:.0f}%")
        for name, entry in self.scores.get("per_action", {}).items():
            lines.append(f"  first action {name:>12} ({entry['trajectories']:4d} trajectories): Hits@1 "
                         f"{100 * entry['hits@1_1_step']:.1f}% (1 step), {100 * entry[f'hits@1_{steps}_step']:.1f}% "
                         f"({steps} steps)")
        return "\n".join(lines)


def evaluate(config: EvaluationConfig, progress: bool = True, model=None) -> EvaluationResult:
    """The world model of ``config.source`` (or ``model``, already loaded) on fresh trajectories."""
    if model is None:
        model = load(config.source, resolve_device(config.device), kind=WORLD_MODEL)
    scores = evaluate_model(model, config.trajectories, config.steps, config.seed, actions=config.actions)
    if isinstance(model, ObjectWorldModel):
        turns = latent_grid(model, seed=config.seed, domain=scores["domain"])
    else:
        turns = latent_rotations(model, seed=config.seed)
    return EvaluationResult(config=config, scores=scores, turns=turns)


def default_evaluation_folder(source: str | Path) -> Path:
    """Where an evaluation goes by default: ``evaluation/`` in the run folder (beside its checkpoints)."""
    source = Path(source)
    folder = source if source.is_dir() else source.parent
    return (folder.parent if folder.name == "checkpoints" else folder) / "evaluation"


@dataclass(frozen=True)
class AmbiguityConfig:
    """Settings of the identifiability measure of a domain's images."""

    domain: str = "teapot"  # teapot, arm or planar_arm
    size: int = 32  # image side
    queries: int = 500  # random poses tested
    references: int = 20_000  # random poses searched
    near: float = 10.0  # the small turn, degrees
    far: float = 45.0  # far-away poses are more than this many degrees away
    ratio: float = 0.5  # ambiguous: a far pose renders closer than ratio times the small turn
    seed: int = 0

    def __post_init__(self):
        _domains([self.domain])
        check_positive_int("size", self.size, 2)
        check_positive_int("queries", self.queries)
        check_positive_int("references", self.references)
        if not 0 < self.near < self.far:
            raise CogmapError(f"need 0 < near < far, got near={self.near} and far={self.far}")
        if not self.ratio > 0:
            raise CogmapError(f"ratio must be positive, got {self.ratio}")
        # Every query's and reference's image, and a renderer's float64 buffers of one image.
        check_memory(4 * (self.queries + self.references + 16) * self.size**2,
                     f"{self.queries + self.references:,} images of {self.size:,} x {self.size:,} pixels "
                     f"(size={self.size}, queries, references)", "ask for smaller images or fewer poses")


@dataclass(frozen=True)
class AmbiguityResult(Result):
    file = "ambiguity.json"
    config: AmbiguityConfig
    measured: dict  # pose_ambiguity's result

    def to_json(self) -> dict:
        return self.measured

    def summary(self) -> str:
        m, c = self.measured, self.config
        return (f"{c.domain}: {100 * m['ambiguous']:.1f}% of {c.queries} poses render closer to a pose over "
                f"{c.far:g} degrees away than {c.ratio:g} x to themselves turned {c.near:g} degrees")


def ambiguity(config: AmbiguityConfig, progress: bool = True) -> AmbiguityResult:
    measured = pose_ambiguity(config.domain, config.size, config.queries, config.references, math.radians(config.near),
                              math.radians(config.far), config.seed, config.ratio)
    return AmbiguityResult(config=config, measured=measured)


@dataclass(frozen=True)
class SamplesConfig:
    """Settings of the figure of one random trajectory per domain."""

    # the rotating bodies, and the grid world drawn as shapes and as cubes (always 10 pixels a cell)
    domains: list[str] = dataclasses.field(default_factory=lambda: ["teapot", "arm", "planar_arm", "shapes", "cubes"])
    size: int = 32  # image side of the rotating bodies
    steps: int = 7  # actions per trajectory
    seed: int = 3

    def __post_init__(self):
        if not self.domains:
            raise CogmapError("domains must name at least one domain")
        _domains(self.domains, grid_world=True)
        check_positive_int("size", self.size, 2)
        check_positive_int("steps", self.steps)
        check_memory(4 * len(self.domains) * (self.steps + 17) * max(self.size**2, 3 * 50**2),
                     f"{len(self.domains)} x {self.steps + 1} images of {self.size:,} x {self.size:,} pixels "
                     f"(size={self.size}, steps={self.steps})", "ask for smaller images or fewer steps")


@dataclass(frozen=True)
class SamplesResult(Result):
    file = "samples.json"
    config: SamplesConfig
    frames: dict  # domain -> (steps + 1, size, size) images
    captions: dict  # domain -> the action before each frame

    def to_json(self) -> dict:
        return {"captions": self.captions}

    def draw(self, folder: Path) -> list[Path]:
        from cogmap.viz.worldmodels import plot_trajectories

        c = self.config
        return draw_figures(folder, {"samples": plot_trajectories(
            self.frames, captions=self.captions,
            title=f"{c.steps} random actions each (rotating bodies: 30-degree turns, {c.size} x {c.size} pixels; "
                  f"grid world: pushes of object 0-4 by one cell)")})

    def summary(self) -> str:
        return "\n".join(f"{name}: {' '.join(words)}" for name, words in self.captions.items())


def samples(config: SamplesConfig, progress: bool = True) -> SamplesResult:
    frames: dict[str, Any] = {}
    captions = {}
    for name in config.domains:
        if name in RENDERERS:
            data = transitions(1, config.steps, seed=config.seed, render=RENDERERS[name])
            frames[name] = data.images[0]
            captions[name] = ["start"] + [grid.action_names(5)[int(a)] for a in data.actions[0]]
            continue
        domain = get_domain(name)
        data = trajectories(1, config.steps, None, size=config.size, seed=config.seed, domain=domain)
        frames[name] = data.observations[0, :, 0]
        captions[name] = ["start"] + [domain.action_names[int(a)] for a in data.actions[0]]
    return SamplesResult(config=config, frames=frames, captions=captions)
