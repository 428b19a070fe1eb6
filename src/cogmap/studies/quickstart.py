"""The main job end to end in a few minutes (``cogmap quickstart``): train a small GRU path integrator,
evaluate it beside chance and the stay-still predictor, and say plainly whether it learned to integrate.

:data:`QUICKSTART` is the training preset (a :class:`~cogmap.pathint.train.TrainConfig`),
:data:`EVALUATIONS` the horizons it is scored at; :func:`run` trains and evaluates, and its
:class:`QuickstartResult` writes the report (``report.md``, ``metrics.json``, a figure per horizon).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cogmap.errors import CogmapError
from cogmap.files import write_text_atomic
from cogmap.studies.base import Result, draw_figures

# Chosen to learn within the time budget on a busy 2-core machine (RESULTS.md, "Quickstart"):
# a network first learns to hold its start pose (the stay-still predictor's score) and only
# after about 450 updates starts to integrate, whatever its width or sequence length, so the
# settings buy updates per second: 64 units and 50-step trajectories (4x the updates of 128
# units on 100 steps), no dropout, a higher learning rate than the full-size run (1e-2 never
# left the plateau) and the log-code encoder of the start pose (it halves the error at equal
# budget). Epochs are short, so a time cap loses at most a few seconds of training.
QUICKSTART = {
    "model": {"cell": "gru", "hidden": 64, "dropout": 0.0, "encode": "log"},
    "optim": {"lr": 3e-3, "weight_decay": 1e-4, "min_lr": 1e-5, "grad_clip": 1.0},
    "data": {"source": "online", "n_train": 2_560, "n_val": 256, "batch_size": 128, "generation": {"seq_len": 50}},
    "trainer": {"max_epochs": 300, "max_time": "00:00:03:00", "seed": 0, "name": "gru", "loggers": ["csv"]},
}

# (name, steps, trajectories, trajectories decoded)
EVALUATIONS = (("short", 100, 500, 32), ("long", 500, 200, 8))


def training_progress(run_dir: Path) -> dict:
    """Where training stopped, from the run's metrics.csv: epochs completed (validated) and batches trained."""
    from cogmap.runs import MetricsLog

    rows = MetricsLog(run_dir).rows()
    validated = [int(row["epoch"]) for row in rows if row.get("val/loss", "").strip()]
    steps = [int(row["step"]) for row in rows if row.get("step", "").strip()]
    return {"epochs_completed": max(validated) + 1 if validated else 0, "batches": max(steps) + 1 if steps else 0}


def verdict(model_accuracy: float, stay_accuracy: float) -> tuple[bool, str]:
    """Whether the model beats the stay-still predictor, said plainly."""
    if model_accuracy > stay_accuracy:
        return True, (f"The model beats the stay-still predictor: accuracy {model_accuracy:.3f} against "
                      f"{stay_accuracy:.3f}, so it has learned to integrate its velocities.")
    return False, (f"The model does NOT beat the stay-still predictor (accuracy {model_accuracy:.3f} against "
                   f"{stay_accuracy:.3f}): it has not yet learned to integrate its velocities. Training was too "
                   "short on this machine; run again when it is less busy, or with more time "
                   "(cogmap train --config configs/pathint/gru.yaml trains the full model).")


@dataclass(frozen=True)
class QuickstartResult(Result):
    file = "metrics.json"
    config: Any  # the TrainConfig it trained with
    checkpoint: Path
    training: dict  # where training stopped, and whether the model beats staying still
    evaluations: dict  # name -> Evaluation

    @property
    def verdict(self) -> str:
        short = self.evaluations["short"]
        return verdict(short.model.accuracy, short.stay_still.accuracy)[1]

    def stopped(self) -> str:
        t = self.training
        return (f"all {t['planned_epochs']} epochs ({t['batches']} batches)" if t["stopped_by"] == "epochs" else
                f"its 3-minute budget: {t['epochs_completed']} epochs ({t['batches']} batches)")

    def to_json(self) -> dict:
        return {"training": self.training, **{k: v.to_json() for k, v in self.evaluations.items()}}

    def draw(self, folder: Path) -> list[Path]:
        from cogmap.viz.plots import plot_evaluation

        return draw_figures(folder, {name: plot_evaluation(self.evaluations[name], title=f"quickstart GRU: {steps} steps")
                                     for name, steps, *_ in EVALUATIONS})

    def save(self, folder, figures: bool = True) -> list[Path]:
        written = super().save(folder, figures)
        short, long = self.evaluations["short"], self.evaluations["long"]
        lines = ["# cogmap quickstart", "",
                 f"GRU, {self.config.model.hidden} units, trained {self.training['minutes']:.1f} min on fresh "
                 f"{short.generation.seq_len}-step trajectories (2 joints on SO(3), 32 vMF cells per joint): "
                 f"{self.stopped()}. Checkpoint: `{self.checkpoint}`.", "",
                 f"**{self.verdict}**", "",
                 "How to read the table: *chance* is a uniform code (accuracy 1/32); *stay still* predicts the start "
                 "pose's code at every step, so it is what a network that never integrates its velocities scores; the "
                 "*exact code (floor)* decodes the true target codes, so its geodesic error is the part of any model's "
                 "error that comes from reading a pose out of 32 place cells, not from integrating.", "",
                 "```", short.table(), "", long.table(), "```", "",
                 *[f"![per-step scores, {steps} steps]({name}.png)\n" for name, steps, *_ in EVALUATIONS]]
        report = write_text_atomic(Path(folder) / "report.md", "\n".join(lines))
        return [*written, report]

    def summary(self) -> str:
        short, long = self.evaluations["short"], self.evaluations["long"]
        m, s = short.model, short.stay_still
        return "\n".join([
            f"  training: {self.stopped()}",
            f"  {self.verdict}",
            f"  at {short.steps} steps: accuracy {m.accuracy:.3f}  (stay still {s.accuracy:.3f}, chance "
            f"{short.chance.accuracy:.3f})",
            f"  geodesic error {m.geodesic_error_deg:.1f} deg  (stay still {s.geodesic_error_deg:.1f} deg, "
            f"decoding floor {short.exact_code_decoding.geodesic_error_deg:.2f} deg)",
            f"  at {long.steps} steps: accuracy {long.model.accuracy:.3f} (stay still {long.stay_still.accuracy:.3f}), "
            f"geodesic error {long.model.geodesic_error_deg:.1f} deg"])


def run(config, progress: bool = True, force: bool = False) -> QuickstartResult:
    """Train ``config`` (a TrainConfig; :data:`QUICKSTART` with the CLI's overrides) and evaluate it."""
    from cogmap.pathint.evaluate import evaluate
    from cogmap.pathint.model import load_path_integrator
    from cogmap.pathint.train import train

    start = time.perf_counter()
    run_dir = train(config, force=force)
    trained = time.perf_counter() - start
    progress_made = training_progress(run_dir)
    planned = config.trainer.max_epochs
    stopped_by = "epochs" if progress_made["epochs_completed"] >= planned else "time budget"
    ckpt = next((c for c in (run_dir / "checkpoints" / "best.ckpt", run_dir / "checkpoints" / "last.ckpt")
                 if c.is_file()), None)
    if ckpt is None:
        raise CogmapError(f"training stopped by the 3-minute budget after {progress_made['batches']} batches, before "
                          "its first checkpoint: this machine is too busy for the quickstart now; run it again later")
    model = load_path_integrator(ckpt)
    evaluations = {name: evaluate(model, model.generation, n=n, seq_len=steps, n_decode=decode, progress=progress)
                   for name, steps, n, decode in EVALUATIONS}
    short = evaluations["short"]
    beats, _ = verdict(short.model.accuracy, short.stay_still.accuracy)
    training = {**progress_made, "planned_epochs": planned, "stopped_by": stopped_by, "minutes": round(trained / 60, 2),
                "batches_per_epoch": config.data.n_train // config.data.batch_size, "beats_stay_still": beats}
    return QuickstartResult(config=config, checkpoint=ckpt, training=training, evaluations=evaluations)
