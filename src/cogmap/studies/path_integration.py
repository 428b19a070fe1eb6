"""How well a trained path integrator tracks its pose, step by step (``cogmap evaluate``).

On fresh validation trajectories of the model's own data settings, at the training length and at
a longer horizon (generalisation in time): accuracy, KL and the geodesic error of the decoded
pose per step, beside chance, holding the start pose ("stay still") and the floor set by decoding
the exact code (:func:`cogmap.pathint.evaluate.evaluate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cogmap.errors import CogmapError
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
    from cogmap.pathint.evaluate import evaluate

    if model is None:
        model = load(config.checkpoint, resolve_device(config.device), kind=PATH_INTEGRATOR)
    generation = model.generation
    lengths = {"train_length": config.seq_len or generation.seq_len}
    long = generation.seq_len * 5 if config.long is None else config.long
    if long:
        lengths["long"] = long
    evaluations = {name: evaluate(model, generation, n=config.trajectories, seq_len=steps, n_decode=config.decode,
                                  progress=progress)
                   for name, steps in lengths.items()}
    return EvaluationResult(config=config, evaluations=evaluations)
