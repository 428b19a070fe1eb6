"""``cogmap train``: train a path integrator with Lightning."""

from __future__ import annotations

from cogmap.cli.common import add_config_arguments, overrides, set_threads

HELP = "train an RNN/GRU/LSTM path integrator"
DESCRIPTION = """\
Train a path integrator on SO(3) x SO(3) (or any generated data) with the Lightning Trainer.
The config is a YAML file with sections model, optim, data and trainer (see
configs/estimation/gru.yaml); any key can be overridden as section.key=value anywhere on the
line, e.g.
  cogmap train --config configs/estimation/gru.yaml trainer.max_epochs=5 data.source=online
Checkpoints go to <trainer.log_dir>/<trainer.name or model.cell>/checkpoints/{best,last}.ckpt,
metrics to metrics.csv beside them, and the resolved config to config.yaml. Multi-GPU and
multi-node runs need only trainer.devices, trainer.num_nodes and trainer.strategy=ddp.
At the reference settings (200 epochs of 100k trajectories, 256 units) a run takes about 16 h
on 2 CPU cores (3-5 minutes an epoch); trainer.max_epochs=20 about 1.5 h (RESULTS.md).
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help=HELP, description=DESCRIPTION)
    add_config_arguments(p, "trainer.max_epochs=5", "YAML config (default: built-in defaults, the reference settings)")
    p.add_argument("--resume", action="store_true", help="continue the run from its last.ckpt")
    p.add_argument("--workers", type=int, help="CPU threads to use")
    p.set_defaults(run=run)


def run(args) -> int:
    from cogmap.pathint.train import load_config, train

    set_threads(args.workers)
    config = load_config(args.config, overrides(args))
    run_dir = train(config, resume=args.resume)
    print(f"run: {run_dir}  (best: {run_dir / 'checkpoints' / 'best.ckpt'})")
    return 0
