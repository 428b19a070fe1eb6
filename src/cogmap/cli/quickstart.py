"""``cogmap quickstart``: the main job end to end on a laptop CPU in a few minutes."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from cogmap.cli.common import set_threads, write_text_atomic
from cogmap.errors import CogmapError

HELP = "train, evaluate and report a small GRU path integrator on SO(3) x SO(3) in a few minutes"
DESCRIPTION = """\
Run the whole path-integration pipeline on a built-in small configuration: a GRU with 128
units trained on fresh trajectories (the reference setup's data settings: 2 joints on SO(3), 100 steps,
32 vMF cells per joint), then evaluated at 100 and 500 steps against chance and the
stay-still predictor. Training stops after 20 epochs or at a 4-minute time cap, whichever
comes first (on a 2-core machine all 20 epochs took 2.3 minutes one day, and the cap stopped
training after 14.6 epochs on a slower day); the whole command takes 3-5 minutes and the
report says where training stopped. Prints a summary and writes a report, metrics and
figures under --out.
"""

# Chosen to learn well within the time budget on 2 cores: a smaller GRU, no dropout, a
# higher learning rate than the reference setup's full-size run and the log-code encoder of the start
# pose (RESULTS.md: it halves the error at equal budget).
QUICKSTART = {
    "model": {"cell": "gru", "hidden": 128, "dropout": 0.0, "encode": "log"},
    "optim": {"lr": 3e-3, "weight_decay": 1e-4, "min_lr": 1e-5, "grad_clip": 1.0},
    "data": {"source": "online", "n_train": 12_800, "n_val": 1_000, "batch_size": 128, "generation": {}},
    "trainer": {"max_epochs": 20, "max_time": "00:00:04:00", "seed": 0, "name": "gru", "loggers": ["csv"]},
}


# (name, steps as a multiple of the training length, trajectories, trajectories decoded)
EVALUATIONS = (("train_length", 1, 1000, 128), ("long", 5, 500, 32))


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("quickstart", help=HELP, description=DESCRIPTION)
    p.add_argument("--out", type=Path, default=Path("runs/quickstart"), help="output folder (default runs/quickstart)")
    p.add_argument("--epochs", type=int, help=f"training epochs (default {QUICKSTART['trainer']['max_epochs']})")
    p.add_argument("--force", action="store_true", help="replace an earlier quickstart run in --out")
    p.add_argument("--workers", type=int, help="CPU threads to use")
    p.set_defaults(run=run)


def _epochs_done(run_dir: Path) -> int:
    import csv

    with open(run_dir / "metrics.csv", newline="") as handle:
        epochs = [int(row["epoch"]) for row in csv.DictReader(handle) if row.get("epoch", "").strip()]
    return max(epochs) + 1 if epochs else 0


def run(args) -> int:
    from cogmap.pathint.evaluate import evaluate
    from cogmap.pathint.model import load_path_integrator
    from cogmap.pathint.train import TrainConfig, train
    from cogmap.viz.plots import plot_evaluation

    set_threads(args.workers)
    values = json.loads(json.dumps(QUICKSTART))
    values["trainer"]["log_dir"] = str(args.out)
    values["trainer"]["progress"] = True
    if args.epochs is not None:
        if args.epochs < 1:
            raise CogmapError(f"--epochs must be >= 1, got {args.epochs}")
        values["trainer"]["max_epochs"] = args.epochs
    config = TrainConfig.from_dict(values)
    if config.run_dir.exists():
        if not args.force:
            raise CogmapError(f"{config.run_dir} already holds a quickstart run; pass --force to replace it")
        shutil.rmtree(config.run_dir)

    start = time.perf_counter()
    run_dir = train(config)
    trained = time.perf_counter() - start
    epochs, planned = _epochs_done(run_dir), config.trainer.max_epochs
    stopped = (f"stopped by the 4-minute time cap at epoch {epochs} of {planned}" if epochs < planned
               else f"all {planned} epochs")
    ckpt = run_dir / "checkpoints" / "best.ckpt"
    model = load_path_integrator(ckpt)
    generation = model.generation
    report_dir = run_dir / "report"
    results = {}
    for name, factor, n, decode in EVALUATIONS:
        steps = factor * generation.seq_len
        results[name] = evaluate(model, generation, n=n, seq_len=steps, n_decode=decode, progress=True)
        plot_evaluation(results[name], report_dir / f"{name}.png", title=f"quickstart GRU: {steps} steps")
    write_text_atomic(report_dir / "metrics.json", json.dumps({k: v.to_json() for k, v in results.items()}, indent=1))

    short, long = results["train_length"], results["long"]
    lines = ["# cogmap quickstart", "",
             f"GRU, 128 units, trained {trained / 60:.1f} min on fresh trajectories (2 joints on SO(3), "
             f"32 vMF cells per joint): {stopped}. Checkpoint: `{ckpt}`.", "",
             "How to read the table: *chance* is a uniform code (accuracy 1/32); *stay still* predicts the start "
             "pose's code at every step, so it is what a network that never integrates its velocities scores; the "
             "*exact code (floor)* decodes the true target codes, so its geodesic error is the part of any model's "
             "error that comes from reading a pose out of 32 place cells, not from integrating.", "",
             "```", short.table(), "", long.table(), "```", "",
             "![per-step scores, 100 steps](train_length.png)", "", "![per-step scores, 500 steps](long.png)", ""]
    write_text_atomic(report_dir / "report.md", "\n".join(lines))
    m, s = short.model, short.stay_still
    print()
    print(f"quickstart done in {(time.perf_counter() - start) / 60:.1f} min (training: {stopped})")
    print(f"  accuracy {m.accuracy:.3f}  (stay still {s.accuracy:.3f}, chance {short.chance.accuracy:.3f})")
    print(f"  geodesic error {m.geodesic_error_deg:.1f} deg  (stay still {s.geodesic_error_deg:.1f} deg, "
          f"decoding floor {short.exact_code_decoding.geodesic_error_deg:.2f} deg)")
    print(f"  at 500 steps: accuracy {long.model.accuracy:.3f} (stay still {long.stay_still.accuracy:.3f}), "
          f"geodesic error {long.model.geodesic_error_deg:.1f} deg")
    print(f"  report: {report_dir / 'report.md'}")
    print(f"  figures: {report_dir / 'train_length.png'}, {report_dir / 'long.png'}")
    return 0
