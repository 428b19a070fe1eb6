"""``cogmap quickstart``: the main job end to end on a laptop CPU in a few minutes."""

from __future__ import annotations

import json
import time
from pathlib import Path

from cogmap.cli.common import add_config_arguments, overrides, set_threads
from cogmap.studies import quickstart

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

def add_parser(subparsers) -> None:
    p = subparsers.add_parser("quickstart", help=HELP, description=DESCRIPTION)
    p.add_argument("--out", type=Path, default=Path("runs/quickstart"), help="output folder (default runs/quickstart)")
    p.add_argument("--force", action="store_true", help="replace an earlier quickstart run in --out")
    p.add_argument("--workers", type=int, help="CPU threads to use")
    preset = quickstart.QUICKSTART
    batches = preset["data"]["n_train"] // preset["data"]["batch_size"]
    add_config_arguments(p, "trainer.max_epochs=1",
                         f"YAML file of TrainConfig settings over the quickstart's own (epochs of {batches} batches, "
                         f"trainer.max_epochs={preset['trainer']['max_epochs']} within the 3-minute budget)")
    p.set_defaults(run=run, settings="cogmap.pathint.train:TrainConfig")


def run(args) -> int:
    from cogmap.config import load
    from cogmap.pathint.train import TrainConfig
    from cogmap.runs import check_run_folder

    set_threads(args.workers)
    values = json.loads(json.dumps(quickstart.QUICKSTART))
    values["trainer"]["log_dir"] = str(args.out)
    values["trainer"]["progress"] = True
    config = load(TrainConfig, args.config, overrides(args), base=values)
    check_run_folder(config.run_dir, args.force)  # the run-folder rules of every trainer, before any work
    start = time.perf_counter()
    result = quickstart.run(config, force=args.force)
    report = config.run_dir / "report"
    written = result.save(report)
    print()
    print(f"quickstart done in {(time.perf_counter() - start) / 60:.1f} min")
    print(result.summary())
    print(f"  report: {report / 'report.md'}")
    print(f"  figures: {', '.join(str(p) for p in written if p.suffix == '.png')}")
    return 0
