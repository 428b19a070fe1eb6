"""How well a trained path integrator tracks its pose, step by step (``cogmap evaluate``), and what it must beat
(``cogmap baseline``).

On fresh validation trajectories of the model's own data settings, at the training length and at
a longer horizon (generalisation in time): accuracy, KL and the geodesic error of the decoded
pose per step, beside chance, holding the start pose ("stay still") and the floor set by decoding
the exact code (:func:`cogmap.pathint.evaluate.evaluate`). The baseline scores chance and
"stay still" alone, on generated trajectories or those of a data file, with no model at all.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cogmap.config import choice
from cogmap.errors import CogmapError, check_positive_int
from cogmap.pathint.data import GenerationConfig
from cogmap.studies.base import Result, draw_figures


@dataclass(frozen=True)
class EvaluationConfig:
    """Settings of the evaluation."""

    checkpoint: str = ""  # the path integrator (.ckpt or run folder); required
    trajectories: int = 5000  # validation trajectories (accuracy and KL)
    seq_len: int | None = None  # steps at 'training length' (None: the model's)
    long: int | None = None  # steps of the long evaluation (None: 5x the training length; 0 skips it)
    decode: int = 256  # trajectories whose poses are decoded for the geodesic error (every step)
    device: str = "cpu"  # cpu, cuda, cuda:N or auto

    def __post_init__(self):
        from cogmap.pathint.evaluate import check_evaluation_arguments

        if not self.checkpoint:
            raise CogmapError("checkpoint is required: the .ckpt (or run folder) to evaluate")
        check_evaluation_arguments(self.trajectories, self.seq_len, self.long, self.decode,
                                   {"n": "trajectories", "n_decode": "decode"})


@dataclass(frozen=True)
class EvaluationResult(Result):
    """One :class:`~cogmap.pathint.evaluate.Evaluation` per horizon (``train_length``, ``long``)."""

    file = "metrics.json"
    config: EvaluationConfig
    evaluations: dict  # horizon name -> Evaluation

    def to_json(self) -> dict:
        return {"checkpoint": self.config.checkpoint, **{name: e.to_json() for name, e in self.evaluations.items()}}

    def draw(self, folder: Path) -> list[Path]:
        from cogmap.viz.plots import plot_evaluation

        label = Path(self.config.checkpoint).name
        return draw_figures(folder, {name: plot_evaluation(e, title=f"{label}: {e.steps} steps")
                                     for name, e in self.evaluations.items()})

    def summary(self) -> str:
        return "\n".join(f"-- {name}: {e.steps} steps\n{e.table()}" for name, e in self.evaluations.items())


def run(config: EvaluationConfig, progress: bool = True, model=None) -> EvaluationResult:
    """The model of ``config.checkpoint`` (or ``model``, already loaded) at each horizon."""
    from cogmap.devices import resolve_device
    from cogmap.loading import PATH_INTEGRATOR, load
    from cogmap.pathint.evaluate import check_trajectories_fit, evaluate

    if model is None:
        model = load(config.checkpoint, resolve_device(config.device), kind=PATH_INTEGRATOR)
    generation = model.generation
    lengths = {"train_length": config.seq_len or generation.seq_len}
    long = generation.seq_len * 5 if config.long is None else config.long
    if long:
        lengths["long"] = long
    for steps in lengths.values():  # every horizon checked before the first is scored
        check_trajectories_fit(dataclasses.replace(generation, seq_len=steps), config.trajectories)
    evaluations = {name: evaluate(model, generation, n=config.trajectories, seq_len=steps, n_decode=config.decode,
                                  progress=progress)
                   for name, steps in lengths.items()}
    return EvaluationResult(config=config, evaluations=evaluations)


@dataclass(frozen=True)
class BaselineConfig:
    """Settings of the trivial predictors' scores: fresh trajectories of ``generation``, or those of a data file."""

    data: str | None = None  # a file written by `cogmap generate` (scored with its own settings); None: generate
    split: str = choice("val", ("train", "val"))  # the split scored (its seeds, when generating)
    trajectories: int = 5000  # generated trajectories (without data)
    generation: GenerationConfig | None = None  # None: the reference setup (without data)

    def __post_init__(self):
        if self.data is not None and self.generation is not None:
            raise CogmapError("data reads a file's own settings; drop generation (or data)")
        check_positive_int("trajectories", self.trajectories)


@dataclass(frozen=True)
class BaselineResult(Result):
    file = "baseline.json"
    config: BaselineConfig
    scores: Any  # cogmap.pathint.evaluate.Baseline

    def to_json(self) -> dict:
        return self.scores.to_json()

    def draw(self, folder: Path) -> list[Path]:
        from cogmap.viz.plots import plot_baseline

        return draw_figures(folder, {"baseline": plot_baseline(self.scores)})

    def summary(self) -> str:
        result = self.scores
        stay, generation = result.stay_still, result.generation
        unit = generation.distance_unit
        lines = [f"{result.trajectories} {result.split} trajectories of {result.steps} steps on {generation.manifold} "
                 f"x{generation.joints}, {generation.cells} {generation.kernel} cells per joint",
                 f"chance accuracy: {result.chance_accuracy:.4f}",
                 f"stay still: accuracy {stay.accuracy:.4f}, KL {stay.kl:.4f}, geodesic error "
                 f"{stay.geodesic_error_deg:.1f} {unit} (means over all steps)"]
        for t in sorted({1, result.steps // 4, result.steps // 2, result.steps} - {0}):
            lines.append(f"  step {t:>4}: accuracy {stay.accuracy_per_step[t - 1]:.4f}, KL {stay.kl_per_step[t - 1]:.4f}, "
                         f"geodesic error {stay.geodesic_error_deg_per_step[t - 1]:.1f} {unit}")
        return "\n".join(lines)


def baseline(config: BaselineConfig, progress: bool = True) -> BaselineResult:
    """Chance and stay-still on the trajectories ``config`` names."""
    from cogmap.pathint.data import TrajectoryFile, iter_generate
    from cogmap.pathint.evaluate import baseline as score

    if config.data is not None:
        if Path(config.data).is_dir():
            raise CogmapError(f"data {config.data} is a folder; give a file written by cogmap generate")
        data = TrajectoryFile(config.data)
        split = data.split(config.split)
        generation = data.config
        batches = (split.trajectories(slice(start, min(len(split), start + 1024))) for start in range(0, len(split), 1024))
    else:
        generation = config.generation or GenerationConfig()
        batches = iter_generate(generation, config.trajectories, config.split)
    return BaselineResult(config=config, scores=score(generation, batches, config.split))
