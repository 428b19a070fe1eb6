"""``cogmap quickstart``: the main job end to end on a laptop CPU in a few minutes."""

from __future__ import annotations

import json
import time
from pathlib import Path

from cogmap.cli.common import add_config_arguments, overrides, set_threads, write_text_atomic
from cogmap.errors import CogmapError

HELP = "train, evaluate and report a small GRU path integrator on SO(3) x SO(3) in under 5 minutes"
DESCRIPTION = """\
Run the whole path-integration pipeline on a built-in small configuration: a GRU with 64
units trained on fresh 50-step trajectories of the reference setup's arm (2 joints on SO(3),
32 vMF cells per joint), then evaluated at 100 and 500 steps (twice and ten times the
training length) against chance and the stay-still predictor. Training has a 3-minute
wall-clock budget in short epochs (each 20 batches, then a small validation and a
checkpoint; an idle 2-core machine trains about 200 of them, a busy one fewer, and none is
lost); the whole command takes under 4 minutes. The report says where training stopped and, in plain words,
whether the model beats the stay-still predictor. Prints a summary and writes a report,
metrics and figures under --out.
"""

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


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("quickstart", help=HELP, description=DESCRIPTION)
    p.add_argument("--out", type=Path, default=Path("runs/quickstart"), help="output folder (default runs/quickstart)")
    p.add_argument("--force", action="store_true", help="replace an earlier quickstart run in --out")
    p.add_argument("--workers", type=int, help="CPU threads to use")
    batches = QUICKSTART["data"]["n_train"] // QUICKSTART["data"]["batch_size"]
    add_config_arguments(p, "trainer.max_epochs=1",
                         f"YAML file of TrainConfig settings over the quickstart's own (epochs of {batches} batches, "
                         f"trainer.max_epochs={QUICKSTART['trainer']['max_epochs']} within the 3-minute budget)")
    p.set_defaults(run=run, settings="cogmap.pathint.train:TrainConfig")


def training_progress(run_dir: Path) -> dict:
    """Where training stopped, from the run's metrics.csv: epochs completed (validated) and batches trained."""
    import csv

    with open(run_dir / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
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
                   "(cogmap train --config configs/estimation/gru.yaml trains the full model).")


def run(args) -> int:
    from cogmap.pathint.evaluate import evaluate
    from cogmap.pathint.model import load_path_integrator
    from cogmap.pathint.train import TrainConfig, train
    from cogmap.runs import check_run_folder
    from cogmap.typed import load
    from cogmap.viz.plots import plot_evaluation

    set_threads(args.workers)
    values = json.loads(json.dumps(QUICKSTART))
    values["trainer"]["log_dir"] = str(args.out)
    values["trainer"]["progress"] = True
    config = load(TrainConfig, args.config, overrides(args), base=values)
    check_run_folder(config.run_dir, args.force)  # the run-folder rules of every trainer, before any work

    start = time.perf_counter()
    run_dir = train(config, force=args.force)
    trained = time.perf_counter() - start
    progress = training_progress(run_dir)
    planned = config.trainer.max_epochs
    stopped_by = "epochs" if progress["epochs_completed"] >= planned else "time budget"
    stopped = (f"all {planned} epochs ({progress['batches']} batches)" if stopped_by == "epochs" else
               f"its 3-minute budget: {progress['epochs_completed']} epochs ({progress['batches']} batches)")
    ckpt = next((c for c in (run_dir / "checkpoints" / "best.ckpt", run_dir / "checkpoints" / "last.ckpt")
                 if c.is_file()), None)
    if ckpt is None:
        raise CogmapError(f"training stopped by the 3-minute budget after {progress['batches']} batches, before its "
                          "first checkpoint: this machine is too busy for the quickstart now; run it again later")
    model = load_path_integrator(ckpt)
    generation = model.generation
    report_dir = run_dir / "report"
    results = {}
    for name, steps, n, decode in EVALUATIONS:
        results[name] = evaluate(model, generation, n=n, seq_len=steps, n_decode=decode, progress=True)
        plot_evaluation(results[name], report_dir / f"{name}.png", title=f"quickstart GRU: {steps} steps")
    short, long = results["short"], results["long"]
    beats, said = verdict(short.model.accuracy, short.stay_still.accuracy)
    training = {**progress, "planned_epochs": planned, "stopped_by": stopped_by, "minutes": round(trained / 60, 2),
                "batches_per_epoch": config.data.n_train // config.data.batch_size, "beats_stay_still": beats}
    write_text_atomic(report_dir / "metrics.json",
                      json.dumps({"training": training, **{k: v.to_json() for k, v in results.items()}}, indent=1))

    lines = ["# cogmap quickstart", "",
             f"GRU, {config.model.hidden} units, trained {trained / 60:.1f} min on fresh {generation.seq_len}-step "
             f"trajectories (2 joints on SO(3), 32 vMF cells per joint): {stopped}. Checkpoint: `{ckpt}`.", "",
             f"**{said}**", "",
             "How to read the table: *chance* is a uniform code (accuracy 1/32); *stay still* predicts the start "
             "pose's code at every step, so it is what a network that never integrates its velocities scores; the "
             "*exact code (floor)* decodes the true target codes, so its geodesic error is the part of any model's "
             "error that comes from reading a pose out of 32 place cells, not from integrating.", "",
             "```", short.table(), "", long.table(), "```", "",
             *[f"![per-step scores, {steps} steps]({name}.png)\n" for name, steps, _, _ in EVALUATIONS]]
    write_text_atomic(report_dir / "report.md", "\n".join(lines))
    m, s = short.model, short.stay_still
    print()
    print(f"quickstart done in {(time.perf_counter() - start) / 60:.1f} min (training: {stopped})")
    print(f"  {said}")
    print(f"  at {short.steps} steps: accuracy {m.accuracy:.3f}  (stay still {s.accuracy:.3f}, chance {short.chance.accuracy:.3f})")
    print(f"  geodesic error {m.geodesic_error_deg:.1f} deg  (stay still {s.geodesic_error_deg:.1f} deg, "
          f"decoding floor {short.exact_code_decoding.geodesic_error_deg:.2f} deg)")
    print(f"  at {long.steps} steps: accuracy {long.model.accuracy:.3f} (stay still {long.stay_still.accuracy:.3f}), "
          f"geodesic error {long.model.geodesic_error_deg:.1f} deg")
    print(f"  report: {report_dir / 'report.md'}")
    print(f"  figures: {', '.join(str(report_dir / f'{name}.png') for name, *_ in EVALUATIONS)}")
    return 0
