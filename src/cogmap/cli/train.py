"""``cogmap train``: train a path integrator with Lightning."""

from __future__ import annotations

from pathlib import Path

from cogmap.cli.common import add_config_arguments, overrides, set_threads
from cogmap.runs import check_run_folder, process_rank

HELP = "train an RNN/GRU/LSTM path integrator"
DESCRIPTION = """\
Train a path integrator on SO(3) x SO(3) (or any generated data) with the Lightning Trainer.
The config is a YAML file with sections model, optim, data and trainer (see
configs/pathint/gru.yaml); any key can be overridden as section.key=value anywhere on the
line, e.g.
  cogmap train --config configs/pathint/gru.yaml trainer.max_epochs=5 data.source=online
The run folder is --out, by default <trainer.log_dir>/<trainer.name or model.cell>: checkpoints
in checkpoints/{best,last}.ckpt, metrics in metrics.csv, the resolved config in config.yaml. A
folder that holds a run is never overwritten without --force; --resume continues it. Multi-GPU and
multi-node runs need only trainer.devices, trainer.num_nodes and trainer.strategy=ddp.
At the reference settings (200 epochs of 100k trajectories, 256 units) a run takes about 16 h
on 2 CPU cores (3-5 minutes an epoch); trainer.max_epochs=20 about 1.5 h (RESULTS.md).
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help=HELP, description=DESCRIPTION)
    add_config_arguments(p, "trainer.max_epochs=5", "YAML config (default: built-in defaults, the reference settings)")
    p.add_argument("--out", type=Path, help="run folder (default <trainer.log_dir>/<trainer.name or model.cell>)")
    p.add_argument("--force", action="store_true", help="replace the run already in the folder")
    p.add_argument("--resume", action="store_true", help="continue the run from its last.ckpt")
    p.add_argument("--workers", type=int, help="CPU threads to use")
    p.set_defaults(run=run, settings="cogmap.pathint.train:TrainConfig")


def run(args) -> int:
    from cogmap.pathint.train import load_config, train

    set_threads(args.workers)
    config = load_config(args.config, overrides(args))
    if process_rank() == 0:  # before Lightning starts; a DDP run's later processes share rank 0's folder
        check_run_folder(args.out or config.run_dir, args.force, args.resume)
    run_dir = train(config, resume=args.resume, run_dir=args.out, force=args.force)
    if process_rank() == 0:
        print(f"run: {run_dir}  (best: {run_dir / 'checkpoints' / 'best.ckpt'})")
    return 0
